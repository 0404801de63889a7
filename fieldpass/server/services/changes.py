"""The change log every device pulls from, and how change seqs are allocated.

Change seqs come from the single-row ``change_counter`` table, bumped with
``UPDATE change_counter SET value = value + n RETURNING value`` inside the writer's own
transaction. The UPDATE takes the row lock and holds it until that transaction
commits, so a second writer blocks on the counter until the first has committed: change
seqs therefore become visible in seq order, and a reader that has seen seq N can
never later find an uncommitted seq < N appear (a plain database SEQUENCE would allow
exactly that on PostgreSQL and make pulls skip changes). On SQLite writers are
serialised by the database lock anyway. Writers allocate seqs as late as possible in
their transaction to keep the lock short.

Every change has an *audience*: who may pull it. ``None`` = every device of the event
(the event itself), ``AUDIENCE_GATE`` = the gate slice (gates, tickets, ticket
tombstones, admissions; also what any role other than petrol pulls, as before),
``device_audience(id)`` = one device only (a petrol kiosk's seat blocks and seats, and
the PINs whose holders are sealed for it). A petrol device never sees the gate slice and
a gate never sees a petrol kiosk's data, so no PIN holder data can reach a gate.
A raffle's changes carry ``event_id`` = the raffle id; an RSU pulls its raffle's with
audience ``None`` (every RSU of the raffle) or its own ``device_audience``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from fieldpass.server import schema
from fieldpass.server.services.common import insert_rows


@dataclass(frozen=True)
class NewChange:
    event_id: str
    entity: str
    key: str
    op: str  # upsert | tombstone
    data: str  # JSON text
    audience: str | None = "gate"  # AUDIENCE_GATE unless said otherwise


AUDIENCE_ALL: str | None = None
AUDIENCE_GATE = "gate"
PETROL_ROLE = "petrol"
RSU_ROLE = "rsu"


def device_audience(device_id: str) -> str:
    return f"device:{device_id}"


def audience_filter(device: Any) -> sa.ColumnElement[bool]:
    """The pull's WHERE clause on ``changes.audience`` for this device's role."""
    audience = schema.changes.c.audience
    if getattr(device, "role", None) in (PETROL_ROLE, RSU_ROLE):
        mine = audience == device_audience(device.id)
    else:
        mine = audience == AUDIENCE_GATE
    return sa.or_(audience.is_(None), mine)


def allocate_seqs(conn: sa.Connection, count: int) -> int:
    """Reserve ``count`` consecutive change seqs; returns the first. Holds the counter lock."""
    counter = schema.change_counter
    last = conn.execute(
        sa.update(counter)
        .where(counter.c.id == 1)
        .values(value=counter.c.value + count)
        .returning(counter.c.value)
    ).scalar_one()
    return last - count + 1


def emit(conn: sa.Connection, org_id: str, new_changes: list[NewChange], now: int) -> int:
    """Append changes in the caller's transaction; returns the last seq (0 if none)."""
    if not new_changes:
        return 0
    first = allocate_seqs(conn, len(new_changes))
    insert_rows(
        conn,
        schema.changes,
        [
            {
                "seq": first + index,
                "organization_id": org_id,
                "event_id": change.event_id,
                "entity": change.entity,
                "entity_key": change.key,
                "op": change.op,
                "data": change.data,
                "created_at": now,
                "audience": change.audience,
            }
            for index, change in enumerate(new_changes)
        ],
    )
    return first + len(new_changes) - 1
