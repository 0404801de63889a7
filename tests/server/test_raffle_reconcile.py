"""Reconciliation after sales close (SQLite and PostgreSQL): the per-RSU view, what blocks
confirmation (no close, open conflicts, a close reporting other counts), the override
with its exception row, and the states it moves through."""

from __future__ import annotations

import msgspec
import sqlalchemy as sa

from fieldpass.server import schema
from tests.server.raffle_helpers import RaffleSetup, make_active_raffle, ok, transition
from tests.server.test_raffle_ingest import close_event, push_ok, sale_event, void_event


def reconciliation(setup: RaffleSetup) -> dict:
    return ok(setup.admin.get(f"/v1/raffles/{setup.raffle_id}/reconciliation"))


def confirm(setup: RaffleSetup, **body):
    return setup.admin.post(f"/v1/raffles/{setup.raffle_id}/confirm", json=body or None)


def sell_and_close(setup: RaffleSetup, engine, *, close: bool = True) -> dict:
    """rsu-1 sells 1, 2-4 (card), 5-7 then voids the last; rsu-2 sells 101; both close."""
    first, second = setup.rsus[0], setup.rsus[1]
    sales = {}
    events = []
    for numbers, method in (([1], "cash"), ([2, 3, 4], "card"), ([5, 6, 7], "cash")):
        event, data = sale_event(setup, first, numbers, engine=engine, method=method)
        events.append(event)
        sales[numbers[0]] = data
    events.append(void_event(setup, first, sales[5]))
    if close:
        events.append(close_event(setup, first, 3))
    push_ok(first, events)
    event, data = sale_event(setup, second, [101], engine=engine)
    sales[101] = data
    push_ok(second, [event, close_event(setup, second, 1)] if close else [event])
    transition(setup.admin, setup.raffle_id, "close")
    return sales


def test_view_shows_each_rsu_and_totals(harness, engine):
    setup = make_active_raffle(harness)
    sell_and_close(setup, engine)
    view = reconciliation(setup)
    assert view["state"] == "reconciling"  # taking the view started the reconciliation
    first, second = view["rsus"]
    assert first["name"] == "rsu-1"
    assert (first["allocated"], first["sold"], first["voided"], first["unsold"]) == (100, 4, 3, 93)
    assert (first["orders"], first["voided_orders"]) == (3, 1)
    assert (first["cash_cents"], first["card_cents"]) == (500, 1000)
    assert first["closed"] and first["complete"] and first["close_seq"] == 5
    assert first["accepted_seq"] == 5
    assert first["orders_reported_at_close"] == 3 and first["sales_arrived"] == 3
    assert first["blockers"] == [] and first["reconciled"]
    assert (second["sold"], second["cash_cents"]) == (1, 500)
    totals = view["totals"]
    assert (totals["sold"], totals["voided"], totals["orders"]) == (5, 3, 4)
    assert totals["revenue_cents"] == 500 + 1000 + 500
    assert view["can_confirm"] and view["blocking"] == []


def test_confirm_records_who_and_when_and_reaches_drawing_ready(harness, engine, clock):
    setup = make_active_raffle(harness)
    sell_and_close(setup, engine)
    clock.advance(1000)
    view = ok(confirm(setup))
    assert view["state"] == "drawing_ready"
    assert view["confirmed_at"] is not None and view["confirmed_by"]
    with engine.connect() as conn:
        raffle = conn.execute(sa.select(schema.raffle_events)).one()
        states = [
            row.subject
            for row in conn.execute(
                sa.select(schema.raffle_exceptions)
                .where(schema.raffle_exceptions.c.kind == "transition")
                .order_by(schema.raffle_exceptions.c.id)
            )
        ]
        rsu_states = set(conn.execute(sa.select(schema.rsus.c.state)).scalars())
    assert raffle.reconciliation_confirmed_at == clock()
    assert states[-3:] == ["reconciling", "reconciled", "drawing_ready"]
    assert rsu_states == {"reconciled"}
    again = confirm(setup)
    assert again.status_code == 409 and again.json["code"] == "invalid_transition"


def test_confirm_refused_before_close_of_sales(harness, engine):
    setup = make_active_raffle(harness)
    result = confirm(setup)
    assert result.status_code == 409 and result.json["code"] == "invalid_transition"


def test_rsu_without_close_blocks_unless_overridden(harness, engine):
    setup = make_active_raffle(harness)
    sales = sell_and_close(setup, engine, close=False)
    view = reconciliation(setup)
    assert not view["can_confirm"]
    assert {b["name"] for b in view["blocking"]} == {"rsu-1", "rsu-2"}
    assert "no close event" in view["blocking"][0]["blockers"][0]
    refused = confirm(setup)
    assert refused.status_code == 409
    assert refused.json["code"] == "reconciliation_blocked"
    assert "rsu-1" in refused.json["message"] and "override" in refused.json["message"]
    with engine.connect() as conn:
        assert conn.execute(sa.select(schema.raffle_events.c.state)).scalar_one() == "reconciling"
    done = ok(confirm(setup, override_reason="rsu-2 lost; cash counted by hand"))
    assert done["state"] == "drawing_ready"
    assert done["override_reason"] == "rsu-2 lost; cash counted by hand"
    with engine.connect() as conn:
        overrides = conn.execute(
            sa.select(schema.raffle_exceptions)
            .where(schema.raffle_exceptions.c.kind == "override")
            .order_by(schema.raffle_exceptions.c.id)
        ).all()
    assert {row.subject for row in overrides} == {"rsu-1", "rsu-2"}
    details = msgspec.json.decode(overrides[0].details)
    assert details["reason"] == "rsu-2 lost; cash counted by hand"
    assert details["cash_cents"] == 500  # rsu-1: one cash order kept (one voided); rsu-2: one
    assert sales  # the sales stay as they are


def test_open_conflict_blocks_until_resolved(harness, engine):
    setup = make_active_raffle(harness)
    rsu = setup.rsus[0]
    bad, _ = sale_event(setup, rsu, [150], engine=engine)  # rsu-2's range
    push_ok(rsu, [bad, close_event(setup, rsu, 1)])
    push_ok(setup.rsus[1], [close_event(setup, setup.rsus[1], 0)])
    transition(setup.admin, setup.raffle_id, "close")
    view = reconciliation(setup)
    (blocking,) = view["blocking"]
    assert blocking["name"] == "rsu-1" and "1 open conflict(s)" in blocking["blockers"]
    (rsu_view,) = [v for v in view["rsus"] if v["name"] == "rsu-1"]
    assert rsu_view["open_conflicts"][0]["kind"] == "raffle_out_of_range"
    conflict_id = rsu_view["open_conflicts"][0]["id"]
    assert confirm(setup).status_code == 409
    ok(
        setup.admin.post(
            f"/v1/conflicts/{conflict_id}/resolve", json={"resolution": "refunded the buyer"}
        )
    )
    assert ok(confirm(setup))["state"] == "drawing_ready"


def test_close_with_other_order_count_blocks(harness, engine):
    setup = make_active_raffle(harness, rsu_count=1)
    rsu = setup.rsus[0]
    event, _ = sale_event(setup, rsu, [1], engine=engine)
    push_ok(rsu, [event, close_event(setup, rsu, 2)])  # says 2, one arrived
    transition(setup.admin, setup.raffle_id, "close")
    (blocking,) = reconciliation(setup)["blocking"]
    assert blocking["blockers"] == ["the device closed with 2 orders but 1 arrived"]
