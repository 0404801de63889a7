"""Returning a petrol kiosk's seat block is a handshake (SQLite and PostgreSQL): the
admin's return makes the block RETURNING and keeps its seats held; the kiosk's
``seat_block_released`` frees exactly the released seats still unsold; sales pushed
before the release stay SOLD; a lost or revoked kiosk's block can be forced back."""

from __future__ import annotations

import json

import sqlalchemy as sa

from fieldpass.server import schema
from tests.server.test_petrol_events_ingest import _conflicts
from tests.server.test_petrol_pull import _allocate, _Petrol
from tests.server.test_petrol_sale_ingest import _kiosk, sale
from tests.server.test_seats import seat_states


def _release(kiosk, block_id: str, seats, at: int = 9_000):
    payload = {
        "block_id": block_id,
        "seats": [{"sector": "A", "row": r, "seat": n} for r, n in seats],
        "released_at": at,
    }
    return kiosk.device.event("seat_block_released", payload)


def _block(admin, event_id: str, block_id: str) -> dict:
    blocks = admin.get(f"/v1/events/{event_id}/seat-blocks").json["blocks"]
    return next(b for b in blocks if b["id"] == block_id)


def _return(admin, block_id: str, **body):
    return admin.post(f"/v1/seat-blocks/{block_id}/return", json=body or None)


def _audit(engine, action: str) -> list[dict]:
    a = schema.audit_log
    with engine.connect() as conn:
        rows = conn.execute(sa.select(a.c.subject, a.c.details).where(a.c.action == action)).all()
    return [{"subject": r.subject, **(json.loads(r.details) if r.details else {})} for r in rows]


def test_return_makes_the_block_returning_and_its_seats_stay_held(harness):
    admin, event, _gate, kiosk, _pin = _kiosk(harness)
    block = _block(admin, event["id"], _block_id(admin, event["id"]))
    before, cursor = _pull_from(kiosk, "")

    returned = _return(admin, block["id"])
    assert returned.status_code == 200, returned.text
    view = returned.json
    assert (view["status"], view["unsold"], view["returned"]) == ("RETURNING", 5, 0)
    assert all(s["status"] == "ALLOCATED" for s in view["seat_list"])
    states = seat_states(harness.engine)
    assert {states[("A", str(n))] for n in range(1, 6)} == {("ALLOCATED", block["id"])}

    other = _Petrol(harness, admin, event["id"], "kiosk-2")
    clash = admin.post(
        f"/v1/events/{event['id']}/seat-blocks",
        json={"device_id": other.id, "sector": "A", "rows": "A", "seats": "4-5"},
    )
    assert clash.status_code == 409 and clash.json["code"] == "seat_conflict"
    assert [s["held_by"] for s in clash.json["seats"]] == [block["id"]] * 2

    again = _return(admin, block["id"])
    assert again.status_code == 409 and "already RETURNING" in again.json["message"]

    # the kiosk learns it at its next pull: the block as RETURNING, no seat leaves it yet
    after, _ = _pull_from(kiosk, cursor)
    changes = [c for c in after if c["entity"] in ("seat_block", "seat")]
    assert [(c["entity"], c["op"], c["data"]["status"]) for c in changes] == [
        ("seat_block", "upsert", "RETURNING")
    ]
    assert len([c for c in before if c["entity"] == "seat"]) == 5


def _pull_from(kiosk, cursor: str) -> tuple[list[dict], str]:
    changes: list[dict] = []
    while True:
        page = kiosk.pull(cursor).json
        changes += page["changes"]
        cursor = page["cursor"]
        if not page["more"]:
            return changes, cursor


def _block_id(admin, event_id: str) -> str:
    (block,) = admin.get(f"/v1/events/{event_id}/seat-blocks").json["blocks"]
    return block["id"]


def test_release_frees_only_the_unsold_seats_and_sales_before_it_stay_sold(harness):
    admin, event, _gate, kiosk, pin = _kiosk(harness)
    block_id = _block_id(admin, event["id"])
    assert _return(admin, block_id).status_code == 200
    device = kiosk.device
    # offline, before it learnt of the return, the kiosk sold A/1 and A/2; then it pulled
    # the return and released the three seats it had not sold (one push, seq order)
    result = device.push(
        [
            device.event("petrol_sale", sale(pin, [("A", "1"), ("A", "2")])),
            _release(kiosk, block_id, [("A", "3"), ("A", "4"), ("A", "5")]),
        ]
    )
    assert result.status_code == 200, result.text
    assert (result.json["applied"], result.json["conflicts"]) == (2, 0)

    states = seat_states(harness.engine)
    assert states[("A", "1")] == states[("A", "2")] == ("SOLD", block_id)
    assert {states[("A", str(n))] for n in (3, 4, 5)} == {("AVAILABLE", None)}
    view = _block(admin, event["id"], block_id)
    assert (view["status"], view["sold"], view["unsold"], view["returned"]) == (
        "RETURNED",
        2,
        0,
        3,
    )
    assert view["returned_at"] is not None

    # the kiosk hears: block RETURNED, the three released seats gone, the sold ones SOLD
    changes, _ = kiosk.device.pull_all()
    seat_ops = {
        c["data"]["seat"]: (c["op"], c["data"]["status"])
        for c in changes
        if c["entity"] == "seat" and c["data"]["block_id"] == block_id
    }
    assert seat_ops == {
        "1": ("upsert", "SOLD"),
        "2": ("upsert", "SOLD"),
        "3": ("tombstone", "AVAILABLE"),
        "4": ("tombstone", "AVAILABLE"),
        "5": ("tombstone", "AVAILABLE"),
    }
    blocks = [c for c in changes if c["entity"] == "seat_block"]
    assert (blocks[-1]["op"], blocks[-1]["data"]["status"]) == ("tombstone", "RETURNED")

    # the freed seats go to another kiosk; the sold ones do not
    other = _Petrol(harness, admin, event["id"], "kiosk-2")
    assert _allocate(admin, event["id"], other.id, "A", "3-5")["seat_count"] == 3
    sold_clash = admin.post(
        f"/v1/events/{event['id']}/seat-blocks",
        json={"device_id": other.id, "sector": "A", "rows": "A", "seats": "1"},
    )
    assert sold_clash.status_code == 409
    assert sold_clash.json["seats"][0]["reason"] == "sold by block"
    assert _audit(harness.engine, "seats.released")[0]["subject"] == block_id


def test_a_release_listing_a_sold_seat_frees_only_the_unsold_ones(harness):
    admin, event, _gate, kiosk, pin = _kiosk(harness)
    block_id = _block_id(admin, event["id"])
    device = kiosk.device
    assert device.push([device.event("petrol_sale", sale(pin, [("A", "1")]))]).status_code == 200
    assert _return(admin, block_id).status_code == 200
    # a release naming the sold A/1 (should not happen) and leaving out A/5: A/1 stays sold,
    # A/5 stays held by the block (never risk a double sale), and the admin is told
    result = device.push(
        [_release(kiosk, block_id, [("A", "1"), ("A", "2"), ("A", "3"), ("A", "4")])]
    )
    assert result.status_code == 200 and result.json["conflicts"] == 1, result.text
    states = seat_states(harness.engine)
    assert states[("A", "1")] == ("SOLD", block_id)
    assert {states[("A", str(n))] for n in (2, 3, 4)} == {("AVAILABLE", None)}
    assert states[("A", "5")] == ("ALLOCATED", block_id)
    (conflict,) = _conflicts(admin, event["id"])
    problems = conflict["details"]["problems"][0]
    assert "were not unsold in the block: A/A/1" in problems
    assert "neither released nor sold stay held by the block: A/A/5" in problems
    assert _block(admin, event["id"], block_id)["status"] == "RETURNED"


def test_a_sale_after_the_release_of_its_seat_is_a_conflict(harness):
    admin, event, _gate, kiosk, pin = _kiosk(harness)
    block_id = _block_id(admin, event["id"])
    assert _return(admin, block_id).status_code == 200
    device = kiosk.device
    released = [("A", str(n)) for n in range(1, 6)]
    assert device.push([_release(kiosk, block_id, released)]).json["conflicts"] == 0
    late = device.push([device.event("petrol_sale", sale(pin, [("A", "1")]))])
    assert late.status_code == 200 and late.json["conflicts"] == 1, late.text
    assert seat_states(harness.engine)[("A", "1")] == ("AVAILABLE", None)


def test_release_of_an_active_or_foreign_block_is_flagged_and_changes_nothing(harness):
    admin, event, _gate, kiosk, _pin = _kiosk(harness)
    block_id = _block_id(admin, event["id"])
    other = _Petrol(harness, admin, event["id"], "kiosk-2")
    theirs = _allocate(admin, event["id"], other.id, "B")
    device = kiosk.device
    result = device.push(
        [
            _release(kiosk, block_id, [("A", "1")]),  # never asked: block still ACTIVE
            _release(kiosk, theirs["id"], []),  # another kiosk's block
        ]
    )
    assert result.status_code == 200 and result.json["conflicts"] == 2, result.text
    assert _block(admin, event["id"], block_id)["status"] == "ACTIVE"
    assert _block(admin, event["id"], theirs["id"])["status"] == "ACTIVE"
    assert seat_states(harness.engine)[("A", "1")] == ("ALLOCATED", block_id)


def test_force_return_frees_unsold_seats_at_once_with_a_reason_in_the_audit_log(harness):
    admin, event, _gate, kiosk, pin = _kiosk(harness)
    block_id = _block_id(admin, event["id"])
    device = kiosk.device
    assert device.push([device.event("petrol_sale", sale(pin, [("A", "1")]))]).status_code == 200

    no_reason = _return(admin, block_id, force=True)
    assert no_reason.status_code == 400 and "needs a reason" in no_reason.json["message"]
    bad = _return(admin, block_id, force=True, reason="lost", extra=1)
    assert bad.status_code == 400
    assert _block(admin, event["id"], block_id)["status"] == "ACTIVE"

    assert _return(admin, block_id).json["status"] == "RETURNING"  # then the kiosk is lost
    forced = _return(admin, block_id, force=True, reason="kiosk stolen")
    assert forced.status_code == 200, forced.text
    assert (forced.json["status"], forced.json["returned"], forced.json["sold"]) == (
        "RETURNED",
        4,
        1,
    )
    states = seat_states(harness.engine)
    assert states[("A", "1")] == ("SOLD", block_id)
    assert {states[("A", str(n))] for n in range(2, 6)} == {("AVAILABLE", None)}
    (entry,) = _audit(harness.engine, "seats.force_return")
    assert entry == {
        "subject": block_id,
        "returned": 4,
        "was": "RETURNING",
        "reason": "kiosk stolen",
    }
    again = _return(admin, block_id, force=True, reason="again")
    assert again.status_code == 409 and again.json["code"] == "invalid_transition"

    # a release arriving after the force (the kiosk came back) changes nothing
    late = device.push([_release(kiosk, block_id, [("A", "2")])])
    assert late.status_code == 200 and late.json["conflicts"] == 0
    assert _block(admin, event["id"], block_id)["returned"] == 4


def test_a_revoked_kiosks_block_needs_force(harness):
    admin, event, _gate, kiosk, _pin = _kiosk(harness)
    block_id = _block_id(admin, event["id"])
    assert admin.post(f"/v1/devices/{kiosk.id}/revoke").status_code == 200
    refused = _return(admin, block_id)
    assert refused.status_code == 409 and refused.json["code"] == "device_not_usable"
    assert "return it with force" in refused.json["message"]
    assert _block(admin, event["id"], block_id)["status"] == "ACTIVE"
    forced = _return(admin, block_id, force=True, reason="kiosk revoked")
    assert forced.status_code == 200 and forced.json["returned"] == 5
    assert {seat_states(harness.engine)[("A", str(n))] for n in range(1, 6)} == {
        ("AVAILABLE", None)
    }
