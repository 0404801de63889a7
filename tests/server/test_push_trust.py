"""Issue 9 point 4 and 8: the server acts only on what a device can prove.

A made-up or mis-signed signed-ticket scan is stored (the chain stays intact) but never
admits or creates a ticket; events naming an event, gate or raffle outside the device's
assignment are stored, not applied, and raise one ``wrong_assignment`` conflict each;
malformed events (seq <= 0, empty or over-long kinds) are a 400 ``invalid_event`` that
stores nothing, not even a conflict.
"""

from __future__ import annotations

import uuid

import msgspec
import sqlalchemy as sa

from fieldpass.server import schema
from fieldpass.sync import signing
from fieldpass.sync.codes import SignedTicket, encode_signed_ticket
from fieldpass.sync.events import build_event
from fieldpass.sync.payloads import RaffleVoidPayload
from fieldpass.sync.validation_numbers import new_validation_number
from tests.server.raffle_helpers import make_active_raffle

CSV = "barcode,sector,row,seat,holder_name,status\nTK-0001,A,1,1,Ana,\nTK-0002,B,1,2,Ivo,\n"


def _count(engine, table, *where) -> int:
    with engine.connect() as conn:
        query = sa.select(sa.func.count()).select_from(table)
        return conn.execute(query.where(*where) if where else query).scalar_one()


def _setup(harness):
    admin = harness.admin()
    event = admin.event("Final")
    north = admin.gate(event["id"], "North")
    south = admin.gate(event["id"], "South")
    assert admin.import_csv(event["id"], CSV).status_code == 200
    gate = harness.device("north-1")
    gate.approve(admin, event["id"], north["id"])
    return admin, event, north, south, gate


def _tickets(admin, event_id: str, search: str) -> list[dict]:
    found = admin.post(f"/v1/events/{event_id}/tickets/search", json={"search": search})
    assert found.status_code == 200, found.text
    return found.json["tickets"]


def _signed_scan(device, code: str, barcode: str, **extra):
    return device.scan(barcode, signed=True, signed_code=code, code=code[:256], **extra)


def _conflicts(admin, kind: str | None = None) -> list[dict]:
    found = admin.get("/v1/conflicts").json["conflicts"]
    return [c for c in found if kind is None or c["kind"] == kind]


def test_a_made_up_signed_ticket_is_kept_but_admits_and_creates_nothing(harness, engine):
    admin, event, _north, south, gate = _setup(harness)
    forger = signing.generate_private_key()
    made_up = SignedTicket(b="SG-0009", e=event["id"], s="VIP", h="Guest")
    code = encode_signed_ticket(forger, made_up)
    result = gate.push([_signed_scan(gate, code, "SG-0009", ticket=msgspec.to_builtins(made_up))])
    assert result.status_code == 200, result.text
    assert (result.json["accepted_seq"], result.json["conflicts"]) == (1, 1)
    assert _count(engine, schema.ingested_events) == 1  # the chain keeps it
    assert _tickets(admin, event["id"], "SG-0009") == []
    assert _count(engine, schema.admissions) == 0 and _count(engine, schema.scans) == 0
    [conflict] = _conflicts(admin)
    assert (conflict["kind"], conflict["subject"]) == ("unverified_ticket", "SG-0009")
    assert "signature does not verify" in conflict["details"]["problem"]
    report = admin.get(f"/v1/events/{event['id']}/reports/attendance").json
    assert (report["attended"], report["per_gate"]) == (0, [])
    other_gate = harness.device("south-1")
    other_gate.approve(admin, event["id"], south["id"])
    pulled, _ = other_gate.pull_all()
    assert not [c for c in pulled if c["entity"] in ("ticket", "admission") and "SG" in c["key"]]
    # the device's next event still chains onto the stored one
    assert gate.push([gate.scan("TK-0001")]).json["accepted_seq"] == 2


def test_old_payload_without_the_code_creates_nothing_but_counts_a_held_ticket(harness, engine):
    admin, event, _north, _south, gate = _setup(harness)
    claim = {"b": "SG-0010", "e": event["id"], "s": "VIP", "h": "Guest"}
    unknown = gate.scan("SG-0010", signed=True, ticket=claim)
    held = gate.scan("TK-0002", signed=True, ticket={"b": "TK-0002", "e": event["id"]})
    result = gate.push([unknown, held])
    assert result.status_code == 200 and result.json["conflicts"] == 1, result.text
    assert _tickets(admin, event["id"], "SG-0010") == []
    [conflict] = _conflicts(admin, "unverified_ticket")
    assert "older than the server" in conflict["details"]["problem"]
    assert conflict["details"]["seq"] == 1
    report = admin.get(f"/v1/events/{event['id']}/reports/attendance").json
    assert report["attended"] == 1  # TK-0002 is the server's own ticket: a plain entry


def test_a_genuine_code_naming_another_ticket_is_refused(harness, engine):
    admin, event, _north, _south, gate = _setup(harness)
    issued = admin.post(f"/v1/events/{event['id']}/tickets/signed", json={"barcode": "SG-0011"})
    code = issued.json["code"]
    result = gate.push([_signed_scan(gate, code, "TK-0001")])
    assert result.json["conflicts"] == 1
    assert "another ticket" in _conflicts(admin)[0]["details"]["problem"]
    assert _count(engine, schema.admissions) == 0


def test_a_verified_code_the_server_lost_recreates_the_ticket_from_the_code(harness, engine):
    admin, event, _north, _south, gate = _setup(harness)
    issued = admin.post(
        f"/v1/events/{event['id']}/tickets/signed",
        json={"barcode": "SG-0012", "sector": "VIP", "holder": "Late Comer"},
    )
    code = issued.json["code"]
    with engine.begin() as conn:  # the server restored from a backup older than the ticket
        conn.execute(sa.delete(schema.tickets).where(schema.tickets.c.barcode == "SG-0012"))
    claim = {"b": "SG-0012", "e": event["id"], "s": "PITCH", "h": "Someone Else"}
    result = gate.push([_signed_scan(gate, code, "SG-0012", ticket=claim)])
    assert (result.status_code, result.json["conflicts"]) == (200, 0), result.text
    [ticket] = _tickets(admin, event["id"], "SG-0012")
    assert (ticket["sector"], ticket["holder"]) == ("VIP", "Late Comer")  # the code's data
    assert ticket["first_entry_device"] == gate.id


def test_scans_naming_another_organizations_event_never_reach_its_report(harness, engine):
    admin, event, _north, _south, gate = _setup(harness)
    other = harness.admin("other@example.org", org="Other club")
    theirs = other.event("Their match")
    their_gate = other.gate(theirs["id"], "Main")
    assert other.import_csv(theirs["id"], CSV).status_code == 200
    payload = {
        "event_id": theirs["id"],
        "mode": "entry",
        "result": "VALID",
        "code": "TK-0001",
        "code_length": 7,
        "barcode": "TK-0001",
        "gate_id": their_gate["id"],
        "moved": "in",
    }
    events = [
        gate.event("scan", payload),
        gate.event("scan", {**payload, "code": "TK-0002", "barcode": "TK-0002"}),
        gate.event("session_open", {"operator": "mallory", "gate_id": their_gate["id"]}),
    ]
    result = gate.push(events)
    assert result.status_code == 200, result.text
    assert (result.json["accepted_seq"], result.json["conflicts"]) == (3, 3)
    assert _count(engine, schema.ingested_events) == 3
    report = other.get(f"/v1/events/{theirs['id']}/reports/attendance").json
    assert (report["attended"], report["inside_now"], report["per_gate"]) == (0, 0, [])
    assert other.get("/v1/conflicts").json["conflicts"] == []
    own = _conflicts(admin)
    assert [c["kind"] for c in own] == ["wrong_assignment"] * 3
    assert {c["event_id"] for c in own} == {event["id"]}
    assert [c["details"]["seq"] for c in own] == [1, 2, 3]
    assert _count(engine, schema.scan_sessions) == 0
    own_report = admin.get(f"/v1/events/{event['id']}/reports/attendance").json
    assert (own_report["attended"], own_report["per_gate"]) == (0, [])


def test_a_signed_claim_in_another_event_of_the_organization_creates_nothing(harness, engine):
    admin, event, _north, _south, gate = _setup(harness)
    second = admin.event("Cup")
    made_up = SignedTicket(b="SG-0013", e=second["id"], s="VIP", h="Guest")
    code = encode_signed_ticket(signing.generate_private_key(), made_up)
    scan = gate.scan(
        "SG-0013",
        event_id=second["id"],
        gate_id=None,
        signed=True,
        signed_code=code,
        code=code[:256],
        ticket=msgspec.to_builtins(made_up),
    )
    result = gate.push([scan])
    assert result.status_code == 200 and result.json["conflicts"] == 1, result.text
    assert _tickets(admin, second["id"], "SG-0013") == []
    [conflict] = _conflicts(admin)
    assert (
        conflict["kind"] == "wrong_assignment"
        and "not this device's event" in (conflict["details"]["problem"])
    )
    cup_gate = harness.device("cup-gate")
    cup_gate.approve(admin, second["id"])
    pulled, _ = cup_gate.pull_all()
    assert not [c for c in pulled if c["entity"] == "ticket"]


def test_a_scan_at_another_gate_of_its_own_event_is_refused(harness, engine):
    admin, event, _north, south, gate = _setup(harness)
    result = gate.push([gate.scan("TK-0001", gate_id=south["id"])])
    assert result.json["conflicts"] == 1
    assert "not this device's gate" in _conflicts(admin)[0]["details"]["problem"]
    assert _count(engine, schema.admissions) == 0


def test_a_raffle_event_naming_another_raffle_is_refused(harness, engine):
    setup = make_active_raffle(harness, rsu_count=1)
    rsu = setup.rsus[0]
    void = RaffleVoidPayload(
        raffle_id=str(uuid.uuid4()),
        order_id=str(uuid.uuid4()),
        validation_number=new_validation_number(1),
        reason="not mine",
        voided_at=rsu.now(),
    )
    result = rsu.push([rsu.event("raffle_void", msgspec.to_builtins(void))])
    assert result.status_code == 200 and result.json["conflicts"] == 1, result.text
    [conflict] = _conflicts(setup.admin)
    assert conflict["kind"] == "wrong_assignment"
    assert conflict["event_id"] == setup.raffle_id
    assert "not this device's raffle" in conflict["details"]["problem"]


def _raw_event(device, seq: int, kind: str = "scan"):
    payload = {"event_id": device.event_id, "mode": "entry", "result": "UNKNOWN"}
    payload |= {"code": "X-1", "code_length": 3}
    return build_event(
        device.key,
        device_id=device.id,
        seq=seq,
        kind=kind,
        device_time=device.now(),
        payload=payload,
        prev_hash="0" * 64,
    )


def test_malformed_events_are_invalid_event_and_store_no_conflict(harness, engine):
    admin, _event, _north, _south, gate = _setup(harness)
    assert gate.push([gate.scan("TK-0001")]).status_code == 200
    for bad in (
        _raw_event(gate, 0),
        _raw_event(gate, -7),
        _raw_event(gate, 2, kind="k" * 41),
        _raw_event(gate, 2, kind=""),
    ):
        for _ in range(3):  # a device repeating it cannot flood the conflict list
            result = gate.push([bad])
            assert (result.status_code, result.json["code"]) == (400, "invalid_event"), (
                bad.seq,
                bad.kind,
                result.text,
            )
    assert _count(engine, schema.conflicts) == 0
    assert _count(engine, schema.ingested_events) == 1
    assert _conflicts(admin) == []
