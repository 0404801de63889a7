"""Issue 9.10: a lost, emptied, rolled-back or damaged store is refused, never silently
started over, and `device recover` rebuilds it from the server without breaking the chain
(against the real server app in-process)."""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat

import pytest
from click.testing import CliRunner

from fieldpass.cli import cli
from fieldpass.device.context import open_device
from fieldpass.device.errors import DeviceError
from fieldpass.device.recovery import recover
from fieldpass.server.config import ServerConfig
from fieldpass.sync import sealing
from fieldpass.sync.checkin import ScanResult
from tests.device.test_raffle_real_server import enroll_rsu, setup_raffle
from tests.device.test_sync_real_server import Server, enroll_device, setup_event


@pytest.fixture
def server(tmp_path):
    srv = Server(tmp_path, ServerConfig(pii_key=sealing.generate_key()))
    yield srv
    srv.close()


@pytest.fixture
def gate(server, tmp_path):
    """A synced gate that admitted TKT00001..3 and pushed them: (home, http)."""
    event_id, gates = setup_event(server)
    home, ctx = enroll_device(server, tmp_path, "north", event_id, gates["North"])
    try:
        assert ctx.sync.sync_once().error is None
        for n in (1, 2, 3):
            assert ctx.gate.check_in(f"TKT0000{n}").result is ScanResult.VALID
        assert ctx.sync.sync_once().error is None
    finally:
        ctx.close()
    return home, server.device_http()


def _checkpoint(home) -> None:
    conn = sqlite3.connect(home.store_path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def _refused(home, http) -> DeviceError:
    with pytest.raises(DeviceError) as info:
        open_device(home, http=http)
    assert "fieldpass device recover" in info.value.message
    return info.value


def test_the_store_and_its_files_are_private(gate):
    home, _http = gate
    assert stat.S_IMODE(os.stat(home.store_path).st_mode) == 0o600
    for suffix in ("-wal", "-shm"):
        side = home.store_path.with_name(home.store_path.name + suffix)
        if side.exists():
            assert stat.S_IMODE(os.stat(side).st_mode) & 0o077 == 0


def test_a_deleted_store_is_refused_not_recreated_empty(gate):
    """Reproduces: a deleted store.sqlite came back empty, scans said UNKNOWN and the next
    sync reported a fork."""
    home, http = gate
    for suffix in ("", "-wal", "-shm"):
        home.store_path.with_name(home.store_path.name + suffix).unlink(missing_ok=True)
    assert _refused(home, http).code == "store_missing"
    assert not home.store_path.exists()  # nothing was created in its place


def test_an_emptied_store_is_refused(gate):
    home, http = gate
    _checkpoint(home)
    home.store_path.write_bytes(b"")
    assert _refused(home, http).code == "store_missing"


def test_an_overwritten_page_in_the_middle_is_noticed(gate):
    home, http = gate
    _checkpoint(home)
    size = home.store_path.stat().st_size
    with home.store_path.open("r+b") as handle:
        handle.seek((size // 2) // 4096 * 4096)
        handle.write(os.urandom(4096))
    assert _refused(home, http).code in ("store_damaged", "store_corrupt")


def test_a_zeroed_last_page_is_noticed(gate):
    home, http = gate
    _checkpoint(home)
    conn = sqlite3.connect(home.store_path)
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    size = home.store_path.stat().st_size
    with home.store_path.open("r+b") as handle:
        handle.seek(size - page_size)
        handle.write(b"\0" * page_size)
    assert _refused(home, http).code in ("store_damaged", "store_corrupt")


def test_an_old_copy_of_the_store_is_refused(gate, tmp_path):
    home, http = gate
    _checkpoint(home)
    shutil.copy(home.store_path, tmp_path / "old.sqlite")
    ctx = open_device(home, http=http)
    ctx.gate.check_in("TKT00009")
    assert ctx.sync.sync_once().error is None  # the device now knows it made 4 events
    ctx.close()
    _checkpoint(home)
    shutil.copy(tmp_path / "old.sqlite", home.store_path)
    assert _refused(home, http).code == "store_rolled_back"


def test_a_damaged_page_at_run_time_is_a_clear_cli_error(gate, monkeypatch):
    home, _http = gate
    _checkpoint(home)
    conn = sqlite3.connect(home.store_path)
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'tickets'").fetchone()[0]
    conn.close()
    with home.store_path.open("r+b") as handle:
        handle.seek((root - 1) * page_size)
        handle.write(os.urandom(page_size))
    result = CliRunner().invoke(cli, ["device", "scan", "TKT00004", "--home", str(home.root)])
    assert result.exit_code == 1
    assert "fieldpass device recover" in result.output
    assert "unexpected failure" not in result.output and "Traceback" not in result.output


def test_recover_rebuilds_the_outbox_and_the_gate_carries_on_without_a_fork(gate):
    home, http = gate
    for suffix in ("", "-wal", "-shm"):
        home.store_path.with_name(home.store_path.name + suffix).unlink(missing_ok=True)
    report = recover(home, http=http)
    assert (report.from_server, report.salvaged, report.lost, report.last_seq) == (3, 0, 0, 3)
    ctx = open_device(home, http=http, debounce_ms=0)
    try:
        assert ctx.gate.counters().admitted == 3  # the gate's own record, rebuilt
        assert ctx.sync.sync_once().error is None
        assert ctx.store.ticket_count() == 30
        assert ctx.gate.check_in("TKT00001").result is ScanResult.ALREADY_USED
        assert ctx.gate.check_in("TKT00004").result is ScanResult.VALID
        report = ctx.sync.sync_once()
        assert report.error is None and report.pushed == 2  # seq 4 and 5: the chain goes on
        assert ctx.store.status().fork_seq is None
    finally:
        ctx.close()


def test_recover_keeps_unsent_events_still_readable_in_a_damaged_store(gate):
    home, http = gate
    ctx = open_device(home, http=http)
    for n in (4, 5):
        assert ctx.gate.check_in(f"TKT0000{n}").result is ScanResult.VALID
    ctx.close()  # two scans never pushed
    _checkpoint(home)
    conn = sqlite3.connect(home.store_path)
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    index_root = conn.execute(
        "SELECT rootpage FROM sqlite_master WHERE name = 'tickets_holder'"
    ).fetchone()[0]
    conn.close()
    with home.store_path.open("r+b") as handle:  # an index page of the tickets goes bad
        handle.seek((index_root - 1) * page_size)
        handle.write(b"\xff" * page_size)
    assert _refused(home, http).code in ("store_damaged", "store_corrupt")
    report = recover(home, http=http)
    assert (report.from_server, report.salvaged, report.lost) == (3, 2, 0)
    assert report.set_aside is not None and report.set_aside.exists()
    ctx = open_device(home, http=http, debounce_ms=0)
    try:
        assert ctx.sync.sync_once().error is None
        assert ctx.store.status().accepted_seq == 5  # the two unsent scans reached the server
        assert ctx.gate.check_in("TKT00005").result is ScanResult.ALREADY_USED
    finally:
        ctx.close()


def test_a_recovered_rsu_never_sells_a_number_it_sold_before(server, tmp_path):
    raffle_id = setup_raffle(server)
    rsu = enroll_rsu(server, tmp_path, "stand", raffle_id)
    device_id = rsu.identity.device_id
    server.admin(
        "POST",
        f"/v1/raffles/{raffle_id}/allocations",
        json={"device_id": device_id, "start": 1, "end": 20},
    )
    server.admin("POST", f"/v1/raffles/{raffle_id}/commit-seed")
    server.admin("POST", f"/v1/raffles/{raffle_id}/activate")
    assert rsu.sync.sync_once().error is None
    three = next(p for p in rsu.raffle.status().packages if p.name == "3 for 10")
    sold = [rsu.raffle.sell(three.id, cash_tendered_cents=1000) for _ in range(2)]
    rsu.raffle.void(sold[1].receipt.validation_number, "customer changed mind")
    assert rsu.sync.sync_once().error is None
    home = rsu.sync.home
    rsu.close()
    for suffix in ("", "-wal", "-shm"):
        home.store_path.with_name(home.store_path.name + suffix).unlink(missing_ok=True)
    recover(home, http=server.device_http())
    again = open_device(home, http=server.device_http())
    try:
        assert again.sync.sync_once().error is None
        status = again.raffle.status()
        assert status.remaining == 14  # 20 allocated, 3 sold, 3 voided: never sold again
        sale = again.raffle.sell(three.id, cash_tendered_cents=1000)
        assert sale.receipt.draw_numbers == [7, 8, 9]
        assert again.sync.sync_once().error is None
    finally:
        again.close()
    counts = server.admin("GET", f"/v1/raffles/{raffle_id}")["counts"]
    assert (counts["sold"], counts["voided"]) == (6, 3)


def test_a_recovery_cut_short_after_setting_the_store_aside_still_keeps_unsent_events(gate):
    home, http = gate
    ctx = open_device(home, http=http)
    assert ctx.gate.check_in("TKT00006").result is ScanResult.VALID  # never pushed
    ctx.close()
    _checkpoint(home)
    # what a kill -9 right after the old store was moved aside leaves behind
    home.store_path.rename(home.store_path.with_name("store.sqlite.damaged-20260101T000000"))
    report = recover(home, http=http)
    assert (report.from_server, report.salvaged, report.lost) == (3, 1, 0)
