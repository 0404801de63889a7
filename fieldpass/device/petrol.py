"""PIN redemption at a petrol kiosk, offline: check the PIN, take seats, issue tickets.

One store transaction does everything a sale changes locally (PIN used, seats sold, the
sale and its tickets recorded) together with its ``petrol_sale`` outbox event, so a
sale is either entirely there (and will reach the server) or not at all. The rules
shared with the server (barcodes, seat choice, the payload schema) live in
``fieldpass.sync``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import msgspec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fieldpass.device.errors import DeviceError
from fieldpass.device.identity import DeviceIdentity
from fieldpass.device.store import CLOCK_OFFSET_MS, Store
from fieldpass.sync import sealing
from fieldpass.sync.clock import Clock, system_clock
from fieldpass.sync.payloads import (
    MAX_SALE_CENTS,
    PayloadError,
    payload_dict,
    validate_payload,
)
from fieldpass.sync.petrol import choose_seats, ticket_barcode
from fieldpass.sync.pins import effective_status, is_pin

MAX_REFERENCE_LENGTH = 64


@dataclass(frozen=True)
class IssuedTicket:
    barcode: str
    holder: str
    sector: str
    row: str
    seat: str


@dataclass(frozen=True)
class RedeemablePin:
    """A PIN that may be sold now: its store record and its decrypted holders."""

    record: Any
    holders: list[dict[str, Any]]


@dataclass(frozen=True)
class PetrolSale:
    pin: str
    pin_id: str
    event_id: str
    seq: int  # outbox seq of the petrol_sale event
    tickets: list[IssuedTicket]
    payment: dict[str, Any]
    sold_at: int


_REFUSED = {
    "USED": ("pin_used", "PIN {pin} was already redeemed"),
    "EXPIRED": ("pin_expired", "PIN {pin} has expired"),
    "CANCELLED": ("pin_cancelled", "PIN {pin} was cancelled"),
}


def _payment(cash_cents: int | None, card_ref: str | None) -> dict[str, Any]:
    if (cash_cents is None) == (card_ref is None):
        raise DeviceError("invalid_payment", "pay either cash or card (with its POS reference)")
    if cash_cents is not None:
        if isinstance(cash_cents, bool) or not isinstance(cash_cents, int):
            raise DeviceError("invalid_payment", "the cash amount must be a whole number of cents")
        if not 0 < cash_cents <= MAX_SALE_CENTS:
            raise DeviceError(
                "invalid_payment",
                f"the cash amount must be more than 0 and at most {MAX_SALE_CENTS / 100:.2f}",
            )
        return {"method": "cash", "amount_cents": cash_cents, "tendered_cents": cash_cents}
    reference = (card_ref or "").strip()
    if not reference or len(reference) > MAX_REFERENCE_LENGTH or not reference.isprintable():
        raise DeviceError(
            "invalid_payment",
            f"a card payment needs the POS reference (1-{MAX_REFERENCE_LENGTH} printable "
            "characters)",
        )
    return {"method": "card", "amount_cents": 0, "reference": reference}


def _check_pin_format(pin: Any) -> None:
    if not isinstance(pin, str) or not is_pin(pin):
        shown = pin[:20] if isinstance(pin, str) else pin
        raise DeviceError("invalid_pin", f"a PIN is exactly 5 digits, got {shown!r}")


class PetrolService:
    """Redeem PINs at one petrol kiosk from its local store; safe to call from any thread."""

    def __init__(
        self,
        store: Store,
        identity: DeviceIdentity,
        key: Ed25519PrivateKey,
        clock: Clock = system_clock,
        *,
        holders_key: bytes | None = None,
    ) -> None:
        self.store = store
        self.identity = identity
        if not store.device_id:
            store.device_id = identity.device_id
        self.key = key
        self.clock = clock
        self.holders_key = holders_key
        self._lock = threading.Lock()

    def look_up(self, pin: str) -> RedeemablePin:
        """The PIN as it may be sold now, with its holders; DeviceError (same codes as
        ``redeem``) when it may not. Reads only: the screens preview a PIN with it, and
        ``redeem`` calls it again inside its transaction."""
        _check_pin_format(pin)
        record = self.store.pin(pin)
        if record is None:
            raise DeviceError("unknown_pin", f"PIN {pin} is not known at this kiosk")
        if record.event_id != self.identity.event_id:
            raise DeviceError("wrong_event", f"PIN {pin} is for another match")
        now = self.clock() + (self.store.get_meta(CLOCK_OFFSET_MS) or 0)
        status = record.status
        if record.expires_at is not None:
            status = effective_status(status, record.expires_at, now)
        if self.store.pin_sold_here(record.id) is not None:
            status = "USED"
        if status != "ACTIVE":
            code, message = _REFUSED.get(status, ("pin_not_active", "PIN {pin} cannot be redeemed"))
            raise DeviceError(code, message.format(pin=pin))
        quantity = record.quantity or 0
        return RedeemablePin(record, self._holders(record.id, record.holders_sealed, quantity))

    def _holders(self, pin_id: str, sealed: str | None, quantity: int) -> list[dict[str, Any]]:
        if self.holders_key is None:
            raise DeviceError(
                "no_holders_key", "this kiosk has no holders key (run: fieldpass device sync)"
            )
        if not sealed:
            raise DeviceError("no_holders", f"PIN {pin_id} has no holder data on this kiosk")
        try:
            plain = sealing.open_for_device(
                self.holders_key, self.identity.device_id, pin_id, sealed
            )
            holders = msgspec.json.decode(plain)
            for holder in holders:
                holder["full_name"] = " ".join(str(holder["full_name"]).split())
        except (sealing.SealError, msgspec.DecodeError, KeyError, TypeError) as exc:
            raise DeviceError("bad_holders", f"holder data of PIN {pin_id} cannot be read") from exc
        if len(holders) != quantity or not all(h["full_name"] for h in holders):
            raise DeviceError(
                "bad_holders", f"PIN {pin_id} has {len(holders)} holders, not {quantity}"
            )
        return holders

    def redeem(
        self,
        pin: str,
        *,
        identity_verified: bool,
        cash_cents: int | None = None,
        card_ref: str | None = None,
    ) -> PetrolSale:
        """Sell the PIN's tickets; DeviceError with a ``code`` when refused (nothing changed).

        Codes: invalid_pin, identity_not_verified, invalid_payment, unknown_pin,
        wrong_event, pin_used, pin_expired, pin_cancelled, no_seats, no_holders_key,
        bad_holders.
        """
        _check_pin_format(pin)
        if identity_verified is not True:
            raise DeviceError(
                "identity_not_verified",
                "confirm the holders' identity documents first (--verify-identity)",
            )
        payment = _payment(cash_cents, card_ref)
        device_now = self.clock()
        with self._lock, self.store.transaction() as conn:
            found = self.look_up(pin)
            record, event_id = found.record, self.identity.event_id
            quantity = record.quantity or 0
            names = [holder["full_name"] for holder in found.holders]
            available = {(s.sector, s.row, s.seat): s for s in self.store.sellable_seats(event_id)}
            chosen = choose_seats(available, quantity)
            if chosen is None:
                raise DeviceError(
                    "no_seats",
                    f"not enough seats left in this kiosk's block: {quantity} needed, "
                    f"{len(available)} left",
                )
            tickets = [
                IssuedTicket(ticket_barcode(), name, *seat)
                for name, seat in zip(names, chosen, strict=True)
            ]
            payload = {
                "pin_id": record.id,
                "pin": pin,
                "event_id": event_id,
                "seats": [{"sector": s, "row": r, "seat": n} for s, r, n in chosen],
                "tickets": [
                    {
                        "barcode": t.barcode,
                        "holder_name": t.holder,
                        "sector": t.sector,
                        "row": t.row,
                        "seat": t.seat,
                    }
                    for t in tickets
                ],
                "identity_verified": True,
                "payment": payment,
                "sold_at": device_now,
            }
            try:  # the server refuses what the schema refuses: never queue such an event
                payload = payload_dict(validate_payload("petrol_sale", payload))
            except PayloadError as exc:
                raise DeviceError("invalid_sale", str(exc)) from None
            appended = self.store.append_event(
                conn,
                self.key,
                device_id=self.identity.device_id,
                kind="petrol_sale",
                device_time=device_now,
                payload=payload,
            )
            conn.execute("UPDATE petrol_pins SET status = 'USED' WHERE id = ?", (record.id,))
            conn.executemany(
                "UPDATE seats SET status = 'SOLD' WHERE id = ?",
                [(available[seat].id,) for seat in chosen],
            )
            conn.execute(
                "INSERT INTO petrol_sales (seq, pin_id, pin, event_id, payment_method,"
                " amount_cents, tendered_cents, reference, sold_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    appended.seq,
                    record.id,
                    pin,
                    event_id,
                    payment["method"],
                    payment["amount_cents"],
                    payment.get("tendered_cents"),
                    payment.get("reference"),
                    device_now,
                ),
            )
            conn.executemany(
                'INSERT INTO petrol_tickets (barcode, seq, event_id, sector, "row", seat)'
                " VALUES (?, ?, ?, ?, ?, ?)",
                [(t.barcode, appended.seq, event_id, t.sector, t.row, t.seat) for t in tickets],
            )
        return PetrolSale(
            pin=pin,
            pin_id=record.id,
            event_id=event_id or "",
            seq=appended.seq,
            tickets=tickets,
            payment=payment,
            sold_at=device_now,
        )
