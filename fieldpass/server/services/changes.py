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
"""

from __future__ import annotations

from dataclasses import dataclass

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
            }
            for index, change in enumerate(new_changes)
        ],
    )
    return first + len(new_changes) - 1
