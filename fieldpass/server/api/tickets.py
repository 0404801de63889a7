"""Admin ticket endpoints: CSV import, search, revoke, signed tickets."""

from __future__ import annotations

import falcon

from fieldpass.server.api.base import Resource
from fieldpass.server.api.common import decode_body, int_param, read_body, send
from fieldpass.server.services import tickets


class TicketImportResource(Resource):
    large_body = True
    bodies = {"POST": "text/csv"}

    def on_post(self, req: falcon.Request, resp: falcon.Response, event_id: str) -> None:
        result = tickets.import_tickets(
            self.engine,
            req.context.org_id,
            req.context.admin.user_id,
            event_id,
            read_body(req),
            now=req.context.received_at,
        )
        send(resp, result)


class TicketsResource(Resource):
    def on_get(self, req: falcon.Request, resp: falcon.Response, event_id: str) -> None:
        found = tickets.search_tickets(
            self.engine,
            req.context.org_id,
            event_id,
            req.get_param("search") or "",
            int_param(req, "limit", 50),
        )
        send(resp, {"tickets": found})


class TicketRevokeResource(Resource):
    bodies = {"POST": tickets.RevokeRequest}

    def on_post(
        self, req: falcon.Request, resp: falcon.Response, event_id: str, barcode: str
    ) -> None:
        body = decode_body(req, tickets.RevokeRequest)
        send(
            resp,
            tickets.revoke_ticket(
                self.engine,
                req.context.org_id,
                req.context.admin.user_id,
                event_id,
                barcode,
                body,
                now=req.context.received_at,
            ),
        )


class SignedTicketResource(Resource):
    bodies = {"POST": tickets.SignedTicketRequest}

    def on_post(self, req: falcon.Request, resp: falcon.Response, event_id: str) -> None:
        body = decode_body(req, tickets.SignedTicketRequest)
        send(
            resp,
            tickets.issue_signed_ticket(
                self.engine,
                req.context.org_id,
                req.context.admin.user_id,
                event_id,
                body,
                now=req.context.received_at,
            ),
            201,
        )
