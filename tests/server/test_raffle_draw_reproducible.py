"""The draw is reproducible across databases: the same committed seed, beacon and sales
pushed to a server on SQLite and to one on PostgreSQL, in one test, give the same sold
list, revenue, prize values and winners, equal to the pure draw over that list; each
export verifies, and any altered field of it does not."""

from __future__ import annotations

import falcon.testing
import msgspec
import pytest

from fieldpass.server.app import create_app
from fieldpass.server.config import ServerConfig
from fieldpass.server.db import init_db, make_engine
from fieldpass.sync.draw import DrawPrize, run_draw, verify_record
from tests.server.conftest import PII_KEY, _fresh_pg_engine
from tests.server.helpers import FakeClock, Harness
from tests.server.raffle_helpers import make_active_raffle, ok, transition
from tests.server.test_raffle_draw_service import KNOWN_SEED, use_known_seed
from tests.server.test_raffle_ingest import close_event, push_ok, sale_event, void_event

pytestmark = pytest.mark.postgres
PRIZES = (("Jackpot", 1, None, "37.5", 1), ("Hamper", 2, 2_500, None, 3), ("Pen", 3, 100, None, 4))
BEACON = "block 871234 0000000000000000000213d3"


def drawn_on(engine) -> tuple[dict, bytes, list[int], int]:
    """Set up, sell, void, close, confirm and draw one raffle; (draw view, export, the
    sold non-voided numbers, revenue)."""
    clock = FakeClock()
    app = create_app(ServerConfig(clock=clock, pii_key=PII_KEY), engine)
    harness = Harness(falcon.testing.TestClient(app), engine, clock)
    setup = make_active_raffle(harness, prizes=PRIZES)
    use_known_seed(engine, setup.raffle_id)
    first, second = setup.rsus
    sold: set[int] = set()
    revenue = 0
    events, orders = [], 0
    for start in range(1, 100, 3):  # 3s from 1..99, every third order voided
        event, sale = sale_event(setup, first, [start, start + 1, start + 2], engine=engine)
        events.append(event)
        orders += 1
        if orders % 3 == 0:
            events.append(void_event(setup, first, sale))
        else:
            sold |= {start, start + 1, start + 2}
            revenue += 1000
    events.append(close_event(setup, first, orders))
    push_ok(first, events)
    events = []
    picked = [n for n in range(101, 201) if n % 7 and n % 11]  # a list with gaps
    for number in picked:
        event, _ = sale_event(setup, second, [number], engine=engine, method="card")
        events.append(event)
        sold.add(number)
        revenue += 500
    events.append(close_event(setup, second, len(picked)))
    push_ok(second, events)
    transition(setup.admin, setup.raffle_id, "close")
    ok(setup.admin.post(f"/v1/raffles/{setup.raffle_id}/confirm"))
    view = ok(setup.admin.post(f"/v1/raffles/{setup.raffle_id}/draw", json={"beacon": BEACON}))
    exported = setup.admin.get(f"/v1/raffles/{setup.raffle_id}/draw/export")
    assert exported.status_code == 200
    return view, exported.content, sorted(sold), revenue


def test_same_seed_and_sales_give_the_same_winners_on_sqlite_and_postgresql(tmp_path, pg_url):
    sqlite_engine = make_engine(f"sqlite:///{tmp_path / 'server.db'}")
    init_db(sqlite_engine)
    pg_engine = _fresh_pg_engine(pg_url)
    try:
        results = {
            "sqlite": drawn_on(sqlite_engine),
            "postgresql": drawn_on(pg_engine),
        }
    finally:
        sqlite_engine.dispose()
        pg_engine.dispose()

    records = {name: msgspec.json.decode(data) for name, (_, data, _, _) in results.items()}
    lite, pg = records["sqlite"], records["postgresql"]
    for field in ("seed", "commitment", "beacon", "sold_count", "sold_sha256", "sold_ranges",
                  "revenue_cents"):  # fmt: skip
        assert lite[field] == pg[field], field

    def picks(record: dict) -> list[tuple]:
        return [(w["pick"], w["position"], w["draw_number"], w["prize_value_cents"])
                for w in record["winners"]]  # fmt: skip

    assert picks(lite) == picks(pg)
    _, _, sold, revenue = results["sqlite"]
    assert results["postgresql"][2:] == (sold, revenue)
    expected = run_draw(
        raffle_id="x",
        raffle_name="x",
        seed=KNOWN_SEED,
        beacon=BEACON,
        sold_numbers=sold,
        prizes=[
            DrawPrize("a", 1, "Jackpot", "percentage", None, "37.50", 1),
            DrawPrize("b", 2, "Hamper", "fixed", 2_500, None, 3),
            DrawPrize("c", 3, "Pen", "fixed", 100, None, 4),
        ],
        revenue_cents=revenue,
        drawn_at="x",
    )
    assert picks(lite) == [
        (w.pick, w.position, w.draw_number, w.prize_value_cents) for w in expected.winners
    ]
    assert lite["sold_count"] == len(sold) and lite["revenue_cents"] == revenue
    winners = [w["draw_number"] for w in lite["winners"]]
    assert len(winners) == len(set(winners)) == 8 and set(winners) <= set(sold)
    assert lite["winners"][0]["prize_value_cents"] == revenue * 375 // 1000

    for name, (view, data, _, _) in results.items():
        assert verify_record(data) == [], name
        assert view["checksum"] == records[name]["checksum"]
        # any single altered field of the export is caught
        for change in (
            lambda r: r["winners"][-1].update(draw_number=r["winners"][-1]["draw_number"] + 1),
            lambda r: r["winners"][0].update(prize_value_cents=1),
            lambda r: r.update(beacon=r["beacon"] + "x"),
            lambda r: r["sold_ranges"].pop(),
        ):
            altered = msgspec.json.decode(data)
            change(altered)
            assert verify_record(msgspec.json.encode(altered)) != [], name
