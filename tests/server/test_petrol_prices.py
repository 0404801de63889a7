"""Sector prices (price categories) and the event's VAT rate reach the petrol kiosk in its
pulled ``seat_block`` and ``event`` changes (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from fieldpass.server import schema
from fieldpass.server.services.prices import PriceError, format_vat, parse_cents
from tests.server.test_petrol_pull import _allocate, _Petrol
from tests.server.test_pins import EVENT_START


def _sector(admin, event_id: str, name: str = "A", **fields):
    body = {"name": name, "rows": "A-B", "seats": "1-5", **fields}
    return admin.post(f"/v1/events/{event_id}/sectors", json=body)


def _categories(engine) -> list[tuple[str, int]]:
    pc = schema.price_categories
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.select(pc.c.name, pc.c.price_cents)).all()]


@pytest.mark.parametrize(
    ("text", "cents"), [("25", 2500), ("25.5", 2550), ("25.00", 2500), ("0,99", 99), ("0", 0)]
)
def test_amounts_parse_to_cents(text, cents):
    assert parse_cents(text) == cents


@pytest.mark.parametrize("text", ["", "abc", "-5", "25.001", "1e3", "25.", "99999999"])
def test_bad_amounts_are_refused(text):
    with pytest.raises(PriceError):
        parse_cents(text)


def test_vat_is_text_with_two_decimals():
    assert (format_vat(2500), format_vat(1300), format_vat(0)) == ("25.00", "13.00", "0.00")


def test_kiosk_pulls_price_and_vat_with_its_block_and_the_event(harness):
    admin = harness.admin()
    event = admin.event("Final", starts_at=EVENT_START)
    assert event["vat_percent"] == "25.00"  # the default: Croatian PDV
    result = _sector(admin, event["id"], price="25.00")
    assert result.status_code == 201, result.text
    assert (result.json["price_category"], result.json["price"]) == ("25.00", "25.00")
    kiosk = _Petrol(harness, admin, event["id"], "kiosk-1")
    block = _allocate(admin, event["id"], kiosk.id, "A")
    assert (block["price"], block["vat_percent"]) == ("25.00", "25.00")

    changes, _ = kiosk.device.pull_all()
    blocks = [c["data"] for c in changes if c["entity"] == "seat_block"]
    assert [(b["price_cents"], b["vat_percent"]) for b in blocks] == [(2500, "25.00")]
    events = [c["data"] for c in changes if c["entity"] == "event"]
    assert events[0]["name"] == "Final"
    assert events[0]["starts_at"] == 1_780_077_600_000  # 2026-05-29T18:00:00Z, epoch ms
    assert events[0]["vat_percent"] == "25.00"


def test_vat_is_configurable_per_event(harness):
    admin = harness.admin()
    event = admin.event("Cup", starts_at=EVENT_START, vat_percent="13")
    assert event["vat_percent"] == "13.00"
    for bad in ("abc", "101", "-1"):
        result = admin.post(
            "/v1/events", json={"name": "X", "starts_at": EVENT_START, "vat_percent": bad}
        )
        assert result.status_code == 400 and result.json["code"] == "invalid", result.text
    assert [e["name"] for e in admin.get("/v1/events").json["events"]] == ["Cup"]


def test_a_sector_without_price_sends_none(harness):
    admin = harness.admin()
    event = admin.event("Final", starts_at=EVENT_START)
    assert _sector(admin, event["id"]).status_code == 201
    kiosk = _Petrol(harness, admin, event["id"], "kiosk-1")
    _allocate(admin, event["id"], kiosk.id, "A")
    changes, _ = kiosk.device.pull_all()
    blocks = [c["data"] for c in changes if c["entity"] == "seat_block"]
    assert blocks[0]["price_cents"] is None and blocks[0]["vat_percent"] == "25.00"


def test_named_categories_are_reused_and_never_silently_repriced(harness, engine):
    admin = harness.admin()
    event = admin.event("Final", starts_at=EVENT_START)
    assert _sector(admin, event["id"], "A", price="30", category="Cat 1").status_code == 201
    assert _sector(admin, event["id"], "B", category="Cat 1").status_code == 201
    clash = _sector(admin, event["id"], "C", price="35", category="Cat 1")
    assert clash.status_code == 400 and "costs 30.00" in clash.json["message"]
    unknown = _sector(admin, event["id"], "D", category="Cat 9")
    assert unknown.status_code == 404 and "Cat 9" in unknown.json["message"]
    bad = _sector(admin, event["id"], "E", price="ten")
    assert bad.status_code == 400 and bad.json["code"] == "invalid"
    assert _categories(engine) == [("Cat 1", 3000)]
    sectors = {s["sector"] for s in admin.get(f"/v1/events/{event['id']}/sectors").json["sectors"]}
    assert sectors == {"A", "B"}  # the refused ones created nothing


def test_a_new_price_goes_to_the_kiosks_holding_the_sector(harness):
    admin = harness.admin()
    event = admin.event("Final", starts_at=EVENT_START)
    assert _sector(admin, event["id"], price="25").status_code == 201
    kiosk = _Petrol(harness, admin, event["id"], "kiosk-1")
    _allocate(admin, event["id"], kiosk.id, "A")
    _, cursor = kiosk.device.pull_all()
    assert _sector(admin, event["id"], price="27.50").status_code == 201
    changes, _ = kiosk.device.pull_all(cursor)
    assert [(c["entity"], c["data"]["price_cents"]) for c in changes] == [("seat_block", 2750)]
