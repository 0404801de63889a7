"""Gunicorn's access log with secrets taken out: the second line of defence.

Validation numbers and holder search terms travel in POST bodies, never in URLs (the
first line). Should a client still put one in a URL (an old CLI, a hand-typed request),
this logger writes ``[redacted]`` instead of: the path segment after ``raffle-orders/`` or
``pins/``, any path segment holding 12 or more digits (a validation number, with or
without dashes), and every query value except the few known harmless ones. Authorization,
cookie and referer values are never written either.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, quote

from gunicorn.glogging import Logger

REDACTED = "[redacted]"
#: Query parameters whose values are safe to log (paging, versions, ids).
SAFE_QUERY_KEYS = frozenset({"cursor", "limit", "protocol", "schema", "event_id", "status"})
#: Path segments whose next segment names a secret (a validation number, a PIN).
SECRET_AFTER = frozenset({"raffle-orders", "pins"})
#: Literal routes under those prefixes, kept as they are.
LITERAL_SEGMENTS = frozenset({"lookup", "claim", "import"})
_MANY_DIGITS = re.compile(r"(?:\d[\s._-]?){12,}")
_SECRET_HEADERS = ("authorization", "cookie", "x-api-key", "proxy-authorization", "referer")


def redact_path(path: str) -> str:
    segments = path.split("/")
    out = []
    for index, segment in enumerate(segments):
        after_secret = index > 0 and segments[index - 1] in SECRET_AFTER
        if (after_secret and segment not in LITERAL_SEGMENTS) or _MANY_DIGITS.search(segment):
            out.append(REDACTED)
        else:
            out.append(segment)
    return "/".join(out)


def redact_query(query: str) -> str:
    if not query:
        return ""
    pairs = parse_qsl(query, keep_blank_values=True)
    return "&".join(
        f"{quote(key, safe='')}={quote(value, safe=':') if key in SAFE_QUERY_KEYS else REDACTED}"
        for key, value in pairs
    )


class RedactingLogger(Logger):
    """``logger_class`` for gunicorn: the usual access log, secrets redacted."""

    def atoms(self, resp: Any, req: Any, environ: dict, request_time: Any) -> dict:
        atoms = super().atoms(resp, req, environ, request_time)
        path = redact_path(environ.get("PATH_INFO") or "")
        query = redact_query(environ.get("QUERY_STRING") or "")
        atoms["U"], atoms["q"] = path, query
        atoms["r"] = (
            f"{environ.get('REQUEST_METHOD', '-')} {path}{'?' + query if query else ''}"
            f" {environ.get('SERVER_PROTOCOL', '-')}"
        )
        atoms["f"] = "-"
        for name in _SECRET_HEADERS:
            if f"{{{name}}}i" in atoms:
                atoms[f"{{{name}}}i"] = REDACTED
        return atoms
