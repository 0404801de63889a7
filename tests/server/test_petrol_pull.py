"""The role-scoped pull: petrol kiosks get the event, their own seat blocks and seats and
the event's ACTIVE PINs with holders sealed for them; gates get exactly what they got
before and never any PIN data (SQLite and PostgreSQL)."""

from __future__ import annotations

import falcon.testing
import msgspec
import sqlalchemy as sa

from fieldpass.server import schema
from fieldpass.server.app import create_app
from fieldpass.server.config import ServerConfig
from fieldpass.sync import sealing
from tests.server.helpers import Admin
from tests.server.test_pins import ANA, EVENT_START, HOUR, JOHN, OIB, create

PIN_WORDS = (b"Ana Horvat", OIB.encode(), b"John Smith", b"AB1234567", b"petrol_pin")


def _setup(harness):
    admin = harness.admin()
    event = admin.event("Final", starts_at=EVENT_START)
    gate = admin.gate(event["id"])
    imported = admin.import_csv(
        event["id"], "barcode,sector,row,seat,holder_name,status\nTK-1,A,1,1,Ivo Ivić,VALID\n"
    )
    assert imported.status_code == 200, imported.text
    result = admin.post(
        f"/v1/events/{event['id']}/sectors", json={"name": "A", "rows": "A-B", "seats": "1-5"}
    )
    assert result.status_code == 201, result.text
    return admin, event, gate


def _allocate(admin, event_id: str, device_id: str, rows: str, seats: str = "1-5") -> dict:
    result = admin.post(
        f"/v1/events/{event_id}/seat-blocks",
        json={"device_id": device_id, "sector": "A", "rows": rows, "seats": seats},
    )
    assert result.status_code == 201, result.text
    return result.json


def _raw_pull_all(device) -> tuple[bytes, list[dict]]:
    raw, changes, cursor = b"", [], ""
    while True:
        result = device.pull(cursor)
        assert result.status_code == 200, result.text
        raw += result.content
        page = msgspec.json.decode(result.content)
        changes += page["changes"]
        cursor = page["cursor"]
        if not page["more"]:
            return raw, changes


def _open(device, change: dict) -> list[dict]:
    key = sealing.key_from_text(device.holders_key)
    plain = sealing.open_for_device(key, device.id, change["key"], change["data"]["holders"])
    return msgspec.json.decode(plain)


class _Petrol:
    """A petrol kiosk in the harness, remembering the holders key of its status answer."""

    def __init__(self, harness, admin, event_id: str, name: str) -> None:
        self.device = harness.device(name, role="petrol")
        self.device.approve(admin, event_id)
        self.holders_key = self.device.status_answer["holders_key"]
        self.id = self.device.id

    def pull(self, cursor: str = ""):
        return self.device.pull(cursor)


def test_gate_pull_carries_no_pin_data_and_kiosk_gets_only_its_own(harness):
    admin, event, gate = _setup(harness)
    gate_device = harness.device("gate-1")
    gate_device.approve(admin, event["id"], gate["id"])
    early = create(admin, event["id"], holders=[ANA, JOHN], pin="11111").json  # before kiosks
    kiosk = _Petrol(harness, admin, event["id"], "kiosk-1")
    other = _Petrol(harness, admin, event["id"], "kiosk-2")
    late = create(admin, event["id"], pin="22222").json  # after kiosks were approved
    mine = _allocate(admin, event["id"], kiosk.id, "A")
    theirs = _allocate(admin, event["id"], other.id, "B")

    raw, changes = _raw_pull_all(gate_device)
    for word in PIN_WORDS:
        assert word not in raw, word
    # the kiosks' issuer certificates (public keys) reach the gate too: it verifies the
    # tickets they sign offline
    assert {c["entity"] for c in changes} == {"event", "gate", "ticket", "issuer"}
    assert not any(c["entity"] in ("seat", "seat_block") for c in changes)
    assert harness.device("nobody").token is None  # enrolled but unapproved: no slice

    raw, changes = _raw_pull_all(kiosk)
    for word in PIN_WORDS[:-1]:
        assert word not in raw, word  # holders travel sealed only
    assert {c["entity"] for c in changes} == {
        "event",
        "petrol_pin",
        "seat_block",
        "seat",
        "issuer",
    }
    pins = {c["key"]: c for c in changes if c["entity"] == "petrol_pin"}
    assert set(pins) == {early["id"], late["id"]}
    assert pins[early["id"]]["data"]["pin"] == "11111"
    assert pins[early["id"]]["data"]["status"] == "ACTIVE"
    holders = _open(kiosk, pins[early["id"]])
    assert [h["full_name"] for h in holders] == ["Ana Horvat", "John Smith"]
    assert holders[0]["document_number"] == OIB
    # sealed for this kiosk only: the other kiosk's key does not open it
    other_key = sealing.key_from_text(other.holders_key)
    try:
        sealing.open_for_device(
            other_key, kiosk.id, early["id"], pins[early["id"]]["data"]["holders"]
        )
    except sealing.SealError:
        pass
    else:  # pragma: no cover
        raise AssertionError("another kiosk's key opened the holders")
    blocks = [c for c in changes if c["entity"] == "seat_block"]
    assert [b["key"] for b in blocks] == [mine["id"]]
    seats = [c["data"] for c in changes if c["entity"] == "seat"]
    assert len(seats) == 5 and {s["block_id"] for s in seats} == {mine["id"]}
    assert {(s["row"], s["seat"]) for s in seats} == {("A", str(n)) for n in range(1, 6)}

    _, changes = _raw_pull_all(other)
    assert {c["key"] for c in changes if c["entity"] == "seat_block"} == {theirs["id"]}
    assert {c["data"]["row"] for c in changes if c["entity"] == "seat"} == {"B"}
    assert len([c for c in changes if c["entity"] == "petrol_pin"]) == 2


def test_cancel_expiry_and_return_reach_the_kiosk(harness, clock, engine):
    admin, event, _gate = _setup(harness)
    kiosk = _Petrol(harness, admin, event["id"], "kiosk-1")
    doomed = create(admin, event["id"], pin="33333").json
    short = create(admin, event["id"], pin="44444", expires_at="2026-05-28T21:00:00Z").json
    block = _allocate(admin, event["id"], kiosk.id, "A")
    _, first = _raw_pull_all(kiosk)
    cursor = kiosk.pull().json["cursor"]
    assert {c["key"] for c in first if c["entity"] == "petrol_pin"} == {doomed["id"], short["id"]}

    assert admin.post("/v1/pins/33333/cancel", json={"reason": "refund"}).status_code == 200
    clock.advance(HOUR)  # past 21:00: the kiosk's next pull sweeps the expiry
    returned = admin.post(  # forced: freed at once, without the kiosk's release
        f"/v1/seat-blocks/{block['id']}/return", json={"force": True, "reason": "kiosk lost"}
    )
    assert returned.status_code == 200, returned.text
    page = kiosk.pull(cursor).json
    tombstones = {
        c["key"]: c["data"]["status"]
        for c in page["changes"]
        if c["entity"] == "petrol_pin" and c["op"] == "tombstone"
    }
    assert tombstones == {doomed["id"]: "CANCELLED", short["id"]: "EXPIRED"}
    assert not any("holders" in c["data"] for c in page["changes"])
    block_changes = [c for c in page["changes"] if c["entity"] == "seat_block"]
    assert [(c["op"], c["data"]["status"]) for c in block_changes] == [("tombstone", "RETURNED")]
    assert (
        len([c for c in page["changes"] if c["entity"] == "seat" and c["op"] == "tombstone"]) == 5
    )
    with engine.connect() as conn:
        stored = conn.execute(
            sa.select(schema.petrol_pins.c.status).where(schema.petrol_pins.c.id == short["id"])
        ).scalar_one()
    assert stored == "EXPIRED"
    # nothing more: the sweep ran once
    again = kiosk.pull(page["cursor"]).json
    assert again["changes"] == []


def test_import_reaches_kiosks_sealed(harness, engine):
    admin, event, _gate = _setup(harness)
    kiosk = _Petrol(harness, admin, event["id"], "kiosk-1")
    text = (
        "pin,quantity,holder_1\n"
        f"55555,1,Ana Horvat;1990-05-17;HR;{OIB}\n"
        "66666,1,John Smith;1985-01-02;GB;AB1234567\n"
    )
    result = admin.post(
        f"/v1/events/{event['id']}/pins/import",
        body=text.encode(),
        headers={"Content-Type": "text/csv"},
    )
    assert result.status_code == 200, result.text
    raw, changes = _raw_pull_all(kiosk)
    pins = [c for c in changes if c["entity"] == "petrol_pin"]
    assert sorted(c["data"]["pin"] for c in pins) == ["55555", "66666"]
    assert b"Ana Horvat" not in raw
    assert {_open(kiosk, c)[0]["full_name"] for c in pins} == {"Ana Horvat", "John Smith"}
    # the change log holds one sealed copy per kiosk, nothing in plaintext
    with engine.connect() as conn:
        data = conn.execute(sa.select(schema.changes.c.data)).scalars().all()
    assert not any("Ana Horvat" in d or OIB in d for d in data)


def test_petrol_approval_without_the_server_key_is_refused_when_pins_exist(harness, engine, clock):
    admin, event, _gate = _setup(harness)
    keyless_client = falcon.testing.TestClient(create_app(ServerConfig(clock=clock), engine))
    keyless_admin = Admin(keyless_client, admin.headers["Authorization"].split()[1])
    early = harness.device("kiosk-early", role="petrol")
    approved = keyless_admin.post(  # no PINs yet: nothing to seal, approval works
        "/v1/devices/approve", json={"code": early.code, "event_id": event["id"]}
    )
    assert approved.status_code == 200, approved.text
    create(admin, event["id"])
    device = harness.device("kiosk-x", role="petrol")
    result = keyless_admin.post(
        "/v1/devices/approve", json={"code": device.code, "event_id": event["id"]}
    )
    assert result.status_code == 503 and result.json["code"] == "key_missing", result.text
    assert device.poll_status()["status"] == "pending"  # nothing of the approval stayed
