"""The draw of a reconciled raffle, its exported record, and prizes by validation number.

The draw reveals the seed committed before sales closed (sealed with the server key),
checks it against the commitment, reads the sorted sold numbers in one ordered query and
hands everything to :func:`fieldpass.sync.draw.run_draw`, which is pure: the same seed,
beacon, numbers and prizes give the same winners on SQLite and PostgreSQL, and the stored
record lets anyone recompute them (``verify-draw``). Only a ``reconciled`` (or
``drawing_ready``) raffle is drawn; it ends ``completed``.

A ticket is a bearer instrument: whoever holds the receipt's validation number claims
its prizes (``claim``); ``lookup`` shows an order with every ticket and prize.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from fieldpass.server import schema
from fieldpass.server.db import reading
from fieldpass.server.errors import ApiError, not_found
from fieldpass.server.services import raffles
from fieldpass.server.services.common import audit, clean_text, loads
from fieldpass.sync import draw as draw_algorithm
from fieldpass.sync.clock import to_iso
from fieldpass.sync.validation_numbers import (
    ValidationNumberError,
    format_validation_number,
    parse_validation_number,
)

DRAWABLE = ("reconciled", "drawing_ready")
_CHUNK = 500


def _draw_prizes(conn: sa.Connection, raffle_id: str) -> list[draw_algorithm.DrawPrize]:
    return [
        draw_algorithm.DrawPrize(
            prize_id=row.id,
            position=row.position,
            name=row.name,
            prize_type=row.prize_type,
            value_cents=row.value_cents,
            percentage=None if row.percentage is None else f"{Decimal(row.percentage):.2f}",
            winner_count=row.winner_count,
        )
        for row in raffles.prize_rows(conn, raffle_id)
    ]


def sold_numbers(conn: sa.Connection, raffle_id: str) -> list[int]:
    """The sold, non-voided draw numbers still in play, ascending (one ordered query)."""
    t = schema.raffle_tickets
    return list(
        conn.execute(
            sa.select(t.c.draw_number)
            .where(t.c.raffle_event_id == raffle_id, t.c.state == "sold")
            .order_by(t.c.draw_number)
        ).scalars()
    )


def revenue_cents(conn: sa.Connection, raffle_id: str) -> int:
    """Sum of the raffle's completed (not voided) orders."""
    o = schema.raffle_orders
    return int(
        conn.execute(
            sa.select(sa.func.coalesce(sa.func.sum(o.c.total_amount_cents), 0)).where(
                o.c.raffle_event_id == raffle_id, o.c.payment_status == "completed"
            )
        ).scalar_one()
    )


def _ticket_ids(conn: sa.Connection, raffle_id: str, numbers: list[int]) -> dict[int, int]:
    t = schema.raffle_tickets
    found: dict[int, int] = {}
    for start in range(0, len(numbers), _CHUNK):
        chunk = numbers[start : start + _CHUNK]
        found.update(
            conn.execute(
                sa.select(t.c.draw_number, t.c.id).where(
                    t.c.raffle_event_id == raffle_id, t.c.draw_number.in_(chunk)
                )
            ).all()
        )
    return found


def run(
    engine: sa.Engine,
    org_id: str,
    actor: str,
    raffle_id: str,
    *,
    beacon: str | None,
    key: bytes | None,
    now: int,
    new_id,
) -> dict[str, Any]:
    """Draw the winners of a reconciled raffle and store them; answers the draw view."""
    beacon_text = (
        clean_text(beacon, "beacon", max_length=draw_algorithm.MAX_BEACON_LENGTH, required=False)
        if beacon
        else ""
    )
    with engine.begin() as conn:
        raffle = raffles.require_raffle(conn, org_id, raffle_id, lock=True)
        if raffle.state not in DRAWABLE:
            raise ApiError(
                "invalid_transition",
                f"raffle {raffle.name!r} is {raffle.state}: only a reconciled raffle is drawn "
                "(close sales, reconcile and confirm first)",
            )
        d = schema.draws
        draw = conn.execute(
            sa.select(d).where(d.c.raffle_event_id == raffle_id).with_for_update()
        ).first()
        if draw is None or draw.seed_commitment is None or draw.sealed_seed is None:
            raise ApiError(
                "invalid_transition",
                f"raffle {raffle.name!r} has no seed commitment; it cannot be drawn",
            )
        if draw.state != "pending":
            raise ApiError("conflict", f"raffle {raffle.name!r} was already drawn")
        seed = raffles.open_seed(key, raffle_id, draw.sealed_seed)
        if draw_algorithm.commitment_of(seed) != draw.seed_commitment:
            raise ApiError(
                "key_mismatch",
                f"the sealed seed of raffle {raffle.name!r} does not match its commitment "
                f"{draw.seed_commitment}; the draw is refused",
            )
        numbers = sold_numbers(conn, raffle_id)
        revenue = revenue_cents(conn, raffle_id)
        try:
            record = draw_algorithm.run_draw(
                raffle_id=raffle_id,
                raffle_name=raffle.name,
                seed=seed,
                beacon=beacon_text,
                sold_numbers=numbers,
                prizes=_draw_prizes(conn, raffle_id),
                revenue_cents=revenue,
                drawn_at=to_iso(now) or "",
            )
        except draw_algorithm.DrawError as exc:
            raise ApiError("invalid", f"raffle {raffle.name!r} cannot be drawn: {exc}") from None
        encoded = draw_algorithm.encode_record(record)
        if raffle.state == "reconciled":
            raffles.transition(conn, raffle, "drawing_ready", actor=actor, now=now)
            raffle = raffles.require_raffle(conn, org_id, raffle_id)
        conn.execute(
            sa.update(d)
            .where(d.c.id == draw.id)
            .values(
                state="completed",
                draw_time=now,
                rng_seed=record.seed,
                beacon=beacon_text,
                revenue_cents=revenue,
                verification_checksum=record.checksum,
                record=encoded.decode(),
                conducted_by=actor,
                updated_at=now,
                updated_by=actor,
            )
        )
        winning = [w.draw_number for w in record.winners]
        ids = _ticket_ids(conn, raffle_id, winning)
        if record.winners:
            conn.execute(
                sa.insert(schema.draw_results),
                [
                    {
                        "id": new_id(),
                        "draw_id": draw.id,
                        "prize_id": winner.prize_id,
                        "winning_ticket_id": ids[winner.draw_number],
                        "prize_value_cents": winner.prize_value_cents,
                        "pick_index": winner.pick,
                        "claim_status": "unclaimed",
                        "created_at": now,
                        "updated_at": now,
                    }
                    for winner in record.winners
                ],
            )
            t = schema.raffle_tickets
            conn.execute(
                sa.update(t)
                .where(t.c.id.in_(list(ids.values())), t.c.state == "sold")
                .values(state="winner", updated_at=now)
            )
        raffles.transition(
            conn,
            raffle,
            "completed",
            actor=actor,
            now=now,
            details={"checksum": record.checksum, "winners": len(record.winners)},
        )
        audit(
            conn,
            org_id=org_id,
            actor=actor,
            action="raffle.draw",
            subject=raffle_id,
            at=now,
            details={"checksum": record.checksum, "beacon": beacon_text, "sold": len(numbers)},
        )
        return draw_view(conn, raffle_id)


def draw_view(conn: sa.Connection, raffle_id: str) -> dict[str, Any]:
    """The completed draw: commitment, seed, beacon, revenue, winners with their orders."""
    d = schema.draws
    draw = conn.execute(sa.select(d).where(d.c.raffle_event_id == raffle_id)).first()
    if draw is None or draw.state != "completed" or draw.record is None:
        raise ApiError("not_drawn", "this raffle has not been drawn yet")
    record = draw_algorithm.decode_record(draw.record.encode())
    return {
        "raffle_id": raffle_id,
        "raffle_name": record.raffle_name,
        "state": draw.state,
        "drawn_at": to_iso(draw.draw_time),
        "conducted_by": draw.conducted_by,
        "commitment": record.commitment,
        "seed": record.seed,
        "beacon": record.beacon,
        "revenue_cents": record.revenue_cents,
        "sold_count": record.sold_count,
        "sold_sha256": record.sold_sha256,
        "checksum": record.checksum,
        "winners": winner_rows(conn, raffle_id),
    }


def winner_rows(conn: sa.Connection, raffle_id: str) -> list[dict[str, Any]]:
    """Every pick with its prize, ticket, order and claim status, in pick order."""
    dr, d, p = schema.draw_results, schema.draws, schema.prizes
    t, o = schema.raffle_tickets, schema.raffle_orders
    rows = conn.execute(
        sa.select(
            dr.c.pick_index,
            dr.c.prize_value_cents,
            dr.c.claim_status,
            dr.c.claimed_at,
            dr.c.claimed_by,
            p.c.id.label("prize_id"),
            p.c.name.label("prize_name"),
            p.c.position,
            p.c.prize_type,
            t.c.draw_number,
            t.c.state.label("ticket_state"),
            o.c.id.label("order_id"),
            o.c.validation_number,
        )
        .select_from(
            dr.join(d, d.c.id == dr.c.draw_id)
            .join(p, p.c.id == dr.c.prize_id)
            .join(t, t.c.id == dr.c.winning_ticket_id)
            .outerjoin(o, o.c.id == t.c.order_id)
        )
        .where(d.c.raffle_event_id == raffle_id)
        .order_by(dr.c.pick_index)
    ).all()
    return [
        {
            "pick": row.pick_index,
            "position": row.position,
            "prize_id": row.prize_id,
            "prize_name": row.prize_name,
            "prize_type": row.prize_type,
            "prize_value_cents": row.prize_value_cents,
            "draw_number": row.draw_number,
            "ticket_state": row.ticket_state,
            "order_id": row.order_id,
            "validation_number": row.validation_number,
            "claim_status": row.claim_status,
            "claimed_at": to_iso(row.claimed_at),
            "claimed_by": row.claimed_by,
        }
        for row in rows
    ]


def export(engine: sa.Engine, org_id: str, raffle_id: str) -> bytes:
    """The stored draw record, byte for byte (canonical JSON)."""
    with reading(engine) as conn:
        raffle = raffles.require_raffle(conn, org_id, raffle_id)
        record = conn.execute(
            sa.select(schema.draws.c.record).where(
                schema.draws.c.raffle_event_id == raffle_id, schema.draws.c.state == "completed"
            )
        ).scalar_one_or_none()
    if record is None:
        raise ApiError("not_drawn", f"raffle {raffle.name!r} has not been drawn yet")
    return record.encode()


def get_draw(engine: sa.Engine, org_id: str, raffle_id: str) -> dict[str, Any]:
    with reading(engine) as conn:
        raffles.require_raffle(conn, org_id, raffle_id)
        return draw_view(conn, raffle_id)


# -- lookup and claim by validation number ---------------------------------------------------


def _canonical(text: str) -> str:
    try:
        return parse_validation_number(text)
    except ValidationNumberError as exc:
        raise ApiError("invalid", f"{exc}") from None


def _order(conn: sa.Connection, org_id: str, validation: str) -> tuple[Any, Any]:
    o, r = schema.raffle_orders, schema.raffle_events
    row = conn.execute(
        sa.select(o, r.c.name.label("raffle_name"), r.c.state.label("raffle_state"))
        .select_from(o.join(r, r.c.id == o.c.raffle_event_id))
        .where(o.c.validation_number == validation, r.c.organization_id == org_id)
    ).first()
    if row is None:
        raise not_found(f"validation number {format_validation_number(validation)}")
    raffle = raffles.require_raffle(conn, org_id, row.raffle_event_id)
    return row, raffle


def _prizes_of_order(conn: sa.Connection, order_id: str) -> list[dict[str, Any]]:
    dr, p, t = schema.draw_results, schema.prizes, schema.raffle_tickets
    rows = conn.execute(
        sa.select(
            dr.c.id,
            dr.c.pick_index,
            dr.c.prize_value_cents,
            dr.c.claim_status,
            dr.c.claimed_at,
            dr.c.claimed_by,
            p.c.name,
            p.c.position,
            t.c.draw_number,
        )
        .select_from(dr.join(t, t.c.id == dr.c.winning_ticket_id).join(p, p.c.id == dr.c.prize_id))
        .where(t.c.order_id == order_id)
        .order_by(dr.c.pick_index)
    ).all()
    return [
        {
            "result_id": row.id,
            "pick": row.pick_index,
            "position": row.position,
            "prize_name": row.name,
            "prize_value_cents": row.prize_value_cents,
            "draw_number": row.draw_number,
            "claim_status": row.claim_status,
            "claimed_at": to_iso(row.claimed_at),
            "claimed_by": row.claimed_by,
        }
        for row in rows
    ]


def _order_view(conn: sa.Connection, order: Any, raffle: Any) -> dict[str, Any]:
    t = schema.raffle_tickets
    tickets = conn.execute(
        sa.select(t.c.draw_number, t.c.state)
        .where(t.c.order_id == order.id)
        .order_by(t.c.draw_number)
    ).all()
    package = conn.execute(
        sa.select(schema.ticket_packages.c.name).where(
            schema.ticket_packages.c.id == order.ticket_package_id
        )
    ).scalar_one_or_none()
    rsu_name = None
    if order.rsu_id:
        rsu_name = conn.execute(
            sa.select(schema.rsus.c.name).where(schema.rsus.c.id == order.rsu_id)
        ).scalar_one_or_none()
    reported = loads(order.draw_numbers) or []
    held = {row.draw_number for row in tickets}
    return {
        "validation_number": order.validation_number,
        "validation_number_formatted": format_validation_number(order.validation_number),
        "order_id": order.id,
        "raffle_id": raffle.id,
        "raffle_name": raffle.name,
        "raffle_state": raffle.state,
        "claim_deadline": to_iso(raffle.claim_deadline),
        "package": package,
        "ticket_count": order.ticket_count,
        "total_amount_cents": order.total_amount_cents,
        "payment_status": order.payment_status,
        "payment_method": order.payment_method,
        "source": order.source,
        "rsu_id": order.rsu_id,
        "rsu_name": rsu_name,
        "sold_at": to_iso(order.sold_at),
        "voided_at": to_iso(order.voided_at),
        "void_reason": order.void_reason,
        "reprint_count": order.reprint_count,
        "tickets": [{"draw_number": row.draw_number, "state": row.state} for row in tickets],
        "not_applied": [n for n in reported if n not in held],
        "prizes": _prizes_of_order(conn, order.id),
    }


def lookup(engine: sa.Engine, org_id: str, validation: str) -> dict[str, Any]:
    canonical = _canonical(validation)
    with reading(engine) as conn:
        order, raffle = _order(conn, org_id, canonical)
        return _order_view(conn, order, raffle)


def claim(
    engine: sa.Engine, org_id: str, actor: str, validation: str, *, now: int
) -> dict[str, Any]:
    """Claim every unclaimed prize of the order (its tickets become ``claimed``)."""
    canonical = _canonical(validation)
    shown = format_validation_number(canonical)
    with engine.begin() as conn:
        order, raffle = _order(conn, org_id, canonical)
        raffle = raffles.require_raffle(conn, org_id, raffle.id, lock=True)
        if raffle.state != "completed":
            raise ApiError(
                "nothing_to_claim",
                f"raffle {raffle.name!r} is {raffle.state}: prizes are claimed after the draw",
            )
        prizes = _prizes_of_order(conn, order.id)
        if not prizes:
            raise ApiError("nothing_to_claim", f"validation number {shown} won no prize")
        open_prizes = [p for p in prizes if p["claim_status"] == "unclaimed"]
        if not open_prizes:
            raise ApiError(
                "already_claimed",
                f"the prize(s) of {shown} were already claimed at {prizes[0]['claimed_at']}",
            )
        if raffle.claim_deadline is not None and now > raffle.claim_deadline:
            raise ApiError(
                "claim_expired",
                f"the claim deadline of raffle {raffle.name!r} passed at "
                f"{to_iso(raffle.claim_deadline)}",
            )
        dr, t = schema.draw_results, schema.raffle_tickets
        won = conn.execute(
            sa.update(dr)
            .where(
                dr.c.id.in_([p["result_id"] for p in open_prizes]),
                dr.c.claim_status == "unclaimed",
            )
            .values(claim_status="claimed", claimed_at=now, claimed_by=actor, updated_at=now)
        ).rowcount
        if won != len(open_prizes):
            raise ApiError("already_claimed", f"the prize(s) of {shown} were claimed meanwhile")
        conn.execute(
            sa.update(t)
            .where(
                t.c.order_id == order.id,
                t.c.draw_number.in_([p["draw_number"] for p in open_prizes]),
                t.c.state == "winner",
            )
            .values(state="claimed", updated_at=now)
        )
        details = {
            "order_id": order.id,
            "draw_numbers": [p["draw_number"] for p in open_prizes],
            "value_cents": sum(p["prize_value_cents"] for p in open_prizes),
        }
        raffles.record_exception(
            conn, raffle.id, kind="claim", actor=actor, subject=canonical, at=now, details=details
        )
        audit(
            conn,
            org_id=org_id,
            actor=actor,
            action="raffle.claim",
            subject=canonical,
            at=now,
            details=details,
        )
        view = _order_view(conn, order, raffle)
    view["claimed"] = [
        {**p, "claim_status": "claimed", "claimed_at": to_iso(now), "claimed_by": actor}
        for p in open_prizes
    ]
    return view
