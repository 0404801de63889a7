"""Raffle sales at an RSU, offline: take the next numbers of the device's allocations,
give the order an unguessable validation number, void, reprint, close.

Each method commits its local effect and its outbox event in one store transaction,
before anything is printed (docs/raffle.md, "Device").
"""

from __future__ import annotations

from dataclasses import dataclass, field


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
    cannot_sell_reason: str | None = None


@dataclass(frozen=True)
class IntegrityReport:
    ok: bool
    problems: list[str] = field(default_factory=list)
