"""Device enrollment endpoints (no bearer token: the device has none yet).

A device proves its key by signing a one-time challenge; see
``fieldpass.server.services.enrollment``.
"""

from __future__ import annotations

import falcon

from fieldpass.server.api.base import Resource
from fieldpass.server.api.common import decode_body, require_signing_key, send
from fieldpass.server.services import enrollment
from fieldpass.sync.messages import EnrollChallengeRequest, EnrollRequest, EnrollStatusRequest


class EnrollResource(Resource):
    auth = "none"
    bodies = {"POST": EnrollRequest}

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        request = decode_body(req, EnrollRequest)
        answer = enrollment.enroll(
            self.engine,
            request,
            now=req.context.received_at,
            new_id=self.config.new_id,
            source=req.context.source,
            signing_key=require_signing_key(self.config),
            per_source_per_hour=self.config.enroll_per_source_per_hour,
            pending_ttl_ms=self.config.enroll_pending_ttl_ms,
        )
        send(resp, answer, 201)


class EnrollChallengeResource(Resource):
    auth = "none"
    bodies = {"POST": EnrollChallengeRequest}

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        request = decode_body(req, EnrollChallengeRequest)
        answer = enrollment.issue_challenge(
            self.engine,
            request,
            now=req.context.received_at,
            ttl_ms=self.config.enroll_challenge_ttl_ms,
        )
        send(resp, answer)


class EnrollStatusResource(Resource):
    auth = "none"
    bodies = {"POST": EnrollStatusRequest}

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        request = decode_body(req, EnrollStatusRequest)
        answer = enrollment.enroll_status(
            self.engine,
            request,
            now=req.context.received_at,
            signing_key=require_signing_key(self.config),
            key=self.config.pii_key,
        )
        send(resp, answer)
