"""Ingest of ``petrol_sale`` events (SQLite and PostgreSQL): a valid sale creates VALID
tickets in the gate slice, marks the PIN USED and the seats SOLD; a bad payload is
refused as ``invalid_event`` with nothing applied; what does not fit is kept and flagged."""

from __future__ import annotations

import sqlalchemy as sa

from fieldpass.server import schema
from tests.server.test_petrol_pull import _allocate, _Petrol, _setup
from tests.server.test_pins import ANA, JOHN, create


def sale(pin: dict, seats: list[tuple[str, str]], **changes) -> dict:
    names = ["Ana Horvat", "John Smith"]
    payload = {
        "pin_id": pin["id"],
        "pin": pin["pin"],
        "event_id": pin["event_id"],
        "seats": [{"sector": "A", "row": r, "seat": n} for r, n in seats],
        "tickets": [
            {
                "barcode": f"P{'ABCDEFGH'[i]}{pin['pin']}TESTCODE1",
                "holder_name": names[i],
                "sector": "A",
                "row": r,
                "seat": n,
            }
            for i, (r, n) in enumerate(seats)
        ],
        "identity_verified": True,
        "payment": {"method": "cash", "amount_cents": 5000, "tendered_cents": 5000},
        "sold_at": 1,
    }
    payload.update(changes)
    return payload


def state(engine, pin_id: str) -> tuple:
    with engine.connect() as conn:
        p, s, t = schema.petrol_pins, schema.seats, schema.tickets
        return (
            conn.execute(sa.select(p.c.status).where(p.c.id == pin_id)).scalar_one(),
            conn.execute(sa.select(sa.func.count()).where(s.c.status == "SOLD")).scalar_one(),
            conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one(),
            conn.execute(sa.select(sa.func.count()).select_from(schema.petrol_sales)).scalar_one(),
            conn.execute(
                sa.select(sa.func.count()).select_from(schema.ingested_events)
            ).scalar_one(),
        )


def _kiosk(harness):
    admin, event, gate = _setup(harness)
    kiosk = _Petrol(harness, admin, event["id"], "kiosk-1")
    _allocate(admin, event["id"], kiosk.id, "A")
    result = create(admin, event["id"], [ANA, JOHN], pin="12345")
    assert result.status_code == 201, result.text
    return admin, event, gate, kiosk, result.json


def test_a_sale_creates_tickets_for_gates_and_uses_pin_and_seats(harness):
    admin, event, gate, kiosk, pin = _kiosk(harness)
    gate_device = harness.device("gate-1")
    gate_device.approve(admin, event["id"], gate["id"])
    event_ = kiosk.device.event("petrol_sale", sale(pin, [("A", "1"), ("A", "2")]))
    result = kiosk.device.push([event_])
    assert result.status_code == 200, result.text
    assert (result.json["applied"], result.json["conflicts"]) == (1, 0)
    assert state(harness.engine, pin["id"]) == ("USED", 2, 3, 1, 1)
    again = kiosk.device.push([event_])  # a repeated push is acknowledged, not re-applied
    assert again.status_code == 200 and again.json["duplicates"] == 1
    assert state(harness.engine, pin["id"]) == ("USED", 2, 3, 1, 1)

    changes, _ = gate_device.pull_all()
    tickets = {c["key"]: c["data"] for c in changes if c["entity"] == "ticket"}
    barcode = sale(pin, [("A", "1")])["tickets"][0]["barcode"]
    assert tickets[barcode]["holder"] == "Ana Horvat" and tickets[barcode]["status"] == "VALID"
    assert not any(c["entity"] in ("petrol_pin", "seat") for c in changes)
    kiosk_changes, _ = kiosk.device.pull_all()
    sold = [c for c in kiosk_changes if c["entity"] == "seat" and c["data"]["status"] == "SOLD"]
    assert sorted(c["data"]["seat"] for c in sold) == ["1", "2"]
    used = [c for c in kiosk_changes if c["entity"] == "petrol_pin" and c["op"] == "tombstone"]
    assert [c["data"]["status"] for c in used] == ["USED"]


def test_bad_payloads_are_invalid_event_and_nothing_is_applied(harness):
    admin, event, gate, kiosk, pin = _kiosk(harness)
    before = state(harness.engine, pin["id"])
    assert before == ("ACTIVE", 0, 1, 0, 0)
    good = sale(pin, [("A", "1"), ("A", "2")])
    for bad in (
        {"identity_verified": False},
        {"pin": "1234"},
        {"tickets": good["tickets"][:1]},
        {"payment": {"method": "card", "amount_cents": 0}},
        {"seats": "A1"},
    ):
        device = kiosk.device
        seq, prev = device.seq, device.prev_hash
        ok = device.event("petrol_sale", good)
        broken = device.event("petrol_sale", {**good, **bad})
        result = device.push([ok, broken])  # the whole batch is refused
        assert result.status_code == 400, result.text
        assert (result.json["code"], result.json["seq"]) == ("invalid_event", 2)
        assert state(harness.engine, pin["id"]) == before
        device.seq, device.prev_hash = seq, prev

    # a gate cannot record a petrol sale
    gate_device = harness.device("gate-1")
    gate_device.approve(admin, event["id"], gate["id"])
    result = gate_device.push([gate_device.event("petrol_sale", good)])
    assert result.status_code == 400 and result.json["code"] == "invalid_event"
    assert state(harness.engine, pin["id"]) == before


def test_a_sale_that_does_not_fit_is_kept_and_flagged(harness):
    admin, event, gate, kiosk, pin = _kiosk(harness)
    assert admin.post("/v1/pins/12345/cancel", json={"reason": "refund"}).status_code == 200
    # cancelled while the kiosk was offline, and B/1 is not in the kiosk's block
    result = kiosk.device.push(
        [kiosk.device.event("petrol_sale", sale(pin, [("A", "1"), ("B", "1")]))]
    )
    assert result.status_code == 200 and result.json["conflicts"] == 1, result.text
    assert state(harness.engine, pin["id"]) == ("CANCELLED", 1, 3, 1, 1)
    conflicts = admin.get(f"/v1/conflicts?event_id={event['id']}").json["conflicts"]
    assert [c["kind"] for c in conflicts] == ["petrol_sale_problem"]
    problems = conflicts[0]["details"]["problems"]
    assert any("B/1" in p for p in problems) and any("cancelled" in p for p in problems)
