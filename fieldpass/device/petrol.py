"""PIN redemption at a petrol kiosk, offline: check the PIN, hold seats, sell, reprint.

Every step is one store transaction that holds its local effects together with its
outbox event, so a step is either entirely there (and will reach the server) or not at
all: a reservation (``petrol_reservation``: seats held for a PIN while the attendant
checks documents and takes payment), its end without a sale (``petrol_reservation_end``:
expired or cancelled, the seats go back to the block), the sale (``petrol_sale``: PIN
used, seats sold, tickets recorded) and an emergency reprint (``petrol_reprint``,
committed before the copy prints), and the release of a seat block the admin takes
back (``seat_block_released``, in the transaction of the pull page that brought the
return: the block stops selling and its unsold seats go back together). The rules shared with the server (barcodes, seat
choice, the payload schema) live in ``fieldpass.sync``.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

import msgspec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fieldpass.device.errors import DeviceError
from fieldpass.device.identity import DeviceIdentity
from fieldpass.device.store import Store
from fieldpass.sync import sealing
from fieldpass.sync.clock import Clock, system_clock
from fieldpass.sync.issued import MAX_HOLDER_IN_CODE, encode_issued_ticket
from fieldpass.sync.issued import IssuedTicket as SignedByDevice
from fieldpass.sync.payloads import MAX_SALE_CENTS
from fieldpass.sync.petrol import Seat, choose_seats, ticket_barcode
from fieldpass.sync.pins import effective_status, is_pin
from fieldpass.sync.seating import seat_sort_key

MAX_REFERENCE_LENGTH = 64
MAX_REASON_LENGTH = 255

#: Identity documents an attendant may check, by the code recorded in events.
DOCUMENT_TYPES: dict[str, str] = {
    "id_card": "ID card",
    "passport": "Passport",
    "driving_licence": "Driving licence",
    "residence_permit": "Residence permit",
}

#: Store meta key: minutes a reservation holds its seats before they return to the block.
RESERVATION_MINUTES = "petrol_reservation_minutes"
DEFAULT_RESERVATION_MINUTES = 5
MAX_RESERVATION_MINUTES = 60

#: A seat's price when its block came without one (a server that does not price seats
#: yet); the VAT rate likewise. Prices are in cents with VAT included.
UNPRICED_SEAT_CENTS = 0
DEFAULT_VAT_PERCENT = "25.00"

#: Why a reservation ended when the admin took its seat block back.
BLOCK_RETURNED_REASON = "seat block returned to the server"

#: Holder data of a match is deleted this long after the match ended...
HOLDER_DATA_GRACE_MS = 24 * 3_600_000
#: ... and a match whose end is not known ends this long after kick-off.
ASSUMED_MATCH_LENGTH_MS = 3 * 3_600_000


def vat_percent_or_default(text: Any) -> str:
    """The VAT rate as two-decimal text ("25.00"); the default when missing or malformed."""
    try:
        rate = Decimal(str(text))
    except (InvalidOperation, ValueError):
        return DEFAULT_VAT_PERCENT
    if not rate.is_finite() or not Decimal(0) <= rate <= Decimal(100):
        return DEFAULT_VAT_PERCENT
    return str(rate.quantize(Decimal("0.01")))


def vat_part_cents(gross_cents: int, vat_percent: str) -> int:
    """The VAT contained in a VAT-included price, rounded half up to the cent."""
    rate = Decimal(vat_percent_or_default(vat_percent))
    part = Decimal(gross_cents) * rate / (Decimal(100) + rate)
    return int(part.quantize(Decimal(1), rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class PricedSeat:
    """A seat of the kiosk's block and what it costs (VAT included)."""

    sector: str
    row: str
    seat: str
    price_cents: int = UNPRICED_SEAT_CENTS
    vat_percent: str = DEFAULT_VAT_PERCENT

    @property
    def key(self) -> Seat:
        return (self.sector, self.row, self.seat)

    @property
    def vat_cents(self) -> int:
        return vat_part_cents(self.price_cents, self.vat_percent)


@dataclass(frozen=True)
class IssuedTicket:
    barcode: str
    holder: str
    sector: str
    row: str
    seat: str
    price_cents: int = UNPRICED_SEAT_CENTS
    vat_percent: str = DEFAULT_VAT_PERCENT
    document_type: str = ""
    #: what the ticket's QR carries: the kiosk-signed code that gates verify offline
    #: (``fieldpass.sync.issued``), or the plain barcode before the kiosk is certified
    code: str = ""

    @property
    def qr_text(self) -> str:
        return self.code or self.barcode

    @property
    def vat_cents(self) -> int:
        return vat_part_cents(self.price_cents, self.vat_percent)


@dataclass(frozen=True)
class RedeemablePin:
    """A PIN that may be sold now: its store record and its decrypted holders."""

    record: Any
    holders: list[dict[str, Any]]


@dataclass(frozen=True)
class Reservation:
    """Seats held for a PIN until ``expires_at`` (device clock, epoch ms)."""

    id: str
    seq: int  # outbox seq of its petrol_reservation event
    pin: str
    pin_id: str
    event_id: str
    seats: tuple[PricedSeat, ...]
    reserved_at: int
    expires_at: int
    status: str = "ACTIVE"

    @property
    def total_cents(self) -> int:
        return sum(seat.price_cents for seat in self.seats)

    @property
    def vat_cents(self) -> int:
        return sum(seat.vat_cents for seat in self.seats)

    def remaining_ms(self, now: int) -> int:
        return max(self.expires_at - now, 0)


@dataclass(frozen=True)
class PetrolSale:
    pin: str
    pin_id: str
    event_id: str
    seq: int  # outbox seq of the petrol_sale event
    tickets: list[IssuedTicket]
    payment: dict[str, Any]
    sold_at: int
    reservation_id: str | None = None

    @property
    def total_cents(self) -> int:
        return int(self.payment["amount_cents"])

    @property
    def vat_cents(self) -> int:
        return sum(ticket.vat_cents for ticket in self.tickets)

    @property
    def change_cents(self) -> int:
        tendered = self.payment.get("tendered_cents")
        return 0 if tendered is None else int(tendered) - self.total_cents


@dataclass(frozen=True)
class ReprintTicket:
    """An issued ticket whose reprint was just recorded: what the copy shows."""

    ticket: IssuedTicket
    sale_seq: int
    pin: str
    event_id: str
    seq: int  # outbox seq of the petrol_reprint event
    reason: str


@dataclass(frozen=True)
class MatchInfo:
    name: str
    kickoff_ms: int | None
    ends_ms: int | None


@dataclass(frozen=True)
class PurgeReport:
    """Holder data deleted by ``purge_holder_data``: of which matches, how many rows."""

    events: list[str] = field(default_factory=list)
    pins: int = 0
    tickets: int = 0


_REFUSED = {
    "USED": ("pin_used", "PIN {pin} was already redeemed"),
    "EXPIRED": ("pin_expired", "PIN {pin} has expired"),
    "CANCELLED": ("pin_cancelled", "PIN {pin} was cancelled"),
}

_reservation_seats = msgspec.json.Decoder(list[dict[str, Any]])


def _payment(total_cents: int, cash_cents: int | None, card_ref: str | None) -> dict[str, Any]:
    """Cash tendered (at least the total; change is the difference) or a card payment of
    the total with its POS reference."""
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
        if cash_cents < total_cents:
            raise DeviceError(
                "invalid_payment",
                f"cash tendered {cash_cents / 100:.2f} is less than the total "
                f"{total_cents / 100:.2f}",
            )
        return {"method": "cash", "amount_cents": total_cents, "tendered_cents": cash_cents}
    reference = (card_ref or "").strip()
    if not reference or len(reference) > MAX_REFERENCE_LENGTH or not reference.isprintable():
        raise DeviceError(
            "invalid_payment",
            f"a card payment needs the POS reference (1-{MAX_REFERENCE_LENGTH} printable "
            "characters)",
        )
    return {"method": "card", "amount_cents": total_cents, "reference": reference}


def _check_pin_format(pin: Any) -> None:
    if not isinstance(pin, str) or not is_pin(pin):
        shown = pin[:20] if isinstance(pin, str) else pin
        raise DeviceError("invalid_pin", f"a PIN is exactly 5 digits, got {shown!r}")


def check_document_type(document_type: Any) -> str:
    """The document code if it is one of ``DOCUMENT_TYPES``; DeviceError otherwise."""
    if not isinstance(document_type, str) or document_type not in DOCUMENT_TYPES:
        shown = document_type[:40] if isinstance(document_type, str) else document_type
        raise DeviceError(
            "invalid_document",
            f"the identity document must be one of {', '.join(DOCUMENT_TYPES)}, got {shown!r}",
        )
    return document_type


def _check_reason(reason: Any) -> str:
    text = " ".join(reason.split()) if isinstance(reason, str) else ""
    if not text or len(text) > MAX_REASON_LENGTH or not text.isprintable():
        raise DeviceError(
            "invalid_reason", f"a reprint needs a reason (1-{MAX_REASON_LENGTH} characters)"
        )
    return text


def _seat_text(seat: Seat) -> str:
    return f"{seat[0]}/{seat[1]}/{seat[2]}"


def _invalid_code(kind: str) -> str:
    """The DeviceError code of a payload its kind's schema refuses: invalid_sale, …"""
    return f"invalid_{kind.removeprefix('petrol_')}"


def _end_reservation(
    store: Store,
    conn: Any,
    key: Ed25519PrivateKey,
    device_id: str,
    reservation: tuple[str, str],
    outcome: str,
    now: int,
    reason: str,
) -> None:
    """End the reservation ``(id, pin_id)`` without a sale and free its seats, with its
    ``petrol_reservation_end`` event, in the caller's transaction."""
    reservation_id, pin_id = reservation
    payload = {
        "reservation_id": reservation_id,
        "pin_id": pin_id,
        "outcome": outcome,
        "ended_at": now,
        "reason": reason,
    }
    appended = store.append_valid_event(
        conn,
        key,
        device_id=device_id,
        kind="petrol_reservation_end",
        device_time=now,
        payload=payload,
        invalid_code=_invalid_code("petrol_reservation_end"),
    )
    conn.execute(
        "UPDATE petrol_reservations SET status = ?, ended_at = ?, end_seq = ? WHERE id = ?",
        (outcome.upper(), now, appended.seq, reservation_id),
    )
    conn.execute("DELETE FROM petrol_seat_holds WHERE reservation_id = ?", (reservation_id,))


@dataclass(frozen=True)
class BlockRelease:
    """A seat block this kiosk handed back: the outbox seq of its ``seat_block_released``
    event, the unsold seats it released, the reservations it cancelled."""

    block_id: str
    seq: int
    seats: tuple[Seat, ...]
    cancelled: tuple[str, ...]


def release_returning_blocks(
    store: Store, conn: Any, key: Ed25519PrivateKey, device_id: str, now: int
) -> list[BlockRelease]:
    """In the caller's transaction (the pull page that brought the change): for each
    block the admin is taking back (RETURNING) and not yet released here, cancel the
    reservations holding its seats and queue ``seat_block_released`` with its unsold
    seats. The kiosk stopped selling from it already (only ACTIVE blocks sell); every
    sale it made from the block is earlier in the outbox, so the server sees them first.
    """
    blocks = conn.execute(
        "SELECT b.id FROM seat_blocks b WHERE b.status = 'RETURNING' AND NOT EXISTS"
        " (SELECT 1 FROM petrol_block_releases r WHERE r.block_id = b.id) ORDER BY b.id"
    ).fetchall()
    done: list[BlockRelease] = []
    for (block_id,) in blocks:
        holding = conn.execute(
            "SELECT DISTINCT r.id, r.pin_id, r.seq FROM petrol_reservations r"
            " JOIN petrol_seat_holds h ON h.reservation_id = r.id"
            " JOIN seats s ON s.event_id IS h.event_id AND s.sector = h.sector"
            ' AND s."row" = h."row" AND s.seat = h.seat'
            " WHERE s.block_id = ? AND r.status = 'ACTIVE' ORDER BY r.seq",
            (block_id,),
        ).fetchall()
        for reservation_id, pin_id, _ in holding:
            _end_reservation(
                store,
                conn,
                key,
                device_id,
                (reservation_id, pin_id),
                "cancelled",
                now,
                BLOCK_RETURNED_REASON,
            )
        unsold = sorted(
            (
                (sector, row, number)
                for sector, row, number in conn.execute(
                    'SELECT s.sector, s."row", s.seat FROM seats s'
                    " WHERE s.block_id = ? AND s.status = 'ALLOCATED' AND NOT EXISTS"
                    " (SELECT 1 FROM petrol_tickets t WHERE t.event_id IS s.event_id"
                    ' AND t.sector = s.sector AND t."row" = s."row" AND t.seat = s.seat)',
                    (block_id,),
                )
            ),
            key=lambda seat: (seat[0], *seat_sort_key(seat[1], seat[2])),
        )
        payload = {
            "block_id": block_id,
            "seats": [{"sector": a, "row": b, "seat": c} for a, b, c in unsold],
            "released_at": now,
        }
        appended = store.append_valid_event(
            conn,
            key,
            device_id=device_id,
            kind="seat_block_released",
            device_time=now,
            payload=payload,
            invalid_code=_invalid_code("seat_block_released"),
        )
        conn.execute(
            "INSERT INTO petrol_block_releases (block_id, seq, released_at, seats)"
            " VALUES (?, ?, ?, ?)",
            (block_id, appended.seq, now, len(unsold)),
        )
        done.append(
            BlockRelease(block_id, appended.seq, tuple(unsold), tuple(r[0] for r in holding))
        )
    return done


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

    # -- settings and reads ------------------------------------------------------------------

    @property
    def reservation_minutes(self) -> int:
        value = self.store.get_meta(RESERVATION_MINUTES)
        try:
            minutes = int(value) if value is not None else DEFAULT_RESERVATION_MINUTES
        except ValueError:
            minutes = DEFAULT_RESERVATION_MINUTES
        return minutes if 1 <= minutes <= MAX_RESERVATION_MINUTES else DEFAULT_RESERVATION_MINUTES

    def set_reservation_minutes(self, minutes: int) -> None:
        """Store how long a reservation holds its seats (the station manager's setting)."""
        if isinstance(minutes, bool) or not isinstance(minutes, int):
            raise DeviceError("invalid_setting", "reservation minutes must be a whole number")
        if not 1 <= minutes <= MAX_RESERVATION_MINUTES:
            raise DeviceError(
                "invalid_setting",
                f"reservation minutes must be between 1 and {MAX_RESERVATION_MINUTES}",
            )
        self.store.set_meta(**{RESERVATION_MINUTES: minutes})

    def server_now(self) -> int:
        """The device clock corrected by the last known offset to the server's clock."""
        return self.store.server_time(self.clock())

    def match_info(self) -> MatchInfo:
        row = self.store.conn.execute(
            "SELECT name, starts_at, ends_at FROM events WHERE id IS ?",
            (self.identity.event_id,),
        ).fetchone()
        return MatchInfo("", None, None) if row is None else MatchInfo(row[0] or "", *row[1:])

    def look_up(self, pin: str) -> RedeemablePin:
        """The PIN as it may be sold now, with its holders; DeviceError (same codes as
        ``redeem``) when it may not. Reads only: the screens preview a PIN with it, and
        ``reserve``/``redeem`` call it again inside their transaction."""
        _check_pin_format(pin)
        record = self.store.pin(pin)
        if record is None:
            raise DeviceError("unknown_pin", f"PIN {pin} is not known at this kiosk")
        if record.event_id != self.identity.event_id:
            raise DeviceError("wrong_event", f"PIN {pin} is for another match")
        status = record.status
        if record.expires_at is not None:
            status = effective_status(status, record.expires_at, self.server_now())
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

    def free_seats(self, reservation_id: str | None = None) -> list[PricedSeat]:
        """Seats of the kiosk's block that may be sold now, in seat order; with
        ``reservation_id``, that reservation's own seats count as free (seat change)."""
        free = self._free(self.store.conn, reservation_id)
        return sorted(
            (seat for _, seat in free.values()),
            key=lambda s: (s.sector, *seat_sort_key(s.row, s.seat)),
        )

    def _free(self, conn: Any, reservation_id: str | None = None) -> dict[Seat, tuple[str, Any]]:
        """Sellable seats (key -> (seat id, PricedSeat)): in an ACTIVE block, not sold here,
        not held by a reservation other than ``reservation_id``."""
        rows = conn.execute(
            'SELECT s.id, s.sector, s."row", s.seat, b.price_cents, b.vat_percent FROM seats s'
            " JOIN seat_blocks b ON b.id = s.block_id"
            " WHERE b.status = 'ACTIVE' AND s.status = 'ALLOCATED' AND s.event_id IS ?"
            " AND NOT EXISTS (SELECT 1 FROM petrol_tickets t WHERE t.event_id IS s.event_id"
            ' AND t.sector = s.sector AND t."row" = s."row" AND t.seat = s.seat)'
            " AND NOT EXISTS (SELECT 1 FROM petrol_seat_holds h WHERE h.event_id IS s.event_id"
            ' AND h.sector = s.sector AND h."row" = s."row" AND h.seat = s.seat'
            " AND h.reservation_id IS NOT ?)",
            (self.identity.event_id, reservation_id),
        )
        free: dict[Seat, tuple[str, Any]] = {}
        for seat_id, sector, row, number, price, vat in rows:
            price = price if isinstance(price, int) and price >= 0 else UNPRICED_SEAT_CENTS
            seat = PricedSeat(sector, row, number, price, vat_percent_or_default(vat or ""))
            free[seat.key] = (seat_id, seat)
        return free

    def reservation(self, reservation_id: str) -> Reservation | None:
        row = self.store.conn.execute(
            "SELECT id, seq, pin, pin_id, event_id, seats, reserved_at, expires_at, status"
            " FROM petrol_reservations WHERE id = ?",
            (reservation_id,),
        ).fetchone()
        return None if row is None else self._reservation_of(row)

    def active_reservations(self) -> list[Reservation]:
        rows = self.store.conn.execute(
            "SELECT id, seq, pin, pin_id, event_id, seats, reserved_at, expires_at, status"
            " FROM petrol_reservations WHERE status = 'ACTIVE' ORDER BY seq"
        ).fetchall()
        return [self._reservation_of(row) for row in rows]

    @staticmethod
    def _reservation_of(row: tuple) -> Reservation:
        seats = tuple(PricedSeat(**seat) for seat in _reservation_seats.decode(row[5]))
        return Reservation(row[0], row[1], row[2], row[3], row[4] or "", seats, *row[6:])

    # -- reservations ------------------------------------------------------------------------

    def _choose(
        self, free: dict[Seat, tuple[str, Any]], quantity: int, seats: list[Seat] | None
    ) -> list[Seat]:
        if seats is None:
            chosen = choose_seats(free.keys(), quantity)
            if chosen is None:
                raise DeviceError(
                    "no_seats",
                    f"not enough seats left in this kiosk's block: {quantity} needed, "
                    f"{len(free)} left",
                )
            return chosen
        chosen = [tuple(str(part) for part in seat) for seat in seats]
        if len(chosen) != quantity:
            raise DeviceError("invalid_seats", f"choose exactly {quantity} seat(s)")
        if len(set(chosen)) != len(chosen):
            raise DeviceError("invalid_seats", "a seat is chosen twice")
        for seat in chosen:
            if len(seat) != 3 or seat not in free:
                raise DeviceError(
                    "seat_taken", f"seat {_seat_text(seat)} is not free in this kiosk's block"
                )
        return chosen  # type: ignore[return-value]

    def reserve(self, pin: str, seats: list[Seat] | None = None) -> Reservation:
        """Hold seats for the PIN: ``seats`` (sector, row, seat) chosen by the attendant, or
        the best free ones (``choose_seats``). DeviceError codes: those of ``look_up``,
        pin_reserved, no_seats, invalid_seats, seat_taken."""
        _check_pin_format(pin)
        now = self.clock()
        self.expire_reservations(now)
        with self._lock, self.store.transaction() as conn:
            found = self.look_up(pin)
            self._refuse_if_reserved(conn, found.record.id, pin)
            free = self._free(conn)
            chosen = self._choose(free, found.record.quantity or 0, seats)
            expires_at = now + self.reservation_minutes * 60_000
            return self._insert_reservation(
                conn, found.record.id, pin, [free[s][1] for s in chosen], now, expires_at
            )

    def change_seats(self, reservation_id: str, seats: list[Seat]) -> Reservation:
        """Replace a reservation's seats (the attendant picked others): the old reservation
        ends (cancelled, "seats changed") and a new one holds the new seats until the same
        expiry, in one transaction."""
        now = self.clock()
        self.expire_reservations(now)
        with self._lock, self.store.transaction() as conn:
            old = self._active(conn, reservation_id)
            free = self._free(conn, reservation_id)
            chosen = self._choose(free, len(old.seats), seats)
            self._end(conn, old, "cancelled", now, "seats changed")
            return self._insert_reservation(
                conn, old.pin_id, old.pin, [free[s][1] for s in chosen], now, old.expires_at
            )

    def cancel_reservation(self, reservation_id: str, reason: str = "") -> bool:
        """End an active reservation without a sale; False when it had already ended."""
        now = self.clock()
        with self._lock, self.store.transaction() as conn:
            current = self.reservation(reservation_id)
            if current is None or current.status != "ACTIVE":
                return False
            self._end(conn, current, "cancelled", now, " ".join(reason.split())[:255])
            return True

    def cancel_open_reservations(self, reason: str) -> int:
        """End every active reservation (the app starts: no attendant is completing one)."""
        return sum(self.cancel_reservation(r.id, reason) for r in self.active_reservations())

    def expire_reservations(self, now: int | None = None) -> list[str]:
        """End the reservations whose time ran out and free their seats; their ids."""
        now = self.clock() if now is None else now
        due = self.store.conn.execute(
            "SELECT 1 FROM petrol_reservations WHERE status = 'ACTIVE' AND expires_at <= ? LIMIT 1",
            (now,),
        ).fetchone()
        if due is None:  # the common case: no write transaction (and no fsync) at all
            return []
        with self._lock, self.store.transaction() as conn:
            rows = conn.execute(
                "SELECT id, seq, pin, pin_id, event_id, seats, reserved_at, expires_at, status"
                " FROM petrol_reservations WHERE status = 'ACTIVE' AND expires_at <= ?"
                " ORDER BY seq",
                (now,),
            ).fetchall()
            expired = [self._reservation_of(row) for row in rows]
            for reservation in expired:
                self._end(conn, reservation, "expired", now, "")
        return [r.id for r in expired]

    def _refuse_if_reserved(self, conn: Any, pin_id: str, pin: str) -> None:
        row = conn.execute(
            "SELECT expires_at FROM petrol_reservations WHERE pin_id = ? AND status = 'ACTIVE'",
            (pin_id,),
        ).fetchone()
        if row is not None:
            seconds = max((row[0] - self.clock()) // 1000, 0)
            raise DeviceError(
                "pin_reserved",
                f"PIN {pin} is being sold at this kiosk (its reservation ends in {seconds} s)",
            )

    def _active(self, conn: Any, reservation_id: str) -> Reservation:
        current = self.reservation(reservation_id)
        if current is None:
            raise DeviceError("unknown_reservation", f"no reservation {reservation_id!r} here")
        if current.status == "EXPIRED":
            raise DeviceError(
                "reservation_expired", "the reservation expired and its seats were released"
            )
        if current.status != "ACTIVE":
            raise DeviceError("reservation_ended", f"the reservation was {current.status.lower()}")
        return current

    def _insert_reservation(
        self,
        conn: Any,
        pin_id: str,
        pin: str,
        seats: list[PricedSeat],
        now: int,
        expires_at: int,
    ) -> Reservation:
        reservation_id = str(uuid.uuid4())
        event_id = self.identity.event_id or ""
        payload = {
            "reservation_id": reservation_id,
            "pin_id": pin_id,
            "event_id": event_id,
            "seats": [{"sector": s.sector, "row": s.row, "seat": s.seat} for s in seats],
            "reserved_at": now,
            "expires_at": expires_at,
        }
        appended = self.store.append_valid_event(
            conn,
            self.key,
            device_id=self.identity.device_id,
            kind="petrol_reservation",
            device_time=now,
            payload=payload,
            invalid_code=_invalid_code("petrol_reservation"),
        )
        conn.execute(
            "INSERT INTO petrol_reservations (id, seq, pin_id, pin, event_id, seats,"
            " reserved_at, expires_at, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'ACTIVE')",
            (
                reservation_id,
                appended.seq,
                pin_id,
                pin,
                event_id,
                msgspec.json.encode([s.__dict__ for s in seats]).decode(),
                now,
                expires_at,
            ),
        )
        conn.executemany(  # the unique index refuses a seat two reservations would hold
            'INSERT INTO petrol_seat_holds (event_id, sector, "row", seat, reservation_id)'
            " VALUES (?, ?, ?, ?, ?)",
            [(event_id, s.sector, s.row, s.seat, reservation_id) for s in seats],
        )
        return Reservation(
            reservation_id, appended.seq, pin, pin_id, event_id, tuple(seats), now, expires_at
        )

    def _end(self, conn: Any, reservation: Reservation, outcome: str, now: int, reason: str):
        _end_reservation(
            self.store,
            conn,
            self.key,
            self.identity.device_id,
            (reservation.id, reservation.pin_id),
            outcome,
            now,
            reason,
        )

    # -- the sale ----------------------------------------------------------------------------

    def redeem(
        self,
        pin: str,
        *,
        identity_verified: bool,
        cash_cents: int | None = None,
        card_ref: str | None = None,
        reservation_id: str | None = None,
        documents: list[str] | None = None,
    ) -> PetrolSale:
        """Sell the PIN's tickets; DeviceError with a ``code`` when refused (nothing changed).

        With ``reservation_id`` the sale takes that reservation's seats at its prices and
        completes it; without, it takes the best free seats at once (``device redeem``).
        ``cash_cents`` is the cash tendered (at least the total); a card pays the total.
        ``documents``: the identity document checked per holder (``DOCUMENT_TYPES``).

        Codes: invalid_pin, identity_not_verified, invalid_payment, invalid_document,
        unknown_pin, wrong_event, pin_used, pin_expired, pin_cancelled, pin_reserved,
        no_seats, no_holders_key, bad_holders, unknown_reservation, reservation_expired,
        reservation_ended, wrong_reservation, seat_gone.
        """
        _check_pin_format(pin)
        if identity_verified is not True:
            raise DeviceError(
                "identity_not_verified",
                "confirm the holders' identity documents first (--verify-identity)",
            )
        if documents is not None:
            documents = [check_document_type(d) for d in documents]
        now = self.clock()
        self.expire_reservations(now)
        with self._lock, self.store.transaction() as conn:
            found = self.look_up(pin)
            record, event_id = found.record, self.identity.event_id
            quantity = record.quantity or 0
            if documents is not None and len(documents) != quantity:
                raise DeviceError(
                    "invalid_document", f"give one identity document per holder ({quantity})"
                )
            if reservation_id is not None:
                reservation = self._active(conn, reservation_id)
                if reservation.pin_id != record.id:
                    raise DeviceError("wrong_reservation", f"that reservation is not for PIN {pin}")
                free = self._free(conn, reservation_id)
                for seat in reservation.seats:
                    if seat.key not in free:
                        raise DeviceError(
                            "seat_gone",
                            f"seat {_seat_text(seat.key)} is no longer in this kiosk's block",
                        )
                priced = list(reservation.seats)
            else:
                reservation = None
                self._refuse_if_reserved(conn, record.id, pin)
                free = self._free(conn)
                priced = [free[s][1] for s in self._choose(free, quantity, None)]
            payment = _payment(sum(s.price_cents for s in priced), cash_cents, card_ref)
            names = [holder["full_name"] for holder in found.holders]
            kinds = documents or [""] * quantity
            tickets = [
                self._signed(
                    IssuedTicket(
                        ticket_barcode(),
                        name,
                        seat.sector,
                        seat.row,
                        seat.seat,
                        seat.price_cents,
                        seat.vat_percent,
                        kind,
                    ),
                    now,
                )
                for name, seat, kind in zip(names, priced, kinds, strict=True)
            ]
            payload: dict[str, Any] = {
                "pin_id": record.id,
                "pin": pin,
                "event_id": event_id,
                "seats": [{"sector": s.sector, "row": s.row, "seat": s.seat} for s in priced],
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
                "sold_at": now,
            }
            if reservation is not None:
                payload["reservation_id"] = reservation.id
            if documents is not None:
                payload["documents"] = documents
            appended = self.store.append_valid_event(
                conn,
                self.key,
                device_id=self.identity.device_id,
                kind="petrol_sale",
                device_time=now,
                payload=payload,
                invalid_code=_invalid_code("petrol_sale"),
            )
            conn.execute("UPDATE petrol_pins SET status = 'USED' WHERE id = ?", (record.id,))
            conn.executemany(
                "UPDATE seats SET status = 'SOLD' WHERE id = ?",
                [(free[seat.key][0],) for seat in priced],
            )
            conn.execute(
                "INSERT INTO petrol_sales (seq, pin_id, pin, event_id, payment_method,"
                " amount_cents, tendered_cents, reference, sold_at, reservation_id)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    appended.seq,
                    record.id,
                    pin,
                    event_id,
                    payment["method"],
                    payment["amount_cents"],
                    payment.get("tendered_cents"),
                    payment.get("reference"),
                    now,
                    None if reservation is None else reservation.id,
                ),
            )
            conn.executemany(
                'INSERT INTO petrol_tickets (barcode, seq, event_id, sector, "row", seat, holder,'
                " document_type, price_cents, vat_percent, code)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        t.barcode,
                        appended.seq,
                        event_id,
                        t.sector,
                        t.row,
                        t.seat,
                        t.holder,
                        t.document_type or None,
                        t.price_cents,
                        t.vat_percent,
                        t.code or None,
                    )
                    for t in tickets
                ],
            )
            if reservation is not None:
                conn.execute(
                    "UPDATE petrol_reservations SET status = 'SOLD', ended_at = ?, end_seq = ?"
                    " WHERE id = ?",
                    (now, appended.seq, reservation.id),
                )
                conn.execute(
                    "DELETE FROM petrol_seat_holds WHERE reservation_id = ?", (reservation.id,)
                )
        return PetrolSale(
            pin=pin,
            pin_id=record.id,
            event_id=event_id or "",
            seq=appended.seq,
            tickets=tickets,
            payment=payment,
            sold_at=now,
            reservation_id=None if reservation is None else reservation.id,
        )

    def _signed(self, ticket: IssuedTicket, now: int) -> IssuedTicket:
        """The ticket with this kiosk's signed code when the server has certified the
        kiosk for the event (a gate then admits it before it hears of the sale)."""
        issuer = self.store.issuer_of(self.identity.device_id)
        server_now = self.store.server_time(now)
        if issuer is None or not issuer[1] <= server_now <= issuer[2]:
            return ticket
        signed = SignedByDevice(
            i=issuer[0],
            b=ticket.barcode,
            s=ticket.sector,
            r=ticket.row,
            n=ticket.seat,
            h=ticket.holder[:MAX_HOLDER_IN_CODE],
            t=server_now // 1000,
        )
        return replace(ticket, code=encode_issued_ticket(self.key, signed))

    # -- emergency reprint -------------------------------------------------------------------

    def record_reprint(
        self,
        barcode: str,
        *,
        reason: str,
        identity_verified: bool,
        document_type: str,
        operator: str = "",
    ) -> ReprintTicket:
        """Log the reprint of a ticket issued here (``petrol_reprint``) before it prints.

        Codes: invalid_reason, identity_not_verified, invalid_document, unknown_ticket,
        holder_data_purged.
        """
        text = _check_reason(reason)
        if identity_verified is not True:
            raise DeviceError(
                "identity_not_verified", "re-check the holder's identity document first"
            )
        check_document_type(document_type)
        code = barcode.strip() if isinstance(barcode, str) else ""
        now = self.clock()
        with self._lock, self.store.transaction() as conn:
            row = conn.execute(
                'SELECT t.barcode, t.holder, t.sector, t."row", t.seat, t.price_cents,'
                " t.vat_percent, t.document_type, s.seq, s.pin, s.event_id, t.code"
                " FROM petrol_tickets t JOIN petrol_sales s ON s.seq = t.seq"
                " WHERE t.barcode = ?",
                (code,),
            ).fetchone()
            if row is None:
                raise DeviceError(
                    "unknown_ticket", f"ticket {code[:64]!r} was not issued at this kiosk"
                )
            if row[1] is None:
                raise DeviceError(
                    "holder_data_purged",
                    f"ticket {code}: its holder data is no longer on this kiosk (deleted "
                    "after the match)",
                )
            payload = {
                "barcode": code,
                "reason": text,
                "identity_verified": True,
                "document_type": document_type,
                "printed_at": now,
                "operator": operator,
            }
            appended = self.store.append_valid_event(
                conn,
                self.key,
                device_id=self.identity.device_id,
                kind="petrol_reprint",
                device_time=now,
                payload=payload,
                invalid_code=_invalid_code("petrol_reprint"),
            )
        barcode_, holder, sector, seat_row, seat, price, vat, document = row[:8]
        ticket = IssuedTicket(
            barcode_, holder, sector, seat_row, seat, price, vat_percent_or_default(vat or "")
        )
        ticket = IssuedTicket(
            **{**ticket.__dict__, "document_type": document or "", "code": row[11] or ""}
        )
        return ReprintTicket(ticket, row[8], row[9], row[10] or "", appended.seq, text)

    # -- holder data purge -------------------------------------------------------------------

    def purge_holder_data(self, now: int | None = None) -> PurgeReport:
        """Delete the holder data of matches over for ``HOLDER_DATA_GRACE_MS`` (end, or
        kick-off plus ``ASSUMED_MATCH_LENGTH_MS``): the sealed holders of their PINs and the
        holder names of tickets issued here. Barcodes, seats and sales stay. ``now`` is
        server time (default: the device clock corrected by the last known offset)."""
        now = self.server_now() if now is None else now
        with self._lock, self.store.transaction() as conn:
            over = [
                event_id
                for event_id, starts_at, ends_at in conn.execute(
                    "SELECT id, starts_at, ends_at FROM events"
                )
                if (end := ends_at or (starts_at and starts_at + ASSUMED_MATCH_LENGTH_MS))
                and now >= end + HOLDER_DATA_GRACE_MS
            ]
            pins = tickets = 0
            for event_id in over:
                pins += conn.execute(
                    "UPDATE petrol_pins SET holders_sealed = NULL"
                    " WHERE event_id = ? AND holders_sealed IS NOT NULL",
                    (event_id,),
                ).rowcount
                tickets += conn.execute(
                    "UPDATE petrol_tickets SET holder = NULL"
                    " WHERE event_id = ? AND holder IS NOT NULL",
                    (event_id,),
                ).rowcount
        return PurgeReport(over, pins, tickets)
