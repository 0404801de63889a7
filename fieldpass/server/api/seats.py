"""Admin seat endpoints: sectors with their seats, and seat blocks for petrol kiosks."""

from __future__ import annotations

import falcon

from fieldpass.server.api.base import Resource
from fieldpass.server.api.common import decode_body, send
from fieldpass.server.services import seats


class SectorsResource(Resource):
    bodies = {"POST": seats.SectorCreate}

    def on_get(self, req: falcon.Request, resp: falcon.Response, event_id: str) -> None:
        send(resp, {"sectors": seats.list_sectors(self.engine, req.context.org_id, event_id)})

    def on_post(self, req: falcon.Request, resp: falcon.Response, event_id: str) -> None:
        body = decode_body(req, seats.SectorCreate)
        created = seats.add_sector(
            self.engine,
            req.context.org_id,
            req.context.admin.user_id,
            event_id,
            body,
            now=req.context.received_at,
            new_id=self.config.new_id,
        )
        send(resp, created, 201)


class SeatBlocksResource(Resource):
    bodies = {"POST": seats.BlockCreate}

    def on_get(self, req: falcon.Request, resp: falcon.Response, event_id: str) -> None:
        send(resp, {"blocks": seats.list_blocks(self.engine, req.context.org_id, event_id)})

    def on_post(self, req: falcon.Request, resp: falcon.Response, event_id: str) -> None:
        body = decode_body(req, seats.BlockCreate)
        created = seats.allocate_block(
            self.engine,
            req.context.org_id,
            req.context.admin.user_id,
            event_id,
            body,
            now=req.context.received_at,
            new_id=self.config.new_id,
        )
        send(resp, created, 201)


class SeatBlockReturnResource(Resource):
    bodies = {"POST": seats.BlockReturn}
    optional_bodies = frozenset({"POST"})

    def on_post(self, req: falcon.Request, resp: falcon.Response, block_id: str) -> None:
        """No body: ask the kiosk to release the block; ``{force, reason}``: free it now."""
        body = seats.BlockReturn()
        if req.content_length:
            body = decode_body(req, seats.BlockReturn)
        send(
            resp,
            seats.return_block(
                self.engine,
                req.context.org_id,
                req.context.admin.user_id,
                block_id,
                now=req.context.received_at,
                force=body.force,
                reason=body.reason,
            ),
        )
