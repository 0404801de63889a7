"""The RSU checks its store once (SQLite integrity check + the whole outbox hash chain)
and refuses to sell from a damaged one, saying why."""

from __future__ import annotations

import sqlite3

import pytest

from fieldpass.device.errors import DeviceError
from fieldpass.device.raffle import RaffleService
from fieldpass.device.store import Store

from .raffle_fixtures import Rsu


@pytest.fixture
def sold(tmp_path):
    """A store file with three sales and a void, closed; returns its path and the key."""
    rsu = Rsu(tmp_path / "store.sqlite").seed([(1, 50)])
    for _ in range(3):
        last = rsu.service.sell("pkg-3", cash_tendered_cents=1000)
    rsu.service.void(last.receipt.validation_number, "mistake")
    assert rsu.service.check_integrity().ok
    rsu.close()
    return rsu


def reopen(rsu: Rsu) -> RaffleService:
    rsu.store = Store.open(rsu.store.path, rsu.clock)
    rsu.store.device_id = rsu.identity.device_id
    rsu.service = RaffleService(rsu.store, rsu.identity, rsu.key, rsu.clock)
    return rsu.service


def tamper(rsu: Rsu, sql: str, *params) -> None:
    """Change the file behind the device's back, as a disk fault or an editor would."""
    conn = sqlite3.connect(rsu.store.path)
    conn.execute(sql, params)
    conn.commit()
    conn.close()


def refusal(service: RaffleService) -> str:
    with pytest.raises(DeviceError) as err:
        service.sell("pkg-1", cash_tendered_cents=500)
    assert err.value.code == "store_corrupt"
    return err.value.message


def test_an_intact_store_sells(sold):
    service = reopen(sold)
    assert service.check_integrity().problems == []
    assert service.sell("pkg-1", cash_tendered_cents=500).receipt.draw_numbers == [10]
    sold.close()


def test_an_edited_payload_breaks_the_chain_and_stops_sales(sold):
    tamper(sold, "UPDATE outbox SET payload = replace(payload, '[1,2,3]', '[1,2,4]') WHERE seq = 1")
    service = reopen(sold)
    message = refusal(service)
    assert message.startswith("this RSU's store is damaged, selling is refused: outbox chain")
    assert "bad_hash at seq 1" in message
    status = service.status()
    assert (status.can_sell, status.cannot_sell_code) == (False, "store_corrupt")
    assert "bad_hash" in status.cannot_sell_reason
    assert sold.store.conn.execute("SELECT COUNT(*) FROM raffle_order").fetchone()[0] == 3
    sold.close()


def test_a_deleted_event_is_a_gap(sold):
    tamper(sold, "DELETE FROM outbox WHERE seq = 2")
    message = refusal(reopen(sold))
    assert "outbox chain" in message and "seq 3" in message
    sold.close()


def test_a_deleted_first_event_is_found(sold):
    tamper(sold, "DELETE FROM outbox WHERE seq = 1")
    report = reopen(sold).check_integrity()
    assert report.problems[0] == "outbox chain: event 1 is missing"
    sold.close()


def test_a_relinked_chain_fails_on_the_signature(sold):
    # rewrite the last event consistently (hash recomputed) but without the device key
    from fieldpass.sync.events import event_hash

    conn = sqlite3.connect(sold.store.path)
    seq, kind, at, payload, prev = conn.execute(
        "SELECT seq, kind, device_time, payload, prev_hash FROM outbox ORDER BY seq DESC LIMIT 1"
    ).fetchone()
    payload = payload.replace("mistake", "mistakE")
    import json

    digest = event_hash("rsu-1", seq, kind, at, json.loads(payload), prev)
    conn.execute("UPDATE outbox SET payload = ?, hash = ? WHERE seq = ?", (payload, digest, seq))
    conn.commit()
    conn.close()
    message = refusal(reopen(sold))
    assert "bad_signature" in message
    sold.close()


def test_an_order_without_its_sale_event_is_reported(sold):
    tamper(sold, "UPDATE raffle_order SET seq = 99 WHERE seq = 1")
    report = reopen(sold).check_integrity()
    assert not report.ok
    assert report.problems[-1].endswith("have no sale event in the outbox")
    sold.close()


def test_damaged_pages_are_found_or_refused(sold):
    path = sold.store.path
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.close()
    data = bytearray(path.read_bytes())
    for page in range(2, pages):  # keep the header page: the file still opens
        start = page * page_size + 8
        data[start : start + 64] = b"\xff" * 64
    path.write_bytes(bytes(data))
    try:
        service = reopen(sold)
    except DeviceError as err:  # too damaged to open at all: refused as well
        assert err.code == "store_corrupt"
        return
    report = service.check_integrity()
    assert not report.ok and report.problems
    with pytest.raises(DeviceError) as err:
        service.sell("pkg-1", cash_tendered_cents=500)
    assert err.value.code == "store_corrupt"
    sold.close()


def test_a_damaged_index_page_is_found_by_the_sqlite_check(sold):
    path = sold.store.path
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    root = conn.execute(
        "SELECT rootpage FROM sqlite_master WHERE name = 'raffle_number_order'"
    ).fetchone()[0]
    conn.close()
    data = bytearray(path.read_bytes())
    end = root * page_size
    data[end - 40 : end] = b"\x00" * 40  # the index's cells, at the end of its page
    path.write_bytes(bytes(data))
    service = reopen(sold)
    report = service.check_integrity()
    assert report.problems == [
        "SQLite integrity check: row 1 missing from index raffle_number_order"
    ]
    assert "SQLite integrity check: row 1 missing" in refusal(service)
    sold.close()
