"""Reconciliation of a raffle after sales close: what each RSU did, and the admin's
confirmation that it all adds up (GLI-31: only a reconciled raffle is drawn).

Per RSU the view shows the numbers it holds (allocated, sold, voided, unsold), its orders
with cash and card totals, the device's accepted seq and its close seq, and its open
raffle conflicts. An RSU is *complete* when its close event arrived: pushes refuse gaps,
so ``accepted_seq >= close_seq`` means every event up to the close is in; the close also
carries the order count the device believes it sold, which must equal the sales that
arrived. Confirmation is refused while an RSU that holds numbers is incomplete, reports
another order count, or has open conflicts, unless the admin gives an override reason:
then each such RSU gets an ``override`` exception row (it appears in the exceptions and
RSU-corruption reports) and the raffle is reconciled anyway.

Taking the view of a ``sales_closed`` raffle moves it to ``reconciling`` (the admin has
started reconciling; recorded like every transition). ``confirm`` moves it on to
``reconciled`` and, since the seed commitment must exist before sales close, on to
``drawing_ready``.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import sqlalchemy as sa

from fieldpass.server import schema
from fieldpass.server.errors import ApiError
from fieldpass.server.services import raffles
from fieldpass.server.services.common import audit, clean_text, loads
from fieldpass.sync.clock import to_iso

CONFIRMABLE = ("sales_closed", "reconciling")
SOLD_STATES = ("sold", "winner", "claimed")


def _rsu_ids(conn: sa.Connection, raffle_id: str) -> list[str]:
    """RSUs of the raffle: assigned to it or holding (or having held) numbers of it."""
    r, a = schema.rsus, schema.rsu_allocations
    assigned = set(
        conn.execute(sa.select(r.c.id).where(r.c.raffle_event_id == raffle_id)).scalars()
    )
    holding = set(
        conn.execute(sa.select(a.c.rsu_id).where(a.c.raffle_event_id == raffle_id)).scalars()
    )
    sold = set(
        conn.execute(
            sa.select(schema.raffle_orders.c.rsu_id)
            .where(
                schema.raffle_orders.c.raffle_event_id == raffle_id,
                schema.raffle_orders.c.rsu_id.is_not(None),
            )
            .distinct()
        ).scalars()
    )
    return sorted(assigned | holding | sold)


def open_conflicts(conn: sa.Connection, raffle_id: str) -> dict[str, list[dict[str, Any]]]:
    """Unresolved conflicts of the raffle, per device they name."""
    c = schema.conflicts
    found: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in conn.execute(
        sa.select(c.c.id, c.c.kind, c.c.subject, c.c.devices)
        .where(c.c.event_id == raffle_id, c.c.resolved_at.is_(None))
        .order_by(c.c.id)
    ):
        for device_id in loads(row.devices) or []:
            found[device_id].append({"id": row.id, "kind": row.kind, "subject": row.subject})
    return found


def rsu_views(conn: sa.Connection, raffle_id: str) -> list[dict[str, Any]]:
    """One entry per RSU of the raffle (see the module docstring), by name."""
    ids = _rsu_ids(conn, raffle_id)
    if not ids:
        return []
    r, d, a = schema.rsus, schema.devices, schema.rsu_allocations
    t, o, ie = schema.raffle_tickets, schema.raffle_orders, schema.ingested_events
    rsus = {row.id: row for row in conn.execute(sa.select(r).where(r.c.id.in_(ids)))}
    devices = {row.id: row for row in conn.execute(sa.select(d).where(d.c.id.in_(ids)))}
    allocations: dict[str, list[Any]] = defaultdict(list)
    for row in conn.execute(
        sa.select(a).where(a.c.raffle_event_id == raffle_id).order_by(a.c.start_number)
    ):
        allocations[row.rsu_id].append(row)
    tickets: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for rsu_id, state, count in conn.execute(
        sa.select(t.c.allocated_to_rsu_id, t.c.state, sa.func.count())
        .where(t.c.raffle_event_id == raffle_id, t.c.allocated_to_rsu_id.is_not(None))
        .group_by(t.c.allocated_to_rsu_id, t.c.state)
    ):
        tickets[rsu_id][state] = count
    money: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for rsu_id, status, method, count, cents in conn.execute(
        sa.select(
            o.c.rsu_id,
            o.c.payment_status,
            o.c.payment_method,
            sa.func.count(),
            sa.func.coalesce(sa.func.sum(o.c.total_amount_cents), 0),
        )
        .where(o.c.raffle_event_id == raffle_id, o.c.rsu_id.is_not(None))
        .group_by(o.c.rsu_id, o.c.payment_status, o.c.payment_method)
    ):
        totals = money[rsu_id]
        totals["orders"] += count
        if status == "completed":
            totals["completed"] += count
            totals[f"{method}_cents"] += int(cents)
        elif status == "refunded":
            totals["voided_orders"] += count
    sale_events = dict(
        conn.execute(
            sa.select(ie.c.device_id, sa.func.count())
            .where(ie.c.device_id.in_(ids), ie.c.kind == "raffle_sale")
            .group_by(ie.c.device_id)
        ).all()
    )
    conflicts = open_conflicts(conn, raffle_id)
    views = []
    for rsu_id in ids:
        rsu, device = rsus.get(rsu_id), devices.get(rsu_id)
        counts = tickets[rsu_id]
        totals = money[rsu_id]
        close_seq = rsu.close_seq if rsu is not None else None
        accepted = device.accepted_seq if device is not None else 0
        reported = _close_orders(conn, rsu_id, close_seq)
        arrived = sale_events.get(rsu_id, 0)
        closed = close_seq is not None
        complete = closed and accepted >= close_seq
        holds = bool(allocations[rsu_id])
        blockers = []
        if holds and not closed:
            pending = device.unsynced_estimate if device is not None else 0
            blockers.append(
                "no close event yet"
                + (f" ({pending} events not yet uploaded by the device's count)" if pending else "")
            )
        elif holds and not complete:
            blockers.append(f"events {accepted + 1}-{close_seq} have not arrived")
        if closed and reported is not None and reported != arrived:
            blockers.append(f"the device closed with {reported} orders but {arrived} arrived")
        if conflicts.get(rsu_id):
            blockers.append(f"{len(conflicts[rsu_id])} open conflict(s)")
        views.append(
            {
                "rsu_id": rsu_id,
                "name": rsu.name if rsu is not None else (device.name if device else rsu_id),
                "terminal_number": rsu.terminal_number if rsu is not None else None,
                "state": rsu.state if rsu is not None else None,
                "allocations": [
                    {
                        "id": row.id,
                        "start": row.start_number,
                        "end": row.end_number,
                        "is_active": bool(row.is_active),
                        "tickets_sold": row.tickets_sold,
                        "tickets_voided": row.tickets_voided,
                    }
                    for row in allocations[rsu_id]
                ],
                "allocated": sum(counts.values()),
                "sold": sum(counts[s] for s in SOLD_STATES),
                "voided": counts["voided"],
                "unsold": counts["allocated"],
                "orders": totals["orders"],
                "voided_orders": totals["voided_orders"],
                "cash_cents": totals["cash_cents"],
                "card_cents": totals["card_cents"],
                "accepted_seq": accepted,
                "close_seq": close_seq,
                "closed_at": to_iso(rsu.closed_at) if rsu is not None else None,
                "closed": closed,
                "complete": complete,
                "orders_reported_at_close": reported,
                "sales_arrived": arrived,
                "last_sync_at": to_iso(rsu.last_sync_at) if rsu is not None else None,
                "open_conflicts": conflicts.get(rsu_id, []),
                "blockers": blockers,
                "reconciled": not blockers,
            }
        )
    views.sort(key=lambda v: (v["name"], v["rsu_id"]))
    return views


def _close_orders(conn: sa.Connection, device_id: str, close_seq: int | None) -> int | None:
    """The order count the RSU's close event reported (None without a close)."""
    if close_seq is None:
        return None
    ie = schema.ingested_events
    payload = conn.execute(
        sa.select(ie.c.payload).where(ie.c.device_id == device_id, ie.c.seq == close_seq)
    ).scalar_one_or_none()
    data = loads(payload) if payload else None
    orders = data.get("orders") if isinstance(data, dict) else None
    return orders if isinstance(orders, int) else None


def raffle_totals(conn: sa.Connection, raffle_id: str) -> dict[str, Any]:
    o = schema.raffle_orders
    counts = raffles.ticket_counts(conn, raffle_id)
    totals: dict[str, int] = defaultdict(int)
    for status, method, count, cents in conn.execute(
        sa.select(
            o.c.payment_status,
            o.c.payment_method,
            sa.func.count(),
            sa.func.coalesce(sa.func.sum(o.c.total_amount_cents), 0),
        )
        .where(o.c.raffle_event_id == raffle_id)
        .group_by(o.c.payment_status, o.c.payment_method)
    ):
        totals["orders"] += count
        if status == "completed":
            totals[f"{method}_cents"] += int(cents)
            totals["revenue_cents"] += int(cents)
        elif status == "refunded":
            totals["voided_orders"] += count
    return {
        "tickets": sum(counts.values()),
        "available": counts["available"],
        "unsold": counts["allocated"],
        "sold": counts["sold"] + counts["winner"] + counts["claimed"],
        "voided": counts["voided"],
        "orders": totals["orders"],
        "voided_orders": totals["voided_orders"],
        "cash_cents": totals["cash_cents"],
        "card_cents": totals["card_cents"],
        "revenue_cents": totals["revenue_cents"],
    }


def _view(conn: sa.Connection, raffle: Any) -> dict[str, Any]:
    rsus = rsu_views(conn, raffle.id)
    blocking = [v for v in rsus if v["blockers"]]
    return {
        "raffle_id": raffle.id,
        "name": raffle.name,
        "state": raffle.state,
        "rsus": rsus,
        "totals": raffle_totals(conn, raffle.id),
        "blocking": [
            {"rsu_id": v["rsu_id"], "name": v["name"], "blockers": v["blockers"]} for v in blocking
        ],
        "can_confirm": raffle.state in CONFIRMABLE and not blocking,
        "confirmed_at": to_iso(raffle.reconciliation_confirmed_at),
        "confirmed_by": raffle.reconciliation_confirmed_by,
        "override_reason": raffle.reconciliation_override_reason,
    }


def reconciliation(
    engine: sa.Engine, org_id: str, actor: str, raffle_id: str, *, now: int
) -> dict[str, Any]:
    """The per-RSU view; a ``sales_closed`` raffle becomes ``reconciling``."""
    with engine.begin() as conn:
        raffle = raffles.require_raffle(conn, org_id, raffle_id, lock=True)
        if raffle.state == "sales_closed":
            raffles.transition(conn, raffle, "reconciling", actor=actor, now=now)
            raffle = raffles.require_raffle(conn, org_id, raffle_id)
        return _view(conn, raffle)


def confirm(
    engine: sa.Engine,
    org_id: str,
    actor: str,
    raffle_id: str,
    *,
    override_reason: str | None = None,
    now: int,
) -> dict[str, Any]:
    """Record who confirmed the reconciliation and when; see the module docstring."""
    reason = (
        clean_text(override_reason, "override_reason", max_length=1000)
        if override_reason is not None
        else None
    )
    with engine.begin() as conn:
        raffle = raffles.require_raffle(conn, org_id, raffle_id, lock=True)
        if raffle.state not in CONFIRMABLE:
            raise ApiError(
                "invalid_transition",
                f"raffle {raffle.name!r} is {raffle.state}: reconciliation is confirmed after "
                "sales close (sales_closed or reconciling)",
            )
        rsus = rsu_views(conn, raffle_id)
        blocking = [v for v in rsus if v["blockers"]]
        if blocking and reason is None:
            first = blocking[0]
            more = f" (and {len(blocking) - 1} more RSU(s))" if len(blocking) > 1 else ""
            raise ApiError(
                "reconciliation_blocked",
                f"RSU {first['name']} cannot be reconciled: {'; '.join(first['blockers'])}"
                f"{more}; fix it or confirm with an override reason",
                extra={
                    "blocking": [
                        {"rsu_id": v["rsu_id"], "name": v["name"], "blockers": v["blockers"]}
                        for v in blocking
                    ]
                },
            )
        for view in blocking:
            raffles.record_exception(
                conn,
                raffle_id,
                kind="override",
                actor=actor,
                subject=view["name"],
                at=now,
                details={
                    "rsu_id": view["rsu_id"],
                    "reason": reason,
                    "blockers": view["blockers"],
                    "accepted_seq": view["accepted_seq"],
                    "close_seq": view["close_seq"],
                    "orders": view["orders"],
                    "cash_cents": view["cash_cents"],
                    "card_cents": view["card_cents"],
                    "open_conflicts": [c["id"] for c in view["open_conflicts"]],
                },
            )
        r = schema.rsus
        clean = [v["rsu_id"] for v in rsus if not v["blockers"] and v["close_seq"] is not None]
        if clean:
            conn.execute(
                sa.update(r)
                .where(r.c.id.in_(clean))
                .values(state="reconciled", updated_at=now, updated_by=actor)
            )
        if raffle.state == "sales_closed":
            raffles.transition(conn, raffle, "reconciling", actor=actor, now=now)
            raffle = raffles.require_raffle(conn, org_id, raffle_id)
        raffles.transition(
            conn,
            raffle,
            "reconciled",
            actor=actor,
            now=now,
            values={
                "reconciliation_confirmed_at": now,
                "reconciliation_confirmed_by": actor,
                "reconciliation_override_reason": reason,
            },
            details={"overridden": [v["rsu_id"] for v in blocking]} if blocking else None,
        )
        raffle = raffles.require_raffle(conn, org_id, raffle_id)
        draw = conn.execute(
            sa.select(schema.draws).where(schema.draws.c.raffle_event_id == raffle_id)
        ).first()
        if draw is not None and draw.seed_commitment is not None:
            raffles.transition(conn, raffle, "drawing_ready", actor=actor, now=now)
            raffle = raffles.require_raffle(conn, org_id, raffle_id)
        audit(
            conn,
            org_id=org_id,
            actor=actor,
            action="raffle.reconciliation_confirmed",
            subject=raffle_id,
            at=now,
            details={"override_reason": reason, "overridden": [v["rsu_id"] for v in blocking]},
        )
        return _view(conn, raffle)
