"""Sectors with seats, and seat blocks for petrol kiosks: allocation never overlaps another
active block or a ticketed seat, unsold seats go back, organizations stay apart."""

from __future__ import annotations

import threading
import uuid

import pytest
import sqlalchemy as sa

from fieldpass.server import schema
from fieldpass.server.errors import ApiError
from fieldpass.server.services import seats
from fieldpass.sync import signing
from fieldpass.sync.versions import PROTOCOL_VERSION, SCHEMA_VERSION


def enroll(harness, role: str = "petrol", name: str = "kiosk-1") -> dict:
    result = harness.client.simulate_post(
        "/v1/enroll",
        json={
            "protocol": PROTOCOL_VERSION,
            "schema": SCHEMA_VERSION,
            "role": role,
            "name": name,
            "public_key": signing.public_key_text(signing.generate_private_key()),
        },
    )
    assert result.status_code == 201, result.text
    return result.json


def kiosk(harness, admin, event_id: str, name: str = "kiosk-1", role: str = "petrol") -> str:
    enrolled = enroll(harness, role, name)
    approved = admin.post(
        "/v1/devices/approve", json={"code": enrolled["code"], "event_id": event_id}
    )
    assert approved.status_code == 200, approved.text
    return enrolled["device_id"]


def add_sector(admin, event_id: str, name: str = "A", rows: str = "A-C", seat_range: str = "1-10"):
    return admin.post(
        f"/v1/events/{event_id}/sectors", json={"name": name, "rows": rows, "seats": seat_range}
    )


def allocate(admin, event_id: str, device_id: str, **fields):
    body = {"device_id": device_id, "sector": "A", "rows": "A", **fields}
    return admin.post(f"/v1/events/{event_id}/seat-blocks", json=body)


def seat_states(engine) -> dict[tuple[str, str], tuple[str, str | None]]:
    s = schema.seats
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(s.c.row_identifier, s.c.seat_number, s.c.status, s.c.block_id)
        ).all()
    return {(r.row_identifier, r.seat_number): (r.status, r.block_id) for r in rows}


@pytest.fixture
def setup(harness):
    admin = harness.admin()
    event = admin.event()
    assert add_sector(admin, event["id"]).status_code == 201
    return admin, event["id"], kiosk(harness, admin, event["id"])


def test_add_sector_creates_rows_times_seats_and_is_idempotent(harness, engine):
    admin = harness.admin()
    event = admin.event()
    first = add_sector(admin, event["id"], "North", "A-Z", "1-30")
    assert first.status_code == 201, first.text
    assert first.json["created"] == 26 * 30 and first.json["total"] == 780
    more = add_sector(admin, event["id"], "North", "Z", "25-35")
    assert more.json["created"] == 5 and more.json["existing"] == 6 and more.json["total"] == 785
    listed = admin.get(f"/v1/events/{event['id']}/sectors").json["sectors"]
    assert listed == [
        {
            "sector": "North",
            "seats": 785,
            "available": 785,
            "allocated": 0,
            "sold": 0,
            "price": None,
        }
    ]
    for rows, seat_range, words in (
        ("C-A", "1-5", "backwards"),
        ("A", "0-3", "1 to 999"),
        ("A-Z", "1-999", "more than"),
        ("A;DROP", "1", "not a range"),
    ):
        bad = add_sector(admin, event["id"], "X", rows, seat_range)
        assert bad.status_code == 400 and words in bad.json["message"], bad.text
    assert len(seat_states(engine)) == 785


def test_allocate_and_list_blocks(setup, engine):
    admin, event_id, device_id = setup
    result = allocate(admin, event_id, device_id, rows="A-B", seats="1-5")
    assert result.status_code == 201, result.text
    block = result.json
    assert block["seat_count"] == 10 and block["status"] == "ACTIVE"
    assert block["rows"] == "A-B" and block["seats"] == "1-5" and block["device_id"] == device_id
    assert block["seat_list"][:2] == [
        {"row": "A", "seat": "1", "status": "ALLOCATED"},
        {"row": "A", "seat": "2", "status": "ALLOCATED"},
    ]
    whole_row = allocate(admin, event_id, device_id, rows="C")  # no seats: the whole row
    assert whole_row.json["seat_count"] == 10 and whole_row.json["seats"] == "all"
    listed = admin.get(f"/v1/events/{event_id}/seat-blocks").json["blocks"]
    assert {b["id"] for b in listed} == {block["id"], whole_row.json["id"]}
    first = next(b for b in listed if b["id"] == block["id"])
    assert first["unsold"] == 10 and first["sold"] == 0 and "seat_list" not in first
    states = seat_states(engine)
    assert states[("A", "3")] == ("ALLOCATED", block["id"])
    assert states[("A", "6")] == ("AVAILABLE", None)


def test_overlapping_block_is_refused_naming_the_seats(harness, setup, engine):
    admin, event_id, device_id = setup
    other = kiosk(harness, admin, event_id, "kiosk-2")
    first = allocate(admin, event_id, device_id, rows="A", seats="1-5").json
    before = seat_states(engine)
    clash = allocate(admin, event_id, other, rows="A-B", seats="4-6")
    assert clash.status_code == 409 and clash.json["code"] == "seat_conflict"
    assert "2 seat(s) are not free" in clash.json["message"]
    assert "A/A/4 (in block)" in clash.json["message"] and "A/A/5" in clash.json["message"]
    assert [s["seat"] for s in clash.json["seats"]] == ["A/A/4", "A/A/5"]
    assert clash.json["seats"][0]["held_by"] == first["id"]
    assert seat_states(engine) == before
    assert len(admin.get(f"/v1/events/{event_id}/seat-blocks").json["blocks"]) == 1


def test_seats_with_a_valid_ticket_are_refused(setup, engine):
    admin, event_id, device_id = setup
    imported = admin.import_csv(
        event_id,
        "barcode,sector,row,seat,holder_name,status\n"
        "TK-0001,A,A,2,Ana,\n"
        "TK-0002,A,A,3,Ivo,REFUNDED\n"
        "TK-0003,B,A,4,Other sector,\n",
    )
    assert imported.status_code == 200, imported.text
    clash = allocate(admin, event_id, device_id, rows="A", seats="1-5")
    assert clash.status_code == 409
    assert [(s["seat"], s["reason"], s["held_by"]) for s in clash.json["seats"]] == [
        ("A/A/2", "has ticket", "TK-0001")
    ]
    assert allocate(admin, event_id, device_id, rows="A", seats="3-5").status_code == 201


def test_seats_that_do_not_exist_and_bad_devices_are_refused(harness, setup):
    admin, event_id, device_id = setup
    missing = allocate(admin, event_id, device_id, rows="A", seats="9-12")
    assert missing.status_code == 400 and "A/A/11" in missing.json["message"]
    no_row = allocate(admin, event_id, device_id, rows="D")
    assert no_row.status_code == 400 and "no seats in row(s) D" in no_row.json["message"]
    no_sector = allocate(admin, event_id, device_id, sector="Z")
    assert no_sector.status_code == 404 and "sector add" in no_sector.json["message"]
    gate = kiosk(harness, admin, event_id, "gate-1", role="gate")
    wrong_role = allocate(admin, event_id, gate)
    assert wrong_role.status_code == 400 and "not a petrol kiosk" in wrong_role.json["message"]
    pending = enroll(harness, name="kiosk-pending")["device_id"]
    assert allocate(admin, event_id, pending).status_code == 404  # not yet in the org
    admin.post(f"/v1/devices/{device_id}/revoke")
    revoked = allocate(admin, event_id, device_id)
    assert revoked.status_code == 409 and revoked.json["code"] == "device_not_usable"
    assert allocate(admin, event_id, str(uuid.uuid4())).status_code == 404


def test_return_frees_unsold_seats_only(harness, setup, engine):
    admin, event_id, device_id = setup
    block = allocate(admin, event_id, device_id, rows="A", seats="1-5").json
    with engine.begin() as conn:  # what the petrol sale ingest will do
        unknown = seats.mark_seats_sold(
            conn, block["id"], [("A", "1"), ("A", "2"), ("B", "1")], now=harness.clock()
        )
    assert unknown == [("B", "1")]
    returned = admin.post(
        f"/v1/seat-blocks/{block['id']}/return", json={"force": True, "reason": "kiosk lost"}
    )
    assert returned.status_code == 200, returned.text
    view = returned.json
    assert (view["status"], view["returned"], view["sold"], view["unsold"]) == ("RETURNED", 3, 2, 0)
    assert [(s["row"], s["seat"], s["status"]) for s in view["seat_list"]] == [
        ("A", "1", "SOLD"),
        ("A", "2", "SOLD"),
    ]
    states = seat_states(engine)
    assert states[("A", "3")] == ("AVAILABLE", None)
    assert states[("A", "1")] == ("SOLD", block["id"])
    again = admin.post(
        f"/v1/seat-blocks/{block['id']}/return", json={"force": True, "reason": "again"}
    )
    assert again.status_code == 409 and again.json["code"] == "invalid_transition"
    # the returned seats can go to another kiosk; the sold ones cannot
    other = kiosk(harness, admin, event_id, "kiosk-2")
    sold_clash = allocate(admin, event_id, other, rows="A", seats="1-3")
    assert [s["reason"] for s in sold_clash.json["seats"]] == ["sold by block"] * 2
    assert allocate(admin, event_id, other, rows="A", seats="3-5").status_code == 201
    listed = admin.get(f"/v1/events/{event_id}/sectors").json["sectors"][0]
    assert (listed["sold"], listed["allocated"]) == (2, 3)


def test_organizations_cannot_see_or_touch_each_others_seats(harness, setup):
    admin, event_id, device_id = setup
    block = allocate(admin, event_id, device_id).json
    b = harness.admin("b@example.org", org="B")
    assert b.get(f"/v1/events/{event_id}/seat-blocks").status_code == 404
    assert b.get(f"/v1/events/{event_id}/sectors").status_code == 404
    assert add_sector(b, event_id).status_code == 404
    assert allocate(b, event_id, device_id).status_code == 404
    assert b.post(f"/v1/seat-blocks/{block['id']}/return").status_code == 404
    b_event = b.event("B final")
    add_sector(b, b_event["id"])
    assert allocate(b, b_event["id"], device_id).status_code == 404  # A's kiosk
    assert admin.get(f"/v1/events/{event_id}/seat-blocks").json["blocks"][0]["status"] == "ACTIVE"


def test_concurrent_allocations_never_share_a_seat(harness, setup, engine):
    admin, event_id, device_id = setup
    org_id = admin.get(f"/v1/events/{event_id}").json["organization_id"]
    devices = [device_id] + [kiosk(harness, admin, event_id, f"kiosk-{n}") for n in range(2, 7)]
    barrier = threading.Barrier(len(devices))
    results: list = [None] * len(devices)

    def run(index: int) -> None:
        barrier.wait()
        body = seats.BlockCreate(
            device_id=devices[index], sector="A", rows="A-B", seats=f"{index + 1}-{index + 3}"
        )
        try:
            results[index] = seats.allocate_block(
                engine,
                org_id,
                "tester",
                event_id,
                body,
                now=harness.clock(),
                new_id=lambda: str(uuid.uuid4()),
            )
        except Exception as exc:  # asserted on below
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(devices))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    won = [r for r in results if isinstance(r, dict)]
    lost = [r for r in results if not isinstance(r, dict)]
    assert won and all(isinstance(r, ApiError) and r.code == "seat_conflict" for r in lost), lost
    held = [(s["row"], s["seat"]) for block in won for s in block["seat_list"]]
    assert len(held) == len(set(held))
    states = seat_states(engine)
    allocated = {key for key, (status, _) in states.items() if status == "ALLOCATED"}
    assert allocated == set(held)
