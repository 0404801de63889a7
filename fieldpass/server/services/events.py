"""Events and gates of an organization, and the changes devices pull for them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec
import sqlalchemy as sa

from fieldpass.server import keys, schema
from fieldpass.server.db import reading
from fieldpass.server.errors import ApiError, not_found
from fieldpass.server.services import changes, prices
from fieldpass.server.services.common import audit, clean_text, dumps, loads, parse_time
from fieldpass.sync import signing
from fieldpass.sync.clock import to_iso


class EventCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    starts_at: str
    ends_at: str | None = None
    venue: str | None = None
    valid_from: str | None = None
    valid_until: str | None = None
    #: VAT included in ticket prices, e.g. "25.00" (default: the Croatian PDV rate, 25 %);
    #: configurable per event, printed on petrol tickets.
    vat_percent: str | None = None
    #: a venue layout CSV (sector,rows,seats[,price]) creating every sector and seat with
    #: the event (``fieldpass.server.services.layouts``)
    layout: str | None = None


class GateCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    sectors: list[str] | None = None


def _event_query() -> sa.Select:
    e = schema.events
    ticket_count = (
        sa.select(sa.func.count())
        .select_from(schema.tickets)
        .where(schema.tickets.c.event_id == e.c.id)
        .scalar_subquery()
    )
    return sa.select(
        e, schema.venues.c.name.label("venue"), ticket_count.label("ticket_count")
    ).select_from(e.outerjoin(schema.venues, schema.venues.c.id == e.c.venue_id))


def event_view(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "organization_id": row.organization_id,
        "name": row.name,
        "venue": row.venue,
        "starts_at": to_iso(row.starts_at),
        "ends_at": to_iso(row.ends_at),
        "valid_from": to_iso(row.valid_from),
        "valid_until": to_iso(row.valid_until),
        "status": row.status,
        "ticket_count": row.ticket_count,
        "vat_percent": prices.format_vat(row.vat_basis_points),
    }


def event_change_data(row: Any, venue: str | None) -> str:
    return dumps(
        {
            "id": row["id"],
            "organization_id": row["organization_id"],
            "name": row["name"],
            "venue": venue,
            "starts_at": row["starts_at"],
            "ends_at": row["ends_at"],
            "valid_from": row["valid_from"],
            "valid_until": row["valid_until"],
            "ticket_public_key": row["ticket_public_key"],
            "status": row["status"],
            "vat_percent": prices.format_vat(row["vat_basis_points"]),
        }
    )


def gate_view(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "event_id": row.event_id,
        "name": row.name,
        "sectors": loads(row.sectors),
    }


def require_event(conn: sa.Connection, org_id: str, event_id: str) -> Any:
    """The event row if it belongs to ``org_id``; another org's event is simply not found."""
    row = conn.execute(
        sa.select(schema.events).where(
            schema.events.c.id == event_id, schema.events.c.organization_id == org_id
        )
    ).first()
    if row is None:
        raise not_found(f"event {event_id[:40]!r}")
    return row


def list_events(engine: sa.Engine, org_id: str) -> list[dict[str, Any]]:
    with reading(engine) as conn:
        rows = conn.execute(
            _event_query()
            .where(schema.events.c.organization_id == org_id)
            .order_by(schema.events.c.starts_at, schema.events.c.id)
        ).all()
    return [event_view(row) for row in rows]


def get_event(engine: sa.Engine, org_id: str, event_id: str) -> dict[str, Any]:
    with reading(engine) as conn:
        row = conn.execute(
            _event_query().where(
                schema.events.c.id == event_id, schema.events.c.organization_id == org_id
            )
        ).first()
    if row is None:
        raise not_found(f"event {event_id[:40]!r}")
    return event_view(row)


def create_event(
    engine: sa.Engine,
    org_id: str,
    actor: str,
    body: EventCreate,
    *,
    now: int,
    new_id,
    key: bytes,
    also: Callable[[sa.Connection, str], Any] | None = None,
) -> dict[str, Any]:
    """Create the event; ``also(conn, event_id)`` runs in the same transaction (the venue
    layout), so a refused layout leaves no event behind."""
    name = clean_text(body.name, "name", max_length=200)
    venue = clean_text(body.venue, "venue", max_length=200) if body.venue else None
    starts_at = parse_time(body.starts_at, "starts_at")
    ends_at = parse_time(body.ends_at, "ends_at")
    valid_from = parse_time(body.valid_from, "valid_from")
    valid_until = parse_time(body.valid_until, "valid_until")
    if ends_at is not None and starts_at is not None and ends_at < starts_at:
        raise ApiError("invalid", "ends_at is before starts_at")
    if valid_from is not None and valid_until is not None and valid_until < valid_from:
        raise ApiError("invalid", "valid_until is before valid_from")
    vat = (
        prices.DEFAULT_VAT_BASIS_POINTS
        if body.vat_percent is None
        else prices.parse_vat(body.vat_percent)
    )
    ticket_key = signing.generate_private_key()
    event_id = new_id()
    with engine.begin() as conn:
        venue_id = None
        if venue:
            venue_id = conn.execute(
                sa.select(schema.venues.c.id).where(
                    schema.venues.c.organization_id == org_id, schema.venues.c.name == venue
                )
            ).scalar_one_or_none()
            if venue_id is None:
                venue_id = new_id()
                conn.execute(
                    sa.insert(schema.venues).values(id=venue_id, organization_id=org_id, name=venue)
                )
        row = {
            "id": event_id,
            "organization_id": org_id,
            "venue_id": venue_id,
            "name": name,
            "starts_at": starts_at,
            "ends_at": ends_at,
            "valid_from": valid_from,
            "valid_until": valid_until,
            "status": "active",
            # sealed with the key file's key: the database alone cannot mint tickets
            "ticket_private_key": keys.seal_ticket_key(key, event_id, ticket_key),
            "ticket_public_key": signing.public_key_text(ticket_key),
            "created_at": now,
            "vat_basis_points": vat,
        }
        conn.execute(sa.insert(schema.events).values(**row))
        audit(conn, org_id=org_id, actor=actor, action="event.create", subject=event_id, at=now)
        changes.emit(
            conn,
            org_id,
            [
                changes.NewChange(
                    event_id,
                    "event",
                    event_id,
                    "upsert",
                    event_change_data(row, venue),
                    audience=changes.AUDIENCE_ALL,
                )
            ],
            now,
        )
        if also is not None:
            also(conn, event_id)
    return get_event(engine, org_id, event_id)


def create_gate(
    engine: sa.Engine,
    org_id: str,
    actor: str,
    event_id: str,
    body: GateCreate,
    *,
    now: int,
    new_id,
) -> dict[str, Any]:
    name = clean_text(body.name, "name", max_length=100)
    sectors = None
    if body.sectors is not None:
        sectors = sorted({clean_text(s, "sector", max_length=50) for s in body.sectors})
        if not sectors:
            raise ApiError("invalid", "sectors: give at least one sector, or omit for all")
    gate_id = new_id()
    data = {"id": gate_id, "event_id": event_id, "name": name, "sectors": sectors}
    with engine.begin() as conn:
        require_event(conn, org_id, event_id)
        conn.execute(
            sa.insert(schema.gates).values(
                id=gate_id,
                event_id=event_id,
                name=name,
                sectors=None if sectors is None else dumps(sectors),
                created_at=now,
            )
        )
        audit(conn, org_id=org_id, actor=actor, action="gate.create", subject=gate_id, at=now)
        changes.emit(
            conn, org_id, [changes.NewChange(event_id, "gate", gate_id, "upsert", dumps(data))], now
        )
    return data


def list_gates(engine: sa.Engine, org_id: str, event_id: str) -> list[dict[str, Any]]:
    with reading(engine) as conn:
        require_event(conn, org_id, event_id)
        rows = conn.execute(
            sa.select(schema.gates)
            .where(schema.gates.c.event_id == event_id)
            .order_by(schema.gates.c.created_at, schema.gates.c.id)
        ).all()
    return [gate_view(row) for row in rows]
