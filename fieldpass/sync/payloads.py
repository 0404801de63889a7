"""Typed payloads of each outbox event kind. The server validates every payload it
ingests with ``validate_payload``; the device builds them with these Structs."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

from fieldpass.sync.bounds import INT32_MAX, Count, EpochMs
from fieldpass.sync.codes import MAX_CODE_LENGTH, SIGNED_PREFIX, InvalidCode, parse_code
from fieldpass.sync.pins import MAX_QUANTITY
from fieldpass.sync.validation_numbers import (
    VALIDATION_LENGTH,
    ValidationNumberError,
    parse_validation_number,
)


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
    code_length: Count  # length of what was read
    barcode: str | None = None  # resolved ticket barcode, when the code is well-formed
    gate_id: str | None = None
    reason: str = ""
    moved: Literal["in", "out"] | None = None  # the holder passed: in (entry) or out (exit)
    signed: bool = False  # the code was a signed ticket
    #: the whole signed-ticket code (``code`` is cut to 256 characters): the server checks
    #: its signature against the event's ticket key before it admits or creates the ticket
    signed_code: Annotated[str, msgspec.Meta(max_length=MAX_CODE_LENGTH)] | None = None
    #: what devices before ``signed_code`` sent instead (the decoded ticket, unsigned): the
    #: server ignores it and admits such a scan only for a ticket it already holds
    ticket: dict[str, Any] | None = None


class SessionPayload(Payload):
    operator: str = ""
    gate_id: str | None = None
    mode: str | None = None


class DeviceClosePayload(Payload):
    """The device closed: end of shift, or an RSU's end of sales in ``raffle_id``
    (after that it sells no more in that raffle)."""

    reason: str = ""
    raffle_id: Annotated[str, msgspec.Meta(min_length=1, max_length=36)] | None = None
    orders: Count | None = None  # RSU: orders sold in the raffle


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
    sold_at: EpochMs  # device time
    #: the reservation this sale completes (``petrol_reservation``), when there was one
    reservation_id: Annotated[str, msgspec.Meta(min_length=1, max_length=36)] | None = None
    #: the identity document type the attendant checked, one per ticket in ticket order
    #: (e.g. "id_card", "passport", "driving_licence")
    documents: list[Annotated[str, msgspec.Meta(min_length=1, max_length=40)]] | None = None

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


class PetrolReservationPayload(Payload):
    """Seats of the kiosk's block held for a PIN while the attendant completes the sale."""

    reservation_id: Annotated[str, msgspec.Meta(min_length=1, max_length=36)]
    pin_id: Annotated[str, msgspec.Meta(min_length=1, max_length=36)]
    event_id: Annotated[str, msgspec.Meta(min_length=1, max_length=36)]
    seats: Annotated[list[PetrolSeat], msgspec.Meta(min_length=1, max_length=MAX_QUANTITY)]
    reserved_at: EpochMs  # device time
    expires_at: EpochMs  # device time

    def __post_init__(self) -> None:
        if self.expires_at <= self.reserved_at:
            raise ValueError("a reservation must expire after it was made")


class PetrolReservationEndPayload(Payload):
    """A reservation that ended without a sale: it expired or the attendant cancelled it;
    its seats went back to the kiosk's block."""

    reservation_id: Annotated[str, msgspec.Meta(min_length=1, max_length=36)]
    pin_id: Annotated[str, msgspec.Meta(min_length=1, max_length=36)]
    outcome: Literal["expired", "cancelled"]
    ended_at: EpochMs
    reason: Annotated[str, msgspec.Meta(max_length=255)] = ""


class PetrolReprintPayload(Payload):
    """An emergency reprint of an issued petrol ticket (seed print_logs): needs a reason
    and the holder's identity checked again."""

    barcode: Annotated[str, msgspec.Meta(min_length=3, max_length=64)]
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=255)]
    identity_verified: bool
    document_type: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    printed_at: EpochMs
    operator: Annotated[str, msgspec.Meta(max_length=100)] = ""

    def __post_init__(self) -> None:
        if self.identity_verified is not True:
            raise ValueError("identity_verified must be true: no reprint without an identity check")
        if not self.reason.strip():
            raise ValueError("a reprint needs a reason")


#: Most seats one seat block holds (the server refuses larger blocks).
MAX_BLOCK_SEATS = 10_000


class SeatBlockReleasedPayload(Payload):
    """The kiosk stopped selling from a block the admin is taking back (RETURNING) and
    hands back the seats it had not sold; every sale of the block precedes this event in
    the outbox, so the server frees exactly these seats and no seat is sold twice."""

    block_id: Annotated[str, msgspec.Meta(min_length=1, max_length=36)]
    seats: Annotated[list[PetrolSeat], msgspec.Meta(max_length=MAX_BLOCK_SEATS)]
    released_at: EpochMs  # device time

    def __post_init__(self) -> None:
        seats = [(s.sector, s.row, s.seat) for s in self.seats]
        if len(set(seats)) != len(seats):
            raise ValueError("a seat is listed twice")


# -- raffle sale units ---------------------------------------------------------------------

#: Most tickets one order (one package) may hold.
MAX_ORDER_TICKETS = 1000
#: Largest amount one raffle order may record, in cents (100,000.00).
MAX_ORDER_CENTS = 10_000_000


def _check_validation_number(number: str) -> None:
    try:
        parse_validation_number(number)
    except ValidationNumberError as exc:
        raise ValueError(str(exc)) from None


Id = Annotated[str, msgspec.Meta(min_length=1, max_length=36)]
ValidationNumber = Annotated[str, msgspec.Meta(pattern=rf"^[0-9]{{{VALIDATION_LENGTH}}}$")]
Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
Cents = Annotated[int, msgspec.Meta(ge=0, le=MAX_ORDER_CENTS)]


class RafflePayment(Payload):
    method: Literal["cash", "card"]
    reference: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] | None = None
    tendered_cents: Cents | None = None

    def __post_init__(self) -> None:
        if self.method == "card" and not (self.reference or "").strip():
            raise ValueError("a card payment needs its reference")
        if self.method == "cash" and self.reference is not None:
            raise ValueError("a cash payment has no card reference")


class RaffleSalePayload(Payload):
    """One order sold at an RSU: a package's draw numbers under one validation number."""

    raffle_id: Id
    order_id: Id  # generated on the RSU (uuid4)
    validation_number: ValidationNumber
    package_id: Id
    draw_numbers: Annotated[
        list[Annotated[int, msgspec.Meta(ge=1, le=INT32_MAX)]],
        msgspec.Meta(min_length=1, max_length=MAX_ORDER_TICKETS),
    ]
    price_cents: Cents
    payment: RafflePayment
    sold_at: EpochMs  # device time
    customer_name: Annotated[str, msgspec.Meta(max_length=255)] | None = None
    customer_phone: Annotated[str, msgspec.Meta(max_length=50)] | None = None
    operator: Annotated[str, msgspec.Meta(max_length=100)] = ""

    def __post_init__(self) -> None:
        _check_validation_number(self.validation_number)
        numbers = self.draw_numbers
        if any(n < 1 for n in numbers):
            raise ValueError("draw numbers start at 1")
        if any(b <= a for a, b in zip(numbers, numbers[1:], strict=False)):
            raise ValueError("draw numbers must be distinct and in ascending order")
        if self.payment.tendered_cents is not None and self.payment.tendered_cents < (
            self.price_cents
        ):
            raise ValueError("cash tendered is less than the price")
        for text in (self.customer_name, self.customer_phone, self.operator):
            if text is not None and not text.isprintable():
                raise ValueError("customer and operator fields must not hold control characters")


class RaffleVoidPayload(Payload):
    """A whole order voided at the RSU; its numbers are never sold again."""

    raffle_id: Id
    order_id: Id
    validation_number: ValidationNumber
    reason: Reason
    voided_at: EpochMs
    operator: Annotated[str, msgspec.Meta(max_length=100)] = ""

    def __post_init__(self) -> None:
        if not self.reason.strip():
            raise ValueError("a void needs a reason")


class RaffleReprintPayload(Payload):
    """A receipt printed again (marked REPRINT); goes to the print log."""

    raffle_id: Id
    order_id: Id
    validation_number: ValidationNumber
    reason: Reason
    printed_at: EpochMs
    copy_number: Annotated[int, msgspec.Meta(ge=2, le=1000)]  # 2 = first reprint
    operator: Annotated[str, msgspec.Meta(max_length=100)] = ""


PAYLOAD_TYPES: dict[str, type[Payload]] = {
    "scan": ScanPayload,
    "session_open": SessionPayload,
    "session_close": SessionPayload,
    "device_close": DeviceClosePayload,
    "petrol_sale": PetrolSalePayload,
    "petrol_reservation": PetrolReservationPayload,
    "petrol_reservation_end": PetrolReservationEndPayload,
    "petrol_reprint": PetrolReprintPayload,
    "seat_block_released": SeatBlockReleasedPayload,
    "raffle_sale": RaffleSalePayload,
    "raffle_void": RaffleVoidPayload,
    "raffle_reprint": RaffleReprintPayload,
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
