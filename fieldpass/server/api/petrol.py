"""Petrol endpoints: PINs (create, import, list, cancel) and the event's deeplink for
admins; integration tokens (admins) and the app backend's PIN routes (integration token)."""

from __future__ import annotations

import falcon
import msgspec

from fieldpass.server.api.base import Resource
from fieldpass.server.api.common import decode_body, int_param, read_body, send
from fieldpass.server.services import deeplinks, integration_tokens, pins


class PinsResource(Resource):
    bodies = {"POST": pins.PinCreate}
    query = {"GET": {"status": str, "limit": int}}

    def on_get(self, req: falcon.Request, resp: falcon.Response, event_id: str) -> None:
        found = pins.list_pins(
            self.engine,
            req.context.org_id,
            event_id,
            status=req.get_param("status") or None,
            key=self.config.pii_key,
            masked=req.context.admin.role == "viewer",
            now=req.context.received_at,
            limit=int_param(req, "limit", pins.MAX_LIST),
        )
        send(resp, {"pins": found})

    def on_post(self, req: falcon.Request, resp: falcon.Response, event_id: str) -> None:
        body = decode_body(req, pins.PinCreate)
        created = pins.create_pin(
            self.engine,
            req.context.org_id,
            req.context.admin.user_id,
            event_id,
            body,
            key=self.config.pii_key,
            now=req.context.received_at,
            new_id=self.config.new_id,
            new_pin=self.config.new_pin,
        )
        send(resp, created, 201)


class PinImportResource(Resource):
    large_body = True
    bodies = {"POST": "text/csv"}

    def on_post(self, req: falcon.Request, resp: falcon.Response, event_id: str) -> None:
        result = pins.import_pins(
            self.engine,
            req.context.org_id,
            req.context.admin.user_id,
            event_id,
            read_body(req),
            key=self.config.pii_key,
            now=req.context.received_at,
            new_id=self.config.new_id,
            new_pin=self.config.new_pin,
        )
        send(resp, result)


class PinCancelResource(Resource):
    bodies = {"POST": pins.PinCancel}
    optional_bodies = frozenset({"POST"})

    def on_post(self, req: falcon.Request, resp: falcon.Response, pin: str) -> None:
        body = decode_body(req, pins.PinCancel) if req.content_length else pins.PinCancel()
        send(
            resp,
            pins.cancel_pin(
                self.engine,
                req.context.org_id,
                req.context.admin.user_id,
                pin,
                body,
                now=req.context.received_at,
            ),
        )


class DeeplinkResource(Resource):
    def on_get(self, req: falcon.Request, resp: falcon.Response, event_id: str) -> None:
        send(
            resp,
            deeplinks.get_or_create_deeplink(
                self.engine,
                req.context.org_id,
                req.context.admin.user_id,
                event_id,
                base=self.config.petrol_deeplink_base,
                now=req.context.received_at,
                new_id=self.config.new_id,
            ),
        )


# -- integration tokens (admins) and the app backend's routes -------------------------------


class IntegrationTokensResource(Resource):
    bodies = {"POST": integration_tokens.TokenCreate}

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        found = integration_tokens.list_tokens(self.engine, req.context.org_id)
        send(resp, {"tokens": found})

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = decode_body(req, integration_tokens.TokenCreate)
        created = integration_tokens.create_token(
            self.engine,
            req.context.org_id,
            req.context.admin.user_id,
            body,
            now=req.context.received_at,
            new_id=self.config.new_id,
        )
        send(resp, created, 201)


class IntegrationTokenRevokeResource(Resource):
    def on_post(self, req: falcon.Request, resp: falcon.Response, token_id: str) -> None:
        revoked = integration_tokens.revoke_token(
            self.engine,
            req.context.org_id,
            req.context.admin.user_id,
            token_id,
            now=req.context.received_at,
        )
        send(resp, revoked)


class IntegrationPinCreate(pins.PinCreate, forbid_unknown_fields=True, kw_only=True):
    event_id: str


class IntegrationPinsResource(Resource):
    """POST /v1/integration/pins: the app backend creates a PIN (same rules as admins)."""

    auth = "integration"
    bodies = {"POST": IntegrationPinCreate}

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = decode_body(req, IntegrationPinCreate)
        fields = msgspec.structs.asdict(body)
        event_id = fields.pop("event_id")
        created = pins.create_pin(
            self.engine,
            req.context.org_id,
            req.context.integration.token_id,
            event_id,
            pins.PinCreate(**fields),
            key=self.config.pii_key,
            now=req.context.received_at,
            new_id=self.config.new_id,
            new_pin=self.config.new_pin,
        )
        send(resp, created, 201)


class IntegrationPinResource(Resource):
    """GET /v1/integration/pins/{pin_id}: the PIN's status, without holder data."""

    auth = "integration"

    def on_get(self, req: falcon.Request, resp: falcon.Response, pin_id: str) -> None:
        row = integration_tokens.find_pin(self.engine, req.context.org_id, pin_id)
        send(resp, pins.pin_view(row, req.context.received_at, holders=False))
