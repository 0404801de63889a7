"""A petrol kiosk against the REAL server (in-process): it enrolls, is approved, pulls the
event's PINs (holders sealed for it, opened only with its holders key file, never stored
in plaintext) and its own seats; a gate of the same event pulls no PIN data at all."""

from __future__ import annotations

import os
import stat

import msgspec
import pytest

from fieldpass.device.identity import load_holders_key
from fieldpass.server.config import ServerConfig
from fieldpass.sync import sealing
from fieldpass.sync.identity import oib_check_digit
from tests.device.test_sync_real_server import Server, enroll_device, setup_event

OIB = "1234567890" + str(oib_check_digit("1234567890"))
ANA = f"Ana Horvat;1990-05-17;HR;{OIB}"
EXPIRES = "2099-01-01T00:00:00Z"


@pytest.fixture
def server(tmp_path):
    srv = Server(tmp_path, ServerConfig(pii_key=sealing.generate_key()))
    yield srv
    srv.close()


def make_device(server, tmp_path, name: str, role: str, event_id: str, gate_id=None, **options):
    return enroll_device(server, tmp_path, name, event_id, gate_id, role=role, **options)


def test_kiosk_pulls_sealed_pins_and_its_seats_gate_pulls_none(server, tmp_path):
    event_id, gates = setup_event(server, tickets=5)
    server.admin(
        "POST", f"/v1/events/{event_id}/sectors", json={"name": "P", "rows": "A-B", "seats": "1-4"}
    )
    first = server.admin(
        "POST",
        f"/v1/events/{event_id}/pins",
        json={
            "quantity": 1,
            "holders": [
                {
                    "full_name": "Ana Horvat",
                    "date_of_birth": "1990-05-17",
                    "nationality": "HR",
                    "document_number": OIB,
                }
            ],
            "pin": "12345",
            "expires_at": EXPIRES,
        },
    )
    home, kiosk = make_device(server, tmp_path, "kiosk-1", "petrol", event_id)
    _, other = make_device(server, tmp_path, "kiosk-2", "petrol", event_id)
    gate_home, gate = make_device(server, tmp_path, "north-1", "gate", event_id, gates["North"])
    try:
        assert not gate_home.holders_key_path.exists()  # gates get no holders key
        assert stat.S_IMODE(os.stat(home.holders_key_path).st_mode) == 0o600
        assert home.holders_key_path.parent == home.key_path.parent
        # a PIN imported after approval and a block for each kiosk
        server.admin(
            "POST",
            f"/v1/events/{event_id}/pins/import",
            content=f"pin,quantity,expires_at,holder_1\n54321,1,{EXPIRES},{ANA}\n",
            headers={"Content-Type": "text/csv"},
        )
        block = server.admin(
            "POST",
            f"/v1/events/{event_id}/seat-blocks",
            json={"device_id": kiosk.identity.device_id, "sector": "P", "rows": "A"},
        )
        server.admin(
            "POST",
            f"/v1/events/{event_id}/seat-blocks",
            json={"device_id": other.identity.device_id, "sector": "P", "rows": "B"},
        )
        for ctx in (kiosk, other, gate):
            report = ctx.sync.sync_once()
            assert report.error is None and report.online, report

        record = kiosk.store.pin("12345")
        assert record is not None and record.id == first["id"]
        assert (record.status, record.quantity) == ("ACTIVE", 1)
        assert record.holders_sealed and "Ana" not in record.holders_sealed
        key = load_holders_key(home.holders_key_path)
        holders = msgspec.json.decode(
            sealing.open_for_device(key, kiosk.identity.device_id, record.id, record.holders_sealed)
        )
        assert holders[0]["full_name"] == "Ana Horvat" and holders[0]["document_number"] == OIB
        with pytest.raises(sealing.SealError):  # another device's key does not open it
            sealing.open_for_device(
                sealing.generate_key(), kiosk.identity.device_id, record.id, record.holders_sealed
            )
        assert kiosk.store.pin("54321") is not None and kiosk.store.pin("99999") is None
        assert kiosk.store.ticket_count() == 0  # the gate slice is not the kiosk's

        assert [b[0] for b in kiosk.store.seat_blocks()] == [block["id"]]
        seats = kiosk.store.seats_of_block(block["id"])
        assert [(s.row, s.seat) for s in seats] == [("A", "1"), ("A", "2"), ("A", "3"), ("A", "4")]
        assert {
            s.row for b in other.store.seat_blocks() for s in other.store.seats_of_block(b[0])
        } == {"B"}

        # no plaintext holder data anywhere in the kiosk's store files
        kiosk.store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        for path in home.root.glob("store.sqlite*"):
            data = path.read_bytes()
            assert b"Ana Horvat" not in data and OIB.encode() not in data, path

        # the gate has no PIN, seat or holder data
        assert gate.store.pin_count() == 0 and gate.store.seat_blocks() == []
        assert gate.store.ticket_count() == 5

        # cancelling reaches the kiosk as a tombstone: status changes, holders are dropped
        server.admin("POST", "/v1/pins/12345/cancel", json={"reason": "refund"})
        server.admin("POST", f"/v1/seat-blocks/{block['id']}/return")
        assert kiosk.sync.sync_once().error is None
        record = kiosk.store.pin("12345")
        assert (record.status, record.holders_sealed) == ("CANCELLED", None)
        assert kiosk.store.seat_blocks()[0][5] == "RETURNED"
        assert kiosk.store.seats_of_block(block["id"]) == []
    finally:
        for ctx in (kiosk, other, gate):
            ctx.close()
