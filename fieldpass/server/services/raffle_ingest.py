"""Ingest of an RSU's raffle events: sales, voids, reprints and its close.

Runs inside the push transaction (``ingest._store_and_apply``), after the events are
stored in ``ingested_events``. A sale is never dropped: the customer paid and holds a
receipt. What cannot be applied as reported is kept and flagged for an admin:

- a number outside this RSU's allocations: ``raffle_out_of_range`` (per sale);
- a number already sold or voided by another order: ``raffle_number_sold_twice``;
- anything else (raffle or package unknown, validation number or order id already taken,
  a sale after the RSU's close, a sale at a time the raffle was not selling — after sales
  closed or ended, while suspended —, price or ticket count not the package's, a
  validation number of another terminal): ``raffle_sale_problem``.

The order row is kept whenever the schema allows it (its raffle and package exist and its
id and validation number are free); its tickets become ``sold`` only for the numbers that
pass. A number counts as this RSU's when it is allocated to one of its active
allocations, or lies in one of its allocations returned (deallocated) after the sale's
corrected time and is still free: the device sold it before it could learn of the return.
A number returned before the sale is out of range, and so is a returned number allocated
to another RSU since (that RSU may sell it).

Sales are applied set-based so 100,000 sales from 20 RSUs ingest at thousands of events a
second. An RSU sells consecutive numbers, so tickets are read per run of consecutive numbers
(scattered ones 500 at a time) and marked sold with one range update per run of one order
(one executemany straight on the driver); one order insert and one counter update per
allocation. Voids, reprints and closes are rare and applied one by one, in seq order with
the sales around them.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY

from fieldpass.server import schema
from fieldpass.server.errors import ApiError
from fieldpass.server.services import conflicts, raffle_windows, raffles
from fieldpass.server.services.common import audit, dumps, insert_rows
from fieldpass.server.services.raffle_windows import Window
from fieldpass.sync.clock import to_iso
from fieldpass.sync.conflicts import ConflictKind
from fieldpass.sync.events import Event
from fieldpass.sync.payloads import (
    DeviceClosePayload,
    RaffleReprintPayload,
    RaffleSalePayload,
    RaffleVoidPayload,
)
from fieldpass.sync.validation_numbers import ValidationNumberError, terminal_of

#: Ticket states that mean "this number belongs to an order".
TAKEN_STATES = ("sold", "voided", "winner", "claimed")
#: A raffle in one of these states takes no more ticket changes from devices.
FROZEN_STATES = ("reconciled", "drawing_ready", "completed", "cancelled")
_CHUNK = 500
#: A run of consecutive numbers at least this long is read with one BETWEEN, not an IN list.
_RANGE_READ_MIN = 8

RaffleItem = tuple[Event, Any]


def is_raffle_event(payload: Any) -> bool:
    """The events this module applies (a plain shift close is not one of them)."""
    if isinstance(payload, (RaffleSalePayload, RaffleVoidPayload, RaffleReprintPayload)):
        return True
    return isinstance(payload, DeviceClosePayload) and payload.raffle_id is not None


def touch(conn: sa.Connection, device_id: str, now: int) -> None:
    """An RSU pushed: its ``rsu.last_sync_at``."""
    r = schema.rsus
    conn.execute(sa.update(r).where(r.c.id == device_id).values(last_sync_at=now))


def _chunks(items: list[Any]) -> Iterator[list[Any]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def _runs(numbers: list[int]) -> list[tuple[int, int]]:
    """Sorted distinct ``numbers`` as (first, last) runs of consecutive numbers."""
    runs: list[tuple[int, int]] = []
    first = last = None
    for number in numbers:
        if last is not None and number == last + 1:
            last = number
            continue
        if first is not None:
            runs.append((first, last))
        first = last = number
    if first is not None:
        runs.append((first, last))
    return runs


# -- what the push needs to know, read once ------------------------------------------------


@dataclass(frozen=True)
class Allocation:
    id: str
    start: int
    end: int
    is_active: bool
    deallocated_at: int | None

    def holds(self, number: int) -> bool:
        return self.start <= number <= self.end

    def usable_at(self, at: int) -> bool:
        """Active, or returned only after ``at`` (the sale came before the return)."""
        return self.is_active or (self.deallocated_at is not None and self.deallocated_at > at)


@dataclass
class RsuContext:
    """The pushing RSU, its raffle, packages and allocations (one read per push)."""

    device: Any
    rsu: Any | None
    raffle: Any | None
    packages: dict[str, Any]
    allocations: list[Allocation]
    closed_seq: int | None
    #: the periods the raffle was active (fieldpass.server.services.raffle_windows)
    windows: list[Window] = field(default_factory=list)

    @property
    def raffle_id(self) -> str | None:
        return self.raffle.id if self.raffle is not None else None

    def active_holding(self, allocation_id: str | None) -> Allocation | None:
        """This RSU's active allocation ``allocation_id`` (None if not one of them)."""
        for allocation in self.allocations:
            if allocation.id == allocation_id and allocation.is_active:
                return allocation
        return None

    def returned_after(self, number: int, at: int) -> Allocation | None:
        """A returned allocation of this RSU that held ``number`` when it was sold."""
        for allocation in self.allocations:
            if allocation.holds(number) and not allocation.is_active and allocation.usable_at(at):
                return allocation
        return None

    def returned_before(self, number: int, at: int) -> Allocation | None:
        for allocation in self.allocations:
            if allocation.holds(number) and not allocation.usable_at(at):
                return allocation
        return None


def load_context(conn: sa.Connection, device: Any) -> RsuContext:
    rsu = conn.execute(sa.select(schema.rsus).where(schema.rsus.c.id == device.id)).first()
    raffle_id = (rsu.raffle_event_id if rsu is not None else None) or device.raffle_event_id
    raffle = None
    packages: dict[str, Any] = {}
    allocations: list[Allocation] = []
    if raffle_id is not None:
        r = schema.raffle_events
        raffle = conn.execute(
            sa.select(r).where(r.c.id == raffle_id, r.c.organization_id == device.organization_id)
        ).first()
    if raffle is not None:
        p, link = schema.ticket_packages, schema.raffle_ticket_packages
        packages = {
            row.id: row
            for row in conn.execute(
                sa.select(p.c.id, p.c.name, p.c.ticket_count, p.c.price_cents)
                .select_from(link.join(p, p.c.id == link.c.ticket_package_id))
                .where(link.c.raffle_event_id == raffle.id)
            )
        }
        a = schema.rsu_allocations
        allocations = [
            Allocation(
                row.id, row.start_number, row.end_number, bool(row.is_active), row.deallocated_at
            )
            for row in conn.execute(
                sa.select(a)
                .where(a.c.raffle_event_id == raffle.id, a.c.rsu_id == device.id)
                .order_by(a.c.start_number)
            )
        ]
    closed_seq = rsu.close_seq if rsu is not None else None
    windows = raffle_windows.load_windows(conn, raffle.id) if raffle is not None else []
    return RsuContext(device, rsu, raffle, packages, allocations, closed_seq, windows)


# -- entry point -----------------------------------------------------------------------------


def apply(
    conn: sa.Connection,
    device: Any,
    items: list[RaffleItem],
    offset: int,
    received_at: int,
) -> int:
    """Apply the push's raffle events in seq order; returns how many conflicts were new."""
    if not items:
        return 0
    ctx = load_context(conn, device)
    conflict_rows: list[dict[str, Any]] = []
    run: list[tuple[Event, RaffleSalePayload]] = []
    for event, payload in items:
        if isinstance(payload, RaffleSalePayload):
            run.append((event, payload))
            continue
        if run:
            conflict_rows += apply_sales(conn, ctx, run, offset, received_at)
            run = []
        if isinstance(payload, RaffleVoidPayload):
            conflict_rows += _apply_void(conn, ctx, event, payload, offset, received_at)
        elif isinstance(payload, RaffleReprintPayload):
            conflict_rows += _apply_reprint(conn, ctx, event, payload, offset, received_at)
        elif isinstance(payload, DeviceClosePayload):
            conflict_rows += _apply_close(conn, ctx, event, payload, offset, received_at)
    if run:
        conflict_rows += apply_sales(conn, ctx, run, offset, received_at)
    if ctx.raffle is not None and ctx.raffle.state not in FROZEN_STATES:
        raffles.refresh_raffle_change(conn, ctx.raffle, received_at)
    return conflicts.record(conn, conflict_rows)


# -- sales ---------------------------------------------------------------------------------


@dataclass
class SaleOutcome:
    """What one sale did: the numbers applied per allocation and the refusals."""

    event: Event
    payload: RaffleSalePayload
    sold_at: int
    keep_order: bool = True
    applied: dict[int, str] = field(default_factory=dict)  # number -> allocation id
    out_of_range: dict[int, str] = field(default_factory=dict)  # number -> why
    sold_twice: dict[int, str | None] = field(default_factory=dict)  # number -> other order
    problems: list[str] = field(default_factory=list)


class TicketState(NamedTuple):
    number: int
    state: str
    allocation_id: str | None
    order_id: str | None


def _read_tickets(
    conn: sa.Connection, raffle_id: str, numbers: list[int]
) -> dict[int, TicketState]:
    """The tickets of ``numbers``: a long run of consecutive numbers (what an RSU sells)
    in one index range read, the scattered rest 500 at a time."""
    t = schema.raffle_tickets
    conditions: list[sa.ColumnElement[bool]] = []
    scattered: list[int] = []
    for first, last in _runs(sorted(set(numbers))):
        if last - first + 1 >= _RANGE_READ_MIN:
            conditions.append(t.c.draw_number.between(first, last))
        else:
            scattered.extend(range(first, last + 1))
    conditions += [t.c.draw_number.in_(chunk) for chunk in _chunks(scattered)]
    found: dict[int, TicketState] = {}
    for condition in conditions:
        for row in conn.execute(
            sa.select(t.c.draw_number, t.c.state, t.c.allocation_id, t.c.order_id).where(
                t.c.raffle_event_id == raffle_id, condition
            )
        ):
            found[row[0]] = TicketState._make(row)
    return found


def _taken_ids(conn: sa.Connection, column: sa.Column, values: list[str]) -> set[str]:
    """Which of ``values`` the column already holds (PostgreSQL: one array parameter
    per 500, not 500 parameters to parse and plan)."""
    taken: set[str] = set()
    postgresql = conn.dialect.name == "postgresql"
    for chunk in _chunks(sorted(set(values))):
        condition = (
            column == sa.any_(sa.cast(sa.literal(chunk, ARRAY(sa.Text)), ARRAY(sa.Text)))
            if postgresql
            else column.in_(chunk)
        )
        taken.update(conn.execute(sa.select(column).where(condition)).scalars())
    return taken


def judge_sale(
    ctx: RsuContext,
    outcome: SaleOutcome,
    tickets: dict[int, TicketState],
    claimed_here: dict[int, str],
) -> None:
    """Decide, number by number, what a sale may apply. Pure over the loaded state.

    ``claimed_here`` maps numbers taken by earlier sales of this push to their order.
    """
    payload, at = outcome.payload, outcome.sold_at
    for number in payload.draw_numbers:
        ticket = tickets.get(number)
        if ticket is None:
            outcome.out_of_range[number] = "not a draw number of this raffle"
            continue
        earlier = claimed_here.get(number)
        if earlier is not None or ticket.state in TAKEN_STATES:
            outcome.sold_twice[number] = earlier or ticket.order_id
            continue
        holding = ctx.active_holding(ticket.allocation_id)
        if ticket.state == "allocated" and holding is not None:
            outcome.applied[number] = holding.id
            continue
        returned = ctx.returned_after(number, at)
        if ticket.state == "available" and returned is not None:
            outcome.applied[number] = returned.id  # returned after the sale, still free
            continue
        before = ctx.returned_before(number, at)
        if ticket.state == "allocated":
            why = "allocated to another RSU"
        elif before is not None:
            why = f"its range {before.start}-{before.end} was returned before the sale"
        else:
            why = "not in this RSU's allocations"
        outcome.out_of_range[number] = why


def apply_sales(
    conn: sa.Connection,
    ctx: RsuContext,
    sales: list[tuple[Event, RaffleSalePayload]],
    offset: int,
    received_at: int,
) -> list[dict[str, Any]]:
    """Apply a run of consecutive sales; returns the conflict rows to record."""
    outcomes = [SaleOutcome(e, p, p.sold_at + offset) for e, p in sales]
    taken_orders = _taken_ids(
        conn, schema.raffle_orders.c.id, [o.payload.order_id for o in outcomes]
    )
    taken_validation = _taken_ids(
        conn,
        schema.raffle_orders.c.validation_number,
        [o.payload.validation_number for o in outcomes],
    )
    raffle = ctx.raffle
    tickets: dict[int, TicketState] = {}
    if raffle is not None:
        tickets = _read_tickets(
            conn, raffle.id, [n for o in outcomes for n in o.payload.draw_numbers]
        )
    claimed_here: dict[int, str] = {}
    seen_orders: set[str] = set()
    seen_validation: set[str] = set()
    for outcome in outcomes:
        payload = outcome.payload
        if ctx.rsu is None:
            outcome.problems.append("this device has no RSU record")
            outcome.keep_order = False
        if raffle is None or payload.raffle_id != raffle.id:
            outcome.problems.append(f"raffle {payload.raffle_id} is not this RSU's raffle")
            outcome.keep_order = False
        package = ctx.packages.get(payload.package_id)
        if package is None:
            outcome.problems.append(f"package {payload.package_id} is not a package of the raffle")
            outcome.keep_order = False
        if payload.order_id in taken_orders or payload.order_id in seen_orders:
            outcome.problems.append(f"order id {payload.order_id} is already taken")
            outcome.keep_order = False
        if payload.validation_number in taken_validation or (
            payload.validation_number in seen_validation
        ):
            outcome.problems.append(
                f"validation number {payload.validation_number} is already used by another order"
            )
            outcome.keep_order = False
        if not outcome.keep_order:
            continue
        seen_orders.add(payload.order_id)
        seen_validation.add(payload.validation_number)
        if package is not None:
            if len(payload.draw_numbers) != package.ticket_count:
                outcome.problems.append(
                    f"{len(payload.draw_numbers)} numbers for a package of {package.ticket_count}"
                )
            if payload.price_cents != package.price_cents:
                outcome.problems.append(
                    f"price {payload.price_cents} is not the package's {package.price_cents}"
                )
        if ctx.rsu is not None:
            try:
                terminal = terminal_of(payload.validation_number)
            except ValidationNumberError:
                terminal = None
            if terminal != ctx.rsu.terminal_number:
                outcome.problems.append(
                    f"validation number is of terminal {terminal}, "
                    f"not this RSU's {ctx.rsu.terminal_number}"
                )
        if ctx.closed_seq is not None and outcome.event.seq > ctx.closed_seq:
            outcome.problems.append(
                f"sold after this RSU closed its sales (close seq {ctx.closed_seq}); "
                "numbers not applied"
            )
            continue
        if raffle is not None and raffle.state in FROZEN_STATES:
            outcome.problems.append(f"the raffle is {raffle.state}; numbers not applied")
            continue
        late = raffle_windows.sale_time_problem(
            outcome.sold_at, ctx.windows, raffle.sales_start_time, raffle.sales_end_time
        )
        if late is not None:
            outcome.problems.append(f"{late}; numbers not applied")
            continue
        judge_sale(ctx, outcome, tickets, claimed_here)
        for number in outcome.applied:
            claimed_here[number] = payload.order_id
    _store_sales(conn, ctx, outcomes, received_at)
    rows: list[dict[str, Any]] = []
    for outcome in outcomes:
        rows += _sale_conflicts(conn, ctx, outcome, received_at)
    return rows


def _store_sales(
    conn: sa.Connection, ctx: RsuContext, outcomes: list[SaleOutcome], received_at: int
) -> None:
    device = ctx.device
    kept = [o for o in outcomes if o.keep_order]
    if not kept:
        return
    customer_rows = []
    order_rows = []
    for outcome in kept:
        payload = outcome.payload
        customer_id = None
        name = (payload.customer_name or "").strip()
        phone = (payload.customer_phone or "").strip()
        if name or phone:
            customer_id = str(uuid.uuid4())
            customer_rows.append(
                {
                    "id": customer_id,
                    "name": name,
                    "email": None,
                    "phone": phone or None,
                    "created_at": received_at,
                    "updated_at": received_at,
                }
            )
        order_rows.append(
            {
                "id": payload.order_id,
                "raffle_event_id": payload.raffle_id,
                "customer_id": customer_id,
                "ticket_package_id": payload.package_id,
                "ticket_count": len(payload.draw_numbers),
                "total_amount_cents": payload.price_cents,
                "validation_number": payload.validation_number,
                "payment_status": "completed",
                "payment_method": payload.payment.method,
                "payment_reference": payload.payment.reference,
                "source": "rsu",
                "rsu_id": device.id,
                "device_seq": outcome.event.seq,
                "draw_numbers": dumps(payload.draw_numbers),
                "sold_at": outcome.sold_at,
                "reprint_count": 0,
                "created_at": received_at,
                "created_by": device.id,
                "updated_at": received_at,
                "updated_by": device.id,
            }
        )
    insert_rows(conn, schema.customers, customer_rows)
    _insert_orders(conn, order_rows)
    runs = [
        TicketRun(first, last, outcome.payload.order_id, outcome.sold_at, allocation_id)
        for outcome in kept
        for first, last, allocation_id in _applied_runs(outcome.applied)
    ]
    if not runs or ctx.raffle is None:
        return
    per_allocation: dict[str, int] = defaultdict(int)
    for run in runs:
        per_allocation[run.allocation_id] += run.last - run.first + 1
    updated = _sell_tickets(conn, ctx.raffle.id, device.id, runs, received_at)
    if updated != sum(per_allocation.values()):
        raise ApiError(
            "conflict",
            "raffle tickets changed while this push was applied; push again",
            status=409,
        )
    a = schema.rsu_allocations
    for allocation_id, count in per_allocation.items():
        conn.execute(
            sa.update(a)
            .where(a.c.id == allocation_id)
            .values(tickets_sold=a.c.tickets_sold + count)
        )


def _insert_orders(conn: sa.Connection, rows: list[dict[str, Any]]) -> None:
    """The orders of a push: one executemany straight on the driver on SQLite (SQLAlchemy's
    per-row parameter work cost as much as the insert), ``insert_rows`` (COPY) elsewhere."""
    if conn.dialect.name != "sqlite" or not rows:
        insert_rows(conn, schema.raffle_orders, rows)
        return
    columns = list(rows[0])
    names = ", ".join(columns)
    marks = ", ".join("?" * len(columns))
    conn.exec_driver_sql(
        f"INSERT INTO raffle_order ({names}) VALUES ({marks})",
        [tuple(row[name] for name in columns) for row in rows],
    )


class TicketRun(NamedTuple):
    """Consecutive numbers one order takes from one allocation."""

    first: int
    last: int
    order_id: str
    sold_at: int
    allocation_id: str


def _applied_runs(applied: dict[int, str]) -> list[tuple[int, int, str]]:
    """A sale's applied numbers as (first, last, allocation id) runs of consecutive numbers
    of one allocation."""
    runs: list[tuple[int, int, str]] = []
    for number in sorted(applied):
        allocation_id = applied[number]
        if runs and runs[-1][1] == number - 1 and runs[-1][2] == allocation_id:
            runs[-1] = (runs[-1][0], number, allocation_id)
        else:
            runs.append((number, number, allocation_id))
    return runs


#: Marks one run sold, a compare-and-set: each number must still be allocated to the
#: allocation the sale was judged against, or free after its return; every number of
#: every run must be updated, else another writer got there first. Positional parameters:
#: order, sold_at, device, allocation, device, now, now, raffle, first, last, allocation.
_SELL_RUN = (
    "UPDATE raffle_ticket SET state = 'sold', order_id = {p}, sold_at = {p}, sold_by = {p},"
    " allocation_id = {p}, allocated_to_rsu_id = {p},"
    " allocated_at = COALESCE(raffle_ticket.allocated_at, {p}), updated_at = {p}"
    " WHERE raffle_ticket.raffle_event_id = {p}"
    " AND raffle_ticket.draw_number BETWEEN {p} AND {p}"
    " AND ((raffle_ticket.state = 'allocated' AND raffle_ticket.allocation_id = {p})"
    " OR (raffle_ticket.state = 'available' AND raffle_ticket.allocation_id IS NULL))"
)
_SELL_RUN_SQL = {"sqlite": _SELL_RUN.format(p="?"), "postgresql": _SELL_RUN.format(p="%s")}


def _sell_tickets(
    conn: sa.Connection, raffle_id: str, device_id: str, runs: list[TicketRun], now: int
) -> int:
    """Mark the runs sold (``_SELL_RUN``); returns the rows updated.

    One executemany straight on the driver: no per-row SQLAlchemy parameter work, each
    run one range read of the (raffle, number) unique index whatever the planner thinks
    of the table (psycopg pipelines the statements; both drivers sum the rowcount).
    """
    result = conn.exec_driver_sql(
        _SELL_RUN_SQL[conn.dialect.name],
        [
            (
                run.order_id,
                run.sold_at,
                device_id,
                run.allocation_id,
                device_id,
                now,
                now,
                raffle_id,
                run.first,
                run.last,
                run.allocation_id,
            )
            for run in runs
        ],
    )
    return result.rowcount


def _validation_of_orders(conn: sa.Connection, order_ids: set[str]) -> dict[str, Any]:
    o = schema.raffle_orders
    found: dict[str, Any] = {}
    for chunk in _chunks(sorted(order_ids)):
        for row in conn.execute(
            sa.select(o.c.id, o.c.validation_number, o.c.rsu_id, o.c.device_seq).where(
                o.c.id.in_(chunk)
            )
        ):
            found[row.id] = row
    return found


def _sale_side(ctx: RsuContext, outcome: SaleOutcome) -> dict[str, Any]:
    payload = outcome.payload
    return {
        "device_id": ctx.device.id,
        "seq": outcome.event.seq,
        "order_id": payload.order_id,
        "validation_number": payload.validation_number,
        "sold_at": to_iso(outcome.sold_at),
        "draw_numbers": payload.draw_numbers,
        "order_kept": outcome.keep_order,
    }


def _sale_conflicts(
    conn: sa.Connection, ctx: RsuContext, outcome: SaleOutcome, now: int
) -> list[dict[str, Any]]:
    device = ctx.device
    payload = outcome.payload
    raffle_id = ctx.raffle_id or payload.raffle_id
    base = {
        "organization_id": device.organization_id,
        "event_id": raffle_id,
        "subject": payload.validation_number,
        "created_at": now,
    }
    rows = []
    if outcome.out_of_range:
        rows.append(
            {
                **base,
                "kind": ConflictKind.RAFFLE_OUT_OF_RANGE.value,
                "devices": dumps([device.id]),
                "details": dumps(
                    {
                        "sale": _sale_side(ctx, outcome),
                        "numbers": [
                            {"draw_number": n, "why": why}
                            for n, why in sorted(outcome.out_of_range.items())
                        ],
                    }
                ),
                "dedup_key": f"raffle_out_of_range:{device.id}:{outcome.event.seq}",
            }
        )
    if outcome.sold_twice:
        others = _validation_of_orders(
            conn, {o for o in outcome.sold_twice.values() if o is not None}
        )
        numbers = []
        devices = [device.id]
        for number, other in sorted(outcome.sold_twice.items()):
            first = others.get(other) if other else None
            numbers.append(
                {
                    "draw_number": number,
                    "first_order_id": other,
                    "first_validation_number": first.validation_number if first else None,
                    "first_device_id": first.rsu_id if first else None,
                    "first_seq": first.device_seq if first else None,
                }
            )
            if first is not None and first.rsu_id and first.rsu_id not in devices:
                devices.append(first.rsu_id)
        rows.append(
            {
                **base,
                "kind": ConflictKind.RAFFLE_NUMBER_SOLD_TWICE.value,
                "devices": dumps(devices),
                "details": dumps({"second": _sale_side(ctx, outcome), "numbers": numbers}),
                "dedup_key": f"raffle_number_sold_twice:{device.id}:{outcome.event.seq}",
            }
        )
    if outcome.problems:
        rows.append(
            _problem_row(
                ctx,
                outcome.event,
                payload.validation_number,
                outcome.problems,
                now,
                {"sale": _sale_side(ctx, outcome), "raffle_id": payload.raffle_id},
            )
        )
    return rows


def _problem_row(
    ctx: RsuContext,
    event: Event,
    subject: str,
    problems: list[str],
    now: int,
    details: dict[str, Any],
) -> dict[str, Any]:
    device = ctx.device
    return {
        "kind": ConflictKind.RAFFLE_SALE_PROBLEM.value,
        "organization_id": device.organization_id,
        "event_id": ctx.raffle_id or details.get("raffle_id"),
        "subject": subject[:200],
        "devices": dumps([device.id]),
        "details": dumps(
            {"device_id": device.id, "seq": event.seq, "kind": event.kind, "problems": problems}
            | details
        ),
        "dedup_key": f"raffle_sale_problem:{device.id}:{event.seq}",
        "created_at": now,
    }


# -- voids, reprints, close ---------------------------------------------------------------


def _own_order(
    conn: sa.Connection, ctx: RsuContext, order_id: str, validation_number: str
) -> tuple[Any | None, str | None]:
    """The order an RSU event names, or why it is not one this RSU may touch."""
    o = schema.raffle_orders
    order = conn.execute(sa.select(o).where(o.c.id == order_id)).first()
    if order is None:
        return None, f"order {order_id} is unknown to the server"
    if order.validation_number != validation_number:
        return None, f"order {order_id} has another validation number"
    if order.rsu_id != ctx.device.id:
        return None, f"order {order_id} was sold by another device"
    return order, None


def _apply_void(
    conn: sa.Connection,
    ctx: RsuContext,
    event: Event,
    payload: RaffleVoidPayload,
    offset: int,
    now: int,
) -> list[dict[str, Any]]:
    device = ctx.device
    details = {"raffle_id": payload.raffle_id, "order_id": payload.order_id}
    order, why = _own_order(conn, ctx, payload.order_id, payload.validation_number)
    if order is None:
        return [_problem_row(ctx, event, payload.validation_number, [f"void: {why}"], now, details)]
    if order.payment_status == "refunded":
        return [
            _problem_row(
                ctx, event, payload.validation_number, ["void: order already voided"], now, details
            )
        ]
    raffle = ctx.raffle
    if raffle is None or order.raffle_event_id != raffle.id or raffle.state in FROZEN_STATES:
        state = raffle.state if raffle is not None else "unknown"
        return [
            _problem_row(
                ctx,
                event,
                payload.validation_number,
                [f"void: the raffle is {state}; the void is not applied"],
                now,
                details,
            )
        ]
    voided_at = payload.voided_at + offset
    t = schema.raffle_tickets
    per_allocation: dict[str | None, int] = defaultdict(int)
    numbers = []
    for number, allocation_id in conn.execute(
        sa.select(t.c.draw_number, t.c.allocation_id).where(
            t.c.order_id == order.id, t.c.state == "sold"
        )
    ).all():
        per_allocation[allocation_id] += 1
        numbers.append(number)
    conn.execute(
        sa.update(t)
        .where(t.c.order_id == order.id, t.c.state == "sold")
        .values(
            state="voided",
            voided_at=voided_at,
            voided_by=device.id,
            voided_reason=payload.reason,
            updated_at=now,
        )
    )
    a = schema.rsu_allocations
    for allocation_id, count in per_allocation.items():
        if allocation_id is None:
            continue
        conn.execute(
            sa.update(a)
            .where(a.c.id == allocation_id)
            .values(
                tickets_sold=a.c.tickets_sold - count, tickets_voided=a.c.tickets_voided + count
            )
        )
    o = schema.raffle_orders
    conn.execute(
        sa.update(o)
        .where(o.c.id == order.id)
        .values(
            payment_status="refunded",
            voided_at=voided_at,
            voided_by=device.id,
            void_reason=payload.reason,
            updated_at=now,
            updated_by=device.id,
        )
    )
    info = {
        "order_id": order.id,
        "validation_number": order.validation_number,
        "draw_numbers": sorted(numbers),
        "reason": payload.reason,
        "operator": payload.operator,
        "seq": event.seq,
        "amount_cents": order.total_amount_cents,
    }
    conn.execute(
        sa.insert(schema.raffle_exceptions).values(
            raffle_event_id=order.raffle_event_id,
            kind="void",
            actor=device.id,
            subject=order.validation_number,
            details=dumps(info),
            at=voided_at,
        )
    )
    audit(
        conn,
        org_id=device.organization_id,
        actor=device.id,
        action="raffle.void",
        subject=order.id,
        at=now,
        details=info,
    )
    return []


def _apply_reprint(
    conn: sa.Connection,
    ctx: RsuContext,
    event: Event,
    payload: RaffleReprintPayload,
    offset: int,
    now: int,
) -> list[dict[str, Any]]:
    device = ctx.device
    conn.execute(
        sa.insert(schema.print_logs).values(
            organization_id=device.organization_id,
            device_id=device.id,
            seq=event.seq,
            subject_kind="raffle_order",
            subject_id=payload.validation_number,
            agent_id=payload.operator[:100] or None,
            reason=payload.reason[:255],
            print_location=f"copy {payload.copy_number}",
            printed_at=payload.printed_at + offset,
        )
    )
    order, why = _own_order(conn, ctx, payload.order_id, payload.validation_number)
    if order is None:
        details = {"raffle_id": payload.raffle_id, "order_id": payload.order_id}
        return [
            _problem_row(ctx, event, payload.validation_number, [f"reprint: {why}"], now, details)
        ]
    o = schema.raffle_orders
    conn.execute(
        sa.update(o)
        .where(o.c.id == order.id)
        .values(reprint_count=o.c.reprint_count + 1, updated_at=now)
    )
    return []


def _apply_close(
    conn: sa.Connection,
    ctx: RsuContext,
    event: Event,
    payload: DeviceClosePayload,
    offset: int,
    now: int,
) -> list[dict[str, Any]]:
    device = ctx.device
    details = {"raffle_id": payload.raffle_id, "orders": payload.orders}
    if ctx.rsu is None or ctx.raffle is None or payload.raffle_id != ctx.raffle.id:
        problem = f"close: raffle {payload.raffle_id} is not this RSU's raffle"
        return [_problem_row(ctx, event, device.id, [problem], now, details)]
    if ctx.closed_seq is not None:
        problem = f"close: this RSU already closed its sales at seq {ctx.closed_seq}"
        return [_problem_row(ctx, event, device.id, [problem], now, details)]
    closed_at = event.device_time + offset
    r = schema.rsus
    conn.execute(
        sa.update(r)
        .where(r.c.id == device.id)
        .values(
            close_seq=event.seq,
            closed_at=closed_at,
            state="closed",
            updated_at=now,
            updated_by=device.id,
        )
    )
    ctx.closed_seq = event.seq
    audit(
        conn,
        org_id=device.organization_id,
        actor=device.id,
        action="raffle.rsu_close",
        subject=ctx.raffle.id,
        at=closed_at,
        details={"seq": event.seq, "orders": payload.orders},
    )
    return []
