"""Falcon middleware: request ids, body size limits, device/admin auth, org scoping, and
the server's signature on answers to requests that carry a nonce (devices always do).

Each resource declares ``auth`` ("none" | "device" | "admin" | "integration") and may declare
``large_body = True`` (ticket import). Auth sets ``req.context.device`` or
``req.context.org_id`` / ``req.context.admin`` so every query can be scoped.
"""

from __future__ import annotations

import ipaddress
import uuid
from typing import Any

import falcon
import sqlalchemy as sa

from fieldpass.server.body_deadline import BodyDeadlines
from fieldpass.server.config import ServerConfig
from fieldpass.server.errors import ApiError
from fieldpass.server.services import auth, enrollment, integration_tokens
from fieldpass.sync import answers


def client_address(req: falcon.Request, trusted_proxies: frozenset[str]) -> str:
    """The client's address: the peer's, or, when the peer is a trusted reverse proxy
    (the packaged nginx sets X-Forwarded-For to the address it saw), that header's last
    entry. A client cannot choose its address by sending the header itself."""
    peer = req.remote_addr or ""
    if peer not in trusted_proxies:
        return peer
    forwarded = (req.get_header("X-Forwarded-For") or "").rsplit(",", 1)[-1].strip()
    try:
        return str(ipaddress.ip_address(forwarded))
    except ValueError:
        return peer


class RequestContext:
    """Gives each request an id (echoed as X-Request-Id), its server receive time and the
    client's address."""

    def __init__(self, config: ServerConfig) -> None:
        self._config = config

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        supplied = (req.get_header("X-Request-Id") or "")[:64]
        req.context.request_id = supplied if supplied.isprintable() and supplied else None
        if req.context.request_id is None:
            req.context.request_id = uuid.uuid4().hex[:16]
        req.context.received_at = self._config.clock()
        req.context.source = client_address(req, self._config.trusted_proxies)
        resp.set_header("X-Request-Id", req.context.request_id)


class BodyLimit:
    """Refuses bodies over the route's limit before anything reads them, and gives body
    reads their deadline (``fieldpass.server.body_deadline``)."""

    def __init__(self, config: ServerConfig) -> None:
        self._config = config
        self._deadlines = BodyDeadlines(
            grace_s=config.body_grace_ms / 1000, min_rate=config.body_min_rate
        )

    def process_resource(
        self, req: falcon.Request, resp: falcon.Response, resource: Any, params: dict
    ) -> None:
        large = resource is not None and getattr(resource, "large_body", False)
        limit = self._config.max_import_bytes if large else self._config.max_body_bytes
        req.context.body_limit = limit
        req.context.body_deadlines = self._deadlines
        if req.content_length is not None and req.content_length > limit:
            raise ApiError("too_large", f"request body is larger than {limit} bytes")


def _bearer(req: falcon.Request) -> str:
    header = req.get_header("Authorization") or ""
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError("unauthorized", "missing bearer token (Authorization: Bearer <token>)")
    return token.strip()


class Authentication:
    """Device tokens for device routes, admin tokens for admin routes; hashed lookups."""

    def __init__(self, config: ServerConfig, engine: sa.Engine) -> None:
        self._config = config
        self._engine = engine

    def process_resource(
        self, req: falcon.Request, resp: falcon.Response, resource: Any, params: dict
    ) -> None:
        if resource is None:
            return
        kind = getattr(resource, "auth", "admin")
        if kind == "none":
            return
        token = _bearer(req)
        if kind == "device":
            req.context.device = enrollment.device_for_token(self._engine, token)
            return
        if kind == "integration":  # the app backend: an organization's integration token
            integration = integration_tokens.identity_for_token(
                self._engine, token, now=self._config.clock()
            )
            req.context.integration = integration
            req.context.org_id = integration.organization_id
            return
        identity = auth.admin_for_token(self._engine, token, now=self._config.clock())
        if (
            identity.role == "viewer"
            and req.method not in ("GET", "HEAD")
            and not getattr(resource, "viewer_may_post", False)
        ):
            raise ApiError("forbidden", "viewers cannot change anything")
        req.context.admin = identity
        req.context.org_id = identity.organization_id


class AnswerSigner:
    """Signs the answer to every request with a valid ``X-Fieldpass-Nonce`` header, errors
    included, binding it to that request (``fieldpass.sync.answers``): devices act on
    nothing the server's key did not sign for them."""

    def __init__(self, config: ServerConfig) -> None:
        self._config = config

    def process_response(
        self, req: falcon.Request, resp: falcon.Response, resource: Any, req_succeeded: bool
    ) -> None:
        key = self._config.signing_key
        nonce = req.get_header(answers.NONCE_HEADER)
        if key is None or nonce is None or not answers.is_valid_nonce(nonce):
            return
        request_body = getattr(req.context, "request_body", None)
        if request_body is not None:
            request_digest = answers.body_digest(request_body)
        elif req.method in ("GET", "HEAD"):
            request_digest = answers.body_digest(b"")
        else:
            request_digest = answers.UNREAD_BODY
        body = resp.data
        if body is None:
            body = resp.text.encode() if isinstance(resp.text, str) else b""
            resp.data = body
        resp.set_header(
            answers.SIGNATURE_HEADER,
            answers.sign_answer(
                key,
                nonce=nonce,
                method=req.method,
                target=request_target(req),
                request_digest=request_digest,
                status=resp.status_code,
                body=body,
            ),
        )


def request_target(req: falcon.Request) -> str:
    """The path (as the WSGI server decoded it, before any rewriting) and raw query."""
    path = req.env.get("PATH_INFO") or "/"
    query = req.env.get("QUERY_STRING") or ""
    return f"{path}?{query}" if query else path
