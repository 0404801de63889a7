"""GET /v1/conflicts (the organization's, optionally of one event) and
POST /v1/conflicts/{id}/resolve (with ``refund_sale_id``: refund that petrol sale too)."""

from __future__ import annotations

import falcon

from fieldpass.server.api.base import Resource
from fieldpass.server.api.common import decode_body, row_id, send
from fieldpass.server.services import conflicts, petrol_events


class ConflictsResource(Resource):
    query = {"GET": {"event_id": str}}

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        found = conflicts.list_conflicts(
            self.engine, req.context.org_id, req.get_param("event_id") or None
        )
        send(resp, {"conflicts": found})


class ConflictResolveResource(Resource):
    bodies = {"POST": conflicts.ResolveRequest}

    def on_post(self, req: falcon.Request, resp: falcon.Response, conflict_id: str) -> None:
        number = row_id(conflict_id, "conflict id")
        body = decode_body(req, conflicts.ResolveRequest)
        if body.refund_sale_id is not None:
            settled = petrol_events.resolve_with_refund(
                self.engine,
                req.context.org_id,
                req.context.admin.user_id,
                number,
                body.refund_sale_id,
                body.resolution,
                now=req.context.received_at,
            )
            send(resp, settled)
            return
        send(
            resp,
            conflicts.resolve(
                self.engine,
                req.context.org_id,
                req.context.admin.user_id,
                number,
                body,
                now=req.context.received_at,
            ),
        )
