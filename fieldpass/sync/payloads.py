"""Typed payloads of each outbox event kind. The server validates every payload it
ingests with ``validate_payload``; the device builds them with these Structs."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

from fieldpass.sync.codes import SIGNED_PREFIX, InvalidCode, parse_code
from fieldpass.sync.pins import MAX_QUANTITY


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


Label = Annotated[str, msgspec.Meta(min_length=1, max_length=50)]  # sector, row or seat
#: Largest amount a petrol sale may record, in cents (10,000.00).
MAX_SALE_CENTS = 1_000_000


class PetrolSeat(Payload):
    sector: Label
    row: Label
    seat: Label


class PetrolTicket(Payload):
    barcode: Annotated[str, msgspec.Meta(min_length=3, max_length=64)]
    holder_name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    sector: Label
    row: Label
    seat: Label


class PetrolPayment(Payload):
    method: Literal["cash", "card"]
    amount_cents: Annotated[int, msgspec.Meta(ge=0, le=MAX_SALE_CENTS)]
    tendered_cents: Annotated[int, msgspec.Meta(ge=0, le=MAX_SALE_CENTS)] | None = None
    reference: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] | None = None

    def __post_init__(self) -> None:
        if self.method == "card" and not (self.reference or "").strip():
            raise ValueError("a card payment needs the POS reference")
        if self.method == "cash" and self.reference is not None:
            raise ValueError("a cash payment has no POS reference")
        if self.method == "card" and self.tendered_cents is not None:
            raise ValueError("a card payment has no tendered cash")
        if self.tendered_cents is not None and self.tendered_cents < self.amount_cents:
            raise ValueError("cash tendered is less than the amount")


class PetrolSalePayload(Payload):
    """A PIN redeemed at a petrol kiosk: identity checked, seats sold, tickets issued."""

    pin_id: Annotated[str, msgspec.Meta(min_length=1, max_length=36)]
    pin: Annotated[str, msgspec.Meta(pattern=r"^[0-9]{5}$")]
    event_id: Annotated[str, msgspec.Meta(min_length=1, max_length=36)]
    seats: Annotated[list[PetrolSeat], msgspec.Meta(min_length=1, max_length=MAX_QUANTITY)]
    tickets: Annotated[list[PetrolTicket], msgspec.Meta(min_length=1, max_length=MAX_QUANTITY)]
    identity_verified: bool
    payment: PetrolPayment
    sold_at: Annotated[int, msgspec.Meta(ge=0)]  # device time, epoch ms

    def __post_init__(self) -> None:
        if self.identity_verified is not True:
            raise ValueError("identity_verified must be true: no sale without an identity check")
        seats = [(s.sector, s.row, s.seat) for s in self.seats]
        if len(set(seats)) != len(seats):
            raise ValueError("a seat is listed twice")
        if sorted(seats) != sorted((t.sector, t.row, t.seat) for t in self.tickets):
            raise ValueError("tickets must take exactly the sold seats, one each")
        barcodes = [t.barcode for t in self.tickets]
        if len(set(barcodes)) != len(barcodes):
            raise ValueError("a ticket barcode is listed twice")
        for barcode in barcodes:
            if barcode.startswith(SIGNED_PREFIX):
                raise ValueError("petrol tickets have plain barcodes")
            try:
                parsed = parse_code(barcode)
            except InvalidCode as exc:
                raise ValueError(f"ticket barcode {barcode[:20]!r}: {exc.reason}") from None
            if parsed.barcode != barcode:
                raise ValueError(f"ticket barcode {barcode[:20]!r} has surrounding spaces")
        for ticket in self.tickets:
            if not ticket.holder_name.strip() or not ticket.holder_name.isprintable():
                raise ValueError("a ticket holder name is empty or has control characters")


PAYLOAD_TYPES: dict[str, type[Payload]] = {
    "scan": ScanPayload,
    "session_open": SessionPayload,
    "session_close": SessionPayload,
    "device_close": DeviceClosePayload,
    "petrol_sale": PetrolSalePayload,
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
