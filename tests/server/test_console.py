"""The admin console is served as static files with a strict content security policy."""

from __future__ import annotations

import re

import pytest

from tests.server.raffle_helpers import make_active_raffle, ok
from tests.server.test_petrol_refund import redeemed_twice
from tests.server.test_raffle_ingest import push_ok, sale_event
from tests.server.test_raffle_reconcile import sell_and_close


def test_console_page_and_assets(client):
    page = client.simulate_get("/console")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert '<script src="/console/console.js"' in page.text
    script = client.simulate_get("/console/console.js")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert "/v1/auth/login" in script.text
    assert "innerHTML" not in script.text  # data is only ever written as text
    assert client.simulate_get("/console/console.css").status_code == 200


def test_console_serves_nothing_else(client):
    for path in ("/console/../app.py", "/console/__init__.py", "/console/secret.json"):
        result = client.simulate_get(path)
        assert result.status_code == 404, path
        assert result.json["code"] == "not_found"


def test_console_has_the_raffle_and_petrol_sections(client):
    page = client.simulate_get("/console").text
    for element in (
        'id="tab-raffles"',
        'id="raffle-view"',
        'id="raffles"',
        'id="raffle-actions"',
        'id="raffle-allocations"',
        'id="allocate-form"',
        'id="reconciliation"',
        'id="confirm-form"',
        'id="draw-form"',
        'id="draw-winners"',
        'id="draw-export"',
        'id="lookup-form"',
        'id="lookup-claim"',
        'id="report-form"',
        'id="report-csv"',
        'id="approve-target"',
        'id="petrol-section"',
        'id="petrol-per-kiosk"',
        'id="petrol-deeplink"',
    ):
        assert element in page, element
    for action in ("configure", "activate", "commit-seed", "close", "suspend", "resume", "cancel"):
        assert f'data-action="{action}"' in page, action
    assert "<style" not in page and " style=" not in page  # the CSP allows no inline style
    assert "<script>" not in page and " on" + "click=" not in page


def test_every_element_the_script_uses_is_on_the_page(client):
    page = client.simulate_get("/console").text
    script = client.simulate_get("/console/console.js").text
    used = set(re.findall(r'\$\("([a-z0-9-]+)"\)', script))
    assert len(used) > 40
    defined = set(re.findall(r'\bid="([a-z0-9-]+)"', page))
    assert used - defined == set()


def test_console_script_calls_the_raffle_and_petrol_routes(client):
    script = client.simulate_get("/console/console.js").text
    for route in (
        '"/v1/raffles"',
        '"/allocations"',
        '"/reconciliation"',
        '"/confirm"',
        '"/draw"',
        '"/draw/export"',
        '"/reports/"',
        '"/v1/raffle-orders/lookup"',
        '"/v1/raffle-orders/claim"',
        '"/reports/petrol"',
        '"/petrol-deeplink"',
        "raffle_id: id",
    ):
        assert route in script, route
    assert "innerHTML" not in script and "outerHTML" not in script
    assert "insertAdjacentHTML" not in script and "document.write" not in script


def _has(found: dict, *keys: str) -> None:
    missing = [key for key in keys if key not in found]
    assert not missing, f"the console reads {missing}, absent from {sorted(found)}"


def test_raffle_answers_carry_every_field_the_console_reads(harness, engine, clock):
    """The raffle view reads these names; a renamed field would show blanks, so the whole
    lifecycle runs through the API here and each answer is checked for them."""
    setup = make_active_raffle(harness)
    admin, base = setup.admin, f"/v1/raffles/{setup.raffle_id}"
    [listed] = ok(admin.get("/v1/raffles"))["raffles"]
    _has(listed, "id", "name", "state", "max_tickets", "counts")
    raffle = ok(admin.get(base))
    _has(raffle, "suspension_reason", "suspended_from_state", "cancellation_reason")
    _has(raffle, "organization_name", "licence_number", "sales_start", "sales_end", "draw_time")
    _has(raffle, "claim_deadline", "jackpot_seed_cents", "seed_commitment", "committed_at")
    _has(raffle["counts"], "sold", "winner", "claimed", "voided", "allocated", "available")
    _has(raffle["packages"][0], "name", "ticket_count", "price_cents", "is_active")
    _has(raffle["prizes"][0], "position", "name", "prize_type", "percentage", "value_cents")
    _has(raffle["prizes"][0], "winner_count")
    devices = ok(admin.get("/v1/devices"))["devices"]
    assert {d["raffle_id"] for d in devices if d["role"] == "rsu"} == {setup.raffle_id}
    allocation = ok(admin.get(base + "/allocations"))["allocations"][0]
    _has(allocation, "id", "device_id", "device_name", "start_number", "end_number", "size")
    _has(allocation, "sold", "voided", "unsold", "is_active", "allocated_at", "deallocated_at")
    live = ok(admin.get(base + "/reconciliation"))
    assert live["state"] == "active"  # looking at an active raffle changes nothing
    _has(live["totals"], "orders", "revenue_cents", "sold", "voided", "unsold")
    _has(live["totals"], "cash_cents", "card_cents")

    sell_and_close(setup, engine)
    assert ok(admin.get(base))["state"] == "sales_closed"
    view = ok(admin.get(base + "/reconciliation"))
    assert view["state"] == "reconciling"
    _has(view, "rsus", "blocking", "confirmed_at", "confirmed_by", "override_reason")
    _has(view["rsus"][0], "name", "terminal_number", "allocated", "sold", "voided", "unsold")
    _has(view["rsus"][0], "orders", "cash_cents", "card_cents", "accepted_seq", "close_seq")
    _has(view["rsus"][0], "closed", "closed_at", "blockers")
    ok(admin.post(base + "/confirm", json={}))
    drawn = ok(admin.post(base + "/draw", json={"beacon": "tuesday lottery 4 8 15"}))
    draw = ok(admin.get(base + "/draw"))
    assert draw["checksum"] == drawn["checksum"]
    _has(draw, "drawn_at", "commitment", "seed", "beacon", "sold_count", "revenue_cents")
    winner = draw["winners"][0]
    _has(winner, "pick", "position", "prize_name", "prize_value_cents", "draw_number")
    _has(winner, "validation_number", "claim_status", "claimed_at")
    export = admin.get(base + "/draw/export")
    assert export.status_code == 200 and export.json["checksum"] == draw["checksum"]

    order = ok(
        admin.post(
            "/v1/raffle-orders/lookup", json={"validation_number": winner["validation_number"]}
        )
    )
    _has(order, "validation_number", "validation_number_formatted", "raffle_name")
    _has(order, "raffle_state", "package", "ticket_count", "total_amount_cents")
    _has(order, "payment_status", "payment_method", "sold_at", "rsu_name", "source")
    _has(order, "voided_at", "void_reason", "reprint_count", "claim_deadline", "not_applied")
    _has(order["tickets"][0], "draw_number", "state")
    _has(order["prizes"][0], "position", "prize_name", "prize_value_cents", "draw_number")
    _has(order["prizes"][0], "claim_status", "claimed_at")
    claimed = ok(
        admin.post(
            "/v1/raffle-orders/claim", json={"validation_number": winner["validation_number"]}
        )
    )
    assert claimed["claimed"] and "prize_value_cents" in claimed["claimed"][0]
    for kind in (
        "drawing",
        "exceptions",
        "bearer",
        "sales-by-rsu",
        "voided",
        "rsu-events",
        "rsu-corruption",
    ):
        report = ok(admin.get(f"{base}/reports/{kind}"))
        _has(report, "kind", "raffle_id", "columns", "rows")
        assert all(len(row) == len(report["columns"]) for row in report["rows"]), kind


def test_raffle_conflicts_are_listed_under_the_raffle_and_resolvable(harness, engine):
    """The raffle view lists /v1/conflicts?event_id=<raffle id> with a Resolve button."""
    setup = make_active_raffle(harness)
    first = setup.rsus[0]
    event, _ = sale_event(setup, first, [150], engine=engine)  # rsu-1 holds 1-100
    push_ok(first, [event])
    admin = setup.admin
    [conflict] = ok(admin.get(f"/v1/conflicts?event_id={setup.raffle_id}"))["conflicts"]
    _has(conflict, "id", "kind", "subject", "devices", "created_at", "resolved_at", "resolution")
    assert conflict["kind"] == "raffle_out_of_range" and conflict["devices"] == [first.id]
    view = ok(admin.get(f"/v1/raffles/{setup.raffle_id}/reconciliation"))
    assert view["rsus"][0]["open_conflicts"]
    settled = admin.post(f"/v1/conflicts/{conflict['id']}/resolve", json={"resolution": "kept"})
    assert settled.status_code == 200, settled.text
    [after] = ok(admin.get(f"/v1/conflicts?event_id={setup.raffle_id}"))["conflicts"]
    assert after["resolved_at"] and after["resolution"] == "kept"


def test_petrol_answers_carry_every_field_the_console_reads(harness):
    admin, event, _gate, _conflict, _one, _two, _kiosk = redeemed_twice(harness)
    report = ok(admin.get(f"/v1/events/{event['id']}/reports/petrol"))
    _has(report, "total", "cash_to_collect_cents", "reprints", "per_kiosk", "per_method")
    _has(report["total"], "sales", "tickets", "amount_cents")
    _has(report["per_kiosk"][0], "name", "device_id", "sales", "tickets", "amount_cents")
    _has(report["per_kiosk"][0], "cash_cents", "card_cents", "refunded", "refunded_cents")
    _has(report["per_kiosk"][0], "reprints", "cash_to_collect_cents")
    _has(report["per_method"][0], "method", "sales", "tickets", "amount_cents")
    _has(report["open_double_redemptions"][0], "conflict_id", "pin", "devices", "sales")
    _has(report["open_double_redemptions"][0], "created_at")
    link = ok(admin.get(f"/v1/events/{event['id']}/petrol-deeplink"))
    assert link["qr_payload"] and link["url"]


@pytest.mark.parametrize(
    ("name", "content_type"),
    [("console.js", "text/javascript"), ("console.css", "text/css"), ("index.html", "text/html")],
)
def test_console_assets_carry_the_csp(client, name, content_type):
    result = client.simulate_get(f"/console/{name}")
    assert result.status_code == 200
    assert result.headers["content-type"].startswith(content_type)
    policy = result.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "style-src 'self'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert "frame-ancestors 'none'" in policy
    assert result.headers["x-content-type-options"] == "nosniff"
