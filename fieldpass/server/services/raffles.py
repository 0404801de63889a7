"""Raffles from creation to the close of sales: the lifecycle of a certified raffle.

One table (``ALLOWED_MOVES``) says which state may follow which; every transition goes
through :func:`transition`, which refuses anything else with ``invalid_transition``
naming the current state, writes a ``raffle_exception`` row (kind ``transition``) and
the audit log, and sends the raffle to its RSUs (a ``raffle`` change), so a device
learns at its next pull that sales closed or the raffle was suspended or cancelled.

Integrity parameters (packages, prizes, prices, max_tickets) are frozen once the raffle
is active: ``check_parameters_open`` refuses changes from then on; a change made after
configure (and before activation) is an exception row of kind ``parameter_change``.

Configure creates every ``raffle_ticket`` row in one ``INSERT … SELECT`` run by the
database (``generate_series`` on PostgreSQL, a recursive CTE on SQLite), so 1,000,000
tickets take seconds and never cross the wire.

The seed commitment (``commit_seed``) draws the draw's seed from the OS CSPRNG, stores it
sealed with the server key (:func:`seal_seed` / :func:`open_seed`, associated data = the
raffle id) and records ``sha256(seed)``: the commitment must exist before sales close.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

import msgspec
import sqlalchemy as sa

from fieldpass.server import schema
from fieldpass.server.db import reading
from fieldpass.server.errors import ApiError, not_found
from fieldpass.server.services import changes
from fieldpass.server.services.common import audit, clean_text, dumps, loads, parse_time
from fieldpass.sync import sealing
from fieldpass.sync.bounds import Int32, Int64
from fieldpass.sync.clock import to_iso
from fieldpass.sync.draw import commitment_of, new_seed

MAX_TICKETS = 1_000_000
RSU_ROLE = changes.RSU_ROLE
#: Before completion a raffle can always be cancelled (with a reason).
CANCELLABLE = (
    "created",
    "configured",
    "active",
    "sales_closed",
    "reconciling",
    "reconciled",
    "drawing_ready",
    "suspended",
)

#: Every allowed move (from, to). Resume goes back to ``suspended_from_state``.
ALLOWED_MOVES: frozenset[tuple[str, str]] = frozenset(
    {
        ("created", "configured"),
        ("configured", "active"),
        ("active", "sales_closed"),
        ("sales_closed", "reconciling"),
        ("reconciling", "reconciled"),
        ("reconciled", "drawing_ready"),
        ("drawing_ready", "completed"),
        ("active", "suspended"),
        ("suspended", "active"),
        *((state, "cancelled") for state in CANCELLABLE),
    }
)

#: Integrity parameters may change only while the raffle is in one of these states.
PARAMETERS_OPEN = ("created", "configured")


class RaffleCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    max_tickets: Int32
    sales_start: str | None = None
    sales_end: str | None = None
    draw_time: str | None = None
    claim_deadline: str | None = None
    licence: str | None = None
    jackpot_seed_cents: Int64 | None = None
    description: str | None = None


class PackageCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    tickets: Int32
    price_cents: Int64
    display_order: Int32 | None = None
    description: str | None = None


class PrizeCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    position: Int32
    fixed_cents: Int64 | None = None
    percent: str | float | Int32 | None = None
    winners: Int32 = 1
    description: str | None = None


class ReasonBody(msgspec.Struct, forbid_unknown_fields=True):
    reason: str


# -- the seed ----------------------------------------------------------------------------


def _seed_ad(raffle_id: str) -> bytes:
    return f"fieldpass:draw-seed:{raffle_id}".encode()


def seal_seed(key: bytes, raffle_id: str, seed: bytes) -> str:
    return sealing.seal(key, seed, _seed_ad(raffle_id))


def open_seed(key: bytes | None, raffle_id: str, sealed: str) -> bytes:
    """The committed seed of ``raffle_id`` (for the draw); key_missing / key_mismatch."""
    key = require_key(key)
    try:
        return sealing.unseal(key, sealed, _seed_ad(raffle_id))
    except sealing.SealError as exc:
        raise ApiError(
            "key_mismatch", f"the draw seed of raffle {raffle_id} cannot be opened: {exc}"
        ) from None


def require_key(key: bytes | None) -> bytes:
    if key is None:
        raise ApiError(
            "key_missing",
            "this server has no key to seal the draw seed: create it with `fieldpass server "
            "init` (or point --key-file / $FIELDPASS_KEY_FILE at it) and restart the server",
        )
    return key


# -- rows and views ----------------------------------------------------------------------


def require_raffle(conn: sa.Connection, org_id: str, raffle_id: str, *, lock: bool = False) -> Any:
    """The raffle row if it belongs to ``org_id`` (locked for update when asked)."""
    r = schema.raffle_events
    query = sa.select(r).where(r.c.id == raffle_id, r.c.organization_id == org_id)
    if lock:
        query = query.with_for_update()
    row = conn.execute(query).first()
    if row is None:
        raise not_found(f"raffle {raffle_id[:40]!r}")
    return row


def _licence_number(conn: sa.Connection, license_id: str | None) -> str | None:
    if license_id is None:
        return None
    return conn.execute(
        sa.select(schema.licenses.c.license_number).where(schema.licenses.c.id == license_id)
    ).scalar_one_or_none()


def _organization_name(conn: sa.Connection, org_id: str) -> str:
    return conn.execute(
        sa.select(schema.organizations.c.name).where(schema.organizations.c.id == org_id)
    ).scalar_one()


def ticket_counts(conn: sa.Connection, raffle_id: str) -> dict[str, int]:
    t = schema.raffle_tickets
    counts = dict.fromkeys(("available", "allocated", "sold", "voided", "winner", "claimed"), 0)
    for state, count in conn.execute(
        sa.select(t.c.state, sa.func.count())
        .where(t.c.raffle_event_id == raffle_id)
        .group_by(t.c.state)
    ).all():
        counts[state] = count
    return counts


def package_rows(conn: sa.Connection, raffle_id: str) -> list[Any]:
    p, link = schema.ticket_packages, schema.raffle_ticket_packages
    return conn.execute(
        sa.select(
            p.c.id,
            p.c.name,
            p.c.description,
            p.c.ticket_count,
            p.c.price_cents,
            sa.and_(p.c.is_active, link.c.is_active).label("is_active"),
            link.c.display_order,
        )
        .select_from(link.join(p, p.c.id == link.c.ticket_package_id))
        .where(link.c.raffle_event_id == raffle_id)
        .order_by(link.c.display_order, p.c.name, p.c.id)
    ).all()


def prize_rows(conn: sa.Connection, raffle_id: str) -> list[Any]:
    p = schema.prizes
    return conn.execute(
        sa.select(p).where(p.c.raffle_event_id == raffle_id).order_by(p.c.position)
    ).all()


def _percentage_text(value: Any) -> str | None:
    return None if value is None else f"{Decimal(value):.2f}"


def package_view(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "description": row.description,
        "ticket_count": row.ticket_count,
        "price_cents": row.price_cents,
        "display_order": row.display_order,
        "is_active": bool(row.is_active),
    }


def prize_view(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "description": row.description,
        "position": row.position,
        "prize_type": row.prize_type,
        "value_cents": row.value_cents,
        "percentage": _percentage_text(row.percentage),
        "winner_count": row.winner_count,
    }


def _draw_row(conn: sa.Connection, raffle_id: str) -> Any:
    d = schema.draws
    return conn.execute(sa.select(d).where(d.c.raffle_event_id == raffle_id)).first()


def raffle_view(conn: sa.Connection, row: Any, *, detail: bool = True) -> dict[str, Any]:
    draw = _draw_row(conn, row.id)
    view = {
        "id": row.id,
        "organization_id": row.organization_id,
        "organization_name": _organization_name(conn, row.organization_id),
        "venue_id": row.venue_id,
        "name": row.name,
        "description": row.description,
        "state": row.state,
        "max_tickets": row.max_tickets,
        "sales_start": to_iso(row.sales_start_time),
        "sales_end": to_iso(row.sales_end_time),
        "draw_time": to_iso(row.draw_time),
        "claim_deadline": to_iso(row.claim_deadline),
        "jackpot_seed_cents": row.jackpot_seed_cents,
        "licence_number": _licence_number(conn, row.license_id),
        "suspension_reason": row.suspension_reason,
        "suspended_from_state": row.suspended_from_state,
        "cancellation_reason": row.cancellation_reason,
        "seed_commitment": draw.seed_commitment if draw is not None else None,
        "committed_at": to_iso(draw.committed_at) if draw is not None else None,
        "created_at": to_iso(row.created_at),
        "updated_at": to_iso(row.updated_at),
        "counts": ticket_counts(conn, row.id),
    }
    if detail:
        view["packages"] = [package_view(p) for p in package_rows(conn, row.id)]
        view["prizes"] = [prize_view(p) for p in prize_rows(conn, row.id)]
    return view


def list_raffles(engine: sa.Engine, org_id: str) -> list[dict[str, Any]]:
    r = schema.raffle_events
    with reading(engine) as conn:
        rows = conn.execute(
            sa.select(r).where(r.c.organization_id == org_id).order_by(r.c.created_at, r.c.id)
        ).all()
        return [raffle_view(conn, row, detail=False) for row in rows]


def get_raffle(engine: sa.Engine, org_id: str, raffle_id: str) -> dict[str, Any]:
    with reading(engine) as conn:
        return raffle_view(conn, require_raffle(conn, org_id, raffle_id))


# -- changes for the RSUs ----------------------------------------------------------------


def raffle_change(
    conn: sa.Connection, raffle_id: str, audience: str | None = changes.AUDIENCE_ALL
) -> changes.NewChange:
    row = conn.execute(
        sa.select(schema.raffle_events).where(schema.raffle_events.c.id == raffle_id)
    ).one()
    jackpot = jackpot_estimate(conn, row)
    data = {
        "id": row.id,
        "name": row.name,
        "state": row.state,
        "organization_name": _organization_name(conn, row.organization_id),
        "licence_number": _licence_number(conn, row.license_id),
        "sales_start": row.sales_start_time,
        "sales_end": row.sales_end_time,
        "claim_deadline": row.claim_deadline,
        "jackpot_estimate_cents": jackpot,
        "max_tickets": row.max_tickets,
    }
    return changes.NewChange(raffle_id, "raffle", raffle_id, "upsert", dumps(data), audience)


#: How often ingest refreshes the raffle row RSUs pull, for the jackpot estimate on
#: receipts: at most once a minute per raffle, so a busy raffle does not fill the log.
JACKPOT_REFRESH_MS = 60_000


def jackpot_estimate(conn: sa.Connection, raffle: Any) -> int | None:
    """The jackpot seed plus the percentage prizes' share of the revenue so far (completed
    orders); the seed alone without percentage prizes; None when neither is known."""
    p, o = schema.prizes, schema.raffle_orders
    percents = [
        Decimal(str(value))
        for value in conn.execute(
            sa.select(p.c.percentage).where(
                p.c.raffle_event_id == raffle.id, p.c.prize_type == "percentage"
            )
        ).scalars()
        if value is not None
    ]
    seed = raffle.jackpot_seed_cents or 0
    if not percents:
        return seed or None
    revenue = conn.execute(
        sa.select(sa.func.coalesce(sa.func.sum(o.c.total_amount_cents), 0)).where(
            o.c.raffle_event_id == raffle.id, o.c.payment_status == "completed"
        )
    ).scalar_one()
    share = sum(int(Decimal(int(revenue)) * percent // 100) for percent in percents)
    return seed + share or None


def refresh_raffle_change(conn: sa.Connection, raffle: Any, now: int) -> None:
    """Send the raffle row again (new jackpot estimate) if the last one is over a minute old."""
    c = schema.changes
    last = conn.execute(
        sa.select(sa.func.max(c.c.created_at)).where(
            c.c.event_id == raffle.id, c.c.entity == "raffle"
        )
    ).scalar_one()
    if last is not None and now - last < JACKPOT_REFRESH_MS:
        return
    changes.emit(conn, raffle.organization_id, [raffle_change(conn, raffle.id)], now)


def package_change(
    raffle_id: str, row: Any, audience: str | None = changes.AUDIENCE_ALL
) -> changes.NewChange:
    data = {
        "id": row.id,
        "name": row.name,
        "ticket_count": row.ticket_count,
        "price_cents": row.price_cents,
        "display_order": row.display_order,
        "is_active": bool(row.is_active),
    }
    return changes.NewChange(raffle_id, "raffle_package", row.id, "upsert", dumps(data), audience)


def prize_change(
    raffle_id: str, row: Any, audience: str | None = changes.AUDIENCE_ALL
) -> changes.NewChange:
    data = {
        "id": row.id,
        "name": row.name,
        "position": row.position,
        "prize_type": row.prize_type,
        "value_cents": row.value_cents,
        "percentage": _percentage_text(row.percentage),
        "winner_count": row.winner_count,
    }
    return changes.NewChange(raffle_id, "raffle_prize", row.id, "upsert", dumps(data), audience)


def rsu_change(raffle_id: str, rsu: Any) -> changes.NewChange:
    data = {
        "id": rsu.id,
        "name": rsu.name,
        "terminal_number": rsu.terminal_number,
        "state": rsu.state,
    }
    return changes.NewChange(
        raffle_id, "rsu", rsu.id, "upsert", dumps(data), changes.device_audience(rsu.id)
    )


def raffle_slice(conn: sa.Connection, raffle_id: str, audience: str | None) -> list[Any]:
    """The raffle, its packages and its prizes as changes for ``audience``."""
    return [
        raffle_change(conn, raffle_id, audience),
        *(package_change(raffle_id, p, audience) for p in package_rows(conn, raffle_id)),
        *(prize_change(raffle_id, p, audience) for p in prize_rows(conn, raffle_id)),
    ]


# -- RSUs ---------------------------------------------------------------------------------

MAX_TERMINAL_NUMBER = 9999
TERMINAL_LOCK_KEY = 0x52535554  # "RSUT"


def next_terminal_number(conn: sa.Connection) -> int:
    """The lowest terminal number no RSU has (they are unique across the server).

    On PostgreSQL a transaction-scoped advisory lock makes two concurrent approvals take
    turns here instead of one failing on the unique constraint.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": TERMINAL_LOCK_KEY})
    used = set(conn.execute(sa.select(schema.rsus.c.terminal_number)).scalars())
    for number in range(1, MAX_TERMINAL_NUMBER + 1):
        if number not in used:
            return number
    raise ApiError("conflict", f"all {MAX_TERMINAL_NUMBER} RSU terminal numbers are in use")


def create_rsu(
    conn: sa.Connection, org_id: str, actor: str, device: Any, raffle_id: str, *, now: int
) -> Any:
    """The ``rsu`` row of an approved RSU device (id = device_identifier = device id)."""
    conn.execute(
        sa.insert(schema.rsus).values(
            id=device.id,
            organization_id=org_id,
            device_identifier=device.id,
            name=device.name[:100],
            state="enrolled",
            is_active=True,
            raffle_event_id=raffle_id,
            terminal_number=next_terminal_number(conn),
            created_at=now,
            created_by=actor,
            updated_at=now,
            updated_by=actor,
        )
    )
    return conn.execute(sa.select(schema.rsus).where(schema.rsus.c.id == device.id)).one()


# -- the exceptions log ------------------------------------------------------------------


def record_exception(
    conn: sa.Connection,
    raffle_id: str,
    *,
    kind: str,
    actor: str,
    subject: str,
    at: int,
    details: dict[str, Any] | None = None,
) -> None:
    """One row of the exceptions report (never updated or deleted)."""
    conn.execute(
        sa.insert(schema.raffle_exceptions).values(
            raffle_event_id=raffle_id,
            kind=kind,
            actor=actor,
            subject=subject[:200],
            details=dumps(details or {}),
            at=at,
        )
    )


# -- transitions -------------------------------------------------------------------------


def check_move(raffle: Any, to_state: str) -> None:
    if (raffle.state, to_state) not in ALLOWED_MOVES:
        raise ApiError(
            "invalid_transition",
            f"raffle {raffle.name!r} is {raffle.state}: it cannot become {to_state}",
        )


def transition(
    conn: sa.Connection,
    raffle: Any,
    to_state: str,
    *,
    actor: str,
    now: int,
    reason: str | None = None,
    values: dict[str, Any] | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Move ``raffle`` (a row read in this transaction, locked) to ``to_state``.

    Checks the move against ``ALLOWED_MOVES``, sets ``values`` with the state, and writes
    the exception row, the audit entry and the ``raffle`` change for its RSUs.
    """
    check_move(raffle, to_state)
    r = schema.raffle_events
    conn.execute(
        sa.update(r)
        .where(r.c.id == raffle.id)
        .values(state=to_state, updated_at=now, updated_by=actor, **(values or {}))
    )
    info = {"from": raffle.state, "to": to_state, **(details or {})}
    if reason is not None:
        info["reason"] = reason
    record_exception(
        conn, raffle.id, kind="transition", actor=actor, subject=to_state, at=now, details=info
    )
    audit(
        conn,
        org_id=raffle.organization_id,
        actor=actor,
        action=f"raffle.{to_state}",
        subject=raffle.id,
        at=now,
        details=info,
    )
    changes.emit(conn, raffle.organization_id, [raffle_change(conn, raffle.id)], now)


def check_parameters_open(raffle: Any, what: str) -> None:
    if raffle.state not in PARAMETERS_OPEN:
        raise ApiError(
            "invalid_transition",
            f"raffle {raffle.name!r} is {raffle.state}: {what} can no longer change "
            "(integrity parameters are frozen once a raffle is active)",
        )


# -- create ------------------------------------------------------------------------------


def _venue_for(conn: sa.Connection, org_id: str, org_name: str, new_id: Callable[[], str]) -> str:
    v = schema.venues
    venue_id = conn.execute(
        sa.select(v.c.id).where(v.c.organization_id == org_id).order_by(v.c.name, v.c.id).limit(1)
    ).scalar_one_or_none()
    if venue_id is None:
        venue_id = new_id()
        conn.execute(sa.insert(v).values(id=venue_id, organization_id=org_id, name=org_name[:200]))
    return venue_id


def create_raffle(
    engine: sa.Engine,
    org_id: str,
    actor: str,
    body: RaffleCreate,
    *,
    now: int,
    new_id: Callable[[], str],
) -> dict[str, Any]:
    name = clean_text(body.name, "name", max_length=255)
    if not 1 <= body.max_tickets <= MAX_TICKETS:
        raise ApiError("invalid", f"max_tickets must be 1..{MAX_TICKETS:,}, got {body.max_tickets}")
    sales_start = parse_time(body.sales_start, "sales_start")
    sales_end = parse_time(body.sales_end, "sales_end")
    draw_time = parse_time(body.draw_time, "draw_time")
    claim_deadline = parse_time(body.claim_deadline, "claim_deadline")
    if sales_start is not None and sales_end is not None and sales_end <= sales_start:
        raise ApiError("invalid", "sales_end is not after sales_start")
    if draw_time is not None and sales_end is not None and draw_time < sales_end:
        raise ApiError("invalid", "draw_time is before sales_end")
    if claim_deadline is not None and draw_time is not None and claim_deadline < draw_time:
        raise ApiError("invalid", "claim_deadline is before draw_time")
    licence = clean_text(body.licence, "licence", max_length=100) if body.licence else None
    description = (
        clean_text(body.description, "description", max_length=5000, required=False)
        if body.description
        else None
    )
    jackpot = body.jackpot_seed_cents or 0
    if jackpot < 0:
        raise ApiError("invalid", "jackpot_seed_cents must not be negative")
    raffle_id = new_id()
    with engine.begin() as conn:
        org_name = _organization_name(conn, org_id)
        venue_id = _venue_for(conn, org_id, org_name, new_id)
        license_id = None
        if licence is not None:
            license_id = new_id()
            conn.execute(
                sa.insert(schema.licenses).values(
                    id=license_id,
                    license_type="charitable_gaming",
                    license_number=licence,
                    issuing_authority="not recorded",
                    issue_date=now,
                    status="active",
                    created_at=now,
                    created_by=actor,
                    updated_at=now,
                    updated_by=actor,
                )
            )
        conn.execute(
            sa.insert(schema.raffle_events).values(
                id=raffle_id,
                organization_id=org_id,
                venue_id=venue_id,
                name=name,
                description=description,
                state="created",
                sales_start_time=sales_start,
                sales_end_time=sales_end,
                draw_time=draw_time,
                claim_deadline=claim_deadline,
                jackpot_seed_cents=jackpot,
                max_tickets=body.max_tickets,
                license_id=license_id,
                created_at=now,
                created_by=actor,
                updated_at=now,
                updated_by=actor,
            )
        )
        audit(
            conn,
            org_id=org_id,
            actor=actor,
            action="raffle.create",
            subject=raffle_id,
            at=now,
            details={"name": name, "max_tickets": body.max_tickets, "licence": licence},
        )
        changes.emit(conn, org_id, [raffle_change(conn, raffle_id)], now)
        return raffle_view(conn, require_raffle(conn, org_id, raffle_id))


# -- packages and prizes -----------------------------------------------------------------


def _parameter_change(
    conn: sa.Connection, raffle: Any, actor: str, subject: str, now: int, details: dict[str, Any]
) -> None:
    """After configure, every parameter change is an exception row (before: audit only)."""
    if raffle.state != "created":
        record_exception(
            conn,
            raffle.id,
            kind="parameter_change",
            actor=actor,
            subject=subject,
            at=now,
            details={"state": raffle.state, **details},
        )


def add_package(
    engine: sa.Engine,
    org_id: str,
    actor: str,
    raffle_id: str,
    body: PackageCreate,
    *,
    now: int,
    new_id: Callable[[], str],
) -> dict[str, Any]:
    name = clean_text(body.name, "name", max_length=255)
    if not 1 <= body.tickets <= MAX_TICKETS:
        raise ApiError("invalid", f"tickets must be 1..{MAX_TICKETS:,}, got {body.tickets}")
    if body.price_cents < 0:
        raise ApiError("invalid", "price_cents must not be negative")
    description = (
        clean_text(body.description, "description", max_length=5000, required=False)
        if body.description
        else None
    )
    package_id = new_id()
    link = schema.raffle_ticket_packages
    with engine.begin() as conn:
        raffle = require_raffle(conn, org_id, raffle_id, lock=True)
        check_parameters_open(raffle, "packages")
        if body.tickets > (raffle.max_tickets or 0):
            raise ApiError(
                "invalid",
                f"a package of {body.tickets} tickets is more than the raffle's "
                f"{raffle.max_tickets} tickets",
            )
        clash = conn.execute(
            sa.select(schema.ticket_packages.c.id)
            .select_from(
                link.join(
                    schema.ticket_packages, schema.ticket_packages.c.id == link.c.ticket_package_id
                )
            )
            .where(link.c.raffle_event_id == raffle_id, schema.ticket_packages.c.name == name)
        ).first()
        if clash is not None:
            raise ApiError("conflict", f"raffle {raffle.name!r} already has a package {name!r}")
        display_order = body.display_order
        if display_order is None:
            display_order = (
                conn.execute(
                    sa.select(sa.func.max(link.c.display_order)).where(
                        link.c.raffle_event_id == raffle_id
                    )
                ).scalar_one_or_none()
                or 0
            ) + 1
        conn.execute(
            sa.insert(schema.ticket_packages).values(
                id=package_id,
                organization_id=org_id,
                name=name,
                description=description,
                ticket_count=body.tickets,
                price_cents=body.price_cents,
                is_active=True,
                display_order=display_order,
                created_at=now,
                created_by=actor,
                updated_at=now,
                updated_by=actor,
            )
        )
        conn.execute(
            sa.insert(link).values(
                id=new_id(),
                raffle_event_id=raffle_id,
                ticket_package_id=package_id,
                is_active=True,
                display_order=display_order,
                created_at=now,
                created_by=actor,
            )
        )
        details = {"package_id": package_id, "name": name, "tickets": body.tickets}
        details["price_cents"] = body.price_cents
        _parameter_change(conn, raffle, actor, f"package {name}", now, details)
        audit(
            conn,
            org_id=org_id,
            actor=actor,
            action="raffle.package.add",
            subject=raffle_id,
            at=now,
            details=details,
        )
        row = next(p for p in package_rows(conn, raffle_id) if p.id == package_id)
        changes.emit(conn, org_id, [package_change(raffle_id, row)], now)
    return package_view(row)


def _percentage(value: str | float | int) -> Decimal:
    try:
        number = Decimal(str(value).strip().rstrip("%"))
    except InvalidOperation:
        raise ApiError("invalid", f"percent: not a number: {str(value)[:20]!r}") from None
    if not number.is_finite() or not Decimal(0) < number <= Decimal(100):
        raise ApiError("invalid", f"percent must be more than 0 and at most 100, got {value}")
    if number != number.quantize(Decimal("0.01")):
        raise ApiError("invalid", f"percent has at most 2 decimals, got {value}")
    return number.quantize(Decimal("0.01"))


def add_prize(
    engine: sa.Engine,
    org_id: str,
    actor: str,
    raffle_id: str,
    body: PrizeCreate,
    *,
    now: int,
    new_id: Callable[[], str],
) -> dict[str, Any]:
    name = clean_text(body.name, "name", max_length=255)
    if (body.fixed_cents is None) == (body.percent is None):
        raise ApiError("invalid", "give exactly one of fixed_cents and percent")
    if body.position < 1:
        raise ApiError("invalid", f"position must be 1 or more, got {body.position}")
    if body.winners < 1:
        raise ApiError("invalid", f"winners must be 1 or more, got {body.winners}")
    if body.fixed_cents is not None and body.fixed_cents < 0:
        raise ApiError("invalid", "fixed_cents must not be negative")
    percentage = _percentage(body.percent) if body.percent is not None else None
    description = (
        clean_text(body.description, "description", max_length=5000, required=False)
        if body.description
        else None
    )
    p = schema.prizes
    prize_id = new_id()
    with engine.begin() as conn:
        raffle = require_raffle(conn, org_id, raffle_id, lock=True)
        check_parameters_open(raffle, "prizes")
        taken = conn.execute(
            sa.select(p.c.name).where(
                p.c.raffle_event_id == raffle_id, p.c.position == body.position
            )
        ).scalar_one_or_none()
        if taken is not None:
            raise ApiError(
                "conflict",
                f"position {body.position} is already the prize {taken!r} of this raffle",
            )
        winners_so_far = conn.execute(
            sa.select(sa.func.coalesce(sa.func.sum(p.c.winner_count), 0)).where(
                p.c.raffle_event_id == raffle_id
            )
        ).scalar_one()
        if winners_so_far + body.winners > (raffle.max_tickets or 0):
            raise ApiError(
                "invalid",
                f"{winners_so_far + body.winners} winners in all is more than the raffle's "
                f"{raffle.max_tickets} tickets",
            )
        conn.execute(
            sa.insert(p).values(
                id=prize_id,
                raffle_event_id=raffle_id,
                name=name,
                description=description,
                prize_type="fixed" if percentage is None else "percentage",
                value_cents=body.fixed_cents,
                percentage=percentage,
                position=body.position,
                winner_count=body.winners,
                created_at=now,
                created_by=actor,
                updated_at=now,
                updated_by=actor,
            )
        )
        details = {
            "prize_id": prize_id,
            "name": name,
            "position": body.position,
            "fixed_cents": body.fixed_cents,
            "percent": _percentage_text(percentage),
            "winners": body.winners,
        }
        _parameter_change(conn, raffle, actor, f"prize {body.position} {name}", now, details)
        audit(
            conn,
            org_id=org_id,
            actor=actor,
            action="raffle.prize.add",
            subject=raffle_id,
            at=now,
            details=details,
        )
        row = conn.execute(sa.select(p).where(p.c.id == prize_id)).one()
        changes.emit(conn, org_id, [prize_change(raffle_id, row)], now)
    return prize_view(row)


def list_packages(engine: sa.Engine, org_id: str, raffle_id: str) -> list[dict[str, Any]]:
    with reading(engine) as conn:
        require_raffle(conn, org_id, raffle_id)
        return [package_view(p) for p in package_rows(conn, raffle_id)]


def list_prizes(engine: sa.Engine, org_id: str, raffle_id: str) -> list[dict[str, Any]]:
    with reading(engine) as conn:
        require_raffle(conn, org_id, raffle_id)
        return [prize_view(p) for p in prize_rows(conn, raffle_id)]


# -- configure: every ticket, generated by the database ----------------------------------

_GENERATE_PG = sa.text(
    "INSERT INTO raffle_ticket (raffle_event_id, draw_number, state, created_at, updated_at) "
    "SELECT :raffle_id, n, 'available', :now, :now FROM generate_series(1, :count) AS n"
)
_GENERATE_SQLITE = sa.text(
    "INSERT INTO raffle_ticket (raffle_event_id, draw_number, state, created_at, updated_at) "
    "WITH RECURSIVE numbers(n) AS "
    "(SELECT 1 UNION ALL SELECT n + 1 FROM numbers WHERE n < :count) "
    "SELECT :raffle_id, n, 'available', :now, :now FROM numbers"
)


def generate_tickets(conn: sa.Connection, raffle_id: str, count: int, now: int) -> int:
    """Insert draw numbers 1..count as available tickets in one statement; rows inserted."""
    statement = _GENERATE_PG if conn.dialect.name == "postgresql" else _GENERATE_SQLITE
    result = conn.execute(statement, {"raffle_id": raffle_id, "count": count, "now": now})
    return result.rowcount


def configure(
    engine: sa.Engine, org_id: str, actor: str, raffle_id: str, *, now: int
) -> dict[str, Any]:
    with engine.begin() as conn:
        raffle = require_raffle(conn, org_id, raffle_id, lock=True)
        check_move(raffle, "configured")
        count = raffle.max_tickets or 0
        existing = conn.execute(
            sa.select(sa.func.count())
            .select_from(schema.raffle_tickets)
            .where(schema.raffle_tickets.c.raffle_event_id == raffle_id)
        ).scalar_one()
        if existing:
            raise ApiError("conflict", f"raffle {raffle.name!r} already has {existing} tickets")
        inserted = generate_tickets(conn, raffle_id, count, now)
        if inserted != count:
            raise ApiError(
                "conflict", f"configure made {inserted} tickets, not {count}", status=500
            )
        transition(conn, raffle, "configured", actor=actor, now=now, details={"tickets": count})
    return {"id": raffle_id, "state": "configured", "tickets": count}


# -- activate, seed, close, suspend, resume, cancel --------------------------------------


def activate(
    engine: sa.Engine, org_id: str, actor: str, raffle_id: str, *, now: int
) -> dict[str, Any]:
    with engine.begin() as conn:
        raffle = require_raffle(conn, org_id, raffle_id, lock=True)
        if raffle.state != "configured":
            raise ApiError(
                "invalid_transition",
                f"raffle {raffle.name!r} is {raffle.state}: only a configured raffle is "
                "activated" + (" (a suspended one resumes)" if raffle.state == "suspended" else ""),
            )
        if not any(p.is_active for p in package_rows(conn, raffle_id)):
            raise ApiError("invalid", f"raffle {raffle.name!r} has no active package to sell")
        if not prize_rows(conn, raffle_id):
            raise ApiError("invalid", f"raffle {raffle.name!r} has no prize")
        org = conn.execute(
            sa.select(schema.organizations).where(schema.organizations.c.id == org_id)
        ).one()
        if not org.is_active:
            raise ApiError("invalid", f"organization {org.name!r} is not active")
        venue = conn.execute(
            sa.select(schema.venues).where(schema.venues.c.id == raffle.venue_id)
        ).one()
        if not venue.is_active:
            raise ApiError("invalid", f"venue {venue.name!r} is not active")
        transition(conn, raffle, "active", actor=actor, now=now)
        return raffle_view(conn, require_raffle(conn, org_id, raffle_id))


def commit_seed(
    engine: sa.Engine,
    org_id: str,
    actor: str,
    raffle_id: str,
    *,
    key: bytes | None,
    now: int,
    new_id: Callable[[], str],
) -> dict[str, Any]:
    """Draw the seed, keep it sealed, record its commitment (configured or active only)."""
    key = require_key(key)
    with engine.begin() as conn:
        raffle = require_raffle(conn, org_id, raffle_id, lock=True)
        if raffle.state not in ("configured", "active"):
            raise ApiError(
                "invalid_transition",
                f"raffle {raffle.name!r} is {raffle.state}: the seed is committed while it "
                "is configured or active",
            )
        draw = _draw_row(conn, raffle_id)
        if draw is not None and draw.seed_commitment is not None:
            raise ApiError(
                "conflict",
                f"raffle {raffle.name!r} already has a seed commitment ({draw.seed_commitment})",
            )
        seed = new_seed()
        commitment = commitment_of(seed)
        values = {
            "state": "pending",
            "seed_commitment": commitment,
            "sealed_seed": seal_seed(key, raffle_id, seed),
            "committed_at": now,
            "committed_by": actor,
            "updated_at": now,
            "updated_by": actor,
        }
        if draw is None:
            conn.execute(
                sa.insert(schema.draws).values(
                    id=new_id(),
                    raffle_event_id=raffle_id,
                    created_at=now,
                    created_by=actor,
                    **values,
                )
            )
        else:
            conn.execute(
                sa.update(schema.draws).where(schema.draws.c.id == draw.id).values(**values)
            )
        info = {"commitment": commitment}
        record_exception(
            conn,
            raffle_id,
            kind="seed_commitment",
            actor=actor,
            subject=commitment,
            at=now,
            details=info,
        )
        audit(
            conn,
            org_id=org_id,
            actor=actor,
            action="raffle.commit_seed",
            subject=raffle_id,
            at=now,
            details=info,
        )
    return {"id": raffle_id, "commitment": commitment, "committed_at": to_iso(now)}


def close_sales(
    engine: sa.Engine, org_id: str, actor: str, raffle_id: str, *, now: int
) -> dict[str, Any]:
    with engine.begin() as conn:
        raffle = require_raffle(conn, org_id, raffle_id, lock=True)
        check_move(raffle, "sales_closed")
        draw = _draw_row(conn, raffle_id)
        if draw is None or draw.seed_commitment is None:
            raise ApiError(
                "invalid_transition",
                f"raffle {raffle.name!r} has no seed commitment: run commit-seed before "
                "closing sales",
            )
        transition(conn, raffle, "sales_closed", actor=actor, now=now)
        return raffle_view(conn, require_raffle(conn, org_id, raffle_id))


def suspend(
    engine: sa.Engine, org_id: str, actor: str, raffle_id: str, reason: str, *, now: int
) -> dict[str, Any]:
    reason = clean_text(reason, "reason", max_length=1000)
    with engine.begin() as conn:
        raffle = require_raffle(conn, org_id, raffle_id, lock=True)
        transition(
            conn,
            raffle,
            "suspended",
            actor=actor,
            now=now,
            reason=reason,
            values={"suspension_reason": reason, "suspended_from_state": raffle.state},
        )
        return raffle_view(conn, require_raffle(conn, org_id, raffle_id))


def resume(
    engine: sa.Engine, org_id: str, actor: str, raffle_id: str, *, now: int
) -> dict[str, Any]:
    with engine.begin() as conn:
        raffle = require_raffle(conn, org_id, raffle_id, lock=True)
        if raffle.state != "suspended":
            raise ApiError(
                "invalid_transition",
                f"raffle {raffle.name!r} is {raffle.state}: only a suspended raffle resumes",
            )
        back_to = raffle.suspended_from_state or "active"
        transition(
            conn,
            raffle,
            back_to,
            actor=actor,
            now=now,
            values={"suspension_reason": None, "suspended_from_state": None},
            details={"suspension_reason": raffle.suspension_reason},
        )
        return raffle_view(conn, require_raffle(conn, org_id, raffle_id))


def cancel(
    engine: sa.Engine, org_id: str, actor: str, raffle_id: str, reason: str, *, now: int
) -> dict[str, Any]:
    reason = clean_text(reason, "reason", max_length=1000)
    with engine.begin() as conn:
        raffle = require_raffle(conn, org_id, raffle_id, lock=True)
        transition(
            conn,
            raffle,
            "cancelled",
            actor=actor,
            now=now,
            reason=reason,
            values={"cancellation_reason": reason},
        )
        return raffle_view(conn, require_raffle(conn, org_id, raffle_id))


def list_exceptions(engine: sa.Engine, org_id: str, raffle_id: str) -> list[dict[str, Any]]:
    x = schema.raffle_exceptions
    with reading(engine) as conn:
        require_raffle(conn, org_id, raffle_id)
        rows = conn.execute(
            sa.select(x).where(x.c.raffle_event_id == raffle_id).order_by(x.c.at, x.c.id)
        ).all()
    return [
        {
            "id": row.id,
            "kind": row.kind,
            "actor": row.actor,
            "subject": row.subject,
            "details": loads(row.details),
            "at": to_iso(row.at),
        }
        for row in rows
    ]
