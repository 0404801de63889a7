"""A device's own events as the server holds them, for ``fieldpass device recover``.

A device whose store was lost or damaged rebuilds its outbox from these: they are the
events it signed itself, so it checks every hash, link and signature with its own key
and needs to trust the server for nothing but completeness.
"""

from __future__ import annotations

from typing import Any

import msgspec
import sqlalchemy as sa

from fieldpass.server import schema
from fieldpass.server.db import get_meta, reading
from fieldpass.sync.events import Event
from fieldpass.sync.messages import OwnEventsResponse

MAX_OWN_EVENTS = 2_000
_payload_decoder = msgspec.json.Decoder(dict[str, Any])


def own_events(engine: sa.Engine, device: Any, after: int, limit: int) -> OwnEventsResponse:
    """The caller's ingested events with seq > ``after``, oldest first, at most ``limit``."""
    limit = max(1, min(limit, MAX_OWN_EVENTS))
    ie = schema.ingested_events
    with reading(engine) as conn:
        epoch = get_meta(conn, "epoch") or ""
        accepted = conn.execute(
            sa.select(schema.devices.c.accepted_seq).where(schema.devices.c.id == device.id)
        ).scalar_one()
        rows = conn.execute(
            sa.select(
                ie.c.seq,
                ie.c.kind,
                ie.c.device_time,
                ie.c.payload,
                ie.c.prev_hash,
                ie.c.hash,
                ie.c.signature,
            )
            .where(ie.c.device_id == device.id, ie.c.seq > after)
            .order_by(ie.c.seq)
            .limit(limit + 1)
        ).all()
    events = [
        Event(
            device_id=device.id,
            seq=seq,
            kind=kind,
            device_time=device_time,
            payload=_payload_decoder.decode(payload),
            prev_hash=prev_hash,
            hash=digest,
            signature=signature,
        )
        for seq, kind, device_time, payload, prev_hash, digest, signature in rows[:limit]
    ]
    return OwnEventsResponse(
        epoch=epoch, accepted_seq=accepted, events=events, more=len(rows) > limit
    )
