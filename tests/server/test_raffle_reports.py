"""The raffle reports of the standard (SQLite and PostgreSQL), over a raffle sold by two
RSUs with a void, a reprint, an override and a claimed prize."""

from __future__ import annotations

import pytest

from tests.server.raffle_helpers import make_active_raffle, ok, transition
from tests.server.test_raffle_draw_service import PRIZES
from tests.server.test_raffle_ingest import (
    close_event,
    push_ok,
    reprint_event,
    sale_event,
    void_event,
)


def report(setup, kind: str) -> dict:
    answer = ok(setup.admin.get(f"/v1/raffles/{setup.raffle_id}/reports/{kind}"))
    assert answer["kind"] == kind and answer["raffle_id"] == setup.raffle_id
    assert all(len(row) == len(answer["columns"]) for row in answer["rows"])
    return answer


def as_dicts(answer: dict) -> list[dict]:
    return [dict(zip(answer["columns"], row, strict=True)) for row in answer["rows"]]


@pytest.fixture
def drawn(harness, engine):
    """rsu-1 sells 1-3 (void), 4-6 (card, reprinted), 7; closes. rsu-2 sells 101, 102
    and never closes: confirmed with an override; drawn; the first winner claims."""
    setup = make_active_raffle(harness, prizes=PRIZES)
    first, second = setup.rsus
    a, a_data = sale_event(setup, first, [1, 2, 3], engine=engine)
    b, b_data = sale_event(setup, first, [4, 5, 6], engine=engine, method="card")
    c, _ = sale_event(setup, first, [7], engine=engine)
    push_ok(
        first,
        [
            a,
            b,
            c,
            void_event(setup, first, a_data, "wrong package"),
            reprint_event(setup, first, b_data),
            close_event(setup, first, 3),
        ],
    )
    d, _ = sale_event(setup, second, [101], engine=engine)
    e, _ = sale_event(setup, second, [102], engine=engine)
    push_ok(second, [d, e])
    transition(setup.admin, setup.raffle_id, "close")
    ok(
        setup.admin.post(
            f"/v1/raffles/{setup.raffle_id}/confirm",
            json={"override_reason": "rsu-2 broke; cash counted"},
        )
    )
    result = ok(setup.admin.post(f"/v1/raffles/{setup.raffle_id}/draw", json={"beacon": "b"}))
    winner = result["winners"][0]["validation_number"]
    ok(setup.admin.post("/v1/raffle-orders/claim", json={"validation_number": winner}))
    return setup, result, {"void": a_data, "card": b_data}


def test_drawing_report(drawn):
    setup, result, _ = drawn
    answer = report(setup, "drawing")
    summary = answer["summary"]
    assert summary["drawn"] and summary["checksum"] == result["checksum"]
    assert summary["seed"] == result["seed"] and summary["beacon"] == "b"
    assert summary["commitment"] == result["commitment"]
    assert summary["sold_count"] == 6 and summary["revenue_cents"] == 1000 + 500 + 500 + 500
    rows = as_dicts(answer)
    assert [r["draw_number"] for r in rows] == [w["draw_number"] for w in result["winners"]]
    claimed = result["winners"][0]["validation_number"]  # the fixture claimed its prizes
    assert rows[0]["validation_number"] == claimed
    for row in rows:
        expected = "claimed" if row["validation_number"] == claimed else "unclaimed"
        assert row["claim_status"] == expected


def test_exceptions_report_has_transitions_voids_override_and_claim(drawn):
    setup, _, sales = drawn
    kinds = [row["kind"] for row in as_dicts(report(setup, "exceptions"))]
    for kind in ("seed_commitment", "transition", "void", "override", "claim"):
        assert kind in kinds, kinds
    void = next(r for r in as_dicts(report(setup, "exceptions")) if r["kind"] == "void")
    assert void["subject"] == sales["void"]["validation_number"]


def test_bearer_report_lists_every_sold_ticket(drawn):
    setup, result, sales = drawn
    rows = as_dicts(report(setup, "bearer"))
    assert [r["draw_number"] for r in rows] == [4, 5, 6, 7, 101, 102]
    assert {r["validation_number"] for r in rows if r["draw_number"] in (4, 5, 6)} == {
        sales["card"]["validation_number"]
    }
    states = {r["draw_number"]: r["state"] for r in rows}
    assert states[result["winners"][0]["draw_number"]] == "claimed"
    assert rows[0]["rsu"] == "rsu-1"


def test_sales_by_rsu_report(drawn):
    setup, _, _ = drawn
    rows = {r["rsu"]: r for r in as_dicts(report(setup, "sales-by-rsu"))}
    first, second = rows["rsu-1"], rows["rsu-2"]
    assert (first["orders"], first["voided_orders"], first["tickets_sold"]) == (3, 1, 4)
    assert (first["tickets_voided"], first["reprints"]) == (3, 1)
    assert (first["cash_cents"], first["card_cents"], first["total_cents"]) == (500, 1000, 1500)
    assert (second["orders"], second["tickets_sold"], second["cash_cents"]) == (2, 2, 1000)


def test_voided_report(drawn):
    setup, _, sales = drawn
    rows = as_dicts(report(setup, "voided"))
    assert [r["draw_number"] for r in rows] == [1, 2, 3]
    assert {r["validation_number"] for r in rows} == {sales["void"]["validation_number"]}
    assert rows[0]["reason"] == "wrong package" and rows[0]["voided_by"] == "rsu-1"
    assert rows[0]["voided_at"]


def test_rsu_events_report(drawn):
    setup, _, _ = drawn
    rows = as_dicts(report(setup, "rsu-events"))
    first = [(r["seq"], r["kind"]) for r in rows if r["rsu"] == "rsu-1"]
    assert first == [
        (1, "raffle_sale"),
        (2, "raffle_sale"),
        (3, "raffle_sale"),
        (4, "raffle_void"),
        (5, "raffle_reprint"),
        (6, "device_close"),
    ]
    assert all(r["received_at"] and r["corrected_time"] for r in rows)
    assert len([r for r in rows if r["rsu"] == "rsu-2"]) == 2


def test_rsu_corruption_report(drawn):
    setup, _, _ = drawn
    (row,) = as_dicts(report(setup, "rsu-corruption"))
    assert row["rsu"] == "rsu-2" and row["reason"] == "rsu-2 broke; cash counted"
    assert row["operator"] == "admin@example.org"
    assert (row["cash_cents"], row["orders"]) == (1000, 2)
    assert "no close event" in row["missing"]


def test_unknown_report_kind(harness):
    setup = make_active_raffle(harness)
    result = setup.admin.get(f"/v1/raffles/{setup.raffle_id}/reports/everything")
    assert result.status_code == 404 and "sales-by-rsu" in result.json["message"]
    before = report(setup, "drawing")
    assert before["rows"] == [] and before["summary"]["drawn"] is False
