"""GET /v1/conflicts: conflicts of the caller's organization, optionally of one event."""

from __future__ import annotations

import falcon

from fieldpass.server.api.base import Resource
from fieldpass.server.api.common import send
from fieldpass.server.services import conflicts


class ConflictsResource(Resource):
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        found = conflicts.list_conflicts(
            self.engine, req.context.org_id, req.get_param("event_id") or None
        )
        send(resp, {"conflicts": found})
