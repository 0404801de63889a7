"""Ingest of a kiosk's reservation, reservation-end, sale-with-reservation and reprint
events (SQLite and PostgreSQL): reservations follow RESERVED -> COMPLETED | EXPIRED |
CANCELLED, sales keep the real amount and the documents checked, reprints go to the
print log, and what does not fit is kept and flagged."""

from __future__ import annotations

import sqlalchemy as sa

from fieldpass.server import schema
from tests.server.test_petrol_pull import _allocate, _Petrol
from tests.server.test_petrol_sale_ingest import _kiosk, sale

RES_ID = "5b7e6f0e-0000-4000-8000-000000000001"


def reservation(pin: dict, seats, reservation_id: str = RES_ID, at: int = 1_000) -> dict:
    return {
        "reservation_id": reservation_id,
        "pin_id": pin["id"],
        "event_id": pin["event_id"],
        "seats": [{"sector": "A", "row": r, "seat": n} for r, n in seats],
        "reserved_at": at,
        "expires_at": at + 600_000,
    }


def _reservations(engine) -> dict[str, tuple]:
    r = schema.petrol_reservations
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(r.c.id, r.c.status, r.c.completed_at, r.c.cancellation_reason)
        ).all()
    return {row.id: tuple(row[1:]) for row in rows}


def _conflicts(admin, event_id: str) -> list[dict]:
    return admin.get(f"/v1/conflicts?event_id={event_id}").json["conflicts"]


def test_reservation_then_sale_completes_it_and_keeps_amount_and_documents(harness):
    admin, event, _gate, kiosk, pin = _kiosk(harness)
    device = kiosk.device
    seats = [("A", "1"), ("A", "2")]
    paid = sale(
        pin,
        seats,
        reservation_id=RES_ID,
        documents=["id_card", "passport"],
        payment={"method": "card", "amount_cents": 5000, "reference": "POS-77"},
    )
    result = device.push(
        [
            device.event("petrol_reservation", reservation(pin, seats)),
            device.event("petrol_sale", paid),
        ]
    )
    assert result.status_code == 200, result.text
    assert (result.json["applied"], result.json["conflicts"]) == (2, 0)
    status, completed_at, _ = _reservations(harness.engine)[RES_ID]
    assert status == "COMPLETED" and completed_at is not None
    ps = schema.petrol_sales
    with harness.engine.connect() as conn:
        row = conn.execute(sa.select(ps)).one()
    assert (row.amount_cents, row.payment_method, row.payment_reference) == (5000, "card", "POS-77")
    assert (row.reservation_id, row.documents) == (RES_ID, '["id_card","passport"]')


def test_reservation_end_expires_or_cancels_and_a_second_end_is_flagged(harness):
    admin, event, _gate, kiosk, pin = _kiosk(harness)
    device = kiosk.device
    other = "5b7e6f0e-0000-4000-8000-000000000002"
    end = {"reservation_id": RES_ID, "pin_id": pin["id"], "outcome": "expired", "ended_at": 700_000}
    cancel = {**end, "reservation_id": other, "outcome": "cancelled", "reason": "customer left"}
    result = device.push(
        [
            device.event("petrol_reservation", reservation(pin, [("A", "1")])),
            device.event("petrol_reservation", reservation(pin, [("A", "2")], other)),
            device.event("petrol_reservation_end", end),
            device.event("petrol_reservation_end", cancel),
        ]
    )
    assert result.status_code == 200 and result.json["conflicts"] == 0, result.text
    found = _reservations(harness.engine)
    assert found[RES_ID] == ("EXPIRED", None, None)
    assert found[other] == ("CANCELLED", None, "customer left")

    again = device.push([device.event("petrol_reservation_end", end)])
    assert again.status_code == 200 and again.json["conflicts"] == 1
    assert _reservations(harness.engine)[RES_ID][0] == "EXPIRED"
    conflicts = _conflicts(admin, event["id"])
    assert [c["kind"] for c in conflicts] == ["petrol_sale_problem"]
    assert "already ended (EXPIRED)" in conflicts[0]["details"]["problems"][0]


def test_sale_naming_an_unreported_reservation_records_it_completed(harness):
    admin, event, _gate, kiosk, pin = _kiosk(harness)
    device = kiosk.device
    result = device.push(
        [device.event("petrol_sale", sale(pin, [("A", "1"), ("A", "2")], reservation_id=RES_ID))]
    )
    assert result.status_code == 200 and result.json["conflicts"] == 0, result.text
    assert _reservations(harness.engine)[RES_ID][0] == "COMPLETED"


def test_reprint_goes_to_the_print_log_and_a_stranger_barcode_is_flagged(harness):
    admin, event, _gate, kiosk, pin = _kiosk(harness)
    device = kiosk.device
    paid = sale(pin, [("A", "1"), ("A", "2")])
    barcode = paid["tickets"][0]["barcode"]
    reprint = {
        "barcode": barcode,
        "reason": "paper jam",
        "identity_verified": True,
        "document_type": "passport",
        "printed_at": 5_000,
        "operator": "Marko",
    }
    result = device.push(
        [
            device.event("petrol_sale", paid),
            device.event("petrol_reprint", reprint),
            device.event("petrol_reprint", {**reprint, "barcode": "TK-1"}),  # not this kiosk's
        ]
    )
    assert result.status_code == 200, result.text
    assert (result.json["applied"], result.json["conflicts"]) == (3, 1)
    pl = schema.print_logs
    with harness.engine.connect() as conn:
        logs = conn.execute(sa.select(pl)).all()
        kept = conn.execute(
            sa.select(sa.func.count()).select_from(schema.ingested_events)
        ).scalar_one()
    assert kept == 3  # the refused reprint's event is kept
    assert [
        (
            log.subject_kind,
            log.subject_id,
            log.reason,
            log.identity_verified,
            log.verification_document_type,
            log.print_location,
            log.agent_id,
        )
        for log in logs
    ] == [("ticket", barcode, "paper jam", True, "passport", "kiosk-1", "Marko")]
    problems = _conflicts(admin, event["id"])[0]["details"]["problems"]
    assert "never sold" in problems[0]


def test_a_gate_cannot_push_petrol_reservations_or_reprints(harness):
    admin, event, gate, _kiosk_, pin = _kiosk(harness)
    gate_device = harness.device("gate-1")
    gate_device.approve(admin, event["id"], gate["id"])
    result = gate_device.push(
        [gate_device.event("petrol_reservation", reservation(pin, [("A", "1")]))]
    )
    assert result.status_code == 400 and result.json["code"] == "invalid_event", result.text
    assert _reservations(harness.engine) == {}


def test_a_reservation_id_reused_by_another_kiosk_is_flagged_not_overwritten(harness):
    admin, event, _gate, kiosk, pin = _kiosk(harness)
    second = _Petrol(harness, admin, event["id"], "kiosk-2")
    _allocate(admin, event["id"], second.id, "B")
    first = kiosk.device.push(
        [kiosk.device.event("petrol_reservation", reservation(pin, [("A", "1")]))]
    )
    assert first.status_code == 200
    result = second.device.push(
        [second.device.event("petrol_reservation", reservation(pin, [("B", "1")]))]
    )
    assert result.status_code == 200 and result.json["conflicts"] == 1, result.text
    r = schema.petrol_reservations
    with harness.engine.connect() as conn:
        owner = conn.execute(sa.select(r.c.device_id).where(r.c.id == RES_ID)).scalar_one()
    assert owner == kiosk.id


def test_a_reservation_in_another_organizations_event_is_flagged_not_stored(harness):
    admin, event, _gate, kiosk, pin = _kiosk(harness)
    other = harness.admin("other@example.org", org="Other")
    theirs = other.event("Theirs")
    foreign = {**reservation(pin, [("A", "1")]), "event_id": theirs["id"]}
    result = kiosk.device.push([kiosk.device.event("petrol_reservation", foreign)])
    assert result.status_code == 200 and result.json["conflicts"] == 1, result.text
    assert _reservations(harness.engine) == {}
    [conflict] = _conflicts(admin, event["id"])
    assert conflict["kind"] == "wrong_assignment"
    assert "not this device's event" in conflict["details"]["problem"]
    assert other.get("/v1/conflicts").json["conflicts"] == []


def test_a_sale_completing_an_expired_reservation_is_kept_completed_and_flagged(harness):
    admin, event, _gate, kiosk, pin = _kiosk(harness)
    device = kiosk.device
    seats = [("A", "1"), ("A", "2")]
    end = {"reservation_id": RES_ID, "pin_id": pin["id"], "outcome": "expired", "ended_at": 9}
    result = device.push(
        [
            device.event("petrol_reservation", reservation(pin, seats)),
            device.event("petrol_reservation_end", end),
            device.event("petrol_sale", sale(pin, seats, reservation_id=RES_ID)),
        ]
    )
    assert result.status_code == 200 and result.json["conflicts"] == 1, result.text
    assert _reservations(harness.engine)[RES_ID][0] == "COMPLETED"  # the customer paid
    problems = _conflicts(admin, event["id"])[0]["details"]["problems"]
    assert "which had ended (EXPIRED)" in problems[0]
    ps = schema.petrol_sales
    with harness.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(ps)).scalar_one() == 1
