"""Admin device endpoints: list, approve by enrollment code, revoke."""

from __future__ import annotations

import falcon

from fieldpass.server.api.base import Resource
from fieldpass.server.api.common import decode_body, send
from fieldpass.server.services import enrollment


class DevicesResource(Resource):
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        send(resp, {"devices": enrollment.list_devices(self.engine, req.context.org_id)})


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
                key=self.config.pii_key,
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
