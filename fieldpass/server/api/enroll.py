"""Device enrollment endpoints (no bearer token: the device has none yet)."""

from __future__ import annotations

import falcon

from fieldpass.server.api.base import Resource
from fieldpass.server.api.common import decode_body, send
from fieldpass.server.services import enrollment
from fieldpass.sync.messages import EnrollRequest, EnrollStatusRequest


class EnrollResource(Resource):
    auth = "none"
    bodies = {"POST": EnrollRequest}

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        request = decode_body(req, EnrollRequest)
        answer = enrollment.enroll(
            self.engine, request, now=req.context.received_at, new_id=self.config.new_id
        )
        send(resp, answer, 201)


class EnrollStatusResource(Resource):
    auth = "none"
    bodies = {"POST": EnrollStatusRequest}

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        request = decode_body(req, EnrollStatusRequest)
        answer = enrollment.enroll_status(
            self.engine,
            request,
            now=req.context.received_at,
            max_skew_ms=self.config.enroll_status_skew_ms,
            key=self.config.pii_key,
        )
        send(resp, answer)
