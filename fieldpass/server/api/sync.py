"""Device sync endpoints: push (ingest a batch of outbox events), pull (changes), and the
device's own events (to rebuild a lost store)."""

from __future__ import annotations

import falcon

from fieldpass.server.api.base import Resource
from fieldpass.server.api.common import decode_body, int_param, send
from fieldpass.server.errors import ApiError
from fieldpass.server.services import ingest, own_events, pull
from fieldpass.sync.messages import DEFAULT_PULL_LIMIT, PushRequest
from fieldpass.sync.versions import PROTOCOL_VERSION


class PushResource(Resource):
    auth = "device"
    bodies = {"POST": PushRequest}

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        request = decode_body(req, PushRequest)
        answer = ingest.push(
            self.engine,
            req.context.device,
            request,
            received_at=req.context.received_at,
            clock=self.config.clock,
        )
        send(resp, answer)


class PullResource(Resource):
    auth = "device"
    query = {"GET": {"cursor": str, "limit": int, "protocol": int, "schema": int}}

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        protocol = int_param(req, "protocol", PROTOCOL_VERSION)
        if protocol != PROTOCOL_VERSION:
            raise ApiError("upgrade_required", f"protocol {protocol} is not supported")
        body = pull.pull(
            self.engine,
            req.context.device,
            req.get_param("cursor"),
            int_param(req, "limit", DEFAULT_PULL_LIMIT),
            now=req.context.received_at,
        )
        send(resp, body)


class OwnEventsResource(Resource):
    auth = "device"
    query = {"GET": {"after": int, "limit": int, "protocol": int}}

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        protocol = int_param(req, "protocol", PROTOCOL_VERSION)
        if protocol != PROTOCOL_VERSION:
            raise ApiError("upgrade_required", f"protocol {protocol} is not supported")
        send(
            resp,
            own_events.own_events(
                self.engine,
                req.context.device,
                int_param(req, "after", 0),
                int_param(req, "limit", own_events.MAX_OWN_EVENTS),
            ),
        )
