"""Enroll -> approve -> token -> push -> pull, and the push rules of docs/api.md."""

from __future__ import annotations

import sqlalchemy as sa

from fieldpass.server import schema
from fieldpass.sync.messages import ClockSample, PullResponse, decode

CSV = "barcode,sector,row,seat,holder_name,status\nTK-0001,A,1,1,Ana,\nTK-0002,B,1,2,Ivo,VALID\n"


def _count(engine, table) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


def _setup(harness):
    admin = harness.admin()
    event = admin.event()
    gate = admin.gate(event["id"])
    assert admin.import_csv(event["id"], CSV).status_code == 200
    device = harness.device()
    device.approve(admin, event["id"], gate["id"])
    return admin, event, gate, device


def test_enroll_approve_status_gives_token_once_and_certificate(harness):
    admin = harness.admin()
    event = admin.event()
    device = harness.device()
    pending = device.poll_status()
    assert pending["status"] == "pending" and pending.get("token") is None
    device.approve(admin, event["id"])
    status = device.status_answer
    assert status["status"] == "approved"
    assert status["event_id"] == event["id"]
    assert status["certificate"] and status["server_public_key"]
    # the token is handed out once: later proofs of the key carry none, the token stays
    token = device.token
    again = device.poll_status()
    assert again["status"] == "approved" and again.get("token") is None and again["secrets"] is None
    assert device.pull().status_code == 200
    # a device that lost its token proves its key and asks for a new one; the old one dies
    device.poll_status(reissue_token=True)
    assert device.token != token
    assert device.pull().status_code == 200
    device.token = token
    assert device.pull().json["code"] == "unauthorized"


def test_push_then_pull_round_trip(harness, engine):
    admin, event, gate, device = _setup(harness)
    changes, cursor = device.pull_all()
    entities = [c["entity"] for c in changes]
    assert entities == ["event", "gate", "ticket", "ticket"]
    assert changes[0]["data"]["ticket_public_key"]
    events = [device.scan("TK-0001"), device.event("session_open", {"operator": "Ana"})]
    result = device.push(events)
    assert result.status_code == 200, result.text
    assert result.json["accepted_seq"] == 2 and result.json["applied"] == 2
    more, _ = device.pull_all(cursor)
    assert [c["entity"] for c in more] == ["admission"]
    admission = more[0]
    assert admission["key"] == f"{device.id}:1"
    assert admission["data"]["gate_name"] == "North"
    assert admission["data"]["direction"] == "in"
    # the pull answer is a valid PullResponse on the wire
    raw = device.pull(cursor).content
    assert isinstance(decode(PullResponse, raw), PullResponse)
    assert _count(engine, schema.scans) == 1


def test_push_is_idempotent(harness, engine):
    _, _, _, device = _setup(harness)
    events = [device.scan("TK-0001"), device.scan("TK-0002")]
    first = device.push(events)
    assert first.json["applied"] == 2
    tables = [schema.ingested_events, schema.scans, schema.admissions, schema.changes]
    before = [_count(engine, t) for t in tables]
    again = device.push(events)
    assert again.status_code == 200
    assert again.json["applied"] == 0 and again.json["duplicates"] == 2
    assert again.json["accepted_seq"] == 2
    assert [_count(engine, t) for t in tables] == before
    # a batch mixing duplicates and new events applies only the new one
    third = device.scan("TK-0002", moved="out")
    mixed = device.push([events[1], third])
    assert mixed.json["applied"] == 1 and mixed.json["duplicates"] == 1


def test_gap_answers_expected_seq(harness, engine):
    _, _, _, device = _setup(harness)
    device.scan("TK-0001")  # seq 1 never pushed
    second = device.scan("TK-0002")
    result = device.push([second])
    assert result.status_code == 409
    assert result.json["code"] == "gap" and result.json["expected_seq"] == 1
    assert _count(engine, schema.ingested_events) == 0


def test_fork_is_refused_and_flagged_once(harness, engine):
    admin, _, _, device = _setup(harness)
    original = device.scan("TK-0001")
    assert device.push([original]).status_code == 200
    device.seq, device.prev_hash = 0, "0" * 64
    forged = device.scan("TK-0002")  # another event under seq 1
    for _ in range(2):
        result = device.push([forged])
        assert result.status_code == 409 and result.json["code"] == "fork"
        assert result.json["seq"] == 1
    conflicts = admin.get("/v1/conflicts").json["conflicts"]
    assert [c["kind"] for c in conflicts] == ["fork"]
    assert conflicts[0]["devices"] == [device.id]
    assert _count(engine, schema.ingested_events) == 1


def test_bad_signature_from_another_key(harness, engine):
    _, _, _, device = _setup(harness)
    from fieldpass.sync import signing

    device.key = signing.generate_private_key()
    result = device.push([device.scan("TK-0001")])
    assert result.status_code == 401 and result.json["code"] == "bad_signature"
    assert _count(engine, schema.ingested_events) == 0


def test_tampered_hash_and_broken_chain(harness):
    _, _, _, device = _setup(harness)
    event = device.scan("TK-0001")
    tampered = event.__class__(**{**{f: getattr(event, f) for f in event.__struct_fields__}})
    body = device.push_body([tampered]).replace(b'"TK-0001"', b'"TK-0002"', 1)
    result = device.client.simulate_post(
        "/v1/sync/push", body=body, headers={**device.headers, "Content-Type": "application/json"}
    )
    assert result.json["code"] == "bad_hash"
    second = device.scan("TK-0002")
    device.prev_hash = "f" * 64
    third = device.scan("TK-0001")
    result = device.push([event, second, third])
    assert result.json["code"] == "broken_chain" and result.json["seq"] == 3


def test_revoked_device_gets_403(harness):
    admin, _, _, device = _setup(harness)
    result = admin.post(f"/v1/devices/{device.id}/revoke")
    assert result.json["status"] == "revoked"
    push = device.push([device.scan("TK-0001")])
    assert push.status_code == 403 and push.json["code"] == "device_revoked"
    assert device.pull().json["code"] == "device_revoked"
    assert device.poll_status()["status"] == "revoked"


def test_unknown_kind_is_upgrade_required_and_nothing_applied(harness, engine):
    _, _, _, device = _setup(harness)
    events = [device.scan("TK-0001"), device.event("lottery_sale", {"n": 1})]
    result = device.push(events)
    assert result.status_code == 426
    assert result.json["code"] == "upgrade_required" and result.json["seq"] == 2
    assert _count(engine, schema.ingested_events) == 0


def test_invalid_payload_is_invalid_event(harness, engine):
    _, _, _, device = _setup(harness)
    bad = device.event("scan", {"event_id": "x", "mode": "sideways"})
    result = device.push([bad])
    assert result.status_code == 400 and result.json["code"] == "invalid_event"
    assert result.json["seq"] == 1
    assert _count(engine, schema.ingested_events) == 0


def test_wrong_device_in_events(harness):
    admin, event, gate, device = _setup(harness)
    other = harness.device("gate-2")
    other.approve(admin, event["id"], gate["id"])
    stolen = other.scan("TK-0001")
    result = device.push([stolen])
    assert result.status_code == 403 and result.json["code"] == "wrong_device"


def test_clock_offset_from_sample_corrects_times(harness, engine, clock):
    _, _, _, device = _setup(harness)
    device.skew = -60_000  # device clock one minute behind
    sample = ClockSample(
        t0=device.now() - 100, t1=clock() - 90, t2=clock() - 80, t3=device.now() - 70
    )
    event = device.scan("TK-0001")
    assert device.push([event], clock=sample).status_code == 200
    with engine.connect() as conn:
        offset = conn.execute(sa.select(schema.devices.c.clock_offset_ms)).scalars().first()
        at = conn.execute(sa.select(schema.admissions.c.at)).scalar_one()
    assert 59_000 < offset < 61_000
    assert abs(at - clock()) < 1_000


def test_heartbeat_push_with_no_events(harness):
    _, _, _, device = _setup(harness)
    result = device.push([], unsynced=7)
    assert result.status_code == 200 and result.json["accepted_seq"] == 0


def test_large_batch_is_stored_whole(harness, engine):
    """A batch big enough for the bulk (COPY) path keeps every event, scan and admission."""
    admin = harness.admin()
    event = admin.event()
    gate = admin.gate(event["id"])
    rows = "".join(f"BULK-{n:04d},A,1,{n},Holder {n},VALID\n" for n in range(60))
    csv = "barcode,sector,row,seat,holder_name,status\n" + rows
    assert admin.import_csv(event["id"], csv).status_code == 200
    device = harness.device()
    device.approve(admin, event["id"], gate["id"])
    events = [device.scan(f"BULK-{n:04d}") for n in range(60)]
    events += [device.scan("BULK-0000")]  # the same ticket again: a rejected re-entry
    result = device.push(events)
    assert result.status_code == 200, result.text
    assert result.json["accepted_seq"] == 61
    assert _count(engine, schema.ingested_events) == 61
    assert _count(engine, schema.scans) == 61
    changes, _ = device.pull_all()
    admissions = [c for c in changes if c["entity"] == "admission"]
    assert len(admissions) == 61 and len({c["key"] for c in admissions}) == 61
    with engine.connect() as conn:
        entered = conn.execute(
            sa.select(sa.func.count())
            .select_from(schema.tickets)
            .where(schema.tickets.c.first_entry_at.is_not(None))
        ).scalar_one()
    assert entered == 60
    assert device.push(events).json["applied"] == 0  # and a repeat changes nothing
    assert _count(engine, schema.scans) == 61
