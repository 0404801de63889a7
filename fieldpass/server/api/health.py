"""GET /v1/health: liveness plus the epoch devices compare their cursor with."""

from __future__ import annotations

import falcon

from fieldpass.server.api.base import Resource
from fieldpass.server.api.common import send
from fieldpass.server.db import get_meta, reading


class HealthResource(Resource):
    auth = "none"

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        with reading(self.engine) as conn:
            epoch = get_meta(conn, "epoch")
        send(resp, {"status": "ok", "epoch": epoch, "server_time": self.config.clock()})
