"""Admin event and gate endpoints (scoped to the caller's organization)."""

from __future__ import annotations

import falcon

from fieldpass.server.api.base import Resource
from fieldpass.server.api.common import decode_body, require_server_key, send
from fieldpass.server.services import events, layouts


class EventsResource(Resource):
    bodies = {"POST": events.EventCreate}

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        send(resp, {"events": events.list_events(self.engine, req.context.org_id)})

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = decode_body(req, events.EventCreate)
        org_id, actor, now = req.context.org_id, req.context.admin.user_id, req.context.received_at
        layout: dict = {}
        also = None
        if body.layout is not None:
            lines = layouts.parse_layout(body.layout)  # every line checked before any write

            def also(conn, event_id: str) -> None:
                layout.update(
                    layouts.apply_layout(
                        conn, org_id, actor, event_id, lines, now=now, new_id=self.config.new_id
                    )
                )

        created = events.create_event(
            self.engine,
            org_id,
            actor,
            body,
            now=now,
            new_id=self.config.new_id,
            key=require_server_key(self.config),
            also=also,
        )
        if layout:
            created["layout"] = layout
        send(resp, created, 201)


class EventResource(Resource):
    def on_get(self, req: falcon.Request, resp: falcon.Response, event_id: str) -> None:
        send(resp, events.get_event(self.engine, req.context.org_id, event_id))


class GatesResource(Resource):
    bodies = {"POST": events.GateCreate}

    def on_get(self, req: falcon.Request, resp: falcon.Response, event_id: str) -> None:
        send(resp, {"gates": events.list_gates(self.engine, req.context.org_id, event_id)})

    def on_post(self, req: falcon.Request, resp: falcon.Response, event_id: str) -> None:
        body = decode_body(req, events.GateCreate)
        created = events.create_gate(
            self.engine,
            req.context.org_id,
            req.context.admin.user_id,
            event_id,
            body,
            now=req.context.received_at,
            new_id=self.config.new_id,
        )
        send(resp, created, 201)
