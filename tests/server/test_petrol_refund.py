"""A PIN redeemed at two kiosks while offline: the admin settles the conflict by refunding
one sale; its tickets are revoked (REFUNDED) and reach the gates as tombstones, the other
sale stays valid (SQLite and PostgreSQL)."""

from __future__ import annotations

import sqlalchemy as sa

from fieldpass.server import schema
from tests.server.test_petrol_pull import _allocate, _Petrol
from tests.server.test_petrol_sale_ingest import _kiosk, sale
from tests.server.test_pins import ANA, create


def _barcodes(payload: dict) -> list[str]:
    return [ticket["barcode"] for ticket in payload["tickets"]]


def redeemed_twice(harness):
    """Two kiosks sell one PIN offline; returns admin, event, gate, conflict, both sales
    and the first kiosk."""
    admin, event, gate, first, pin = _kiosk(harness)
    second = _Petrol(harness, admin, event["id"], "kiosk-2")
    _allocate(admin, event["id"], second.id, "B")
    one = sale(pin, [("A", "1"), ("A", "2")])
    two = sale(pin, [("B", "1"), ("B", "2")])
    two["tickets"] = [
        {**ticket, "barcode": ticket["barcode"].replace("TESTCODE1", "SECONDKS2")}
        for ticket in two["tickets"]
    ]
    assert first.device.push([first.device.event("petrol_sale", one)]).status_code == 200
    result = second.device.push([second.device.event("petrol_sale", two)])
    assert result.status_code == 200 and result.json["conflicts"] == 1, result.text
    conflicts = admin.get(f"/v1/conflicts?event_id={event['id']}").json["conflicts"]
    assert [c["kind"] for c in conflicts] == ["pin_redeemed_twice"]
    return admin, event, gate, conflicts[0], one, two, first.device


def _ticket_status(engine, barcodes: list[str]) -> list[str]:
    t = schema.tickets
    with engine.connect() as conn:
        rows = dict(
            conn.execute(sa.select(t.c.barcode, t.c.status).where(t.c.barcode.in_(barcodes))).all()
        )
    return [rows[b] for b in barcodes]


def test_refund_revokes_one_sale_and_resolves_the_conflict(harness):
    admin, event, gate, conflict, one, two, _kiosk_1 = redeemed_twice(harness)
    gate_device = harness.device("gate-1")
    gate_device.approve(admin, event["id"], gate["id"])
    _, cursor = gate_device.pull_all()
    second_sale = conflict["details"]["second"]["sale_id"]
    assert conflict["details"]["first"]["sale_id"] != second_sale

    result = admin.post(
        f"/v1/conflicts/{conflict['id']}/resolve",
        json={"resolution": "refunded at kiosk-2's station", "refund_sale_id": second_sale},
    )
    assert result.status_code == 200, result.text
    assert result.json["resolved_at"] is not None and result.json["resolved_by"]
    assert "refunded petrol sale" in result.json["resolution"]
    assert sorted(result.json["refund"]["revoked"]) == sorted(_barcodes(two))
    assert _ticket_status(harness.engine, _barcodes(two)) == ["REFUNDED", "REFUNDED"]
    assert _ticket_status(harness.engine, _barcodes(one)) == ["VALID", "VALID"]
    ps = schema.petrol_sales
    with harness.engine.connect() as conn:
        refunded = conn.execute(sa.select(ps.c.id).where(ps.c.refunded_at.is_not(None))).all()
    assert [row.id for row in refunded] == [second_sale]

    changes, _ = gate_device.pull_all(cursor)
    tombstones = {c["key"] for c in changes if c["entity"] == "ticket" and c["op"] == "tombstone"}
    assert tombstones == set(_barcodes(two))

    again = admin.post(
        f"/v1/conflicts/{conflict['id']}/resolve",
        json={"resolution": "again", "refund_sale_id": second_sale},
    )
    assert again.status_code == 409


def test_refund_refuses_a_sale_of_another_pin_or_an_unknown_sale_and_changes_nothing(harness):
    admin, event, _gate, conflict, _one, two, kiosk = redeemed_twice(harness)
    other_pin = create(admin, event["id"], [ANA], pin="54321").json
    other = sale(other_pin, [("A", "3")])
    other["tickets"][0]["barcode"] = "POTHERPIN0001"
    assert kiosk.push([kiosk.event("petrol_sale", other)]).json["conflicts"] == 0
    ps = schema.petrol_sales
    with harness.engine.connect() as conn:
        other_sale = conn.execute(
            sa.select(ps.c.id).where(ps.c.pin_id == other_pin["id"])
        ).scalar_one()
    for sale_id, status in ((999, 404), (other_sale, 400)):
        result = admin.post(
            f"/v1/conflicts/{conflict['id']}/resolve",
            json={"resolution": "x", "refund_sale_id": sale_id},
        )
        assert result.status_code == status, result.text
    listed = admin.get(f"/v1/conflicts?event_id={event['id']}").json["conflicts"]
    assert listed[0]["resolved_at"] is None
    assert _ticket_status(harness.engine, _barcodes(two)) == ["VALID", "VALID"]
    assert _ticket_status(harness.engine, ["POTHERPIN0001"]) == ["VALID"]


def test_only_a_double_redemption_is_settled_with_a_refund(harness):
    admin, event, _gate, kiosk, pin = _kiosk(harness)
    admin.post("/v1/pins/12345/cancel", json={"reason": "x"})
    result = kiosk.device.push([kiosk.device.event("petrol_sale", sale(pin, [("A", "1")]))])
    assert result.json["conflicts"] == 1
    conflict = admin.get(f"/v1/conflicts?event_id={event['id']}").json["conflicts"][0]
    refused = admin.post(
        f"/v1/conflicts/{conflict['id']}/resolve", json={"resolution": "x", "refund_sale_id": 1}
    )
    assert refused.status_code == 400 and "pin_redeemed_twice" in refused.json["message"]
