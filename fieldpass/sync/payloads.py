"""Typed payloads of each outbox event kind. The server validates every payload it
ingests with ``validate_payload``; the device builds them with these Structs."""

from __future__ import annotations

from typing import Any, Literal

import msgspec


class Payload(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    pass


class ScanPayload(Payload):
    """One scan at a gate, whatever its result."""

    event_id: str
    mode: Literal["entry", "exit", "check"]
    result: Literal[
        "VALID",
        "VALID_EXIT",
        "ALREADY_USED",
        "UNKNOWN",
        "WRONG_EVENT",
        "REVOKED",
        "WRONG_GATE",
        "NOT_VALID_NOW",
        "INVALID",
    ]
    code: str  # what was read, cut to 256 characters
    code_length: int  # length of what was read
    barcode: str | None = None  # resolved ticket barcode, when the code is well-formed
    gate_id: str | None = None
    reason: str = ""
    moved: Literal["in", "out"] | None = None  # the holder passed: in (entry) or out (exit)
    signed: bool = False  # the code was a signed ticket
    ticket: dict[str, Any] | None = None  # signed-ticket data, for tickets not yet on the server


class SessionPayload(Payload):
    operator: str = ""
    gate_id: str | None = None
    mode: str | None = None


class DeviceClosePayload(Payload):
    reason: str = ""


PAYLOAD_TYPES: dict[str, type[Payload]] = {
    "scan": ScanPayload,
    "session_open": SessionPayload,
    "session_close": SessionPayload,
    "device_close": DeviceClosePayload,
}


class PayloadError(ValueError):
    """A payload that does not match its kind's schema."""


def validate_payload(kind: str, payload: dict[str, Any]) -> Payload:
    """Convert and check ``payload`` for ``kind``; raises PayloadError with the reason."""
    payload_type = PAYLOAD_TYPES.get(kind)
    if payload_type is None:
        raise PayloadError(f"unknown event kind {kind!r}")
    try:
        return msgspec.convert(payload, payload_type)
    except msgspec.ValidationError as exc:
        raise PayloadError(f"{kind} payload: {exc}") from exc


def payload_dict(payload: Payload) -> dict[str, Any]:
    return msgspec.to_builtins(payload)
