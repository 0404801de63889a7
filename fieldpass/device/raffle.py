"""Raffle sales at an RSU, offline: take the next numbers of the device's allocations,
give the order an unguessable validation number, void, reprint, close.

Each method commits its local effect and its outbox event in one store transaction,
before anything is printed (docs/raffle.md, "Device"). The store is checked once per
service (SQLite integrity check and the whole outbox hash chain); a damaged store sells
nothing. Remaining numbers are ``low`` below max(10, 10 % of the active allocations).
"""

from __future__ import annotations

import sqlite3
import threading
import uuid
from dataclasses import dataclass, field, replace

import msgspec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fieldpass.device import raffle_store
from fieldpass.device.errors import DeviceError
from fieldpass.device.identity import DeviceIdentity
from fieldpass.device.raffle_store import OrderRecord, RaffleRecord
from fieldpass.device.store import AppendedEvent, Store
from fieldpass.sync.clock import Clock, system_clock, to_iso
from fieldpass.sync.events import GENESIS_HASH, ChainError, verify_chain
from fieldpass.sync.payloads import (
    MAX_ORDER_CENTS,
)
from fieldpass.sync.validation_numbers import (
    MAX_TERMINAL_NUMBER,
    ValidationNumberError,
    new_validation_number,
    parse_validation_number,
)

#: Warn when fewer numbers remain than this share of the active allocations (10 %),
#: and never below LOW_MINIMUM numbers: enough warning to ask for a new range.
LOW_SHARE_PERCENT = 10
LOW_MINIMUM = 10
MAX_REFERENCE_LENGTH = 64
MAX_CUSTOMER_NAME = 255
MAX_CUSTOMER_PHONE = 50
MAX_OPERATOR = 100
MAX_REASON = 500
#: Outbox events verified per query when checking the hash chain.
CHAIN_BATCH = 2000


@dataclass(frozen=True)
class RafflePackage:
    id: str
    name: str
    ticket_count: int
    price_cents: int


@dataclass(frozen=True)
class RaffleReceipt:
    """Everything a raffle receipt prints (kiosk.raffle_receipt lays it out)."""

    organization_name: str
    raffle_name: str
    licence_number: str | None
    rsu_id: str
    rsu_name: str
    terminal_number: int
    order_id: str
    validation_number: str  # canonical 20 digits (format_validation_number for people)
    package_name: str
    draw_numbers: list[int]
    price_cents: int
    payment_method: str  # cash | card
    payment_reference: str | None
    tendered_cents: int | None
    sold_at: int  # device time, epoch ms
    jackpot_estimate_cents: int | None
    claim_deadline: int | None  # epoch ms
    customer_name: str | None
    copy_number: int = 1  # 1 = original, 2+ = REPRINT
    voided: bool = False
    customer_phone: str | None = None
    void_reason: str | None = None

    @property
    def change_cents(self) -> int | None:
        """Cash change given back (None for card)."""
        if self.tendered_cents is None:
            return None
        return self.tendered_cents - self.price_cents


@dataclass(frozen=True)
class RaffleSale:
    """A sale (or its void) as committed: the receipt to print and its outbox seq."""

    seq: int
    receipt: RaffleReceipt


@dataclass(frozen=True)
class RaffleTotals:
    orders: int = 0
    tickets: int = 0
    cash_cents: int = 0
    card_cents: int = 0
    voided_orders: int = 0


@dataclass(frozen=True)
class RaffleStatus:
    raffle_id: str | None
    raffle_name: str | None
    state: str | None
    packages: list[RafflePackage] = field(default_factory=list)
    remaining: int = 0  # numbers left in active allocations
    low: bool = False  # remaining is below the warning threshold
    totals: RaffleTotals = RaffleTotals()
    closed: bool = False
    sales_end: int | None = None  # epoch ms
    can_sell: bool = False
    cannot_sell_reason: str | None = None  # one line for the seller
    cannot_sell_code: str | None = None  # the DeviceError code sell() would raise
    allocated: int = 0  # size of the active allocations
    terminal_number: int | None = None
    sales_start: int | None = None  # epoch ms


@dataclass(frozen=True)
class IntegrityReport:
    ok: bool
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class RaffleClosing:
    """This RSU's end of sales in a raffle (its device_close event)."""

    raffle_id: str
    seq: int
    orders: int  # orders sold here, voided ones included
    closed_at: int  # device time, epoch ms
    already: bool = False  # closed before this call: nothing new recorded


def low_threshold(allocated: int) -> int:
    """Remaining numbers below this are ``low``: 10 % of the allocation, at least 10."""
    return max(LOW_MINIMUM, allocated * LOW_SHARE_PERCENT // 100)


def _clean_text(value: str | None, what: str, limit: int) -> str | None:
    """Collapse whitespace; None or blank is None; DeviceError for control characters or
    too long."""
    if value is None:
        return None
    text = " ".join(str(value).split())
    if not text:
        return None
    if len(text) > limit or not text.isprintable():
        raise DeviceError(
            "invalid_customer", f"{what} must be at most {limit} printable characters"
        )
    return text


def _reason(reason: str) -> str:
    text = " ".join(str(reason or "").split())
    if not text:
        raise DeviceError("invalid_reason", "a reason is required")
    if len(text) > MAX_REASON or not text.isprintable():
        raise DeviceError("invalid_reason", f"the reason must be 1-{MAX_REASON} characters")
    return text


def _operator(operator: str) -> str:
    text = " ".join(str(operator or "").split())
    if len(text) > MAX_OPERATOR or not text.isprintable():
        raise DeviceError("invalid_operator", f"operator must be at most {MAX_OPERATOR} characters")
    return text


def _validation(text: str) -> str:
    try:
        return parse_validation_number(text)
    except ValidationNumberError as exc:
        raise DeviceError("invalid_validation", str(exc)) from None


def _payment(
    price_cents: int, cash_tendered_cents: int | None, card_reference: str | None
) -> dict[str, object]:
    """The sale's payment payload; DeviceError ``invalid_payment`` / ``insufficient_cash``."""
    if (cash_tendered_cents is None) == (card_reference is None):
        raise DeviceError("invalid_payment", "pay either cash or card (with its POS reference)")
    if cash_tendered_cents is not None:
        if isinstance(cash_tendered_cents, bool) or not isinstance(cash_tendered_cents, int):
            raise DeviceError("invalid_payment", "cash tendered must be a whole number of cents")
        if not 0 <= cash_tendered_cents <= MAX_ORDER_CENTS:
            raise DeviceError(
                "invalid_payment",
                f"cash tendered must be between 0 and {MAX_ORDER_CENTS / 100:.2f}",
            )
        if cash_tendered_cents < price_cents:
            raise DeviceError(
                "insufficient_cash",
                f"cash tendered {cash_tendered_cents / 100:.2f} is less than the price "
                f"{price_cents / 100:.2f}",
            )
        return {"method": "cash", "tendered_cents": cash_tendered_cents}
    reference = " ".join(str(card_reference).split())
    if not reference or len(reference) > MAX_REFERENCE_LENGTH or not reference.isprintable():
        raise DeviceError(
            "invalid_payment",
            f"a card payment needs the POS reference (1-{MAX_REFERENCE_LENGTH} printable "
            "characters)",
        )
    return {"method": "card", "reference": reference}


@dataclass(frozen=True)
class _Refusal:
    code: str
    message: str


class RaffleService:
    """Sell, void and reprint raffle orders at one RSU from its local store; safe to call
    from any thread. Every change commits with its outbox event in one transaction."""

    def __init__(
        self,
        store: Store,
        identity: DeviceIdentity,
        key: Ed25519PrivateKey,
        clock: Clock = system_clock,
    ) -> None:
        self.store = store
        self.identity = identity
        if not store.device_id:
            store.device_id = identity.device_id
        self.key = key
        self.clock = clock
        self._lock = threading.Lock()
        self._integrity: IntegrityReport | None = None

    @property
    def raffle_id(self) -> str | None:
        return self.identity.raffle_id

    # -- integrity ----------------------------------------------------------------------------

    def check_integrity(self) -> IntegrityReport:
        """SQLite's integrity check, the whole outbox hash chain (hashes, links, seq without
        gaps, signatures of each batch's last event) and every order's sale event. Runs
        now; the result is what sell() goes by from then on."""
        problems: list[str] = []
        try:
            result = self.store.integrity_check()
            if result != "ok":
                problems.append(f"SQLite integrity check: {result}")
            problems.extend(self._chain_problems())
            missing = raffle_store.orders_without_sale_event(self.store.conn)
            if missing:
                problems.append(f"order(s) {', '.join(missing)} have no sale event in the outbox")
        except (sqlite3.DatabaseError, msgspec.DecodeError, ValueError) as exc:
            problems.append(f"store unreadable: {exc}")
        report = IntegrityReport(ok=not problems, problems=problems)
        self._integrity = report
        return report

    def _chain_problems(self) -> list[str]:
        public_key = self.key.public_key()
        device_id = self.identity.device_id
        prev_hash, last_seq = GENESIS_HASH, 0
        while True:
            events = self.store.events_after(device_id, last_seq, CHAIN_BATCH)
            if not events:
                return []
            if events[0].seq != last_seq + 1:
                return [f"outbox chain: event {last_seq + 1} is missing"]
            try:
                verify_chain(
                    events, device_id=device_id, public_key=public_key, first_prev_hash=prev_hash
                )
            except ChainError as exc:
                return [f"outbox chain broken: {exc}"]
            prev_hash, last_seq = events[-1].hash, events[-1].seq

    def integrity(self) -> IntegrityReport:
        """The integrity report of this service (checked once, at first use)."""
        report = self._integrity
        return report if report is not None else self.check_integrity()

    def _require_intact(self) -> None:
        report = self.integrity()
        if not report.ok:
            raise DeviceError(
                "store_corrupt",
                "this RSU's store is damaged, selling is refused: " + "; ".join(report.problems),
            )

    # -- status -------------------------------------------------------------------------------

    def now(self) -> int:
        """Device time corrected by the last known offset to the server's clock."""
        return self.store.server_time(self.clock())

    def _refusal(
        self, conn: sqlite3.Connection, raffle: RaffleRecord | None, now: int
    ) -> _Refusal | None:
        """Why this RSU cannot sell now (None: it can). Packages and numbers left are
        checked by the caller."""
        report = self.integrity()
        if not report.ok:
            return _Refusal("store_corrupt", "store damaged: " + "; ".join(report.problems))
        if self.identity.role != "rsu" or not self.raffle_id:
            return _Refusal("no_raffle", "this device is not an RSU assigned to a raffle")
        if raffle is None:
            return _Refusal(
                "raffle_not_pulled",
                "the raffle has not reached this RSU yet (run: fieldpass device sync)",
            )
        if raffle_store.close_record(conn, raffle.id) is not None:
            return _Refusal("closed", f"sales of {raffle.name} are closed on this RSU")
        if raffle.state != "active":
            return _Refusal(
                "raffle_not_active", f"{raffle.name} is {raffle.state or 'not active'}: not on sale"
            )
        if raffle.sales_start is not None and now < raffle.sales_start:
            return _Refusal("sales_not_started", f"sales open at {to_iso(raffle.sales_start)}")
        if raffle.sales_end is not None and now >= raffle.sales_end:
            return _Refusal("sales_ended", f"sales ended at {to_iso(raffle.sales_end)}")
        rsu = raffle_store.rsu(conn, self.identity.device_id)
        if rsu is None or rsu.terminal_number is None:
            return _Refusal(
                "no_terminal",
                "this RSU's terminal number has not been pulled yet (run: fieldpass device sync)",
            )
        if not 1 <= rsu.terminal_number <= MAX_TERMINAL_NUMBER:
            return _Refusal("no_terminal", f"terminal number {rsu.terminal_number} is not valid")
        if rsu.state in ("suspended", "error", "closed"):
            return _Refusal("rsu_not_active", f"this RSU is {rsu.state} at the server")
        return None

    def status(self) -> RaffleStatus:
        conn = self.store.conn
        raffle = raffle_store.raffle(conn, self.raffle_id)
        refusal = self._refusal(conn, raffle, self.now())
        packages = [
            RafflePackage(p.id, p.name, p.ticket_count, p.price_cents)
            for p in raffle_store.packages(conn)
        ]
        remaining, allocated = (0, 0)
        totals = RaffleTotals()
        if self.raffle_id:
            remaining, allocated = raffle_store.capacity(conn, self.raffle_id)
            totals = RaffleTotals(*raffle_store.totals(conn, self.raffle_id))
        if refusal is None and remaining == 0:
            refusal = _Refusal("sold_out", "no numbers left in this RSU's allocations")
        if refusal is None and not packages:
            refusal = _Refusal("no_packages", "no package is on sale")
        rsu = raffle_store.rsu(conn, self.identity.device_id)
        return RaffleStatus(
            raffle_id=self.raffle_id,
            raffle_name=raffle.name if raffle else None,
            state=raffle.state if raffle else None,
            packages=packages,
            remaining=remaining,
            low=remaining < low_threshold(allocated),
            totals=totals,
            closed=raffle_store.close_record(conn, self.raffle_id) is not None,
            sales_end=raffle.sales_end if raffle else None,
            can_sell=refusal is None,
            cannot_sell_reason=refusal.message if refusal else None,
            cannot_sell_code=refusal.code if refusal else None,
            allocated=allocated,
            terminal_number=rsu.terminal_number if rsu else None,
            sales_start=raffle.sales_start if raffle else None,
        )

    # -- selling ------------------------------------------------------------------------------

    def sell(
        self,
        package_id: str,
        *,
        cash_tendered_cents: int | None = None,
        card_reference: str | None = None,
        customer_name: str | None = None,
        customer_phone: str | None = None,
        operator: str = "",
    ) -> RaffleSale:
        """Sell one package: its numbers, a validation number, the order and its
        ``raffle_sale`` event in one transaction; DeviceError (nothing changed) when refused.

        Codes: store_corrupt, no_raffle, raffle_not_pulled, closed, raffle_not_active,
        sales_not_started, sales_ended, no_terminal, rsu_not_active, unknown_package,
        package_inactive, sold_out, not_enough_numbers, invalid_payment, insufficient_cash,
        invalid_customer, invalid_operator, invalid_sale.
        """
        self._require_intact()
        name = _clean_text(customer_name, "the customer name", MAX_CUSTOMER_NAME)
        phone = _clean_text(customer_phone, "the customer phone", MAX_CUSTOMER_PHONE)
        operator = _operator(operator)
        device_now = self.clock()
        with self._lock, self.store.transaction() as conn:
            raffle = raffle_store.raffle(conn, self.raffle_id)
            now = self.store.server_time(device_now)
            refusal = self._refusal(conn, raffle, now)
            if refusal is not None:
                raise DeviceError(refusal.code, refusal.message)
            assert raffle is not None  # _refusal says so
            package = raffle_store.package(conn, str(package_id))
            if package is None:
                raise DeviceError("unknown_package", f"package {package_id!r} is not known here")
            if not package.is_active:
                raise DeviceError("package_inactive", f"package {package.name} is not on sale")
            payment = _payment(package.price_cents, cash_tendered_cents, card_reference)
            taken = raffle_store.take_numbers(conn, raffle.id, package.ticket_count)
            if taken is None:
                remaining, _ = raffle_store.capacity(conn, raffle.id)
                if remaining == 0:
                    raise DeviceError("sold_out", "no numbers left in this RSU's allocations")
                raise DeviceError(
                    "not_enough_numbers",
                    f"package {package.name} needs {package.ticket_count} numbers but only "
                    f"{remaining} remain on this RSU",
                )
            rsu = raffle_store.rsu(conn, self.identity.device_id)
            assert rsu is not None and rsu.terminal_number is not None  # _refusal says so
            validation = self._new_validation_number(conn, rsu.terminal_number)
            order = OrderRecord(
                id=str(uuid.uuid4()),
                raffle_id=raffle.id,
                validation_number=validation,
                package_id=package.id,
                package_name=package.name,
                draw_numbers=taken.numbers,
                price_cents=package.price_cents,
                payment_method=str(payment["method"]),
                payment_reference=payment.get("reference"),  # type: ignore[arg-type]
                tendered_cents=payment.get("tendered_cents"),  # type: ignore[arg-type]
                customer_name=name,
                customer_phone=phone,
                operator=operator,
                sold_at=device_now,
                seq=0,
                voided_at=None,
                void_reason=None,
                copies_printed=1,
            )
            payload = {
                "raffle_id": raffle.id,
                "order_id": order.id,
                "validation_number": validation,
                "package_id": package.id,
                "draw_numbers": taken.numbers,
                "price_cents": package.price_cents,
                "payment": payment,
                "sold_at": device_now,
                "customer_name": name,
                "customer_phone": phone,
                "operator": operator,
            }
            appended = self._append(conn, "raffle_sale", device_now, payload)
            order = replace(order, seq=appended.seq)
            try:
                raffle_store.insert_order(conn, order)
            except sqlite3.IntegrityError as exc:  # a number or validation number reused
                raise DeviceError("invalid_sale", f"sale refused by the store: {exc}") from None
            raffle_store.set_next_numbers(conn, taken.next_numbers)
        return RaffleSale(appended.seq, self._receipt(self.store.conn, order, raffle))

    def _new_validation_number(self, conn: sqlite3.Connection, terminal_number: int) -> str:
        """A fresh validation number not used here before (a clash is ~1 in 10^15)."""
        for _ in range(100):
            number = new_validation_number(terminal_number)
            if not raffle_store.validation_number_used(conn, number):
                return number
        raise DeviceError("invalid_sale", "could not make an unused validation number")

    def _append(
        self, conn: sqlite3.Connection, kind: str, at: int, payload: dict[str, object]
    ) -> AppendedEvent:
        return self.store.append_valid_event(
            conn,
            self.key,
            device_id=self.identity.device_id,
            kind=kind,
            device_time=at,
            payload=payload,
            invalid_code="invalid_sale",
        )

    # -- void, reprint, receipt ---------------------------------------------------------------

    def _order(self, conn: sqlite3.Connection, validation_number: str) -> OrderRecord:
        canonical = _validation(validation_number)
        order = raffle_store.order_by_validation(conn, canonical)
        if order is None:
            raise DeviceError(
                "unknown_order", f"no order with validation number {canonical} on this RSU"
            )
        return order

    def void(self, validation_number: str, reason: str, operator: str = "") -> RaffleSale:
        """Void a whole order (its numbers are never sold again) with its ``raffle_void``
        event. Codes: invalid_validation, invalid_reason, invalid_operator, unknown_order,
        already_voided, closed."""
        why = _reason(reason)
        operator = _operator(operator)
        device_now = self.clock()
        with self._lock, self.store.transaction() as conn:
            order = self._order(conn, validation_number)
            if order.voided_at is not None:
                raise DeviceError(
                    "already_voided",
                    f"order {order.validation_number} was already voided ({order.void_reason})",
                )
            if raffle_store.close_record(conn, order.raffle_id) is not None:
                raise DeviceError("closed", "sales are closed on this RSU: nothing can be voided")
            payload = {
                "raffle_id": order.raffle_id,
                "order_id": order.id,
                "validation_number": order.validation_number,
                "reason": why,
                "voided_at": device_now,
                "operator": operator,
            }
            appended = self._append(conn, "raffle_void", device_now, payload)
            raffle_store.mark_voided(
                conn, order.id, voided_at=device_now, reason=why, seq=appended.seq
            )
            voided = raffle_store.order_by_validation(conn, order.validation_number)
            assert voided is not None
        raffle = raffle_store.raffle(self.store.conn, voided.raffle_id)
        return RaffleSale(appended.seq, self._receipt(self.store.conn, voided, raffle))

    def record_reprint(
        self, validation_number: str, reason: str, operator: str = ""
    ) -> RaffleReceipt:
        """Log a reprint (``raffle_reprint`` event, committed before the caller prints) and
        return the receipt to print, its ``copy_number`` 2 or more (REPRINT). Codes:
        invalid_validation, invalid_reason, invalid_operator, unknown_order,
        already_voided, too_many_copies."""
        why = _reason(reason)
        operator = _operator(operator)
        device_now = self.clock()
        with self._lock, self.store.transaction() as conn:
            order = self._order(conn, validation_number)
            if order.voided_at is not None:
                raise DeviceError(
                    "already_voided", f"order {order.validation_number} was voided: no reprint"
                )
            copy_number = order.copies_printed + 1
            if copy_number > 1000:
                raise DeviceError("too_many_copies", "this receipt was reprinted too many times")
            payload = {
                "raffle_id": order.raffle_id,
                "order_id": order.id,
                "validation_number": order.validation_number,
                "reason": why,
                "printed_at": device_now,
                "copy_number": copy_number,
                "operator": operator,
            }
            self._append(conn, "raffle_reprint", device_now, payload)
            raffle_store.set_copies_printed(conn, order.id, copy_number)
        order = replace(order, copies_printed=copy_number)
        raffle = raffle_store.raffle(self.store.conn, order.raffle_id)
        return self._receipt(self.store.conn, order, raffle)

    def receipt(self, validation_number: str) -> RaffleReceipt:
        """The order's receipt as last printed (``copy_number`` = copies printed so far).
        Codes: invalid_validation, unknown_order."""
        conn = self.store.conn
        order = self._order(conn, validation_number)
        return self._receipt(conn, order, raffle_store.raffle(conn, order.raffle_id))

    def recent(self, limit: int = 10) -> list[RaffleReceipt]:
        """Receipts of this RSU's latest orders in its raffle, newest first (to reprint
        one whose print failed, also after a restart)."""
        if not self.raffle_id or limit <= 0:
            return []
        conn = self.store.conn
        raffle = raffle_store.raffle(conn, self.raffle_id)
        return [
            self._receipt(conn, order, raffle)
            for order in raffle_store.recent_orders(conn, self.raffle_id, limit)
        ]

    def _receipt(
        self, conn: sqlite3.Connection, order: OrderRecord, raffle: RaffleRecord | None
    ) -> RaffleReceipt:
        rsu = raffle_store.rsu(conn, self.identity.device_id)
        return RaffleReceipt(
            organization_name=(raffle.organization_name if raffle else None) or "",
            raffle_name=raffle.name if raffle else "",
            licence_number=raffle.licence_number if raffle else None,
            rsu_id=self.identity.device_id,
            rsu_name=(rsu.name if rsu else "") or self.identity.name,
            terminal_number=int(order.validation_number[:4]),
            order_id=order.id,
            validation_number=order.validation_number,
            package_name=order.package_name,
            draw_numbers=list(order.draw_numbers),
            price_cents=order.price_cents,
            payment_method=order.payment_method,
            payment_reference=order.payment_reference,
            tendered_cents=order.tendered_cents,
            sold_at=order.sold_at,
            jackpot_estimate_cents=raffle.jackpot_estimate_cents if raffle else None,
            claim_deadline=raffle.claim_deadline if raffle else None,
            customer_name=order.customer_name,
            copy_number=order.copies_printed,
            voided=order.voided_at is not None,
            customer_phone=order.customer_phone,
            void_reason=order.void_reason,
        )

    # -- close --------------------------------------------------------------------------------

    def close(self, operator: str = "") -> RaffleClosing:
        """End this RSU's sales in its raffle: a ``device_close`` event with the raffle and
        the orders sold here. Closing again records nothing and returns the first close.
        Codes: no_raffle, invalid_operator."""
        operator = _operator(operator)
        raffle_id = self.raffle_id
        if self.identity.role != "rsu" or not raffle_id:
            raise DeviceError("no_raffle", "this device is not an RSU assigned to a raffle")
        device_now = self.clock()
        with self._lock, self.store.transaction() as conn:
            existing = raffle_store.close_record(conn, raffle_id)
            if existing is not None:
                return RaffleClosing(
                    existing.raffle_id, existing.seq, existing.orders, existing.closed_at, True
                )
            orders = raffle_store.orders_sold(conn, raffle_id)
            payload = {"reason": "raffle sales closed", "raffle_id": raffle_id, "orders": orders}
            appended = self._append(conn, "device_close", device_now, payload)
            record = raffle_store.CloseRecord(raffle_id, appended.seq, orders, device_now)
            raffle_store.insert_close(conn, record, operator)
        return RaffleClosing(raffle_id, appended.seq, orders, device_now)
