"""The reports of the raffle standard (GLI-31), each as ``{kind, raffle_id, columns, rows}``
with rows as lists in column order (ready for a table or CSV). Times are ISO 8601 UTC.

- ``drawing``: one row per winner; ``summary`` holds the raffle, commitment, seed, beacon,
  sold count, revenue and checksum.
- ``exceptions``: every ``raffle_exception`` row (parameter changes, transitions,
  allocations, overrides, voids, claims), oldest first.
- ``bearer``: every sold ticket with its order's validation number (whoever holds the
  receipt holds the ticket).
- ``sales-by-rsu``: per RSU: orders, tickets sold, voided, reprints, cash, card.
- ``voided``: each voided draw number with its order, when, by whom, why.
- ``rsu-events``: the ingested events of the raffle's RSUs.
- ``rsu-corruption``: RSUs reconciled by override: reason, confirming admin, cash
  collected, what was missing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from fieldpass.server import schema
from fieldpass.server.db import reading
from fieldpass.server.errors import ApiError
from fieldpass.server.services import raffle_draw, raffle_reconcile, raffles
from fieldpass.server.services.common import dumps, loads
from fieldpass.sync.clock import to_iso

KINDS = (
    "drawing",
    "exceptions",
    "bearer",
    "sales-by-rsu",
    "voided",
    "rsu-events",
    "rsu-corruption",
)


def _report(kind: str, raffle: Any, columns: list[str], rows: list[list[Any]], **extra: Any):
    return {
        "kind": kind,
        "raffle_id": raffle.id,
        "raffle_name": raffle.name,
        "columns": columns,
        "rows": rows,
        **extra,
    }


def _rsu_names(conn: sa.Connection, raffle_id: str) -> dict[str, str]:
    r = schema.rsus
    ids = raffle_reconcile._rsu_ids(conn, raffle_id)
    return dict(conn.execute(sa.select(r.c.id, r.c.name).where(r.c.id.in_(ids))).all())


def _drawing(conn: sa.Connection, raffle: Any) -> dict[str, Any]:
    columns = [
        "pick",
        "position",
        "prize",
        "prize_type",
        "value_cents",
        "draw_number",
        "validation_number",
        "claim_status",
        "claimed_at",
        "claimed_by",
    ]
    try:
        view = raffle_draw.draw_view(conn, raffle.id)
    except ApiError:
        draw = conn.execute(
            sa.select(schema.draws).where(schema.draws.c.raffle_event_id == raffle.id)
        ).first()
        summary = {
            "state": raffle.state,
            "drawn": False,
            "commitment": draw.seed_commitment if draw is not None else None,
            "sold_count": raffles.ticket_counts(conn, raffle.id)["sold"],
            "revenue_cents": raffle_draw.revenue_cents(conn, raffle.id),
        }
        return _report("drawing", raffle, columns, [], summary=summary)
    rows = [
        [
            w["pick"] + 1,
            w["position"],
            w["prize_name"],
            w["prize_type"],
            w["prize_value_cents"],
            w["draw_number"],
            w["validation_number"],
            w["claim_status"],
            w["claimed_at"],
            w["claimed_by"],
        ]
        for w in view["winners"]
    ]
    summary = {
        "state": raffle.state,
        "drawn": True,
        "drawn_at": view["drawn_at"],
        "conducted_by": view["conducted_by"],
        "commitment": view["commitment"],
        "seed": view["seed"],
        "beacon": view["beacon"],
        "sold_count": view["sold_count"],
        "sold_sha256": view["sold_sha256"],
        "revenue_cents": view["revenue_cents"],
        "checksum": view["checksum"],
    }
    return _report("drawing", raffle, columns, rows, summary=summary)


def _exceptions(conn: sa.Connection, raffle: Any) -> dict[str, Any]:
    x = schema.raffle_exceptions
    rows = [
        [row.id, to_iso(row.at), row.kind, row.actor, row.subject, row.details]
        for row in conn.execute(
            sa.select(x).where(x.c.raffle_event_id == raffle.id).order_by(x.c.at, x.c.id)
        )
    ]
    return _report("exceptions", raffle, ["id", "at", "kind", "actor", "subject", "details"], rows)


def _bearer(conn: sa.Connection, raffle: Any) -> dict[str, Any]:
    t, o = schema.raffle_tickets, schema.raffle_orders
    names = _rsu_names(conn, raffle.id)
    rows = [
        [
            row.draw_number,
            row.state,
            row.validation_number,
            to_iso(row.sold_at),
            names.get(row.sold_by, row.sold_by),
            row.order_id,
        ]
        for row in conn.execute(
            sa.select(
                t.c.draw_number,
                t.c.state,
                t.c.sold_at,
                t.c.sold_by,
                o.c.validation_number,
                o.c.id.label("order_id"),
            )
            .select_from(t.join(o, o.c.id == t.c.order_id))
            .where(
                t.c.raffle_event_id == raffle.id,
                t.c.state.in_(raffle_reconcile.SOLD_STATES),
            )
            .order_by(t.c.draw_number)
        )
    ]
    columns = ["draw_number", "state", "validation_number", "sold_at", "rsu", "order_id"]
    return _report("bearer", raffle, columns, rows)


def _sales_by_rsu(conn: sa.Connection, raffle: Any) -> dict[str, Any]:
    o = schema.raffle_orders
    reprints: dict[str, int] = defaultdict(int)
    for rsu_id, count in conn.execute(
        sa.select(o.c.rsu_id, sa.func.coalesce(sa.func.sum(o.c.reprint_count), 0))
        .where(o.c.raffle_event_id == raffle.id)
        .group_by(o.c.rsu_id)
    ):
        reprints[rsu_id] = int(count)
    rows = [
        [
            view["name"],
            view["terminal_number"],
            view["rsu_id"],
            view["orders"],
            view["voided_orders"],
            view["sold"],
            view["voided"],
            reprints.get(view["rsu_id"], 0),
            view["cash_cents"],
            view["card_cents"],
            view["cash_cents"] + view["card_cents"],
        ]
        for view in raffle_reconcile.rsu_views(conn, raffle.id)
    ]
    columns = [
        "rsu",
        "terminal",
        "rsu_id",
        "orders",
        "voided_orders",
        "tickets_sold",
        "tickets_voided",
        "reprints",
        "cash_cents",
        "card_cents",
        "total_cents",
    ]
    return _report("sales-by-rsu", raffle, columns, rows)


def _voided(conn: sa.Connection, raffle: Any) -> dict[str, Any]:
    t, o = schema.raffle_tickets, schema.raffle_orders
    names = _rsu_names(conn, raffle.id)
    rows = [
        [
            row.draw_number,
            row.validation_number,
            row.order_id,
            to_iso(row.voided_at),
            names.get(row.voided_by, row.voided_by),
            row.voided_reason,
        ]
        for row in conn.execute(
            sa.select(
                t.c.draw_number,
                t.c.voided_at,
                t.c.voided_by,
                t.c.voided_reason,
                o.c.validation_number,
                o.c.id.label("order_id"),
            )
            .select_from(t.outerjoin(o, o.c.id == t.c.order_id))
            .where(t.c.raffle_event_id == raffle.id, t.c.state == "voided")
            .order_by(t.c.draw_number)
        )
    ]
    columns = ["draw_number", "validation_number", "order_id", "voided_at", "voided_by", "reason"]
    return _report("voided", raffle, columns, rows)


def _rsu_events(conn: sa.Connection, raffle: Any) -> dict[str, Any]:
    ie = schema.ingested_events
    names = _rsu_names(conn, raffle.id)
    rows = []
    if names:
        rows = [
            [
                names.get(row.device_id, row.device_id),
                row.device_id,
                row.seq,
                row.kind,
                to_iso(row.device_time),
                to_iso(row.received_at),
                to_iso(row.corrected_time),
            ]
            for row in conn.execute(
                sa.select(
                    ie.c.device_id,
                    ie.c.seq,
                    ie.c.kind,
                    ie.c.device_time,
                    ie.c.received_at,
                    ie.c.corrected_time,
                )
                .where(ie.c.device_id.in_(list(names)))
                .order_by(ie.c.device_id, ie.c.seq)
            )
        ]
    columns = ["rsu", "device_id", "seq", "kind", "device_time", "received_at", "corrected_time"]
    return _report("rsu-events", raffle, columns, rows)


def _user_email(conn: sa.Connection, user_id: str) -> str:
    u = schema.users
    email = conn.execute(sa.select(u.c.email).where(u.c.id == user_id)).scalar_one_or_none()
    return email or user_id


def _corruption(conn: sa.Connection, raffle: Any) -> dict[str, Any]:
    x = schema.raffle_exceptions
    rows = []
    for row in conn.execute(
        sa.select(x)
        .where(x.c.raffle_event_id == raffle.id, x.c.kind == "override")
        .order_by(x.c.at, x.c.id)
    ):
        details = loads(row.details) or {}
        close_seq, accepted = details.get("close_seq"), details.get("accepted_seq")
        if close_seq is None:
            missing = f"no close event (last seq received {accepted})"
        elif accepted is not None and accepted < close_seq:
            missing = f"seqs {accepted + 1}-{close_seq}"
        else:
            missing = "none"
        rows.append(
            [
                row.subject,
                details.get("rsu_id"),
                to_iso(row.at),
                _user_email(conn, row.actor),
                details.get("reason"),
                details.get("cash_cents", 0),
                details.get("card_cents", 0),
                details.get("orders", 0),
                missing,
                "; ".join(details.get("blockers") or []),
                dumps(details.get("open_conflicts") or []),
            ]
        )
    columns = [
        "rsu",
        "rsu_id",
        "overridden_at",
        "operator",
        "reason",
        "cash_cents",
        "card_cents",
        "orders",
        "missing",
        "problems",
        "open_conflicts",
    ]
    return _report("rsu-corruption", raffle, columns, rows)


_BUILDERS: dict[str, Callable[[sa.Connection, Any], dict[str, Any]]] = {
    "drawing": _drawing,
    "exceptions": _exceptions,
    "bearer": _bearer,
    "sales-by-rsu": _sales_by_rsu,
    "voided": _voided,
    "rsu-events": _rsu_events,
    "rsu-corruption": _corruption,
}


def report(engine: sa.Engine, org_id: str, raffle_id: str, kind: str) -> dict[str, Any]:
    builder = _BUILDERS.get(kind)
    if builder is None:
        raise ApiError("not_found", f"no raffle report {kind[:40]!r}; kinds: {', '.join(KINDS)}")
    with reading(engine) as conn:
        raffle = raffles.require_raffle(conn, org_id, raffle_id)
        return builder(conn, raffle)
