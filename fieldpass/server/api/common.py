"""Helpers the resources share: reading bounded bodies, decoding, answering JSON."""

from __future__ import annotations

from typing import Any

import falcon
import msgspec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fieldpass.server.body_deadline import READ_ERRORS
from fieldpass.server.config import ServerConfig
from fieldpass.server.errors import ApiError
from fieldpass.sync.messages import decode

_encoder = msgspec.json.Encoder()


def read_body(req: falcon.Request) -> bytes:
    """The body, refusing more than the route's limit even without a Content-Length, and
    a body that does not arrive before its deadline (408: see ``body_deadline``)."""
    limit = getattr(req.context, "body_limit", 0) or 0
    # Without a Content-Length (a chunked upload) Falcon's bounded stream reads nothing;
    # gunicorn decodes chunked bodies on the raw stream, which the limit still caps.
    stream = req.bounded_stream if req.content_length is not None else req.stream
    deadlines = getattr(req.context, "body_deadlines", None)
    sock = req.env.get("gunicorn.socket")
    if deadlines is None or sock is None:  # not served by gunicorn (tests, other servers)
        data = stream.read(limit + 1)
    else:
        announced = req.content_length
        with deadlines.watch(sock, limit if announced is None else announced) as expired:
            try:
                data = stream.read(limit + 1)
            except READ_ERRORS:
                data = None
        if expired() and (data is None or announced is None or len(data) < announced):
            seconds = deadlines.seconds_for(limit if announced is None else announced)
            raise ApiError(
                "request_timeout", f"the request body did not arrive within {seconds:.0f} s"
            )
        if data is None:
            raise ApiError("invalid", "the request body ended before it was complete")
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


def row_id(text: str, what: str) -> int:
    """A serial row id from a path segment: 400 (not a 404 or a database error) otherwise."""
    if not text.isascii() or not text.isdigit() or len(text) > 18 or int(text) < 1:
        raise ApiError("invalid", f"{what} must be a positive integer below 10^18")
    return int(text)


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
