"""Cross-device facts: double entries, first entry by corrected time, pulls, epochs, reports."""

from __future__ import annotations

import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from fieldpass.server import schema
from fieldpass.server.db import new_epoch
from fieldpass.server.services.ingest import Admission, replay_timeline

CSV = "barcode,sector,row,seat,holder_name,status\nTK-0001,A,1,1,Ana,\nTK-0002,B,1,2,Ivo,\n"


def _two_gates(harness, skew_b: int = 0):
    admin = harness.admin()
    event = admin.event()
    north = admin.gate(event["id"], "North")
    south = admin.gate(event["id"], "South")
    admin.import_csv(event["id"], CSV)
    a = harness.device("gate-a")
    a.approve(admin, event["id"], north["id"])
    b = harness.device("gate-b", clock_skew=skew_b)
    b.approve(admin, event["id"], south["id"])
    return admin, event, a, b


def test_double_entry_from_two_devices_is_one_conflict(harness, clock):
    # b's clock runs 10 min fast: its scan happened earlier in real time than a's
    admin, event, a, b = _two_gates(harness, skew_b=10 * 60_000)
    clock.advance(60_000)
    scan_b = b.scan("TK-0001")  # real time T+60s, device time T+660s
    clock.advance(60_000)
    scan_a = a.scan("TK-0001")  # real time T+120s
    assert a.push([scan_a]).json["conflicts"] == 0
    result = b.push([scan_b])  # no clock sample: offset ~ received - sent = -10 min
    assert result.json["conflicts"] == 1
    conflicts = admin.get("/v1/conflicts", params={"event_id": event["id"]}).json["conflicts"]
    assert len(conflicts) == 1
    conflict = conflicts[0]
    assert conflict["kind"] == "double_entry" and conflict["subject"] == "TK-0001"
    assert set(conflict["devices"]) == {a.id, b.id}
    assert conflict["details"]["first"]["device_id"] == b.id
    assert conflict["details"]["second"]["device_id"] == a.id
    ticket = admin.post(f"/v1/events/{event['id']}/tickets/search", json={"search": "TK-0001"})
    assert ticket.json["tickets"][0]["first_entry_device"] == b.id
    # re-pushing changes nothing; a's own admission is pulled by b and vice versa
    assert b.push([scan_b]).json["conflicts"] == 0
    assert len(admin.get("/v1/conflicts").json["conflicts"]) == 1
    pulled, _ = b.pull_all()
    keys = {c["key"] for c in pulled if c["entity"] == "admission"}
    assert keys == {f"{a.id}:1", f"{b.id}:1"}


def test_a_conflict_is_resolved_once_by_its_own_organization(harness, clock):
    admin, event, a, b = _two_gates(harness)
    a.push([a.scan("TK-0001")])
    clock.advance(1_000)
    b.push([b.scan("TK-0001")])
    conflict_id = admin.get("/v1/conflicts").json["conflicts"][0]["id"]
    path = f"/v1/conflicts/{conflict_id}/resolve"
    other = harness.admin("other@example.org", org="Other club")
    assert other.post(path, json={"resolution": "not mine"}).json["code"] == "not_found"
    assert admin.post(path, json={"resolution": ""}).json["code"] == "invalid"
    clock.advance(5_000)
    settled = admin.post(path, json={"resolution": "second entrant was a steward"})
    assert settled.status_code == 200, settled.text
    assert settled.json["resolution"] == "second entrant was a steward"
    assert settled.json["resolved_by"] and settled.json["resolved_at"]
    again = admin.post(path, json={"resolution": "twice"})
    assert (again.status_code, again.json["code"]) == (409, "conflict")
    listed = admin.get("/v1/conflicts").json["conflicts"][0]
    assert listed["resolution"] == "second entrant was a steward"


def test_exit_between_entries_is_not_a_conflict(harness, clock):
    admin, event, a, b = _two_gates(harness)
    a.push([a.scan("TK-0002")])
    clock.advance(1000)
    a.push([a.scan("TK-0002", moved="out")])
    clock.advance(1000)
    assert b.push([b.scan("TK-0002")]).json["conflicts"] == 0
    report = admin.get(f"/v1/events/{event['id']}/reports/attendance").json
    assert report["tickets"] == 2 and report["attended"] == 1 and report["inside_now"] == 1
    per_gate = {g["gate"]: g for g in report["per_gate"]}
    assert per_gate["North"]["entries"] == 1 and per_gate["North"]["exits"] == 1
    assert per_gate["South"]["entries"] == 1
    assert sum(bucket["entries"] for bucket in report["over_time"]) == 2
    assert {s["sector"]: s["attended"] for s in report["per_sector"]} == {"A": 0, "B": 1}


def test_rejected_scans_are_stored_and_counted(harness):
    admin, event, a, _ = _two_gates(harness)
    rejected = a.scan("NOPE-1", moved=None, result="UNKNOWN")
    assert a.push([rejected]).status_code == 200
    report = admin.get(f"/v1/events/{event['id']}/reports/attendance").json
    assert report["per_gate"][0]["rejected"] == 1 and report["attended"] == 0


def test_signed_ticket_unknown_to_server_is_created_from_its_verified_code(harness, engine):
    admin, event, a, b = _two_gates(harness)
    issued = admin.post(
        f"/v1/events/{event['id']}/tickets/signed",
        json={"barcode": "SG-0009", "sector": "VIP", "holder": "Guest"},
    )
    code = issued.json["code"]
    with engine.begin() as conn:  # restored from a backup taken before the ticket was issued
        conn.execute(sa.delete(schema.tickets).where(schema.tickets.c.barcode == "SG-0009"))
    scan = a.scan("SG-0009", signed=True, signed_code=code, code=code[:256])
    assert a.push([scan]).json["conflicts"] == 0
    found = admin.post(f"/v1/events/{event['id']}/tickets/search", json={"search": "SG-0009"}).json
    assert found["tickets"][0]["sector"] == "VIP"
    assert found["tickets"][0]["first_entry_device"] == a.id
    pulled, _ = b.pull_all()
    assert any(c["entity"] == "ticket" and c["key"] == "SG-0009" for c in pulled)


def test_pull_paging_is_resumable(harness):
    admin = harness.admin()
    event = admin.event()
    rows = "".join(f"TK-{i:05d},A,1,{i},Holder {i},\n" for i in range(120))
    admin.import_csv(event["id"], "barcode,sector,row,seat,holder_name,status\n" + rows)
    device = harness.device()
    device.approve(admin, event["id"])
    everything, _ = device.pull_all(limit=1000)
    pages: list[list[dict]] = []
    cursor = ""
    while True:
        page = device.pull(cursor, limit=25).json
        pages.append(page["changes"])
        cursor = page["cursor"]
        if len(pages) == 2:
            device.poll_status(reissue_token=True)  # a new token mid-way: the cursor alone resumes
        if not page["more"]:
            break
    assert [len(p) for p in pages] == [25, 25, 25, 25, 21]
    assert [c["seq"] for p in pages for c in p] == [c["seq"] for c in everything]
    assert device.pull(cursor).json["changes"] == []
    assert device.pull("garbage").json["code"] == "invalid"


def test_epoch_change_restarts_pull_from_scratch(harness, engine):
    admin = harness.admin()
    event = admin.event()
    admin.import_csv(event["id"], CSV)
    device = harness.device()
    device.approve(admin, event["id"])
    everything, cursor = device.pull_all()
    assert device.pull(cursor).json["changes"] == []
    old_epoch = cursor.rsplit(":", 1)[0]
    epoch = new_epoch(engine)
    restarted = device.pull(cursor).json
    assert restarted["epoch"] == epoch != old_epoch
    assert [c["seq"] for c in restarted["changes"]] == [c["seq"] for c in everything]
    assert restarted["cursor"].startswith(epoch + ":")
    assert harness.client.simulate_get("/v1/health").json["epoch"] == epoch


@st.composite
def _timelines(draw):
    devices = ["d1", "d2", "d3"]
    count = draw(st.integers(min_value=0, max_value=12))
    admissions = []
    for seq in range(1, count + 1):
        admissions.append(
            Admission(
                device_id=draw(st.sampled_from(devices)),
                seq=seq,
                direction=draw(st.sampled_from(["in", "in", "out"])),
                at=draw(st.integers(min_value=0, max_value=10_000)),
                gate_id=None,
            )
        )
    return admissions


@settings(max_examples=200, deadline=None)
@given(_timelines(), st.randoms(use_true_random=False))
def test_timeline_replay_is_order_independent(admissions, rnd):
    first, doubles = replay_timeline("ev", "TK-1", admissions)
    shuffled = list(admissions)
    rnd.shuffle(shuffled)
    assert replay_timeline("ev", "TK-1", shuffled) == (first, doubles)
    entries = [a for a in admissions if a.direction == "in"]
    if entries:
        assert first is not None and first.at == min(a.at for a in entries)
    else:
        assert first is None and doubles == []
    for double in doubles:
        assert double.first.at <= double.second.at
        assert double.first.direction == double.second.direction == "in"
