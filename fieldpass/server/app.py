"""The central WSGI app: ``create_app(config, engine)`` wires routes, middleware, errors.

Every error leaves as a Problem JSON body (``code``, ``message``); unexpected exceptions
are logged with the request id and answered 500 ``internal`` without a traceback.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

import falcon
import msgspec
import sqlalchemy as sa

from fieldpass.server.access_log import redact_path
from fieldpass.server.api import (
    admin_auth,
    conflicts,
    console,
    devices,
    enroll,
    events,
    health,
    openapi,
    petrol,
    raffle_results,
    raffles,
    reports,
    seats,
    sync,
    tickets,
)
from fieldpass.server.config import ServerConfig
from fieldpass.server.db import server_signing_key
from fieldpass.server.errors import ApiError
from fieldpass.server.middleware import AnswerSigner, Authentication, BodyLimit, RequestContext

log = logging.getLogger("fieldpass.server")
_encoder = msgspec.json.Encoder()

_HTTP_CODES = {
    400: "invalid",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    411: "invalid",
    408: "request_timeout",
    413: "too_large",
    415: "unsupported_media_type",
}


def _problem(resp: falcon.Response, status: int, body: dict[str, Any]) -> None:
    resp.status = falcon.code_to_http_status(status)
    resp.content_type = falcon.MEDIA_JSON
    resp.data = _encoder.encode(body)


def _handle_api_error(req: falcon.Request, resp: falcon.Response, ex: ApiError, params) -> None:
    for name, value in ex.headers.items():
        resp.set_header(name, value)
    _problem(resp, ex.status, ex.body())


def _handle_http_error(
    req: falcon.Request, resp: falcon.Response, ex: falcon.HTTPError, params
) -> None:
    status = ex.status_code
    code = _HTTP_CODES.get(status, "error")
    if status == 404:
        message = f"no such route: {req.method} {req.path[:200]}"
    elif status == 405:
        message = f"method {req.method} is not allowed on {req.path[:200]}"
    else:
        message = ex.description or ex.title or "request refused"
    for name, value in (ex.headers or {}).items():
        resp.set_header(name, value)
    _problem(resp, status, {"code": code, "message": message, "expected_seq": None, "seq": None})


def _handle_unexpected(req: falcon.Request, resp: falcon.Response, ex: Exception, params) -> None:
    request_id = getattr(req.context, "request_id", "?")
    path = redact_path(req.path)
    log.exception("unexpected error in %s %s (request %s)", req.method, path, request_id)
    _problem(
        resp,
        500,
        {
            "code": "internal",
            "message": f"internal server error (request id {request_id})",
            "expected_seq": None,
            "seq": None,
        },
    )


def create_app(config: ServerConfig, engine: sa.Engine) -> falcon.App:
    if config.signing_key is None and config.pii_key is not None:
        config = replace(config, signing_key=server_signing_key(engine, config.pii_key))
    app = falcon.App(
        middleware=[
            RequestContext(config),
            AnswerSigner(config),
            BodyLimit(config),
            Authentication(config, engine),
        ]
    )
    app.req_options.auto_parse_form_urlencoded = False
    app.req_options.strip_url_path_trailing_slash = True

    def route(path: str, resource_type: type, suffix: str | None = None) -> None:
        resource = resource_type(engine, config)
        if suffix:
            app.add_route(path, resource, suffix=suffix)
        else:
            app.add_route(path, resource)

    route("/v1/health", health.HealthResource)
    route("/v1/enroll", enroll.EnrollResource)
    route("/v1/enroll/challenge", enroll.EnrollChallengeResource)
    route("/v1/enroll/status", enroll.EnrollStatusResource)
    route("/v1/sync/push", sync.PushResource)
    route("/v1/sync/pull", sync.PullResource)
    route("/v1/sync/events", sync.OwnEventsResource)
    route("/v1/auth/login", admin_auth.LoginResource)
    route("/v1/auth/logout", admin_auth.LogoutResource)
    route("/v1/auth/sessions", admin_auth.SessionsResource)
    route("/v1/auth/sessions/{session_id}/revoke", admin_auth.SessionRevokeResource)
    route("/v1/events", events.EventsResource)
    route("/v1/events/{event_id}", events.EventResource)
    route("/v1/events/{event_id}/gates", events.GatesResource)
    route("/v1/events/{event_id}/tickets", tickets.TicketsResource)
    route("/v1/events/{event_id}/tickets/import", tickets.TicketImportResource)
    route("/v1/events/{event_id}/tickets/search", tickets.TicketSearchResource)
    route("/v1/events/{event_id}/tickets/signed", tickets.SignedTicketResource)
    route("/v1/events/{event_id}/tickets/{barcode}/revoke", tickets.TicketRevokeResource)
    route("/v1/events/{event_id}/reports/attendance", reports.AttendanceResource)
    route("/v1/events/{event_id}/reports/petrol", reports.PetrolReportResource)
    route("/v1/events/{event_id}/pins", petrol.PinsResource)
    route("/v1/events/{event_id}/pins/import", petrol.PinImportResource)
    route("/v1/pins/{pin}/cancel", petrol.PinCancelResource)
    route("/v1/events/{event_id}/petrol-deeplink", petrol.DeeplinkResource)
    route("/v1/integration-tokens", petrol.IntegrationTokensResource)
    route("/v1/integration-tokens/{token_id}/revoke", petrol.IntegrationTokenRevokeResource)
    route("/v1/integration/pins", petrol.IntegrationPinsResource)
    route("/v1/integration/pins/{pin_id}", petrol.IntegrationPinResource)
    route("/v1/events/{event_id}/sectors", seats.SectorsResource)
    route("/v1/events/{event_id}/seat-blocks", seats.SeatBlocksResource)
    route("/v1/seat-blocks/{block_id}/return", seats.SeatBlockReturnResource)
    route("/v1/raffles", raffles.RafflesResource)
    route("/v1/raffles/{raffle_id}", raffles.RaffleResource)
    route("/v1/raffles/{raffle_id}/packages", raffles.RafflePackagesResource)
    route("/v1/raffles/{raffle_id}/prizes", raffles.RafflePrizesResource)
    route("/v1/raffles/{raffle_id}/configure", raffles.RaffleConfigureResource)
    route("/v1/raffles/{raffle_id}/allocations", raffles.RaffleAllocationsResource)
    route(
        "/v1/raffles/{raffle_id}/allocations/{allocation_id}/deallocate",
        raffles.RaffleDeallocateResource,
    )
    route("/v1/raffles/{raffle_id}/exceptions", raffles.RaffleExceptionsResource)
    route("/v1/raffles/{raffle_id}/activate", raffles.RaffleActivateResource)
    route("/v1/raffles/{raffle_id}/commit-seed", raffles.RaffleCommitSeedResource)
    route("/v1/raffles/{raffle_id}/close", raffles.RaffleCloseResource)
    route("/v1/raffles/{raffle_id}/suspend", raffles.RaffleSuspendResource)
    route("/v1/raffles/{raffle_id}/resume", raffles.RaffleResumeResource)
    route("/v1/raffles/{raffle_id}/cancel", raffles.RaffleCancelResource)
    route("/v1/raffles/{raffle_id}/reconciliation", raffle_results.ReconciliationResource)
    route("/v1/raffles/{raffle_id}/confirm", raffle_results.ConfirmResource)
    route("/v1/raffles/{raffle_id}/draw", raffle_results.DrawResource)
    route("/v1/raffles/{raffle_id}/draw/export", raffle_results.DrawExportResource)
    route("/v1/raffles/{raffle_id}/reports/{kind}", raffle_results.RaffleReportResource)
    route("/v1/raffle-orders/lookup", raffle_results.RaffleOrderLookupResource)
    route("/v1/raffle-orders/claim", raffle_results.RaffleOrderClaimResource)
    route("/v1/devices", devices.DevicesResource)
    route("/v1/devices/approve", devices.DeviceApproveResource)
    route("/v1/devices/pending", devices.PendingDeviceResource)
    route("/v1/devices/{device_id}/revoke", devices.DeviceRevokeResource)
    route("/v1/conflicts", conflicts.ConflictsResource)
    route("/v1/conflicts/{conflict_id}/resolve", conflicts.ConflictResolveResource)
    route("/console", console.ConsoleResource)
    route("/console/{name}", console.ConsoleResource)
    app.add_route("/v1/openapi.json", openapi.OpenApiResource(engine, config, app))

    app.add_error_handler(Exception, _handle_unexpected)
    app.add_error_handler(falcon.HTTPError, _handle_http_error)
    app.add_error_handler(ApiError, _handle_api_error)
    return app
