"""Seats of an event, and seat blocks: the seats each petrol kiosk may sell.

A seat is AVAILABLE, ALLOCATED (held by an ACTIVE block, unsold) or SOLD (sold by its
block's kiosk). Allocation is a compare-and-set: ``UPDATE seats SET block_id = :block
WHERE id IN (...) AND status = 'AVAILABLE'`` must touch every seat asked for, or the
transaction is rolled back with ``seat_conflict``. On PostgreSQL a concurrent allocation
waits on the row locks and then re-checks the WHERE clause, so two blocks can never hold
one seat; on SQLite writers are serialised. Seats with a VALID ticket of the event (same
sector code, row and seat) are refused too.

Change log: a block and its seats go to its kiosk only (``changes.device_audience``) as
``seat_block`` and ``seat`` changes (seat key = the server's seat id), in the writer's
transaction; a return sends the block as a tombstone (status RETURNED) and a tombstone
for each seat that went back, while sold seats stay with the kiosk.

Returning a block is a handshake, because the kiosk sells offline: the admin's return
only marks the block RETURNING (its seats stay held by it, so no other block can take
them) and sends the block to its kiosk. At its next pull the kiosk stops selling from the
block and queues ``seat_block_released`` with the seats it had not sold, after every sale
it made from the block; ingesting that event frees exactly those seats still unsold by
the block and marks it RETURNED (``release_block``). A kiosk that is lost or revoked never
answers: ``return_block(force=True)`` with a reason frees the unsold seats at once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import msgspec
import sqlalchemy as sa

from fieldpass.server import schema
from fieldpass.server.config import new_uuid
from fieldpass.server.db import reading
from fieldpass.server.errors import ApiError, not_found
from fieldpass.server.services import changes, prices
from fieldpass.server.services.common import audit, clean_text, dumps, insert_rows
from fieldpass.server.services.events import require_event
from fieldpass.sync.clock import to_iso
from fieldpass.sync.seating import RangeError, parse_labels, seat_label, seat_sort_key

MAX_SEATS_PER_SECTOR_ADD = 20_000
MAX_SEATS_PER_BLOCK = 10_000
MAX_CONFLICTS_LISTED = 1000
MAX_CONFLICTS_IN_MESSAGE = 10
PETROL_ROLE = changes.PETROL_ROLE


class SectorCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    rows: str
    seats: str
    price: str | None = None  # e.g. "25.00": the sector's price category (named so if new)
    category: str | None = None  # the price category's name


class BlockCreate(msgspec.Struct, forbid_unknown_fields=True):
    device_id: str
    sector: str
    rows: str
    seats: str | None = None


class BlockReturn(msgspec.Struct, forbid_unknown_fields=True):
    force: bool = False  # free the unsold seats now, without the kiosk's release
    reason: str | None = None  # required with force: why the kiosk cannot release it


def _labels(text: str, what: str, *, letters: bool) -> list[str]:
    try:
        return parse_labels(text, what=what, letters=letters)
    except RangeError as exc:
        raise ApiError("invalid", str(exc)) from None


def _sector(conn: sa.Connection, event_id: str, code: str) -> Any:
    s = schema.sectors
    return conn.execute(sa.select(s).where(s.c.event_id == event_id, s.c.code == code)).first()


# -- sectors and seats -------------------------------------------------------------------


def check_sector(body: SectorCreate) -> tuple[str, list[str], list[str], int | None]:
    """The sector's code, rows, seat numbers and price in cents; ApiError if bad."""
    code = clean_text(body.name, "name", max_length=50)
    rows = _labels(body.rows, "rows", letters=True)
    numbers = _labels(body.seats, "seats", letters=False)
    if len(rows) * len(numbers) > MAX_SEATS_PER_SECTOR_ADD:
        raise ApiError(
            "invalid",
            f"{len(rows)} rows x {len(numbers)} seats is more than "
            f"{MAX_SEATS_PER_SECTOR_ADD} seats at once",
        )
    price = None if body.price is None else prices.price_cents(body.price)
    return code, rows, numbers, price


def add_sector(
    engine: sa.Engine,
    org_id: str,
    actor: str,
    event_id: str,
    body: SectorCreate,
    *,
    now: int,
    new_id: Callable[[], str] = new_uuid,
) -> dict[str, Any]:
    """Create the sector if new and add its rows x seats (seats that exist are kept);
    with a price or category, set the sector's price category."""
    checked = check_sector(body)
    with engine.begin() as conn:
        require_event(conn, org_id, event_id)
        return add_sector_in(conn, org_id, actor, event_id, body, checked, now=now, new_id=new_id)


def add_sector_in(
    conn: sa.Connection,
    org_id: str,
    actor: str,
    event_id: str,
    body: SectorCreate,
    checked: tuple[str, list[str], list[str], int | None],
    *,
    now: int,
    new_id: Callable[[], str],
) -> dict[str, Any]:
    """``add_sector`` in the caller's transaction (``checked`` from ``check_sector``)."""
    code, rows, numbers, price = checked
    seat_table = schema.seats
    category = prices.resolve_category(
        conn, event_id, price=price, name=body.category, now=now, new_id=new_id
    )
    sector = _sector(conn, event_id, code)
    if sector is None:
        conn.execute(
            sa.insert(schema.sectors).values(
                event_id=event_id,
                code=code,
                price_category_id=None if category is None else category.id,
            )
        )
        sector = _sector(conn, event_id, code)
    elif category is not None and sector.price_category_id != category.id:
        conn.execute(
            sa.update(schema.sectors)
            .where(schema.sectors.c.id == sector.id)
            .values(price_category_id=category.id)
        )
        _reprice_blocks(conn, org_id, sector.id, now)
    existing = set(
        conn.execute(
            sa.select(seat_table.c.row_identifier, seat_table.c.seat_number).where(
                seat_table.c.sector_id == sector.id
            )
        ).all()
    )
    new_seats = [
        {
            "event_id": event_id,
            "sector_id": sector.id,
            "row_identifier": row,
            "seat_number": number,
            "status": "AVAILABLE",
            "created_at": now,
            "updated_at": now,
        }
        for row in rows
        for number in numbers
        if (row, number) not in existing
    ]
    insert_rows(conn, seat_table, new_seats)
    audit(
        conn,
        org_id=org_id,
        actor=actor,
        action="sector.add",
        subject=f"{event_id}:{code}",
        at=now,
        details={
            "rows": body.rows,
            "seats": body.seats,
            "created": len(new_seats),
            "price_category": None if category is None else category.name,
        },
    )
    return {
        "event_id": event_id,
        "sector": code,
        "rows": rows,
        "seats_per_row": len(numbers),
        "created": len(new_seats),
        "existing": len(rows) * len(numbers) - len(new_seats),
        "total": len(existing) + len(new_seats),
        "price_category": None if category is None else category.name,
        "price": None if category is None else prices.format_cents(category.price_cents),
    }


def _reprice_blocks(conn: sa.Connection, org_id: str, sector_id: int, now: int) -> None:
    """The sector's price changed: its ACTIVE blocks go to their kiosks again (new price)."""
    b = schema.seat_blocks
    rows = conn.execute(
        _block_query().where(b.c.sector_id == sector_id, b.c.status == "ACTIVE")
    ).all()
    changes.emit(
        conn,
        org_id,
        [_block_change(row) for row in rows],
        now,
    )


def list_sectors(engine: sa.Engine, org_id: str, event_id: str) -> list[dict[str, Any]]:
    """Every sector of the event with its price and seat counts by status."""
    s, seat_table, pc = schema.sectors, schema.seats, schema.price_categories
    with reading(engine) as conn:
        require_event(conn, org_id, event_id)
        sectors = conn.execute(
            sa.select(s.c.id, s.c.code, pc.c.price_cents)
            .select_from(s.outerjoin(pc, pc.c.id == s.c.price_category_id))
            .where(s.c.event_id == event_id)
            .order_by(s.c.code)
        ).all()
        counts = conn.execute(
            sa.select(seat_table.c.sector_id, seat_table.c.status, sa.func.count())
            .where(seat_table.c.event_id == event_id)
            .group_by(seat_table.c.sector_id, seat_table.c.status)
        ).all()
    by_sector: dict[int, dict[str, int]] = {}
    for sector_id, status, count in counts:
        by_sector.setdefault(sector_id, {})[status] = count
    views = []
    for sector in sectors:
        statuses = by_sector.get(sector.id, {})
        views.append(
            {
                "sector": sector.code,
                "seats": sum(statuses.values()),
                "available": statuses.get("AVAILABLE", 0),
                "allocated": statuses.get("ALLOCATED", 0),
                "sold": statuses.get("SOLD", 0),
                "price": None
                if sector.price_cents is None
                else prices.format_cents(sector.price_cents),
            }
        )
    return views


# -- seat blocks -------------------------------------------------------------------------


def _block_query() -> sa.Select:
    b, s, d, seat_table = schema.seat_blocks, schema.sectors, schema.devices, schema.seats
    pc, e = schema.price_categories, schema.events
    sold = (
        sa.select(sa.func.count())
        .select_from(seat_table)
        .where(seat_table.c.block_id == b.c.id, seat_table.c.status == "SOLD")
        .scalar_subquery()
    )
    held = (
        sa.select(sa.func.count())
        .select_from(seat_table)
        .where(seat_table.c.block_id == b.c.id, seat_table.c.status == "ALLOCATED")
        .scalar_subquery()
    )
    return sa.select(
        b,
        s.c.code.label("sector"),
        d.c.name.label("device_name"),
        sold.label("sold"),
        held.label("unsold"),
        pc.c.price_cents.label("price_cents"),
        e.c.vat_basis_points.label("vat_basis_points"),
    ).select_from(
        b.join(s, s.c.id == b.c.sector_id)
        .join(d, d.c.id == b.c.device_id)
        .join(e, e.c.id == b.c.event_id)
        .outerjoin(pc, pc.c.id == s.c.price_category_id)
    )


def block_view(row: Any, seats: list[tuple[str, str, str]] | None = None) -> dict[str, Any]:
    view = {
        "id": row.id,
        "event_id": row.event_id,
        "device_id": row.device_id,
        "device_name": row.device_name,
        "sector": row.sector,
        "rows": row.rows_spec,
        "seats": row.seats_spec,
        "status": row.status,
        "seat_count": row.seat_count,
        "sold": row.sold,
        "unsold": row.unsold,
        "returned": row.returned_count,
        "created_at": to_iso(row.created_at),
        "returned_at": to_iso(row.returned_at),
        "price": None if row.price_cents is None else prices.format_cents(row.price_cents),
        "vat_percent": prices.format_vat(row.vat_basis_points),
    }
    if seats is not None:
        view["seat_list"] = [{"row": r, "seat": n, "status": st} for r, n, st in seats]
    return view


def _block_seats(conn: sa.Connection, block_id: str) -> list[tuple[str, str, str]]:
    seat_table = schema.seats
    rows = conn.execute(
        sa.select(seat_table.c.row_identifier, seat_table.c.seat_number, seat_table.c.status).where(
            seat_table.c.block_id == block_id
        )
    ).all()
    return sorted(((r[0], r[1], r[2]) for r in rows), key=lambda r: seat_sort_key(r[0], r[1]))


def _usable_device(conn: sa.Connection, org_id: str, device_id: str) -> Any:
    d = schema.devices
    device = conn.execute(
        sa.select(d).where(d.c.id == device_id, d.c.organization_id == org_id)
    ).first()
    if device is None:
        raise not_found(f"device {device_id[:40]!r}")
    if device.role != PETROL_ROLE:
        raise ApiError(
            "invalid", f"device {device.name!r} is a {device.role} device, not a petrol kiosk"
        )
    if device.status != "approved":
        raise ApiError(
            "device_not_usable", f"device {device.name!r} is {device.status}, not approved"
        )
    return device


def _seat_conflict(conflicts: list[tuple[str, str, str]]) -> ApiError:
    ordered = sorted(conflicts, key=lambda c: _label_key(c[0]))
    named = ", ".join(f"{label} ({why})" for label, why, _ in ordered[:MAX_CONFLICTS_IN_MESSAGE])
    more = len(ordered) - MAX_CONFLICTS_IN_MESSAGE
    return ApiError(
        "seat_conflict",
        f"{len(ordered)} seat(s) are not free: {named}" + (f" and {more} more" if more > 0 else ""),
        extra={
            "seats": [
                {"seat": label, "reason": why, "held_by": holder}
                for label, why, holder in ordered[:MAX_CONFLICTS_LISTED]
            ]
        },
    )


def _label_key(label: str) -> tuple:
    parts = label.rsplit("/", 2)
    return seat_sort_key(parts[1], parts[2]) if len(parts) == 3 else (9, 0, label, 0, "")


def allocate_block(
    engine: sa.Engine,
    org_id: str,
    actor: str,
    event_id: str,
    body: BlockCreate,
    *,
    now: int,
    new_id: Callable[[], str],
) -> dict[str, Any]:
    """Give a petrol kiosk the seats sector x rows x seats; 409 naming any seat not free."""
    code = clean_text(body.sector, "sector", max_length=50)
    rows = _labels(body.rows, "rows", letters=True)
    numbers = _labels(body.seats, "seats", letters=False) if body.seats else None
    seat_table, b = schema.seats, schema.seat_blocks
    block_id = new_id()
    with engine.begin() as conn:
        require_event(conn, org_id, event_id)
        device = _usable_device(conn, org_id, body.device_id)
        sector = _sector(conn, event_id, code)
        if sector is None:
            raise not_found(f"sector {code!r} of this event (add it with `sector add`)")
        query = sa.select(seat_table).where(
            seat_table.c.sector_id == sector.id, seat_table.c.row_identifier.in_(rows)
        )
        if numbers is not None:
            query = query.where(seat_table.c.seat_number.in_(numbers))
        wanted = conn.execute(query).all()
        _check_all_exist(code, rows, numbers, wanted)
        if len(wanted) > MAX_SEATS_PER_BLOCK:
            raise ApiError(
                "invalid", f"{len(wanted)} seats is more than {MAX_SEATS_PER_BLOCK} in one block"
            )
        conflicts = _taken(conn, event_id, code, wanted)
        if conflicts:
            raise _seat_conflict(conflicts)
        conn.execute(
            sa.insert(b).values(
                id=block_id,
                event_id=event_id,
                device_id=device.id,
                sector_id=sector.id,
                rows_spec=",".join(_compact(rows)),
                seats_spec=",".join(_compact(numbers)) if numbers else "all",
                status="ACTIVE",
                seat_count=len(wanted),
                returned_count=0,
                created_by=actor,
                created_at=now,
            )
        )
        taken = conn.execute(
            sa.update(seat_table)
            .where(
                seat_table.c.id.in_([seat.id for seat in wanted]),
                seat_table.c.status == "AVAILABLE",
                seat_table.c.block_id.is_(None),
            )
            .values(status="ALLOCATED", block_id=block_id, updated_at=now)
        ).rowcount
        if taken != len(wanted):
            # Another allocation committed in between: name what it took, keep nothing.
            conflicts = _taken(conn, event_id, code, wanted, ignore_block=block_id)
            raise _seat_conflict(conflicts or [(f"{code}/?/?", "taken concurrently", None)])
        audit(
            conn,
            org_id=org_id,
            actor=actor,
            action="seats.allocate",
            subject=block_id,
            at=now,
            details={"device_id": device.id, "sector": code, "seats": len(wanted)},
        )
        row = conn.execute(_block_query().where(b.c.id == block_id)).one()
        seats = _block_seats(conn, block_id)
        changes.emit(conn, org_id, _block_changes(conn, row, "upsert"), now)
    return block_view(row, seats)


def _block_change(row: Any, op: str = "upsert") -> changes.NewChange:
    """The block itself, for its kiosk only."""
    return changes.NewChange(
        row.event_id,
        "seat_block",
        row.id,
        op,
        dumps(_block_change_data(row)),
        changes.device_audience(row.device_id),
    )


def _block_change_data(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "event_id": row.event_id,
        "device_id": row.device_id,
        "sector": row.sector,
        "rows": row.rows_spec,
        "seats": row.seats_spec,
        "status": row.status,
        "seat_count": row.seat_count,
        # what the kiosk charges per seat of this block, VAT included (None: no price set)
        "price_cents": row.price_cents,
        "vat_percent": prices.format_vat(row.vat_basis_points),
    }


def _seat_change(row: Any, seat: Any, op: str) -> changes.NewChange:
    data = {
        "id": seat.id,
        "event_id": row.event_id,
        "block_id": row.id,
        "sector": row.sector,
        "row": seat.row_identifier,
        "seat": seat.seat_number,
        "status": "AVAILABLE" if op == "tombstone" else seat.status,
    }
    return changes.NewChange(
        row.event_id,
        "seat",
        str(seat.id),
        op,
        dumps(data),
        audience=changes.device_audience(row.device_id),
    )


def _block_changes(
    conn: sa.Connection, row: Any, op: str, returned: list[Any] | None = None
) -> list[changes.NewChange]:
    """The block (upsert on allocation, tombstone on return) and its seats for its kiosk:
    on allocation every seat, on return a tombstone for each seat in ``returned``."""
    out = [_block_change(row, op)]
    if op == "upsert":
        seat_table = schema.seats
        seats = conn.execute(
            sa.select(
                seat_table.c.id,
                seat_table.c.row_identifier,
                seat_table.c.seat_number,
                seat_table.c.status,
            )
            .where(seat_table.c.block_id == row.id)
            .order_by(seat_table.c.id)
        ).all()
        out += [_seat_change(row, seat, "upsert") for seat in seats]
    else:
        out += [_seat_change(row, seat, "tombstone") for seat in returned or []]
    return out


def _check_all_exist(
    code: str, rows: list[str], numbers: list[str] | None, found: list[Any]
) -> None:
    have = {(seat.row_identifier, seat.seat_number) for seat in found}
    if numbers is None:
        empty = [row for row in rows if not any(r == row for r, _ in have)]
        if empty:
            raise ApiError(
                "invalid", f"sector {code} has no seats in row(s) {', '.join(empty[:20])}"
            )
        return
    missing = [(row, number) for row in rows for number in numbers if (row, number) not in have]
    if missing:
        named = ", ".join(seat_label(code, r, n) for r, n in missing[:MAX_CONFLICTS_IN_MESSAGE])
        more = len(missing) - MAX_CONFLICTS_IN_MESSAGE
        raise ApiError(
            "invalid",
            f"{len(missing)} seat(s) do not exist: {named}"
            + (f" and {more} more" if more > 0 else ""),
        )


def _taken(
    conn: sa.Connection,
    event_id: str,
    code: str,
    wanted: list[Any],
    *,
    ignore_block: str | None = None,
) -> list[tuple[str, str, str | None]]:
    """(label, reason, holder) for each wanted seat held by a block or a VALID ticket."""
    seat_table, t = schema.seats, schema.tickets
    ids = [seat.id for seat in wanted]
    current = conn.execute(
        sa.select(
            seat_table.c.row_identifier,
            seat_table.c.seat_number,
            seat_table.c.status,
            seat_table.c.block_id,
        ).where(seat_table.c.id.in_(ids))
    ).all()
    conflicts: list[tuple[str, str, str | None]] = []
    for seat in current:
        if seat.block_id is not None and seat.block_id != ignore_block:
            why = "sold by block" if seat.status == "SOLD" else "in block"
            conflicts.append(
                (seat_label(code, seat.row_identifier, seat.seat_number), why, seat.block_id)
            )
        elif seat.block_id is None and seat.status != "AVAILABLE":
            conflicts.append(
                (seat_label(code, seat.row_identifier, seat.seat_number), seat.status.lower(), None)
            )
    wanted_keys = {(seat.row_identifier, seat.seat_number) for seat in wanted}
    rows = sorted({seat.row_identifier for seat in wanted})
    tickets = conn.execute(
        sa.select(t.c.row, t.c.seat, t.c.barcode).where(
            t.c.event_id == event_id,
            t.c.sector == code,
            t.c.row.in_(rows),
            t.c.status == "VALID",
        )
    ).all()
    for ticket in tickets:
        if (ticket.row, ticket.seat) in wanted_keys:
            conflicts.append(
                (seat_label(code, ticket.row, ticket.seat), "has ticket", ticket.barcode)
            )
    return conflicts


def _compact(labels: Iterable[str]) -> list[str]:
    """``A,B,C,F`` -> ``A-C,F``; ``1,2,3,7`` -> ``1-3,7`` (for the block's description)."""
    parts: list[list[str]] = []
    for label in labels:
        if parts and _follows(parts[-1][-1], label):
            parts[-1].append(label)
        else:
            parts.append([label])
    return [p[0] if len(p) == 1 else f"{p[0]}-{p[-1]}" for p in parts]


def _follows(previous: str, label: str) -> bool:
    if previous.isdigit() and label.isdigit():
        return int(label) == int(previous) + 1
    if previous.isalpha() and label.isalpha():
        return ord(label) == ord(previous) + 1
    return False


def list_blocks(engine: sa.Engine, org_id: str, event_id: str) -> list[dict[str, Any]]:
    b = schema.seat_blocks
    with reading(engine) as conn:
        require_event(conn, org_id, event_id)
        rows = conn.execute(
            _block_query().where(b.c.event_id == event_id).order_by(b.c.created_at, b.c.id)
        ).all()
    return [block_view(row) for row in rows]


def return_block(
    engine: sa.Engine,
    org_id: str,
    actor: str,
    block_id: str,
    *,
    now: int,
    force: bool = False,
    reason: str | None = None,
) -> dict[str, Any]:
    """ACTIVE -> RETURNING: the block goes to its kiosk, which releases its unsold seats.

    ``force`` (with a ``reason``, for a kiosk that is lost or revoked): ACTIVE or RETURNING
    -> RETURNED at once, the unsold seats become AVAILABLE; what the kiosk sold offline
    and never pushed may then be sold twice, which is why the reason goes to the audit log.
    """
    b, e = schema.seat_blocks, schema.events
    note = None
    if force:
        if reason is None or not reason.strip():
            raise ApiError("invalid", "a forced return needs a reason (it goes to the audit log)")
        note = clean_text(reason, "reason", max_length=500)
    with engine.begin() as conn:
        block = conn.execute(
            sa.select(b)
            .join(e, e.c.id == b.c.event_id)
            .where(b.c.id == block_id, e.c.organization_id == org_id)
        ).first()
        if block is None:
            raise not_found(f"seat block {block_id[:40]!r}")
        if force:
            if block.status not in ("ACTIVE", "RETURNING"):
                raise ApiError(
                    "invalid_transition", f"seat block {block_id} is already {block.status}"
                )
            freed = _free_unsold(conn, block_id, None, now=now)
            audit(
                conn,
                org_id=org_id,
                actor=actor,
                action="seats.force_return",
                subject=block_id,
                at=now,
                details={"returned": len(freed), "was": block.status, "reason": note},
            )
            row = conn.execute(_block_query().where(b.c.id == block_id)).one()
            changes.emit(conn, org_id, _block_changes(conn, row, "tombstone", freed), now)
            return block_view(row, _block_seats(conn, block_id))
        if block.status == "RETURNING":
            raise ApiError(
                "invalid_transition",
                f"seat block {block_id} is already RETURNING: its kiosk releases it at its "
                "next sync (use force with a reason if the kiosk is lost)",
            )
        if block.status != "ACTIVE":
            raise ApiError("invalid_transition", f"seat block {block_id} is already {block.status}")
        device = conn.execute(
            sa.select(schema.devices.c.name, schema.devices.c.status).where(
                schema.devices.c.id == block.device_id
            )
        ).one()
        if device.status != "approved":
            raise ApiError(
                "device_not_usable",
                f"device {device.name!r} is {device.status} and will never release the block: "
                "return it with force and a reason",
            )
        conn.execute(
            sa.update(b)
            .where(b.c.id == block_id, b.c.status == "ACTIVE")
            .values(status="RETURNING")
        )
        audit(
            conn,
            org_id=org_id,
            actor=actor,
            action="seats.return",
            subject=block_id,
            at=now,
            details={"status": "RETURNING"},
        )
        row = conn.execute(_block_query().where(b.c.id == block_id)).one()
        changes.emit(
            conn,
            org_id,
            [_block_change(row)],
            now,
        )
        return block_view(row, _block_seats(conn, block_id))


def _free_unsold(
    conn: sa.Connection, block_id: str, keys: set[tuple[str, str]] | None, *, now: int
) -> list[Any]:
    """The block's unsold seats (only those ``(row, seat)`` in ``keys`` when given) become
    AVAILABLE and the block RETURNED with their count; returns the seats freed."""
    seat_table, b = schema.seats, schema.seat_blocks
    unsold = conn.execute(
        sa.select(seat_table.c.id, seat_table.c.row_identifier, seat_table.c.seat_number)
        .where(seat_table.c.block_id == block_id, seat_table.c.status == "ALLOCATED")
        .order_by(seat_table.c.id)
    ).all()
    freed = [
        seat for seat in unsold if keys is None or (seat.row_identifier, seat.seat_number) in keys
    ]
    for start in range(0, len(freed), 500):
        conn.execute(
            sa.update(seat_table)
            .where(
                seat_table.c.id.in_([seat.id for seat in freed[start : start + 500]]),
                seat_table.c.block_id == block_id,
                seat_table.c.status == "ALLOCATED",
            )
            .values(status="AVAILABLE", block_id=None, updated_at=now)
        )
    conn.execute(
        sa.update(b)
        .where(b.c.id == block_id)
        .values(status="RETURNED", returned_count=len(freed), returned_at=now)
    )
    return freed


def release_block(
    conn: sa.Connection,
    device_id: str,
    block_id: str,
    seats: list[tuple[str, str, str]],
    *,
    now: int,
) -> tuple[list[str], list[changes.NewChange]]:
    """In the push transaction: the kiosk released its RETURNING block with the unsold
    ``seats`` (sector, row, seat). Frees those still unsold by the block, marks it RETURNED.

    Returns the problems (for the caller's conflict; empty when all fits) and the changes
    for the kiosk. Seats the kiosk did not release and never reported sold stay held by
    the block (a problem names them) rather than risk selling them twice.
    """
    b = schema.seat_blocks
    block = conn.execute(_block_query().where(b.c.id == block_id)).first()
    if block is None or block.device_id != device_id:
        return [f"seat block {block_id} is not a block of this kiosk"], []
    if block.status == "RETURNED":
        return [], []  # forced back meanwhile: its seats were freed then
    if block.status != "RETURNING":
        return [f"seat block {block_id} was released while {block.status}, not RETURNING"], []
    wrong_sector = sorted({sector for sector, _, _ in seats if sector != block.sector})
    keys = {(row, number) for sector, row, number in seats if sector == block.sector}
    freed = _free_unsold(conn, block_id, keys, now=now)
    problems: list[str] = []
    if wrong_sector:
        problems.append(f"released seats of another sector: {', '.join(wrong_sector)}")
    not_freed = keys - {(seat.row_identifier, seat.seat_number) for seat in freed}
    if not_freed:
        named = ", ".join(
            seat_label(block.sector, r, n)
            for r, n in sorted(not_freed, key=lambda k: seat_sort_key(*k))[
                :MAX_CONFLICTS_IN_MESSAGE
            ]
        )
        problems.append(f"{len(not_freed)} released seat(s) were not unsold in the block: {named}")
    kept = _block_seats(conn, block_id)
    held = [f"{block.sector}/{r}/{n}" for r, n, status in kept if status == "ALLOCATED"]
    if held:
        problems.append(
            f"{len(held)} seat(s) neither released nor sold stay held by the block: "
            + ", ".join(held[:MAX_CONFLICTS_IN_MESSAGE])
        )
    row = conn.execute(_block_query().where(b.c.id == block_id)).one()
    return problems, _block_changes(conn, row, "tombstone", freed)


def mark_seats_sold(
    conn: sa.Connection, block_id: str, seats: list[tuple[str, str]], *, now: int
) -> list[tuple[str, str]]:
    """In the caller's transaction: the block's unsold seats ``(row, seat)`` become SOLD.

    Returns the seats that were not unsold seats of this block (already sold, returned,
    never in it), for the caller to raise a conflict about; the others are marked.
    For the petrol sale ingest.
    """
    seat_table = schema.seats
    held = {
        (row, number): seat_id
        for seat_id, row, number in conn.execute(
            sa.select(seat_table.c.id, seat_table.c.row_identifier, seat_table.c.seat_number).where(
                seat_table.c.block_id == block_id, seat_table.c.status == "ALLOCATED"
            )
        ).all()
    }
    ids = [held[key] for key in seats if key in held]
    if ids:
        conn.execute(
            sa.update(seat_table)
            .where(seat_table.c.id.in_(ids), seat_table.c.status == "ALLOCATED")
            .values(status="SOLD", updated_at=now)
        )
    return [key for key in seats if key not in held]


def sell_kiosk_seats(
    conn: sa.Connection,
    device_id: str,
    event_id: str,
    seats: list[tuple[str, str, str]],
    *,
    now: int,
) -> tuple[list[tuple[str, str, str]], list[changes.NewChange]]:
    """In the caller's transaction: a kiosk's sold seats ``(sector, row, seat)`` become SOLD
    in whichever of its blocks of the event holds them (``mark_seats_sold``).

    Returns the seats none of its blocks held unsold (for the caller's conflict), and the
    ``seat`` changes (status SOLD) for the kiosk, so a re-pull keeps them sold.
    """
    b = schema.seat_blocks
    blocks = conn.execute(
        _block_query()
        .where(b.c.device_id == device_id, b.c.event_id == event_id)
        .order_by(b.c.created_at, b.c.id)
    ).all()
    left = list(dict.fromkeys(seats))
    out: list[changes.NewChange] = []
    seat_table = schema.seats
    for block in blocks:
        mine = [(row, number) for sector, row, number in left if sector == block.sector]
        if not mine:
            continue
        missing = set(mark_seats_sold(conn, block.id, mine, now=now))
        sold = [key for key in mine if key not in missing]
        left = [seat for seat in left if seat[0] != block.sector or seat[1:] in missing]
        if sold:
            rows = conn.execute(
                sa.select(
                    seat_table.c.id,
                    seat_table.c.row_identifier,
                    seat_table.c.seat_number,
                    seat_table.c.status,
                ).where(seat_table.c.block_id == block.id, seat_table.c.status == "SOLD")
            ).all()
            wanted = set(sold)
            out += [
                _seat_change(block, seat, "upsert")
                for seat in rows
                if (seat.row_identifier, seat.seat_number) in wanted
            ]
    return left, out
