"""Admin device endpoints: list, find a pending device by its code, approve, revoke."""

from __future__ import annotations

import falcon
import msgspec

from fieldpass.server.api.base import Resource
from fieldpass.server.api.common import decode_body, send
from fieldpass.server.services import enrollment


class DevicesResource(Resource):
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        send(resp, {"devices": enrollment.list_devices(self.engine, req.context.org_id)})


class PendingLookup(msgspec.Struct, forbid_unknown_fields=True):
    code: str


class PendingDeviceResource(Resource):
    """POST (the code stays out of URLs and logs): the pending device with that exact code."""

    bodies = {"POST": PendingLookup}

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = decode_body(req, PendingLookup)
        send(
            resp,
            enrollment.find_pending(
                self.engine,
                body.code,
                now=req.context.received_at,
                ttl_ms=self.config.enroll_pending_ttl_ms,
            ),
        )


class DeviceApproveResource(Resource):
    bodies = {"POST": enrollment.ApproveRequest}

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = decode_body(req, enrollment.ApproveRequest)
        send(
            resp,
            enrollment.approve(
                self.engine,
                req.context.org_id,
                req.context.admin.user_id,
                body,
                now=req.context.received_at,
                pending_ttl_ms=self.config.enroll_pending_ttl_ms,
                key=self.config.pii_key,
                signing_key=self.config.signing_key,
            ),
        )


class DeviceRevokeResource(Resource):
    def on_post(self, req: falcon.Request, resp: falcon.Response, device_id: str) -> None:
        send(
            resp,
            enrollment.revoke(
                self.engine,
                req.context.org_id,
                req.context.admin.user_id,
                device_id,
                now=req.context.received_at,
            ),
        )
