"""Load python-escpos once, without its import-time side effects.

python-escpos 3.1 does three things on ``import escpos`` that a kiosk must not suffer:

* it pickles its capability database into ``mkdtemp()`` (a new temp dir every process)
  unless ``ESCPOS_CAPABILITIES_PICKLE_DIR`` names a directory; we point it at a kept
  cache dir (the data comes from the JSON file shipped in the wheel: nothing is fetched,
  so this works offline). Even then 3.1 calls ``mkdtemp()`` (the eager default argument
  of ``environ.get``) and leaves an empty temp dir per process: we let that one land in
  a private staging dir and remove it;
* it calls ``logging.basicConfig()``, which puts a stderr handler on the root logger (log
  lines would then be drawn over the Textual screen); we make that call a no-op;
* some calls ``print()`` to stdout ("Using hardware barcode renderer", missing DPI); the
  renderer avoids those code paths rather than redirecting stdout, which is process-wide.

Nothing happens at import of this module: the first ``load_escpos()`` call does the work.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import platformdirs

PICKLE_DIR_ENV = "ESCPOS_CAPABILITIES_PICKLE_DIR"

_lock = threading.Lock()
_loaded: EscposLib | None = None


@dataclass(frozen=True)
class EscposLib:
    """The python-escpos modules we use, loaded."""

    capabilities: ModuleType
    constants: ModuleType
    exceptions: ModuleType
    printer: ModuleType
    pickle_dir: str

    @property
    def usb_usable(self) -> bool:
        """Whether pyusb (python-escpos' [usb] extra) is importable."""
        return bool(self.printer.Usb.is_usable())


def escpos_cache_dir() -> Path:
    """A kept, writable directory for the capabilities pickle.

    The user cache dir when writable; on a read-only image, one fixed per-user dir under
    the temp dir (reused by every process, so still no new dir per start).
    """
    preferred = Path(platformdirs.user_cache_dir("fieldpass")) / "escpos"
    try:
        preferred.mkdir(parents=True, exist_ok=True)
        if os.access(preferred, os.W_OK):
            return preferred
    except OSError:
        pass
    fallback = Path(tempfile.gettempdir()) / f"fieldpass-escpos-{os.getuid()}"
    fallback.mkdir(mode=0o700, exist_ok=True)
    return fallback


def load_escpos() -> EscposLib:
    """Import python-escpos (once per process) with its side effects contained."""
    global _loaded
    with _lock:
        if _loaded is not None:
            return _loaded
        with contextlib.ExitStack() as stack:
            if "escpos.capabilities" not in sys.modules:
                cache_dir = escpos_cache_dir()
                os.environ.setdefault(PICKLE_DIR_ENV, str(cache_dir))
                stack.enter_context(_mkdtemp_redirected(cache_dir))
            stack.enter_context(_basic_config_disabled())
            import escpos.capabilities
            import escpos.constants
            import escpos.exceptions
            import escpos.printer
        _loaded = EscposLib(
            capabilities=escpos.capabilities,
            constants=escpos.constants,
            exceptions=escpos.exceptions,
            printer=escpos.printer,
            pickle_dir=escpos.capabilities.pickle_dir,
        )
        return _loaded


@contextlib.contextmanager
def _basic_config_disabled() -> Iterator[None]:
    """``logging.basicConfig()`` does nothing while the root logger has a handler."""
    root = logging.getLogger()
    guard: logging.Handler | None = None
    if not root.handlers:
        guard = logging.NullHandler()
        root.addHandler(guard)
    try:
        yield
    finally:
        if guard is not None:
            root.removeHandler(guard)


@contextlib.contextmanager
def _mkdtemp_redirected(cache_dir: Path) -> Iterator[None]:
    """Send ``mkdtemp()`` calls made during the import to a staging dir, then remove it.

    ``tempfile.tempdir`` is process-wide; this runs once per process, under ``_lock``,
    and only empty directories are removed afterwards.
    """
    staging = cache_dir / f".import-{os.getpid()}"
    try:
        staging.mkdir(exist_ok=True)
    except OSError:
        yield
        return
    saved = tempfile.tempdir
    tempfile.tempdir = str(staging)
    try:
        yield
    finally:
        tempfile.tempdir = saved
        for child in staging.iterdir():
            with contextlib.suppress(OSError):
                child.rmdir()
        with contextlib.suppress(OSError):
            staging.rmdir()
