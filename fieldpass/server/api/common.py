"""Helpers the resources share: reading bounded bodies, decoding, answering JSON."""

from __future__ import annotations

from typing import Any

import falcon
import msgspec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fieldpass.server.config import ServerConfig
from fieldpass.server.errors import ApiError
from fieldpass.sync.messages import decode

_encoder = msgspec.json.Encoder()


def read_body(req: falcon.Request) -> bytes:
    """The body, refusing more than the route's limit even without a Content-Length."""
    limit = getattr(req.context, "body_limit", 0) or 0
    # Without a Content-Length (a chunked upload) Falcon's bounded stream reads nothing;
    # gunicorn decodes chunked bodies on the raw stream, which the limit still caps.
    stream = req.bounded_stream if req.content_length is not None else req.stream
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise ApiError("too_large", f"request body is larger than {limit} bytes")
    req.context.request_body = data  # what a signed answer is bound to (AnswerSigner)
    return data


def decode_body(req: falcon.Request, message_type: type) -> Any:
    """Decode JSON into a Struct: bad JSON -> bad_json, wrong/missing/unknown field -> invalid."""
    data = read_body(req)
    if not data.strip():
        raise ApiError("bad_json", "request body is empty; a JSON object is required")
    try:
        return decode(message_type, data)
    except msgspec.ValidationError as exc:
        raise ApiError("invalid", str(exc)) from None
    except msgspec.DecodeError as exc:
        raise ApiError("bad_json", f"malformed JSON: {exc}") from None


def send(resp: falcon.Response, body: Any, status: int = 200) -> None:
    resp.status = falcon.code_to_http_status(status)
    resp.content_type = falcon.MEDIA_JSON
    resp.data = body if isinstance(body, bytes) else _encoder.encode(body)


def int_param(req: falcon.Request, name: str, default: int) -> int:
    raw = req.get_param(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or len(raw) > 9:
        raise ApiError("invalid", f"{name} must be a non-negative integer")
    return int(raw)


def require_server_key(config: ServerConfig) -> bytes:
    """The key file's key; ``key_missing`` (503) when the server runs without one."""
    if config.pii_key is None:
        raise ApiError(
            "key_missing", "the server has no key file: run `fieldpass server init` and restart"
        )
    return config.pii_key


def require_signing_key(config: ServerConfig) -> Ed25519PrivateKey:
    """The server's signing key; ``key_missing`` (503) when the server has no key file
    (then it cannot sign anything a device would trust)."""
    if config.signing_key is None:
        raise ApiError(
            "key_missing", "the server has no key file: run `fieldpass server init` and restart"
        )
    return config.signing_key


def client_address(req: falcon.Request, config: ServerConfig) -> str:
    """The client's address: the peer, or what a trusted proxy (``config.trusted_proxies``)
    says it forwarded for; a client cannot choose its own by sending the header."""
    peer = req.remote_addr or "unknown"
    if peer not in config.trusted_proxies:
        return peer
    forwarded = [hop.strip() for hop in (req.get_header("X-Forwarded-For") or "").split(",")]
    for hop in reversed(forwarded):
        if hop and hop not in config.trusted_proxies:
            return hop[:64]
    return peer
