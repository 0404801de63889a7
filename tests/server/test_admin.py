"""Admin API: login, organization scoping, ticket import/revoke/sign/search, devices."""

from __future__ import annotations

import sqlalchemy as sa

from fieldpass.server import schema
from fieldpass.sync import signing
from fieldpass.sync.answers import key_fingerprint
from fieldpass.sync.codes import parse_code

CSV = (
    "barcode,sector,row,seat,holder_name,status\n"
    "TK-0001,A,1,1,Ana Horvat,\n"
    "TK-0002,A,1,2,Ivo Ivić,VALID\n"
    "TK-0003,B,2,1,Maja,CANCELLED\n"
)


def _count(engine, table) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


def test_login_rejects_wrong_password_and_unknown_user(harness, client):
    harness.admin()
    bad = client.simulate_post(
        "/v1/auth/login", json={"email": "admin@example.org", "password": "wrong pass"}
    )
    assert bad.status_code == 401 and bad.json["code"] == "unauthorized"
    nobody = client.simulate_post(
        "/v1/auth/login", json={"email": "no@example.org", "password": "correct horse"}
    )
    assert nobody.status_code == 401


def test_login_answers_token_and_user(harness, client):
    admin = harness.admin("Boss@Example.org", org="Club")
    me = client.simulate_post(
        "/v1/auth/login", json={"email": "boss@example.org", "password": "correct horse"}
    ).json
    assert me["user"]["email"] == "boss@example.org"
    assert me["expires_at"].endswith("+00:00")
    assert admin.get("/v1/events").json == {"events": []}


def test_organizations_cannot_see_or_touch_each_other(harness, engine):
    a = harness.admin("a@example.org", org="A")
    b = harness.admin("b@example.org", org="B")
    event = a.event("A final")
    gate = a.gate(event["id"])
    assert a.import_csv(event["id"], CSV).status_code == 200
    device = harness.device()
    device.approve(a, event["id"], gate["id"])
    device.push([device.event("session_open", {})])
    # B sees nothing of A's
    assert b.get("/v1/events").json["events"] == []
    assert b.get(f"/v1/events/{event['id']}").status_code == 404
    assert b.get(f"/v1/events/{event['id']}/gates").status_code == 404
    assert b.get(f"/v1/events/{event['id']}/tickets").status_code == 404
    assert b.get(f"/v1/events/{event['id']}/reports/attendance").status_code == 404
    assert device.id not in [d["id"] for d in b.get("/v1/devices").json["devices"]]
    # and cannot change it
    before = _count(engine, schema.changes)
    assert b.import_csv(event["id"], CSV).status_code == 404
    assert b.post(f"/v1/events/{event['id']}/gates", json={"name": "X"}).status_code == 404
    revoke = b.post(f"/v1/events/{event['id']}/tickets/TK-0001/revoke", json={"reason": "x"})
    assert revoke.status_code == 404
    assert b.post(f"/v1/devices/{device.id}/revoke").status_code == 404
    b_event = b.event("B final")
    approve = b.post("/v1/devices/approve", json={"code": device.code, "event_id": event["id"]})
    assert approve.status_code == 404
    approve = b.post("/v1/devices/approve", json={"code": device.code, "event_id": b_event["id"]})
    assert approve.status_code == 404  # no longer pending
    assert _count(engine, schema.changes) == before + 1  # only B's own event
    assert b.get("/v1/conflicts").json["conflicts"] == []
    assert a.get(f"/v1/events/{event['id']}").json["ticket_count"] == 3


def test_csv_import_emits_a_change_per_row(harness, engine):
    admin = harness.admin()
    event = admin.event()
    result = admin.import_csv(event["id"], CSV)
    assert result.json == {"imported": 3, "updated": 0, "total": 3}
    device = harness.device()
    device.approve(admin, event["id"])
    changes, _ = device.pull_all()
    tickets = {c["key"]: c for c in changes if c["entity"] == "ticket"}
    assert tickets["TK-0002"]["data"]["holder"] == "Ivo Ivić"
    assert tickets["TK-0002"]["op"] == "upsert"
    assert tickets["TK-0003"]["op"] == "tombstone"
    assert tickets["TK-0003"]["data"]["status"] == "CANCELLED"
    # re-import updates instead of duplicating
    again = admin.import_csv(event["id"], CSV.replace("Maja", "Maja K"))
    assert again.json == {"imported": 0, "updated": 3, "total": 3}
    assert _count(engine, schema.tickets) == 3
    assert {s for s in _sectors(engine)} == {"A", "B"}


def _sectors(engine):
    with engine.connect() as conn:
        return conn.execute(sa.select(schema.sectors.c.code)).scalars().all()


def test_csv_with_bad_rows_imports_nothing(harness, engine):
    admin = harness.admin()
    event = admin.event()
    before = (_count(engine, schema.tickets), _count(engine, schema.changes))
    bad = (
        "barcode,sector,row,seat,holder_name,status\n"
        "TK-0001,A,1,1,Ana,\n"
        "TK-0001,A,1,2,Dup,\n"
        "x y,A,1,3,Space,\n"
        "TK-0004,,1,4,No sector,\n"
        "TK-0005,A,1,5,Odd,MAYBE\n"
        "TK-0006,A,1\n"
        "'; DROP TABLE tickets; --,A,1,1,Bobby,\n"
    )
    result = admin.import_csv(event["id"], bad)
    assert result.status_code == 422
    assert result.json["code"] == "invalid_rows"
    lines = [e["line"] for e in result.json["errors"]]
    assert lines == [3, 4, 5, 6, 7, 8]
    messages = " | ".join(e["message"] for e in result.json["errors"])
    assert "duplicate barcode" in messages and "sector is required" in messages
    assert "unknown status" in messages and "expected 6 fields" in messages
    assert (_count(engine, schema.tickets), _count(engine, schema.changes)) == before


def test_csv_bad_header_and_encoding(harness):
    admin = harness.admin()
    event = admin.event()
    header = admin.import_csv(event["id"], "code,sector\nTK-1,A\n")
    assert header.status_code == 422 and "unknown column" in header.json["errors"][0]["message"]
    latin = admin.post(
        f"/v1/events/{event['id']}/tickets/import",
        body="barcode,sector\nTK-0001,Ä\n".encode("latin-1"),
    )
    assert latin.status_code == 400 and "UTF-8" in latin.json["message"]


def test_import_larger_than_limit_is_refused(harness):
    admin = harness.admin()
    event = admin.event()
    body = "barcode,sector\n" + "".join(f"TK-{i:07d},A\n" for i in range(90_000))
    result = admin.import_csv(event["id"], body)  # > 1 MiB test limit
    assert result.status_code == 413 and result.json["code"] == "too_large"


def test_revoke_emits_tombstone_and_audit(harness, engine):
    admin = harness.admin()
    event = admin.event()
    admin.import_csv(event["id"], CSV)
    device = harness.device()
    device.approve(admin, event["id"])
    _, cursor = device.pull_all()
    result = admin.post(
        f"/v1/events/{event['id']}/tickets/TK-0001/revoke",
        json={"reason": "refunded at box office", "status": "REFUNDED"},
    )
    assert result.status_code == 200, result.text
    assert result.json["status"] == "REFUNDED"
    changes, _ = device.pull_all(cursor)
    assert [(c["entity"], c["key"], c["op"]) for c in changes] == [
        ("ticket", "TK-0001", "tombstone")
    ]
    assert changes[0]["data"]["status_reason"] == "refunded at box office"
    with engine.connect() as conn:
        actions = conn.execute(sa.select(schema.audit_log.c.action)).scalars().all()
    assert "ticket.revoke" in actions
    missing = admin.post(f"/v1/events/{event['id']}/tickets/NOPE-1/revoke", json={"reason": "x"})
    assert missing.status_code == 404
    bad_status = admin.post(
        f"/v1/events/{event['id']}/tickets/TK-0002/revoke", json={"reason": "x", "status": "X"}
    )
    assert bad_status.status_code == 400


def test_signed_ticket_verifies_with_event_key_and_is_stored(harness):
    admin = harness.admin()
    event = admin.event()
    result = admin.post(
        f"/v1/events/{event['id']}/tickets/signed",
        json={"barcode": "SG-0001", "sector": "VIP", "holder": "Guest"},
    )
    assert result.status_code == 201, result.text
    device = harness.device()
    device.approve(admin, event["id"])
    changes, _ = device.pull_all()
    key_text = changes[0]["data"]["ticket_public_key"]
    parsed = parse_code(result.json["code"], {event["id"]: signing.public_key_from_text(key_text)})
    assert parsed.barcode == "SG-0001" and parsed.signed.s == "VIP"
    assert any(c["key"] == "SG-0001" for c in changes)
    again = admin.post(f"/v1/events/{event['id']}/tickets/signed", json={"barcode": "SG-0001"})
    assert again.status_code == 409


def test_ticket_search(harness):
    admin = harness.admin()
    event = admin.event()
    admin.import_csv(event["id"], CSV)
    by_barcode = admin.post(f"/v1/events/{event['id']}/tickets/search", json={"search": "TK-000"})
    assert len(by_barcode.json["tickets"]) == 3
    by_holder = admin.post(f"/v1/events/{event['id']}/tickets/search", json={"search": "horvat"})
    assert [t["barcode"] for t in by_holder.json["tickets"]] == ["TK-0001"]
    wildcard = admin.post(f"/v1/events/{event['id']}/tickets/search", json={"search": "%"})
    assert wildcard.json["tickets"] == []


def test_gates_with_sectors_and_device_list(harness):
    admin = harness.admin()
    event = admin.event(venue="Maksimir", ends_at="2026-05-28T22:00:00+00:00")
    assert event["venue"] == "Maksimir"
    gate = admin.gate(event["id"], "South", sectors=["B", "A", "A"])
    assert gate["sectors"] == ["A", "B"]
    assert admin.get(f"/v1/events/{event['id']}/gates").json["gates"] == [gate]
    device = harness.device()
    # a pending device belongs to nobody yet: not listed, found only by its exact code
    assert admin.get("/v1/devices").json["devices"] == []
    pending = admin.post("/v1/devices/pending", json={"code": device.code.lower()}).json
    assert pending["status"] == "pending" and pending["code"] == device.code
    assert pending["key_fingerprint"] == key_fingerprint(signing.public_key_text(device.key))
    device.approve(admin, event["id"], gate["id"])
    listed = admin.get("/v1/devices").json["devices"][0]
    assert listed["status"] == "approved" and listed["gate_id"] == gate["id"]
    lower = admin.post("/v1/devices/approve", json={"code": "zzz-zzz", "event_id": event["id"]})
    assert lower.status_code == 404


def test_viewer_cannot_write(harness):
    viewer_email = "viewer@example.org"
    from fieldpass.server.db import create_admin
    from tests.server.helpers import CHEAP_HASHER

    create_admin(harness.engine, viewer_email, "correct horse", role="viewer", hasher=CHEAP_HASHER)
    token = harness.client.simulate_post(
        "/v1/auth/login", json={"email": viewer_email, "password": "correct horse"}
    ).json["token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert harness.client.simulate_get("/v1/events", headers=headers).status_code == 200
    result = harness.client.simulate_post(
        "/v1/events", json={"name": "x", "starts_at": "2026-01-01"}, headers=headers
    )
    assert result.status_code == 403 and result.json["code"] == "forbidden"


def test_expired_admin_token(harness, clock):
    admin = harness.admin()
    clock.advance(13 * 3600 * 1000)
    assert admin.get("/v1/events").status_code == 401
