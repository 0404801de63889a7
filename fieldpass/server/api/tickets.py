"""Admin ticket endpoints: CSV import, search, revoke, signed tickets."""

from __future__ import annotations

import falcon
import msgspec

from fieldpass.server.api.base import Resource
from fieldpass.server.api.common import decode_body, int_param, read_body, require_server_key, send
from fieldpass.server.errors import ApiError
from fieldpass.server.services import tickets
from fieldpass.sync.bounds import Count


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
    query = {"GET": {"limit": int}}

    def on_get(self, req: falcon.Request, resp: falcon.Response, event_id: str) -> None:
        if req.get_param("search") is not None:
            raise ApiError(
                "invalid",
                "search terms are not taken from the URL (URLs are logged): "
                f"POST /v1/events/{event_id[:40]}/tickets/search with {{search, limit}}",
            )
        found = tickets.search_tickets(
            self.engine, req.context.org_id, event_id, "", int_param(req, "limit", 50)
        )
        send(resp, {"tickets": found})


class TicketSearch(msgspec.Struct, forbid_unknown_fields=True):
    search: str = ""  # a barcode prefix or part of a holder's name
    limit: Count = 50


class TicketSearchResource(Resource):
    """POST /v1/events/{id}/tickets/search: the terms in the body, never in a logged URL."""

    bodies = {"POST": TicketSearch}

    def on_post(self, req: falcon.Request, resp: falcon.Response, event_id: str) -> None:
        body = decode_body(req, TicketSearch)
        found = tickets.search_tickets(
            self.engine, req.context.org_id, event_id, body.search, body.limit
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
                key=require_server_key(self.config),
            ),
            201,
        )
