"""GET /v1/events/{id}/reports/petrol: sales per kiosk and per payment method, cash to
collect, reprints and open double redemptions (SQLite and PostgreSQL)."""

from __future__ import annotations

from tests.server.test_petrol_refund import redeemed_twice
from tests.server.test_petrol_sale_ingest import sale
from tests.server.test_pins import ANA, create


def test_report_counts_sales_methods_cash_reprints_and_open_conflicts(harness):
    admin, event, _gate, conflict, one, two, kiosk = redeemed_twice(harness)  # 2 x 50.00 cash
    card_pin = create(admin, event["id"], [ANA], pin="54321").json
    card = sale(
        card_pin,
        [("A", "3")],
        payment={"method": "card", "amount_cents": 2500, "reference": "POS-1"},
    )
    card["tickets"][0]["barcode"] = "PCARDSALE0001"
    reprint = {
        "barcode": "PCARDSALE0001",
        "reason": "smudged",
        "identity_verified": True,
        "document_type": "id_card",
        "printed_at": 9,
    }
    result = kiosk.push([kiosk.event("petrol_sale", card), kiosk.event("petrol_reprint", reprint)])
    assert result.status_code == 200 and result.json["conflicts"] == 0, result.text

    report = admin.get(f"/v1/events/{event['id']}/reports/petrol")
    assert report.status_code == 200, report.text
    body = report.json
    assert body["total"] == {"sales": 3, "tickets": 5, "amount_cents": 12500}
    methods = {m["method"]: m for m in body["per_method"]}
    assert methods["cash"] == {"method": "cash", "sales": 2, "tickets": 4, "amount_cents": 10000}
    assert methods["card"] == {"method": "card", "sales": 1, "tickets": 1, "amount_cents": 2500}
    kiosks = {k["name"]: k for k in body["per_kiosk"]}
    assert (kiosks["kiosk-1"]["sales"], kiosks["kiosk-1"]["cash_to_collect"]) == (2, "50.00")
    assert (kiosks["kiosk-1"]["card_cents"], kiosks["kiosk-1"]["reprints"]) == (2500, 1)
    assert (kiosks["kiosk-2"]["sales"], kiosks["kiosk-2"]["cash_to_collect_cents"]) == (1, 5000)
    assert body["cash_to_collect_cents"] == 10000 and body["reprints"] == 1
    [open_one] = body["open_double_redemptions"]
    assert open_one["conflict_id"] == conflict["id"] and open_one["pin"] == "12345"
    assert len(open_one["sales"]) == 2

    second = conflict["details"]["second"]["sale_id"]
    settled = admin.post(
        f"/v1/conflicts/{conflict['id']}/resolve",
        json={"resolution": "refunded", "refund_sale_id": second},
    )
    assert settled.status_code == 200, settled.text
    after = admin.get(f"/v1/events/{event['id']}/reports/petrol").json
    assert after["open_double_redemptions"] == []
    assert [r["sale_id"] for r in after["refunds"]] == [second]
    assert after["cash_to_collect_cents"] == 10000  # the kiosk still holds the cash


def test_report_of_an_unknown_or_foreign_event_is_not_found(harness):
    admin = harness.admin()
    other = harness.admin("other@example.org", org="Other")
    event = other.event("Theirs")
    assert admin.get(f"/v1/events/{event['id']}/reports/petrol").status_code == 404
    empty = other.get(f"/v1/events/{event['id']}/reports/petrol").json
    assert empty["total"] == {"sales": 0, "tickets": 0, "amount_cents": 0}
