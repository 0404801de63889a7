"""GET /console: the admin web console, a static page over the JSON admin API.

The page holds no data of its own and needs no server-side session: it logs in through
/v1/auth/login and calls the same admin endpoints as the CLI with the bearer token.
"""

from __future__ import annotations

from importlib import resources

import falcon

from fieldpass.server.api.base import Resource

#: File name -> content type; nothing else under /console is served.
ASSETS = {
    "index.html": "text/html; charset=utf-8",
    "console.js": "text/javascript; charset=utf-8",
    "console.css": "text/css; charset=utf-8",
}
#: The page only talks to its own origin and runs only its own script.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


def _asset(name: str) -> bytes:
    return resources.files("fieldpass.server.console").joinpath(name).read_bytes()


class ConsoleResource(Resource):
    auth = "none"

    def on_get(self, req: falcon.Request, resp: falcon.Response, name: str = "index.html") -> None:
        if name not in ASSETS:
            raise falcon.HTTPNotFound(description=f"no console file {name[:60]!r}")
        resp.data = _asset(name)
        resp.content_type = ASSETS[name]
        resp.set_header("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        resp.set_header("X-Content-Type-Options", "nosniff")
        resp.set_header("Cache-Control", "no-cache")
