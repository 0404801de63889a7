"""The petrol slice in the device store: migration of an existing gate store, idempotent
apply of PINs, seat blocks and seats (and their tombstones), and the lookups."""

from __future__ import annotations

import sqlite3

from fieldpass.device.store import MIGRATIONS, Store, _split_sql
from fieldpass.sync.messages import Change
from tests.device.conftest import EVENT_ID, ticket_change


def pin_change(seq: int, pin_id: str, pin: str, op: str = "upsert", status: str = "ACTIVE"):
    data = {
        "id": pin_id,
        "pin": pin,
        "event_id": EVENT_ID,
        "quantity": 2,
        "status": status,
        "expires_at": 1_900_000_000_000,
    }
    if op == "upsert":
        data["holders"] = f"v1.sealed.{pin_id}"
    return Change(seq=seq, entity="petrol_pin", key=pin_id, op=op, data=data)


def block_change(seq: int, block_id: str, op: str = "upsert", status: str = "ACTIVE"):
    data = {"id": block_id, "event_id": EVENT_ID, "sector": "P", "rows": "A", "seats": "all"}
    data |= {"status": status, "seat_count": 3}
    return Change(seq=seq, entity="seat_block", key=block_id, op=op, data=data)


def seat_change(seq: int, seat_id: int, row: str, seat: str, op: str = "upsert"):
    data = {"id": seat_id, "event_id": EVENT_ID, "block_id": "blk-1", "sector": "P"}
    data |= {"row": row, "seat": seat, "status": "ALLOCATED"}
    return Change(seq=seq, entity="seat", key=str(seat_id), op=op, data=data)


def test_an_existing_gate_store_is_migrated_and_keeps_its_data(tmp_path):
    path = tmp_path / "store.sqlite"
    conn = sqlite3.connect(path, isolation_level=None)
    for statement in _split_sql(MIGRATIONS[0]):
        conn.execute(statement)
    conn.execute("PRAGMA user_version = 1")
    conn.execute("INSERT INTO tickets (barcode, event_id) VALUES ('TKT1', ?)", (EVENT_ID,))
    conn.close()
    store = Store.open(path)
    try:
        assert store.schema_version() == len(MIGRATIONS)
        assert store.ticket("TKT1") is not None
        assert store.pin("12345") is None and store.seat_blocks() == []
    finally:
        store.close()


def test_pins_blocks_and_seats_apply_idempotently_with_tombstones(tmp_path):
    store = Store.open(tmp_path / "store.sqlite")
    try:
        page = [
            ticket_change(1, "TKT1"),
            pin_change(2, "pin-1", "12345"),
            pin_change(3, "pin-2", "54321"),
            block_change(4, "blk-1"),
            seat_change(5, 12, "A", "10"),
            seat_change(6, 10, "A", "2"),
            seat_change(7, 11, "A", "9"),
        ]
        for _ in range(2):  # a page applied twice (resumed pull) changes nothing
            store.apply_changes(page, "e:7", "e")
            assert store.pin_count() == 2
            assert [(s.row, s.seat) for s in store.seats_of_block("blk-1")] == [
                ("A", "2"),
                ("A", "9"),
                ("A", "10"),
            ]
        record = store.pin("12345")
        assert (record.id, record.quantity, record.status) == ("pin-1", 2, "ACTIVE")
        assert record.holders_sealed == "v1.sealed.pin-1"
        tombstones = [
            pin_change(8, "pin-1", "12345", "tombstone", "CANCELLED"),
            pin_change(9, "pin-3", "77777", "tombstone", "EXPIRED"),  # never seen active
            seat_change(10, 12, "A", "10", "tombstone"),
            block_change(11, "blk-1", "tombstone", "RETURNED"),
        ]
        for _ in range(2):
            store.apply_changes(tombstones, "e:11", "e")
        record = store.pin("12345")
        assert (record.status, record.holders_sealed) == ("CANCELLED", None)
        assert store.pin("77777").status == "EXPIRED"
        assert [s.seat for s in store.seats_of_block("blk-1")] == ["2", "9"]
        assert store.seat_blocks()[0][5] == "RETURNED"
        # a value reused by a new ACTIVE PIN is found before the cancelled one
        store.apply_changes([pin_change(12, "pin-4", "12345")], "e:12", "e")
        assert store.pin("12345").id == "pin-4"
        store.reset_pulled_data()
        assert store.pin_count() == 0 and store.seat_blocks() == []
    finally:
        store.close()
