"""The RSU's local raffle tables: the pulled raffle slice and the orders sold here.

Pulled (``RAFFLE_PULLED_TABLES``, dropped and re-pulled when the server's epoch or the
device's assignment changes): the raffle, its packages and prizes, this RSU's row and
its allocations. Own data (never deleted): ``raffle_order``, ``raffle_number`` (one row
per draw number sold here, kept as ``voided`` after a void, so a number is never sold
twice by this device whatever a later pull says) and ``raffle_close``.

``raffle_allocation.next_number`` is the lowest number of the allocation not yet sold
or voided here (``end_number + 1`` once used up). A re-sent allocation keeps it; an
allocation pulled again after a reset gets it back from ``raffle_number``.

Functions take the caller's connection, so the service runs them inside its own
transaction.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

import msgspec

from fieldpass.sync.messages import Change

#: Store migration creating the raffle tables (appended to ``store.MIGRATIONS``).
RAFFLE_MIGRATION = """
    CREATE TABLE raffle (
        id TEXT PRIMARY KEY, name TEXT NOT NULL DEFAULT '', state TEXT,
        organization_name TEXT, licence_number TEXT, sales_start INTEGER, sales_end INTEGER,
        claim_deadline INTEGER, jackpot_estimate_cents INTEGER, max_tickets INTEGER
    );
    CREATE TABLE raffle_package (
        id TEXT PRIMARY KEY, name TEXT NOT NULL DEFAULT '', ticket_count INTEGER NOT NULL,
        price_cents INTEGER NOT NULL, display_order INTEGER NOT NULL DEFAULT 0,
        is_active INTEGER NOT NULL DEFAULT 1
    );
    CREATE TABLE raffle_prize (
        id TEXT PRIMARY KEY, name TEXT NOT NULL DEFAULT '', position INTEGER,
        prize_type TEXT, value_cents INTEGER, percentage TEXT, winner_count INTEGER
    );
    CREATE TABLE rsu_info (
        id TEXT PRIMARY KEY, name TEXT NOT NULL DEFAULT '', terminal_number INTEGER, state TEXT
    );
    CREATE TABLE raffle_allocation (
        id TEXT PRIMARY KEY, start_number INTEGER NOT NULL, end_number INTEGER NOT NULL,
        is_active INTEGER NOT NULL DEFAULT 1, next_number INTEGER NOT NULL,
        CHECK (end_number >= start_number)
    );
    CREATE TABLE raffle_order (
        id TEXT PRIMARY KEY, raffle_id TEXT NOT NULL, validation_number TEXT NOT NULL UNIQUE,
        package_id TEXT NOT NULL, package_name TEXT NOT NULL DEFAULT '',
        draw_numbers TEXT NOT NULL, ticket_count INTEGER NOT NULL,
        price_cents INTEGER NOT NULL,
        payment_method TEXT NOT NULL CHECK (payment_method IN ('cash', 'card')),
        payment_reference TEXT, tendered_cents INTEGER,
        customer_name TEXT, customer_phone TEXT, operator TEXT NOT NULL DEFAULT '',
        sold_at INTEGER NOT NULL, seq INTEGER NOT NULL,
        voided_at INTEGER, void_reason TEXT, void_seq INTEGER,
        copies_printed INTEGER NOT NULL DEFAULT 1
    );
    CREATE INDEX raffle_order_raffle ON raffle_order (raffle_id, seq);
    CREATE TABLE raffle_number (
        raffle_id TEXT NOT NULL, draw_number INTEGER NOT NULL, order_id TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('sold', 'voided')),
        PRIMARY KEY (raffle_id, draw_number)
    ) WITHOUT ROWID;
    CREATE INDEX raffle_number_order ON raffle_number (order_id);
    CREATE TABLE raffle_close (
        raffle_id TEXT PRIMARY KEY, seq INTEGER NOT NULL, orders INTEGER NOT NULL,
        closed_at INTEGER NOT NULL, operator TEXT NOT NULL DEFAULT ''
    );
"""

#: Pulled raffle tables, emptied with the rest of the pulled slice.
RAFFLE_PULLED_TABLES = ("raffle", "raffle_package", "raffle_prize", "rsu_info", "raffle_allocation")

#: Change entities handled here (``Store._apply_run`` delegates them).
RAFFLE_ENTITIES = frozenset(
    {"raffle", "raffle_package", "raffle_prize", "rsu", "raffle_allocation"}
)


@dataclass(frozen=True)
class RaffleRecord:
    id: str
    name: str
    state: str | None
    organization_name: str | None
    licence_number: str | None
    sales_start: int | None
    sales_end: int | None
    claim_deadline: int | None
    jackpot_estimate_cents: int | None
    max_tickets: int | None


@dataclass(frozen=True)
class PackageRecord:
    id: str
    name: str
    ticket_count: int
    price_cents: int
    display_order: int
    is_active: bool


@dataclass(frozen=True)
class RsuRecord:
    id: str
    name: str
    terminal_number: int | None
    state: str | None


@dataclass(frozen=True)
class AllocationRecord:
    id: str
    start_number: int
    end_number: int
    is_active: bool
    next_number: int


@dataclass(frozen=True)
class OrderRecord:
    id: str
    raffle_id: str
    validation_number: str
    package_id: str
    package_name: str
    draw_numbers: list[int]
    price_cents: int
    payment_method: str
    payment_reference: str | None
    tendered_cents: int | None
    customer_name: str | None
    customer_phone: str | None
    operator: str
    sold_at: int
    seq: int
    voided_at: int | None
    void_reason: str | None
    copies_printed: int


@dataclass(frozen=True)
class CloseRecord:
    raffle_id: str
    seq: int
    orders: int
    closed_at: int


@dataclass(frozen=True)
class Taken:
    """Numbers chosen for one order and the allocations' new ``next_number``."""

    numbers: list[int]
    next_numbers: dict[str, int]


# -- applying pulled changes ------------------------------------------------------------------


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _optional_text(value: Any) -> str | None:
    return None if value is None else str(value)


_RAFFLE_UPSERT = (
    "INSERT OR REPLACE INTO raffle (id, name, state, organization_name, licence_number,"
    " sales_start, sales_end, claim_deadline, jackpot_estimate_cents, max_tickets)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_PACKAGE_UPSERT = (
    "INSERT OR REPLACE INTO raffle_package (id, name, ticket_count, price_cents,"
    " display_order, is_active) VALUES (?, ?, ?, ?, ?, ?)"
)
_PRIZE_UPSERT = (
    "INSERT OR REPLACE INTO raffle_prize (id, name, position, prize_type, value_cents,"
    " percentage, winner_count) VALUES (?, ?, ?, ?, ?, ?, ?)"
)
_RSU_UPSERT = (
    "INSERT OR REPLACE INTO rsu_info (id, name, terminal_number, state) VALUES (?, ?, ?, ?)"
)
# next_number is ours: a re-sent allocation never resets it
_ALLOCATION_UPSERT = (
    "INSERT INTO raffle_allocation (id, start_number, end_number, is_active, next_number)"
    " VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET"
    " start_number = excluded.start_number, end_number = excluded.end_number,"
    " is_active = excluded.is_active"
)


def _raffle_row(c: Change) -> tuple:
    d = c.data
    return (
        c.key,
        _text(d.get("name")),
        _optional_text(d.get("state")),
        _optional_text(d.get("organization_name")),
        _optional_text(d.get("licence_number")),
        _int(d.get("sales_start")),
        _int(d.get("sales_end")),
        _int(d.get("claim_deadline")),
        _int(d.get("jackpot_estimate_cents")),
        _int(d.get("max_tickets")),
    )


def _package_row(c: Change) -> tuple | None:
    d = c.data
    count, price = _int(d.get("ticket_count")), _int(d.get("price_cents"))
    if count is None or price is None or count < 1 or price < 0:
        return None  # not a package this version can sell: skip it, keep going
    return (
        c.key,
        _text(d.get("name")),
        count,
        price,
        _int(d.get("display_order")) or 0,
        1 if d.get("is_active", True) is not False else 0,
    )


def _prize_row(c: Change) -> tuple:
    d = c.data
    percentage = d.get("percentage")
    return (
        c.key,
        _text(d.get("name")),
        _int(d.get("position")),
        _optional_text(d.get("prize_type")),
        _int(d.get("value_cents")),
        None if percentage is None else str(percentage),
        _int(d.get("winner_count")),
    )


def _rsu_row(c: Change) -> tuple:
    d = c.data
    return (
        c.key,
        _text(d.get("name")),
        _int(d.get("terminal_number")),
        _optional_text(d.get("state")),
    )


def _allocation_row(c: Change) -> tuple | None:
    d = c.data
    start, end = _int(d.get("start_number")), _int(d.get("end_number"))
    if start is None or end is None or start < 1 or end < start:
        return None
    active = 1 if c.op == "upsert" and d.get("is_active", True) is not False else 0
    return (c.key, start, end, active, start)


def apply_raffle_run(conn: sqlite3.Connection, entity: str, op: str, run: list[Change]) -> None:
    """Write one run of pulled raffle changes (same entity and op) inside the caller's
    transaction. A tombstoned allocation stops selling (kept, inactive); other raffle
    tombstones delete the row."""
    upsert = op == "upsert"
    keys = [(c.key,) for c in run]
    if entity == "raffle":
        if upsert:
            conn.executemany(_RAFFLE_UPSERT, [_raffle_row(c) for c in run])
        else:
            conn.executemany("DELETE FROM raffle WHERE id = ?", keys)
        settle_allocations(conn)
    elif entity == "raffle_package":
        if upsert:
            conn.executemany(_PACKAGE_UPSERT, [r for c in run if (r := _package_row(c))])
        else:
            conn.executemany("DELETE FROM raffle_package WHERE id = ?", keys)
    elif entity == "raffle_prize":
        if upsert:
            conn.executemany(_PRIZE_UPSERT, [_prize_row(c) for c in run])
        else:
            conn.executemany("DELETE FROM raffle_prize WHERE id = ?", keys)
    elif entity == "rsu":
        if upsert:
            conn.executemany(_RSU_UPSERT, [_rsu_row(c) for c in run])
        else:
            conn.executemany("DELETE FROM rsu_info WHERE id = ?", keys)
    elif entity == "raffle_allocation":
        if upsert:
            conn.executemany(_ALLOCATION_UPSERT, [r for c in run if (r := _allocation_row(c))])
        else:
            conn.executemany("UPDATE raffle_allocation SET is_active = 0 WHERE id = ?", keys)
        settle_allocations(conn)


def _first_free(conn: sqlite3.Connection, start: int, end: int) -> int:
    """The lowest number in [start, end] not sold or voided here in the pulled raffle
    (end + 1 if none)."""
    number = start
    for (used,) in conn.execute(
        "SELECT DISTINCT draw_number FROM raffle_number"
        " WHERE raffle_id IN (SELECT id FROM raffle) AND draw_number >= ? AND draw_number <= ?"
        " ORDER BY draw_number",
        (start, end),
    ):
        if used != number:
            break
        number += 1
    return number


def settle_allocations(conn: sqlite3.Connection) -> None:
    """Move each allocation's ``next_number`` past the numbers already used here in the
    pulled raffle (after a reset re-pulls an allocation, or a range was re-sent)."""
    if conn.execute("SELECT 1 FROM raffle LIMIT 1").fetchone() is None:
        return  # settled when the raffle arrives
    for allocation in allocations(conn):
        start = max(allocation.start_number, allocation.next_number)
        settled = _first_free(conn, start, allocation.end_number)
        if settled != allocation.next_number:
            conn.execute(
                "UPDATE raffle_allocation SET next_number = ? WHERE id = ?",
                (settled, allocation.id),
            )


# -- reads ----------------------------------------------------------------------------------


def raffle(conn: sqlite3.Connection, raffle_id: str | None) -> RaffleRecord | None:
    if raffle_id is None:
        return None
    row = conn.execute(
        "SELECT id, name, state, organization_name, licence_number, sales_start, sales_end,"
        " claim_deadline, jackpot_estimate_cents, max_tickets FROM raffle WHERE id = ?",
        (raffle_id,),
    ).fetchone()
    return None if row is None else RaffleRecord(*row)


def packages(conn: sqlite3.Connection, *, active_only: bool = True) -> list[PackageRecord]:
    """Packages in display order (then price, then name)."""
    where = " WHERE is_active = 1" if active_only else ""
    return [
        PackageRecord(r[0], r[1], r[2], r[3], r[4], bool(r[5]))
        for r in conn.execute(
            "SELECT id, name, ticket_count, price_cents, display_order, is_active"
            f" FROM raffle_package{where} ORDER BY display_order, price_cents, name, id"
        )
    ]


def package(conn: sqlite3.Connection, package_id: str) -> PackageRecord | None:
    row = conn.execute(
        "SELECT id, name, ticket_count, price_cents, display_order, is_active"
        " FROM raffle_package WHERE id = ?",
        (package_id,),
    ).fetchone()
    return (
        None if row is None else PackageRecord(row[0], row[1], row[2], row[3], row[4], bool(row[5]))
    )


def rsu(conn: sqlite3.Connection, device_id: str) -> RsuRecord | None:
    row = conn.execute(
        "SELECT id, name, terminal_number, state FROM rsu_info WHERE id = ?", (device_id,)
    ).fetchone()
    return None if row is None else RsuRecord(*row)


def allocations(conn: sqlite3.Connection, *, active_only: bool = False) -> list[AllocationRecord]:
    """Allocations, lowest range first."""
    where = " WHERE is_active = 1" if active_only else ""
    return [
        AllocationRecord(r[0], r[1], r[2], bool(r[3]), r[4])
        for r in conn.execute(
            "SELECT id, start_number, end_number, is_active, next_number"
            f" FROM raffle_allocation{where} ORDER BY start_number, id"
        ).fetchall()
    ]


def _used_in(conn: sqlite3.Connection, raffle_id: str, start: int, end: int) -> int:
    return conn.execute(
        "SELECT COUNT(*) FROM raffle_number WHERE raffle_id = ? AND draw_number >= ?"
        " AND draw_number <= ?",
        (raffle_id, start, end),
    ).fetchone()[0]


def capacity(conn: sqlite3.Connection, raffle_id: str) -> tuple[int, int]:
    """(remaining, allocated): numbers still sellable here and the size of the active
    allocations."""
    remaining = allocated = 0
    for a in allocations(conn, active_only=True):
        allocated += a.end_number - a.start_number + 1
        start = max(a.start_number, a.next_number)
        if start <= a.end_number:
            remaining += a.end_number - start + 1 - _used_in(conn, raffle_id, start, a.end_number)
    return remaining, allocated


def take_numbers(conn: sqlite3.Connection, raffle_id: str, count: int) -> Taken | None:
    """The next ``count`` numbers of the active allocations, lowest first, spanning
    ranges when one runs out; None when fewer remain. Writes nothing."""
    numbers: list[int] = []
    chosen: set[int] = set()
    next_numbers: dict[str, int] = {}
    for a in allocations(conn, active_only=True):
        if len(numbers) == count:
            break
        number = max(a.start_number, a.next_number)
        used = conn.execute(
            "SELECT draw_number FROM raffle_number WHERE raffle_id = ? AND draw_number >= ?"
            " AND draw_number <= ? ORDER BY draw_number",
            (raffle_id, number, a.end_number),
        )
        next_used = next(used, (None,))[0]
        while number <= a.end_number:
            while next_used is not None and next_used < number:
                next_used = next(used, (None,))[0]
            if number == next_used or number in chosen:
                number += 1
                continue
            if len(numbers) == count:
                break  # number is now this allocation's lowest free one
            numbers.append(number)
            chosen.add(number)
            number += 1
        next_numbers[a.id] = number
    if len(numbers) < count:
        return None
    return Taken(numbers, next_numbers)


def set_next_numbers(conn: sqlite3.Connection, next_numbers: dict[str, int]) -> None:
    conn.executemany(
        "UPDATE raffle_allocation SET next_number = ? WHERE id = ?",
        [(number, allocation_id) for allocation_id, number in next_numbers.items()],
    )


_ORDER_COLUMNS = (
    "id, raffle_id, validation_number, package_id, package_name, draw_numbers, price_cents,"
    " payment_method, payment_reference, tendered_cents, customer_name, customer_phone,"
    " operator, sold_at, seq, voided_at, void_reason, copies_printed"
)


def _order(row: tuple | None) -> OrderRecord | None:
    if row is None:
        return None
    values = list(row)
    values[5] = msgspec.json.decode(values[5], type=list[int])
    return OrderRecord(*values)


def order_by_validation(conn: sqlite3.Connection, validation_number: str) -> OrderRecord | None:
    return _order(
        conn.execute(
            f"SELECT {_ORDER_COLUMNS} FROM raffle_order WHERE validation_number = ?",
            (validation_number,),
        ).fetchone()
    )


def recent_orders(conn: sqlite3.Connection, raffle_id: str, limit: int) -> list[OrderRecord]:
    """The raffle's orders sold here, newest first."""
    rows = conn.execute(
        f"SELECT {_ORDER_COLUMNS} FROM raffle_order WHERE raffle_id = ? ORDER BY seq DESC LIMIT ?",
        (raffle_id, limit),
    ).fetchall()
    return [order for row in rows if (order := _order(row)) is not None]


def validation_number_used(conn: sqlite3.Connection, validation_number: str) -> bool:
    return (
        conn.execute(
            "SELECT 1 FROM raffle_order WHERE validation_number = ?", (validation_number,)
        ).fetchone()
        is not None
    )


def insert_order(conn: sqlite3.Connection, order: OrderRecord) -> None:
    """The order and one ``raffle_number`` row per draw number (the primary key refuses a
    number already sold or voided here: sqlite3.IntegrityError)."""
    conn.execute(
        f"INSERT INTO raffle_order ({_ORDER_COLUMNS}, ticket_count)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            order.id,
            order.raffle_id,
            order.validation_number,
            order.package_id,
            order.package_name,
            msgspec.json.encode(order.draw_numbers).decode(),
            order.price_cents,
            order.payment_method,
            order.payment_reference,
            order.tendered_cents,
            order.customer_name,
            order.customer_phone,
            order.operator,
            order.sold_at,
            order.seq,
            order.voided_at,
            order.void_reason,
            order.copies_printed,
            len(order.draw_numbers),
        ),
    )
    conn.executemany(
        "INSERT INTO raffle_number (raffle_id, draw_number, order_id, state)"
        " VALUES (?, ?, ?, 'sold')",
        [(order.raffle_id, number, order.id) for number in order.draw_numbers],
    )


def mark_voided(
    conn: sqlite3.Connection, order_id: str, *, voided_at: int, reason: str, seq: int
) -> None:
    conn.execute(
        "UPDATE raffle_order SET voided_at = ?, void_reason = ?, void_seq = ? WHERE id = ?",
        (voided_at, reason, seq, order_id),
    )
    conn.execute("UPDATE raffle_number SET state = 'voided' WHERE order_id = ?", (order_id,))


def set_copies_printed(conn: sqlite3.Connection, order_id: str, copies: int) -> None:
    conn.execute("UPDATE raffle_order SET copies_printed = ? WHERE id = ?", (copies, order_id))


def totals(conn: sqlite3.Connection, raffle_id: str) -> tuple[int, int, int, int, int]:
    """(orders, tickets, cash cents, card cents, voided orders) of the raffle here;
    voided orders count in nothing but the last."""
    row = conn.execute(
        "SELECT COALESCE(SUM(voided_at IS NULL), 0),"
        " COALESCE(SUM(CASE WHEN voided_at IS NULL THEN ticket_count END), 0),"
        " COALESCE(SUM(CASE WHEN voided_at IS NULL AND payment_method = 'cash'"
        " THEN price_cents END), 0),"
        " COALESCE(SUM(CASE WHEN voided_at IS NULL AND payment_method = 'card'"
        " THEN price_cents END), 0),"
        " COALESCE(SUM(voided_at IS NOT NULL), 0)"
        " FROM raffle_order WHERE raffle_id = ?",
        (raffle_id,),
    ).fetchone()
    return row[0], row[1], row[2], row[3], row[4]


def orders_sold(conn: sqlite3.Connection, raffle_id: str) -> int:
    """Orders sold here in the raffle, voided ones included (one raffle_sale event each)."""
    return conn.execute(
        "SELECT COUNT(*) FROM raffle_order WHERE raffle_id = ?", (raffle_id,)
    ).fetchone()[0]


def close_record(conn: sqlite3.Connection, raffle_id: str | None) -> CloseRecord | None:
    if raffle_id is None:
        return None
    row = conn.execute(
        "SELECT raffle_id, seq, orders, closed_at FROM raffle_close WHERE raffle_id = ?",
        (raffle_id,),
    ).fetchone()
    return None if row is None else CloseRecord(*row)


def insert_close(conn: sqlite3.Connection, close: CloseRecord, operator: str) -> None:
    conn.execute(
        "INSERT INTO raffle_close (raffle_id, seq, orders, closed_at, operator)"
        " VALUES (?, ?, ?, ?, ?)",
        (close.raffle_id, close.seq, close.orders, close.closed_at, operator),
    )


def orders_without_sale_event(conn: sqlite3.Connection, limit: int = 5) -> list[str]:
    """Validation numbers of orders whose outbox seq is not a raffle_sale event (a
    damaged or edited store)."""
    return [
        r[0]
        for r in conn.execute(
            "SELECT o.validation_number FROM raffle_order o LEFT JOIN outbox e"
            " ON e.seq = o.seq AND e.kind = 'raffle_sale' WHERE e.seq IS NULL"
            " ORDER BY o.seq LIMIT ?",
            (limit,),
        )
    ]
