"""Conflict records: raised once per dedup key, listed per organization."""

from __future__ import annotations

from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from fieldpass.server import schema
from fieldpass.server.db import is_postgres, reading
from fieldpass.server.errors import ApiError, not_found
from fieldpass.server.services.common import audit, clean_text, loads
from fieldpass.sync.bounds import RowId
from fieldpass.sync.clock import to_iso


def record(conn: sa.Connection, rows: list[dict[str, Any]]) -> int:
    """Insert conflicts whose dedup_key is new; returns how many were new."""
    if not rows:
        return 0
    c = schema.conflicts
    keys = [row["dedup_key"] for row in rows]
    known = set(conn.execute(sa.select(c.c.dedup_key).where(c.c.dedup_key.in_(keys))).scalars())
    fresh = {row["dedup_key"]: row for row in rows if row["dedup_key"] not in known}
    if not fresh:
        return 0
    dialect_insert = postgresql.insert if is_postgres(conn) else sqlite.insert
    conn.execute(
        dialect_insert(c).on_conflict_do_nothing(index_elements=["dedup_key"]),
        list(fresh.values()),
    )
    return len(fresh)


def conflict_view(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "kind": row.kind,
        "event_id": row.event_id,
        "subject": row.subject,
        "devices": loads(row.devices),
        "details": loads(row.details),
        "created_at": to_iso(row.created_at),
        "resolved_at": to_iso(row.resolved_at),
        "resolved_by": row.resolved_by,
        "resolution": row.resolution,
    }


def list_conflicts(
    engine: sa.Engine, org_id: str, event_id: str | None = None
) -> list[dict[str, Any]]:
    c = schema.conflicts
    query = sa.select(c).where(c.c.organization_id == org_id)
    if event_id:
        query = query.where(c.c.event_id == event_id)
    with reading(engine) as conn:
        rows = conn.execute(query.order_by(c.c.id)).all()
    return [conflict_view(row) for row in rows]


class ResolveRequest(msgspec.Struct, forbid_unknown_fields=True):
    resolution: str
    #: settle a pin_redeemed_twice conflict by refunding this petrol sale (its tickets are
    #: revoked as REFUNDED): ``petrol_events.resolve_with_refund``
    refund_sale_id: RowId | None = None


def resolve(
    engine: sa.Engine,
    org_id: str,
    actor: str,
    conflict_id: int,
    body: ResolveRequest,
    *,
    now: int,
) -> dict[str, Any]:
    """Record how an admin settled a conflict (e.g. "refunded the second buyer"); once."""
    resolution = clean_text(body.resolution, "resolution", max_length=500)
    with engine.begin() as conn:
        return resolve_in(conn, org_id, actor, conflict_id, resolution, now=now)


def resolve_in(
    conn: sa.Connection, org_id: str, actor: str, conflict_id: int, resolution: str, *, now: int
) -> dict[str, Any]:
    """``resolve`` in the caller's transaction (a refund settles its conflict with it)."""
    c = schema.conflicts
    row = conn.execute(
        sa.select(c).where(c.c.id == conflict_id, c.c.organization_id == org_id)
    ).first()
    if row is None:
        raise not_found(f"conflict {conflict_id}")
    if row.resolved_at is not None:
        raise ApiError(
            "conflict",
            f"conflict {conflict_id} was already resolved at {to_iso(row.resolved_at)}",
        )
    conn.execute(
        sa.update(c)
        .where(c.c.id == conflict_id)
        .values(resolved_at=now, resolved_by=actor, resolution=resolution)
    )
    audit(
        conn,
        org_id=org_id,
        actor=actor,
        action="conflict.resolve",
        subject=str(conflict_id),
        at=now,
        details={"kind": row.kind, "resolution": resolution},
    )
    row = conn.execute(sa.select(c).where(c.c.id == conflict_id)).one()
    return conflict_view(row)
