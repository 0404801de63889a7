"""Admin sessions: POST /v1/auth/login (email + password -> bearer token), POST
/v1/auth/logout (ends the caller's session on the server), GET /v1/auth/sessions and
POST /v1/auth/sessions/{session_id}/revoke (the organization's sessions)."""

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
                source=req.context.source,
            ),
        )


class LogoutResource(Resource):
    viewer_may_post = True  # ending one's own session changes nothing else

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        send(resp, auth.logout(self.engine, req.context.admin, now=req.context.received_at))


class SessionsResource(Resource):
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        sessions = auth.list_sessions(self.engine, req.context.admin, now=req.context.received_at)
        send(resp, {"sessions": sessions})


class SessionRevokeResource(Resource):
    def on_post(self, req: falcon.Request, resp: falcon.Response, session_id: str) -> None:
        send(
            resp,
            auth.revoke_session(
                self.engine, req.context.admin, session_id, now=req.context.received_at
            ),
        )
