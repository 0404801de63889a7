"""The draw of a reconciled raffle (SQLite and PostgreSQL): only a reconciled raffle is
drawn; the same seed and sales give the same winners on both databases; winners are never
voided or unsold numbers; the export verifies; lookup and claim by validation number."""

from __future__ import annotations

import json

import msgspec
import sqlalchemy as sa

from fieldpass.server import schema
from fieldpass.server.services import raffles
from fieldpass.sync.draw import DrawPrize, DrawRecord, encode_record, run_draw, verify_record
from fieldpass.sync.validation_numbers import format_validation_number, new_validation_number
from tests.server.conftest import PII_KEY
from tests.server.raffle_helpers import RaffleSetup, make_active_raffle, ok, transition
from tests.server.test_raffle_ingest import close_event, push_ok, sale_event, void_event

KNOWN_SEED = bytes(range(32))
#: (position, draw number, value) for KNOWN_SEED, beacon "BTC-900000" and the sales of
#: ``sell_many``: the same on SQLite and PostgreSQL (recomputed below with the pure draw).
PRIZES = (("Jackpot", 1, None, "50", 1), ("Hamper", 2, 10_000, None, 2))


def use_known_seed(engine, raffle_id: str) -> None:
    d = schema.draws
    with engine.begin() as conn:
        conn.execute(
            sa.update(d)
            .where(d.c.raffle_event_id == raffle_id)
            .values(
                sealed_seed=raffles.seal_seed(PII_KEY, raffle_id, KNOWN_SEED),
                seed_commitment=raffles.commitment_of(KNOWN_SEED),
            )
        )


def sell_many(setup: RaffleSetup, engine) -> list[dict]:
    """rsu-1 sells 1..60 in 3s and voids every fourth order; rsu-2 sells 101..130; both
    close; sales close. Returns the sale payloads."""
    sales = []
    first, second = setup.rsus
    events = []
    for index, start in enumerate(range(1, 61, 3)):
        event, data = sale_event(setup, first, [start, start + 1, start + 2], engine=engine)
        events.append(event)
        sales.append(data)
        if index % 4 == 0:
            events.append(void_event(setup, first, data))
    orders = len(sales)
    events.append(close_event(setup, first, orders))
    push_ok(first, events)
    events = []
    for number in range(101, 131):
        event, data = sale_event(setup, second, [number], engine=engine, method="card")
        events.append(event)
        sales.append(data)
    events.append(close_event(setup, second, 30))
    push_ok(second, events)
    transition(setup.admin, setup.raffle_id, "close")
    return sales


def reconciled(harness, engine) -> tuple[RaffleSetup, list[dict]]:
    setup = make_active_raffle(harness, prizes=PRIZES)
    use_known_seed(engine, setup.raffle_id)
    sales = sell_many(setup, engine)
    ok(setup.admin.post(f"/v1/raffles/{setup.raffle_id}/confirm"))
    return setup, sales


def draw(setup: RaffleSetup, **body):
    return setup.admin.post(f"/v1/raffles/{setup.raffle_id}/draw", json=body or None)


def test_only_a_reconciled_raffle_is_drawn(harness, engine):
    setup = make_active_raffle(harness)
    result = draw(setup)
    assert result.status_code == 409 and result.json["code"] == "invalid_transition"
    assert "only a reconciled raffle" in result.json["message"]
    event, _ = sale_event(setup, setup.rsus[0], [1], engine=engine)
    push_ok(setup.rsus[0], [event])
    transition(setup.admin, setup.raffle_id, "close")
    assert draw(setup).status_code == 409
    with engine.connect() as conn:
        assert conn.execute(sa.select(schema.draws.c.state)).scalar_one() == "pending"
        assert (
            conn.execute(sa.select(sa.func.count()).select_from(schema.draw_results)).scalar() == 0
        )


def test_draw_is_reproducible_and_stored(harness, engine):
    setup, sales = reconciled(harness, engine)
    result = ok(draw(setup, beacon="BTC-900000"))
    voided = {n for s in sales[:20:4] for n in s["draw_numbers"]}
    sold = sorted({n for s in sales for n in s["draw_numbers"]} - voided)
    revenue = 20 * 1000 - 5 * 1000 + 30 * 500
    expected = run_draw(
        raffle_id="x",
        raffle_name="x",
        seed=KNOWN_SEED,
        beacon="BTC-900000",
        sold_numbers=sold,
        prizes=[
            DrawPrize("a", 1, "Jackpot", "percentage", None, "50.00", 1),
            DrawPrize("b", 2, "Hamper", "fixed", 10_000, None, 2),
        ],
        revenue_cents=revenue,
        drawn_at="x",
    )
    got = [(w["position"], w["draw_number"], w["prize_value_cents"]) for w in result["winners"]]
    assert got == [(w.position, w.draw_number, w.prize_value_cents) for w in expected.winners]
    # the same constant on SQLite and PostgreSQL (computed once with the pure draw)
    assert got == [(1, 125, 15_000), (2, 36, 10_000), (2, 52, 10_000)]
    assert result["revenue_cents"] == revenue and result["sold_count"] == len(sold)
    assert result["seed"] == KNOWN_SEED.hex() and result["beacon"] == "BTC-900000"
    by_number = {n: s for s in sales for n in s["draw_numbers"]}
    for winner in result["winners"]:
        assert winner["draw_number"] in sold and winner["draw_number"] not in voided
        assert winner["validation_number"] == by_number[winner["draw_number"]]["validation_number"]
        assert winner["claim_status"] == "unclaimed"
    with engine.connect() as conn:
        raffle = conn.execute(sa.select(schema.raffle_events)).one()
        stored = conn.execute(sa.select(schema.draws)).one()
        results = conn.execute(sa.select(schema.draw_results)).all()
        winner_states = dict(
            conn.execute(
                sa.select(schema.raffle_tickets.c.draw_number, schema.raffle_tickets.c.state).where(
                    schema.raffle_tickets.c.state == "winner"
                )
            ).all()
        )
    assert raffle.state == "completed"
    assert stored.state == "completed" and stored.rng_seed == KNOWN_SEED.hex()
    assert stored.verification_checksum == result["checksum"]
    assert stored.revenue_cents == revenue and stored.conducted_by
    assert len(results) == 3 and sorted(r.pick_index for r in results) == [0, 1, 2]
    assert set(winner_states) == {125, 36, 52}
    again = draw(setup)
    assert again.status_code == 409


def test_export_verifies_and_altering_it_fails(harness, engine):
    setup, _ = reconciled(harness, engine)
    drawn = ok(draw(setup))
    exported = setup.admin.get(f"/v1/raffles/{setup.raffle_id}/draw/export")
    assert exported.status_code == 200
    data = exported.content
    with engine.connect() as conn:
        assert conn.execute(sa.select(schema.draws.c.record)).scalar_one().encode() == data
    assert verify_record(data) == []
    # the CLI re-encodes the decoded JSON: canonical, so byte for byte the same
    assert encode_record(msgspec.convert(json.loads(data), DrawRecord)) == data
    record = msgspec.json.decode(data)
    assert record["checksum"] == drawn["checksum"] and record["beacon"] == ""
    record["winners"][0]["draw_number"] += 1
    assert verify_record(msgspec.json.encode(record)) != []


def test_export_before_the_draw_is_refused(harness, engine):
    setup = make_active_raffle(harness)
    result = setup.admin.get(f"/v1/raffles/{setup.raffle_id}/draw/export")
    assert result.status_code == 409 and result.json["code"] == "not_drawn"


def test_more_prizes_than_sold_tickets_is_refused(harness, engine):
    setup = make_active_raffle(harness)
    event, _ = sale_event(setup, setup.rsus[0], [1], engine=engine)
    push_ok(setup.rsus[0], [event, close_event(setup, setup.rsus[0], 1)])
    push_ok(setup.rsus[1], [close_event(setup, setup.rsus[1], 0)])
    transition(setup.admin, setup.raffle_id, "close")
    ok(setup.admin.post(f"/v1/raffles/{setup.raffle_id}/confirm"))
    result = draw(setup)
    assert result.status_code == 400 and "3 prizes but only 1 sold" in result.json["message"]
    with engine.connect() as conn:
        assert conn.execute(sa.select(schema.raffle_events.c.state)).scalar_one() == "drawing_ready"


def test_lookup_and_claim_by_validation_number(harness, engine, clock):
    setup, sales = reconciled(harness, engine)
    drawn = ok(draw(setup))
    winner = drawn["winners"][0]
    typed = format_validation_number(winner["validation_number"])  # with dashes
    looked = ok(setup.admin.post("/v1/raffle-orders/lookup", json={"validation_number": typed}))
    assert looked["validation_number"] == winner["validation_number"]
    assert winner["draw_number"] in [t["draw_number"] for t in looked["tickets"]]
    assert {t["state"] for t in looked["tickets"]} <= {"winner", "sold"}
    assert looked["prizes"][0]["claim_status"] == "unclaimed"
    clock.advance(60_000)
    claimed = ok(setup.admin.post("/v1/raffle-orders/claim", json={"validation_number": typed}))
    assert [p["draw_number"] for p in claimed["claimed"]] == [
        p["draw_number"] for p in looked["prizes"]
    ]
    assert all(p["claim_status"] == "claimed" for p in claimed["prizes"])
    ticket_states = {t["draw_number"]: t["state"] for t in claimed["tickets"]}
    assert ticket_states[winner["draw_number"]] == "claimed"
    again = setup.admin.post("/v1/raffle-orders/claim", json={"validation_number": typed})
    assert again.status_code == 409 and again.json["code"] == "already_claimed"
    winners = {w["validation_number"] for w in drawn["winners"]}
    loser = next(s for s in sales if s["validation_number"] not in winners)
    nothing = setup.admin.post(
        "/v1/raffle-orders/claim", json={"validation_number": loser["validation_number"]}
    )
    assert nothing.status_code == 409 and nothing.json["code"] == "nothing_to_claim"
    unknown = setup.admin.post(
        "/v1/raffle-orders/lookup", json={"validation_number": new_validation_number(9999)}
    )
    assert unknown.status_code == 404
    garbage = setup.admin.post("/v1/raffle-orders/lookup", json={"validation_number": "1234-5678"})
    assert garbage.status_code == 400 and "20 digits" in garbage.json["message"]
    voided = setup.admin.post(
        "/v1/raffle-orders/lookup", json={"validation_number": sales[0]["validation_number"]}
    )
    assert ok(voided)["payment_status"] == "refunded"
    assert {t["state"] for t in voided.json["tickets"]} == {"voided"}


def test_claim_after_the_deadline_is_refused(harness, engine, clock):
    setup, _ = reconciled(harness, engine)
    drawn = ok(draw(setup))
    r = schema.raffle_events
    with engine.begin() as conn:
        conn.execute(sa.update(r).values(claim_deadline=clock() + 1000))
    clock.advance(2000)
    validation = drawn["winners"][0]["validation_number"]
    late = setup.admin.post("/v1/raffle-orders/claim", json={"validation_number": validation})
    assert late.status_code == 409 and late.json["code"] == "claim_expired"
    looked = ok(
        setup.admin.post("/v1/raffle-orders/lookup", json={"validation_number": validation})
    )
    assert {p["claim_status"] for p in looked["prizes"]} == {"unclaimed"}
