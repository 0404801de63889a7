"""Admin raffle endpoints after sales: reconciliation, confirmation, the draw and its
export, the reports of the standard, and lookup/claim by validation number."""

from __future__ import annotations

import falcon
import msgspec

from fieldpass.server.api.base import Resource
from fieldpass.server.api.common import decode_body, read_body, send
from fieldpass.server.errors import ApiError
from fieldpass.server.services import raffle_draw, raffle_reconcile, raffle_reports
from fieldpass.sync.messages import decode


class ConfirmBody(msgspec.Struct, forbid_unknown_fields=True):
    override_reason: str | None = None


class DrawBody(msgspec.Struct, forbid_unknown_fields=True):
    beacon: str | None = None


class OrderRef(msgspec.Struct, forbid_unknown_fields=True):
    """A raffle order by its validation number: in the body, never the URL (URLs are
    logged, and the number is what claims the prize)."""

    validation_number: str


def _optional_body(req: falcon.Request, message_type: type):
    """An optional JSON body: none (or empty) means every field's default."""
    data = read_body(req)
    if not data.strip():
        return message_type()
    try:
        return decode(message_type, data)
    except msgspec.ValidationError as exc:
        raise ApiError("invalid", str(exc)) from None
    except msgspec.DecodeError as exc:
        raise ApiError("bad_json", f"malformed JSON: {exc}") from None


class ReconciliationResource(Resource):
    def on_get(self, req: falcon.Request, resp: falcon.Response, raffle_id: str) -> None:
        send(
            resp,
            raffle_reconcile.reconciliation(
                self.engine,
                req.context.org_id,
                req.context.admin.user_id,
                raffle_id,
                now=req.context.received_at,
            ),
        )


class ConfirmResource(Resource):
    bodies = {"POST": ConfirmBody}
    optional_bodies = frozenset({"POST"})

    def on_post(self, req: falcon.Request, resp: falcon.Response, raffle_id: str) -> None:
        body = _optional_body(req, ConfirmBody)
        send(
            resp,
            raffle_reconcile.confirm(
                self.engine,
                req.context.org_id,
                req.context.admin.user_id,
                raffle_id,
                override_reason=body.override_reason,
                now=req.context.received_at,
            ),
        )


class DrawResource(Resource):
    bodies = {"POST": DrawBody}
    optional_bodies = frozenset({"POST"})

    def on_get(self, req: falcon.Request, resp: falcon.Response, raffle_id: str) -> None:
        send(resp, raffle_draw.get_draw(self.engine, req.context.org_id, raffle_id))

    def on_post(self, req: falcon.Request, resp: falcon.Response, raffle_id: str) -> None:
        body = _optional_body(req, DrawBody)
        send(
            resp,
            raffle_draw.run(
                self.engine,
                req.context.org_id,
                req.context.admin.user_id,
                raffle_id,
                beacon=body.beacon,
                key=self.config.pii_key,
                now=req.context.received_at,
                new_id=self.config.new_id,
            ),
        )


class DrawExportResource(Resource):
    def on_get(self, req: falcon.Request, resp: falcon.Response, raffle_id: str) -> None:
        send(resp, raffle_draw.export(self.engine, req.context.org_id, raffle_id))


class RaffleReportResource(Resource):
    def on_get(self, req: falcon.Request, resp: falcon.Response, raffle_id: str, kind: str) -> None:
        send(resp, raffle_reports.report(self.engine, req.context.org_id, raffle_id, kind))


class RaffleOrderLookupResource(Resource):
    """POST /v1/raffle-orders/lookup ``{validation_number}``: the order and its prizes."""

    bodies = {"POST": OrderRef}

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        validation = decode_body(req, OrderRef).validation_number
        send(resp, raffle_draw.lookup(self.engine, req.context.org_id, validation))


class RaffleOrderClaimResource(Resource):
    """POST /v1/raffle-orders/claim ``{validation_number}``: claim its prize(s)."""

    bodies = {"POST": OrderRef}

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        validation = decode_body(req, OrderRef).validation_number
        send(
            resp,
            raffle_draw.claim(
                self.engine,
                req.context.org_id,
                req.context.admin.user_id,
                validation,
                now=req.context.received_at,
            ),
        )
