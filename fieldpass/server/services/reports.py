"""Attendance report of an event: totals, per gate, per sector, 15-minute buckets."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import sqlalchemy as sa

from fieldpass.server import schema
from fieldpass.server.db import reading
from fieldpass.server.services.events import require_event
from fieldpass.sync.clock import to_iso

BUCKET_MS = 15 * 60 * 1000


def attendance(engine: sa.Engine, org_id: str, event_id: str) -> dict[str, Any]:
    t, a, s, g = schema.tickets, schema.admissions, schema.scans, schema.gates
    with reading(engine) as conn:
        require_event(conn, org_id, event_id)
        sector_rows = conn.execute(
            sa.select(
                t.c.sector,
                sa.func.count().label("tickets"),
                sa.func.count(t.c.first_entry_at).label("attended"),
            )
            .where(t.c.event_id == event_id)
            .group_by(t.c.sector)
            .order_by(t.c.sector)
        ).all()
        gate_names = dict(
            conn.execute(sa.select(g.c.id, g.c.name).where(g.c.event_id == event_id)).all()
        )
        gate_rows = conn.execute(
            sa.select(
                s.c.gate_id,
                sa.func.sum(sa.case((s.c.moved == "in", 1), else_=0)).label("entries"),
                sa.func.sum(sa.case((s.c.moved == "out", 1), else_=0)).label("exits"),
                sa.func.sum(
                    sa.case(
                        (
                            sa.and_(
                                s.c.moved.is_(None),
                                s.c.mode != "check",
                                s.c.result.not_in(["VALID", "VALID_EXIT"]),
                            ),
                            1,
                        ),
                        else_=0,
                    )
                ).label("rejected"),
            )
            .where(s.c.event_id == event_id)
            .group_by(s.c.gate_id)
        ).all()
        movements = conn.execute(
            sa.select(a.c.barcode, a.c.direction, a.c.at, a.c.device_id, a.c.seq)
            .where(a.c.event_id == event_id)
            .order_by(a.c.at, a.c.device_id, a.c.seq)
        ).all()
    last_direction: dict[str, str] = {}
    buckets: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for barcode, direction, at, _device, _seq in movements:
        last_direction[barcode] = direction
        buckets[at // BUCKET_MS * BUCKET_MS][0 if direction == "in" else 1] += 1
    per_gate = sorted(
        (
            {
                "gate_id": row.gate_id,
                "gate": gate_names.get(row.gate_id),
                "entries": int(row.entries or 0),
                "exits": int(row.exits or 0),
                "rejected": int(row.rejected or 0),
            }
            for row in gate_rows
        ),
        key=lambda item: (item["gate"] or "", item["gate_id"] or ""),
    )
    return {
        "event_id": event_id,
        "tickets": sum(row.tickets for row in sector_rows),
        "attended": sum(row.attended for row in sector_rows),
        "inside_now": sum(1 for d in last_direction.values() if d == "in"),
        "per_gate": per_gate,
        "per_sector": [
            {"sector": row.sector, "tickets": row.tickets, "attended": row.attended}
            for row in sector_rows
        ],
        "over_time": [
            {
                "from": to_iso(start),
                "to": to_iso(start + BUCKET_MS),
                "entries": counts[0],
                "exits": counts[1],
            }
            for start, counts in sorted(buckets.items())
        ],
    }
