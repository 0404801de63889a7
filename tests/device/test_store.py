"""Store: migrations, paged apply with tombstones, epoch reset, meta and status."""

from __future__ import annotations

import sqlite3

import pytest

from fieldpass.device.errors import DeviceError
from fieldpass.device.store import MIGRATIONS, Store
from fieldpass.sync.messages import Change

from .conftest import EVENT_ID, T0, admission_change, ticket_change, tombstone


def test_new_store_is_migrated_wal_and_reopen_is_idempotent(tmp_path, clock):
    path = tmp_path / "s.sqlite"
    store = Store.open(path, clock)
    assert store.schema_version() == len(MIGRATIONS)
    assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    store.set_meta(cursor="e:1")
    store.close()
    again = Store.open(path, clock)
    assert again.schema_version() == len(MIGRATIONS)
    assert again.get_meta("cursor") == "e:1"
    assert set(again.db.table_names()) >= {"tickets", "outbox", "scans", "admissions", "meta"}
    again.close()


def test_store_from_newer_software_is_refused(tmp_path, clock):
    path = tmp_path / "s.sqlite"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    conn.close()
    with pytest.raises(DeviceError) as info:
        Store.open(path, clock)
    assert info.value.code == "store_corrupt"


def test_garbage_file_is_store_corrupt(tmp_path, clock):
    path = tmp_path / "s.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(DeviceError) as info:
        Store.open(path, clock)
    assert info.value.code == "store_corrupt"


def test_pages_apply_with_their_cursor_and_tombstones_revoke(tmp_path, clock):
    store = Store.open(tmp_path / "s.sqlite", clock)
    store.apply_changes([ticket_change(i, f"TKT{i:05d}") for i in range(1, 6)], "e1:5", "e1")
    assert (store.get_meta("cursor"), store.get_meta("epoch")) == ("e1:5", "e1")
    store.apply_changes(
        [
            ticket_change(6, "TKT00006"),
            tombstone(7, "TKT00002"),
            ticket_change(8, "TKT00003", holder="Renamed"),
            tombstone(9, "NEVERSEEN1", "BLACKLISTED", "fan ban"),
        ],
        "e1:9",
        "e1",
    )
    assert store.get_meta("cursor") == "e1:9"
    assert store.ticket_count() == 7
    assert store.ticket("TKT00002")[6:] == ("REFUNDED", "refunded")
    assert store.ticket("TKT00002")[5] == "Holder TKT00002"
    assert store.ticket("TKT00003")[5] == "Renamed"
    assert store.ticket("NEVERSEEN1")[6] == "BLACKLISTED"
    store.close()


def test_order_within_a_page_is_kept(tmp_path, clock):
    store = Store.open(tmp_path / "s.sqlite", clock)
    store.apply_changes(
        [ticket_change(1, "TKT00001"), tombstone(2, "TKT00001"), ticket_change(3, "TKT00001")],
        "e1:3",
        "e1",
    )
    assert store.ticket("TKT00001")[6] == "VALID"
    store.close()


def test_gate_and_event_tombstones_delete(tmp_path, clock):
    store = Store.open(tmp_path / "s.sqlite", clock)
    store.apply_changes(
        [
            Change(seq=1, entity="event", key="E", op="upsert", data={"id": "E", "name": "x"}),
            Change(
                seq=2,
                entity="gate",
                key="G",
                op="upsert",
                data={"id": "G", "event_id": "E", "name": "g", "sectors": ["A", "B"]},
            ),
        ],
        "e1:2",
        "e1",
    )
    assert store.gate_row("G") == ("G", "g", ["A", "B"])
    store.apply_changes(
        [
            Change(seq=3, entity="gate", key="G", op="tombstone", data={}),
            Change(seq=4, entity="event", key="E", op="tombstone", data={}),
        ],
        "e1:4",
        "e1",
    )
    assert store.gate_row("G") is None and store.event_row("E") is None
    store.close()


def test_failed_page_changes_nothing(tmp_path, clock):
    store = Store.open(tmp_path / "s.sqlite", clock)
    store.apply_changes([ticket_change(1, "TKT00001")], "e1:1", "e1")
    bad = Change(seq=2, entity="ticket", key=None, op="upsert", data={"event_id": EVENT_ID})
    with pytest.raises(sqlite3.Error):
        store.apply_changes([ticket_change(2, "TKT00009"), bad], "e1:2", "e1")
    assert store.get_meta("cursor") == "e1:1"
    assert store.ticket("TKT00009") is None
    store.close()


def test_malformed_admission_is_skipped(tmp_path, clock):
    store = Store.open(tmp_path / "s.sqlite", clock)
    store.apply_changes(
        [
            Change(seq=1, entity="admission", key="d:1", op="upsert", data={"barcode": "X"}),
            Change(seq=2, entity="device", key="d", op="upsert", data={}),
        ],
        "e1:2",
        "e1",
    )
    assert store.conn.execute("SELECT COUNT(*) FROM admissions").fetchone()[0] == 0
    assert store.get_meta("cursor") == "e1:2"
    store.close()


def test_epoch_reset_drops_pulled_data_keeps_own_and_outbox(seeded):
    gate = seeded.gate()
    gate.check_in("TKT00001")
    seeded.store.apply_changes(
        [admission_change(500, "dev-other:1", "TKT00002", "in", T0)], "epoch-1:500", "epoch-1"
    )
    assert seeded.store.inside_count() == 2
    seeded.store.reset_pulled_data()
    status = seeded.store.status()
    assert (status.cursor, status.epoch, status.tickets) == (None, None, 0)
    assert status.last_seq == 1 and status.unsynced == 1
    assert seeded.store.inside_count() == 1
    assert seeded.store.presence("TKT00001")[:3] == (1, T0, "North")
    assert seeded.store.presence("TKT00002") is None


def test_status_counts_unsynced_from_accepted_seq(seeded):
    gate = seeded.gate()
    for i in range(4):
        seeded.clock.advance(3_000)
        gate.check_in(f"TKT{i:05d}")
    seeded.store.record_accepted(3)
    status = seeded.store.status()
    assert (status.accepted_seq, status.unsynced, status.last_seq) == (3, 1, 4)
    assert [e.seq for e in seeded.store.pending_events(10, "dev-1")] == [4]
    seeded.store.record_accepted(1)  # server restored from a backup: rewind
    assert [e.seq for e in seeded.store.pending_events(10, "dev-1")] == [2, 3, 4]
    pushed = seeded.store.conn.execute("SELECT seq FROM outbox WHERE pushed = 1").fetchall()
    assert pushed == [(1,)]


def test_reassignment_drops_pulled_slice(seeded):
    assert seeded.store.ensure_assignment("ev-1", "gate-north") is False  # first time: keep
    assert seeded.store.ensure_assignment("ev-1", "gate-north") is False
    assert seeded.store.status().tickets == 52
    assert seeded.store.ensure_assignment("ev-9", "gate-x") is True
    status = seeded.store.status()
    assert (status.tickets, status.cursor) == (0, None)


def test_scans_and_pulls_from_two_threads(seeded):
    """Like a Textual worker pulling while the UI thread scans: both commit, nothing lost."""
    import threading

    from fieldpass.sync.events import GENESIS_HASH, verify_chain

    from .conftest import ticket_change

    gate = seeded.gate(debounce_ms=0)
    errors: list[BaseException] = []

    def pull_pages() -> None:
        try:
            for page in range(20):
                changes = [
                    ticket_change(1000 + page * 50 + i, f"P{page:03d}X{i:04d}") for i in range(50)
                ]
                seeded.store.apply_changes(changes, f"epoch-1:{1000 + page * 50 + 49}", "epoch-1")
        except BaseException as exc:  # noqa: BLE001 - surfaced by the assertion below
            errors.append(exc)

    worker = threading.Thread(target=pull_pages)
    worker.start()
    for i in range(200):
        gate.check_in(f"TKT{i % 50:05d}")
    worker.join()
    assert errors == []
    assert seeded.store.ticket_count() == 52 + 1000
    events = seeded.store.pending_events(1000)
    assert len(events) == 200
    verify_chain(
        events,
        device_id="dev-1",
        public_key=seeded.device_key.public_key(),
        first_prev_hash=GENESIS_HASH,
    )


def test_search_with_odd_text_never_fails(seeded):
    gate = seeded.gate()
    for text in ("\U0010ffff", "\ud800", "_", "\\", "' OR 1=1 --", "a" * 10_000):
        assert isinstance(gate.search_holder(text), list)
