"""Petrol report of an event: sales per kiosk and per payment method, cash to collect per
kiosk, reprints, and the open double-redemption conflicts.

Cash to collect is every cash amount a kiosk took, refunded sales included: a refund is
paid back centrally, while the kiosk still holds the customer's cash. Refunds are listed
separately so the two can be reconciled.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from fieldpass.server import schema
from fieldpass.server.db import reading
from fieldpass.server.services.common import loads
from fieldpass.server.services.events import require_event
from fieldpass.server.services.prices import format_cents
from fieldpass.sync.clock import to_iso
from fieldpass.sync.conflicts import ConflictKind


def _totals() -> dict[str, int]:
    return {"sales": 0, "tickets": 0, "amount_cents": 0}


def _add(totals: dict[str, int], row: Any) -> None:
    totals["sales"] += 1
    totals["tickets"] += row.ticket_count
    totals["amount_cents"] += row.amount_cents


def _kiosk(device_id: str, name: str | None) -> dict[str, Any]:
    return {
        "device_id": device_id,
        "name": name,
        **_totals(),
        "cash_cents": 0,
        "card_cents": 0,
        "refunded": 0,
        "refunded_cents": 0,
    }


def petrol_report(engine: sa.Engine, org_id: str, event_id: str) -> dict[str, Any]:
    ps, d, pl, c = schema.petrol_sales, schema.devices, schema.print_logs, schema.conflicts
    with reading(engine) as conn:
        require_event(conn, org_id, event_id)
        sales = conn.execute(
            sa.select(ps).where(ps.c.event_id == event_id).order_by(ps.c.sold_at, ps.c.id)
        ).all()
        kiosks = conn.execute(
            sa.select(d.c.id, d.c.name).where(
                d.c.organization_id == org_id,
                d.c.role == "petrol",
                sa.or_(d.c.event_id == event_id, d.c.id.in_({row.device_id for row in sales})),
            )
        ).all()
        names = {row.id: row.name for row in kiosks}
        reprints = conn.execute(
            sa.select(pl.c.device_id, sa.func.count())
            .where(pl.c.device_id.in_(list(names)), pl.c.subject_kind == "ticket")
            .group_by(pl.c.device_id)
        ).all()
        open_conflicts = conn.execute(
            sa.select(c)
            .where(
                c.c.organization_id == org_id,
                c.c.event_id == event_id,
                c.c.kind == ConflictKind.PIN_REDEEMED_TWICE.value,
                c.c.resolved_at.is_(None),
            )
            .order_by(c.c.id)
        ).all()
    reprint_counts = {device_id: count for device_id, count in reprints}
    per_kiosk = {device_id: _kiosk(device_id, name) for device_id, name in names.items()}
    per_method = {method: _totals() for method in ("cash", "card")}
    refunds = []
    for row in sales:
        kiosk = per_kiosk.setdefault(row.device_id, _kiosk(row.device_id, None))
        _add(kiosk, row)
        kiosk[f"{row.payment_method}_cents"] += row.amount_cents
        _add(per_method.setdefault(row.payment_method, _totals()), row)
        if row.refunded_at is not None:
            kiosk["refunded"] += 1
            kiosk["refunded_cents"] += row.amount_cents
            refunds.append(
                {
                    "sale_id": row.id,
                    "device_id": row.device_id,
                    "amount_cents": row.amount_cents,
                    "refunded_at": to_iso(row.refunded_at),
                    "note": row.refund_note,
                }
            )
    for device_id, kiosk in per_kiosk.items():
        kiosk["reprints"] = reprint_counts.get(device_id, 0)
        kiosk["cash_to_collect_cents"] = kiosk["cash_cents"]
        kiosk["cash_to_collect"] = format_cents(kiosk["cash_cents"])
    total = _totals()
    for row in sales:
        _add(total, row)
    return {
        "event_id": event_id,
        "total": total,
        "per_kiosk": sorted(per_kiosk.values(), key=lambda k: (k["name"] or "", k["device_id"])),
        "per_method": [{"method": method, **totals} for method, totals in per_method.items()],
        "cash_to_collect_cents": sum(k["cash_cents"] for k in per_kiosk.values()),
        "reprints": sum(reprint_counts.values()),
        "refunds": refunds,
        "open_double_redemptions": [
            {
                "conflict_id": row.id,
                "pin": row.subject,
                "devices": loads(row.devices),
                "sales": [
                    side.get("sale_id")
                    for side in (
                        (loads(row.details) or {}).get(k) or {} for k in ("first", "second")
                    )
                    if side.get("sale_id") is not None
                ],
                "created_at": to_iso(row.created_at),
            }
            for row in open_conflicts
        ],
    }
