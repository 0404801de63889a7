"""Number ranges of a raffle allocated to its RSUs, and their return.

Allocation is a compare-and-set over the range: one COUNT says whether every number of
``[start, end]`` is still ``available`` (so a range never overlaps another allocation, a
sold or a voided number), then one range ``UPDATE … WHERE state = 'available'`` must touch
exactly that many rows, or the transaction rolls back with ``range_taken``. On PostgreSQL
a concurrent allocation waits on the row locks and re-checks the WHERE clause; on SQLite
writers are serialised.

Deallocation returns the allocation's unsold (``allocated``) numbers to ``available`` and
marks the allocation inactive. The RSU learns both at its next pull: a
``raffle_allocation`` change for that device only, ``is_active: false`` after a return (an
upsert, so the device stops selling from the range at once). A sale the device made
offline from a returned range arrives later as a conflict, never as a silent sale.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec
import sqlalchemy as sa

from fieldpass.server import schema
from fieldpass.server.db import reading
from fieldpass.server.errors import ApiError, not_found
from fieldpass.server.services import changes
from fieldpass.server.services.common import audit, dumps
from fieldpass.server.services.raffles import RSU_ROLE, record_exception, require_raffle
from fieldpass.sync.bounds import Int32
from fieldpass.sync.clock import to_iso

ALLOCATABLE = ("configured", "active")
DEALLOCATABLE = ("configured", "active", "suspended")


class AllocationCreate(msgspec.Struct, forbid_unknown_fields=True):
    device_id: str
    start: Int32
    end: Int32


def allocation_change(raffle_id: str, row: Any) -> changes.NewChange:
    data = {
        "id": row.id,
        "start_number": row.start_number,
        "end_number": row.end_number,
        "is_active": bool(row.is_active),
    }
    return changes.NewChange(
        raffle_id,
        "raffle_allocation",
        row.id,
        "upsert",
        dumps(data),
        changes.device_audience(row.rsu_id),
    )


def _counts(conn: sa.Connection, allocation_ids: list[str]) -> dict[str, dict[str, int]]:
    """Ticket states per allocation: numbers still allocated, sold, voided, won."""
    t = schema.raffle_tickets
    found: dict[str, dict[str, int]] = {a: {} for a in allocation_ids}
    if not allocation_ids:
        return found
    for allocation_id, state, count in conn.execute(
        sa.select(t.c.allocation_id, t.c.state, sa.func.count())
        .where(t.c.allocation_id.in_(allocation_ids))
        .group_by(t.c.allocation_id, t.c.state)
    ).all():
        found[allocation_id][state] = count
    return found


def allocation_view(row: Any, counts: dict[str, int], device_name: str | None) -> dict[str, Any]:
    return {
        "id": row.id,
        "raffle_id": row.raffle_event_id,
        "device_id": row.rsu_id,
        "device_name": device_name,
        "start_number": row.start_number,
        "end_number": row.end_number,
        "size": row.end_number - row.start_number + 1,
        "unsold": counts.get("allocated", 0),
        "sold": counts.get("sold", 0) + counts.get("winner", 0) + counts.get("claimed", 0),
        "voided": counts.get("voided", 0),
        "tickets_sold": row.tickets_sold,
        "tickets_voided": row.tickets_voided,
        "is_active": bool(row.is_active),
        "allocated_at": to_iso(row.allocated_at),
        "allocated_by": row.allocated_by,
        "deallocated_at": to_iso(row.deallocated_at),
        "deallocated_by": row.deallocated_by,
    }


def _views(conn: sa.Connection, rows: list[Any]) -> list[dict[str, Any]]:
    counts = _counts(conn, [row.id for row in rows])
    names = dict(
        conn.execute(
            sa.select(schema.rsus.c.id, schema.rsus.c.name).where(
                schema.rsus.c.id.in_({row.rsu_id for row in rows})
            )
        ).all()
    )
    return [allocation_view(row, counts[row.id], names.get(row.rsu_id)) for row in rows]


def list_allocations(engine: sa.Engine, org_id: str, raffle_id: str) -> list[dict[str, Any]]:
    a = schema.rsu_allocations
    with reading(engine) as conn:
        require_raffle(conn, org_id, raffle_id)
        rows = conn.execute(
            sa.select(a)
            .where(a.c.raffle_event_id == raffle_id)
            .order_by(a.c.start_number, a.c.allocated_at)
        ).all()
        return _views(conn, rows)


def _rsu_of(conn: sa.Connection, org_id: str, raffle_id: str, device_id: str) -> Any:
    """The approved RSU device of this raffle, with its ``rsu`` row; clear refusals."""
    d = schema.devices
    device = conn.execute(
        sa.select(d).where(d.c.id == device_id, d.c.organization_id == org_id)
    ).first()
    if device is None:
        raise not_found(f"device {device_id[:40]!r}")
    if device.role != RSU_ROLE:
        raise ApiError(
            "device_not_usable", f"device {device.name!r} is a {device.role}, not an RSU"
        )
    if device.status != "approved":
        raise ApiError("device_not_usable", f"device {device.name!r} is {device.status}")
    if device.raffle_event_id != raffle_id:
        raise ApiError("device_not_usable", f"device {device.name!r} is not an RSU of this raffle")
    rsu = conn.execute(sa.select(schema.rsus).where(schema.rsus.c.id == device_id)).first()
    if rsu is None or not rsu.is_active:
        raise ApiError("device_not_usable", f"device {device.name!r} has no active RSU record")
    return rsu


def allocate(
    engine: sa.Engine,
    org_id: str,
    actor: str,
    raffle_id: str,
    body: AllocationCreate,
    *,
    now: int,
    new_id: Callable[[], str],
) -> dict[str, Any]:
    start, end = body.start, body.end
    if start > end:
        raise ApiError("invalid", f"start {start} is after end {end}")
    a, t = schema.rsu_allocations, schema.raffle_tickets
    allocation_id = new_id()
    with engine.begin() as conn:
        raffle = require_raffle(conn, org_id, raffle_id, lock=True)
        if raffle.state not in ALLOCATABLE:
            raise ApiError(
                "invalid_transition",
                f"raffle {raffle.name!r} is {raffle.state}: numbers are allocated while it "
                "is configured or active",
            )
        if start < 1 or end > raffle.max_tickets:
            raise ApiError(
                "invalid",
                f"range {start}-{end} is outside the raffle's numbers 1-{raffle.max_tickets}",
            )
        rsu = _rsu_of(conn, org_id, raffle_id, body.device_id)
        size = end - start + 1
        in_range = sa.and_(t.c.raffle_event_id == raffle_id, t.c.draw_number.between(start, end))
        available = conn.execute(
            sa.select(sa.func.count()).where(in_range, t.c.state == "available")
        ).scalar_one()
        if available != size:
            raise ApiError(
                "range_taken",
                f"{size - available} of the numbers {start}-{end} are not available "
                "(allocated to an RSU, sold or voided); allocate a free range",
            )
        conn.execute(
            sa.insert(a).values(
                id=allocation_id,
                raffle_event_id=raffle_id,
                rsu_id=rsu.id,
                start_number=start,
                end_number=end,
                allocated_at=now,
                allocated_by=actor,
                is_active=True,
            )
        )
        updated = conn.execute(
            sa.update(t)
            .where(in_range, t.c.state == "available")
            .values(
                state="allocated",
                allocation_id=allocation_id,
                allocated_to_rsu_id=rsu.id,
                allocated_at=now,
                updated_at=now,
            )
        ).rowcount
        if updated != size:
            raise ApiError("range_taken", f"numbers of {start}-{end} were taken concurrently")
        details = {"allocation_id": allocation_id, "device_id": rsu.id, "start": start, "end": end}
        if raffle.state == "active":
            record_exception(
                conn,
                raffle_id,
                kind="allocation",
                actor=actor,
                subject=f"{start}-{end} to {rsu.name}",
                at=now,
                details=details,
            )
        audit(
            conn,
            org_id=org_id,
            actor=actor,
            action="raffle.allocate",
            subject=raffle_id,
            at=now,
            details=details,
        )
        row = conn.execute(sa.select(a).where(a.c.id == allocation_id)).one()
        changes.emit(conn, org_id, [allocation_change(raffle_id, row)], now)
        return _views(conn, [row])[0]


def deallocate(
    engine: sa.Engine,
    org_id: str,
    actor: str,
    raffle_id: str,
    allocation_id: str,
    *,
    now: int,
) -> dict[str, Any]:
    """Return the allocation's unsold numbers; answers the allocation with ``returned``."""
    a, t = schema.rsu_allocations, schema.raffle_tickets
    with engine.begin() as conn:
        raffle = require_raffle(conn, org_id, raffle_id, lock=True)
        allocation = conn.execute(
            sa.select(a)
            .where(a.c.id == allocation_id, a.c.raffle_event_id == raffle_id)
            .with_for_update()
        ).first()
        if allocation is None:
            raise not_found(f"allocation {allocation_id[:40]!r} of this raffle")
        if not allocation.is_active:
            raise ApiError("invalid_transition", f"allocation {allocation_id} was already returned")
        if raffle.state not in DEALLOCATABLE:
            raise ApiError(
                "invalid_transition",
                f"raffle {raffle.name!r} is {raffle.state}: numbers are returned while it is "
                "configured, active or suspended",
            )
        returned = conn.execute(
            sa.update(t)
            .where(t.c.allocation_id == allocation_id, t.c.state == "allocated")
            .values(
                state="available",
                allocation_id=None,
                allocated_to_rsu_id=None,
                allocated_at=None,
                updated_at=now,
            )
        ).rowcount
        conn.execute(
            sa.update(a)
            .where(a.c.id == allocation_id)
            .values(is_active=False, deallocated_at=now, deallocated_by=actor)
        )
        details = {
            "allocation_id": allocation_id,
            "device_id": allocation.rsu_id,
            "start": allocation.start_number,
            "end": allocation.end_number,
            "returned": returned,
        }
        record_exception(
            conn,
            raffle_id,
            kind="deallocation",
            actor=actor,
            subject=f"{allocation.start_number}-{allocation.end_number}",
            at=now,
            details=details,
        )
        audit(
            conn,
            org_id=org_id,
            actor=actor,
            action="raffle.deallocate",
            subject=raffle_id,
            at=now,
            details=details,
        )
        row = conn.execute(sa.select(a).where(a.c.id == allocation_id)).one()
        changes.emit(conn, org_id, [allocation_change(raffle_id, row)], now)
        view = _views(conn, [row])[0]
    view["returned"] = returned
    return view
