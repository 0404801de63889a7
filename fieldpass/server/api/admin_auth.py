"""POST /v1/auth/login: email + password -> admin bearer token."""

from __future__ import annotations

import falcon
import msgspec

from fieldpass.server.api.base import Resource
from fieldpass.server.api.common import decode_body, send
from fieldpass.server.services import auth


class LoginRequest(msgspec.Struct, forbid_unknown_fields=True):
    email: str
    password: str


class LoginResource(Resource):
    auth = "none"
    bodies = {"POST": LoginRequest}

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = decode_body(req, LoginRequest)
        send(
            resp,
            auth.login(
                self.engine,
                body.email,
                body.password,
                now=req.context.received_at,
                ttl_ms=self.config.admin_token_ttl_ms,
            ),
        )
