"""Pull: the changes of a device's slice after its cursor, in seq order, in pages.

Change data is stored as JSON text and spliced into the answer as ``msgspec.Raw``, so a
page of 5,000 tickets is encoded without parsing any of them.
"""

from __future__ import annotations

from typing import Any

import msgspec
import sqlalchemy as sa

from fieldpass.server import schema
from fieldpass.server.db import get_meta, reading
from fieldpass.server.errors import ApiError
from fieldpass.server.services import pins
from fieldpass.server.services.changes import PETROL_ROLE, RSU_ROLE, audience_filter
from fieldpass.sync.messages import MAX_PULL_LIMIT, make_cursor, parse_cursor


class RawChange(msgspec.Struct):
    """``fieldpass.sync.messages.Change`` with its data kept as the stored JSON bytes."""

    seq: int
    entity: str
    key: str
    op: str
    data: msgspec.Raw


class RawPullResponse(msgspec.Struct):
    """Same wire shape as ``fieldpass.sync.messages.PullResponse``."""

    epoch: str
    cursor: str
    changes: list[RawChange]
    more: bool
    server_time: int


_encoder = msgspec.json.Encoder()


def pull(engine: sa.Engine, device: Any, cursor: str | None, limit: int, *, now: int) -> bytes:
    """Encoded PullResponse for ``device`` (scope: its event and role) after ``cursor``."""
    try:
        cursor_epoch, after = parse_cursor(cursor)
    except ValueError as exc:
        raise ApiError("invalid", "cursor: malformed cursor") from exc
    limit = max(1, min(limit, MAX_PULL_LIMIT))
    if getattr(device, "role", None) == PETROL_ROLE and device.organization_id:
        # Expired PINs become tombstones (changes) before the kiosk reads its slice.
        pins.sweep_expired(engine, device.organization_id, now)
    c = schema.changes
    # An RSU's slice is its raffle's changes (changes.event_id = the raffle id).
    scope = device.raffle_event_id if getattr(device, "role", None) == RSU_ROLE else device.event_id
    with reading(engine) as conn:
        epoch = get_meta(conn, "epoch") or ""
        if cursor_epoch != epoch:
            after = 0  # no cursor yet, or a cursor from before a restore: start over
        rows = conn.execute(
            sa.select(c.c.seq, c.c.entity, c.c.entity_key, c.c.op, c.c.data)
            .where(c.c.event_id == scope, c.c.seq > after, audience_filter(device))
            .order_by(c.c.seq)
            .limit(limit + 1)
        ).all()
    more = len(rows) > limit
    rows = rows[:limit]
    page = [
        RawChange(seq, entity, key, op, msgspec.Raw(data.encode()))
        for seq, entity, key, op, data in rows
    ]
    last = page[-1].seq if page else after
    with engine.begin() as conn:
        conn.execute(
            sa.update(schema.devices)
            .where(schema.devices.c.id == device.id)
            .values(last_pull_at=now, last_seen_at=now)
        )
    return _encoder.encode(
        RawPullResponse(
            epoch=epoch,
            cursor=make_cursor(epoch, last),
            changes=page,
            more=more,
            server_time=now,
        )
    )
