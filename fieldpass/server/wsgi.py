"""WSGI entry points: real gunicorn run programmatically, and a module-level app.

``gunicorn 'fieldpass.server.wsgi:application'`` works with ``FIELDPASS_DB`` set (and
``FIELDPASS_KEY_FILE`` for PIN holder data); the
app is built on the first request in each worker (nothing is configured at import).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gunicorn.app.base import BaseApplication

from fieldpass.server.app import create_app
from fieldpass.server.config import ServerConfig
from fieldpass.server.db import make_engine
from fieldpass.server.keys import KEY_FILE_ENV, load_key

DEFAULT_BIND = "127.0.0.1:8080"


def make_application(db_url: str, config: ServerConfig | None = None):
    """App factory: one engine per process (call after gunicorn forks)."""
    return create_app(config or ServerConfig(), make_engine(db_url))


class FieldpassGunicorn(BaseApplication):
    """Gunicorn with options from the command line instead of a config file."""

    def __init__(self, app_factory: Callable[[], Any], options: dict[str, Any]) -> None:
        self._app_factory = app_factory
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            if key in self.cfg.settings and value is not None:
                self.cfg.set(key, value)

    def load(self):
        return self._app_factory()


def serve(
    db_url: str,
    bind: str = DEFAULT_BIND,
    workers: int = 2,
    threads: int = 4,
    config: ServerConfig | None = None,
    *,
    certfile: str | None = None,
    keyfile: str | None = None,
) -> None:
    """Run gunicorn; the config (with the key the caller loaded once) goes to every worker.

    With ``certfile`` and ``keyfile`` gunicorn speaks TLS itself (HTTPS on ``bind``); the
    packaged nginx (packaging/nginx) is the recommended front for real deployments.
    """
    options = {
        "bind": bind,
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread" if threads > 1 else "sync",
        "accesslog": "-",
        "errorlog": "-",
        # validation numbers, search terms and tokens never reach the access log
        "logger_class": "fieldpass.server.access_log.RedactingLogger",
        "timeout": 60,
        "certfile": certfile,
        "keyfile": keyfile,
    }
    config = config or ServerConfig()
    FieldpassGunicorn(lambda: make_application(db_url, config), options).run()


_app = None
_app_lock = threading.Lock()


def application(environ: dict, start_response):
    """Module-level WSGI callable reading the database URL from FIELDPASS_DB."""
    global _app
    if _app is None:
        with _app_lock:
            if _app is None:
                url = os.environ.get("FIELDPASS_DB")
                if not url:
                    start_response("500 Internal Server Error", [("Content-Type", "text/plain")])
                    return [b"FIELDPASS_DB is not set\n"]
                key_path = os.environ.get(KEY_FILE_ENV)
                key = load_key(Path(key_path)) if key_path else None
                _app = make_application(url, ServerConfig(pii_key=key))
    return _app(environ, start_response)
