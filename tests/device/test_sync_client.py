"""Enrollment and the sync client against an in-memory server speaking docs/api.md."""

from __future__ import annotations

import os
import stat

import msgspec
import pytest

from fieldpass.device.context import open_device
from fieldpass.device.enrollment import enroll, refresh_enrollment
from fieldpass.device.errors import DeviceError
from fieldpass.device.home import DeviceHome
from fieldpass.device.identity import DeviceIdentity
from fieldpass.sync import signing
from fieldpass.sync.checkin import ScanResult
from fieldpass.sync.events import GENESIS_HASH, verify_chain
from fieldpass.sync.messages import MAX_PUSH_EVENTS

from .conftest import T0, admission_change, seed_changes, tombstone
from .fake_server import FakeServer


@pytest.fixture
def server() -> FakeServer:
    fake = FakeServer(now=T0)
    fake.changes = seed_changes(signing.generate_private_key())
    return fake


@pytest.fixture
def home(tmp_path) -> DeviceHome:
    return DeviceHome.resolve(tmp_path / "home")


def approved_device(home, server, clock, **kwargs):
    http = server.client()
    enroll(home, "http://testserver", "gate", "North 1", http=http, clock=clock)
    server.approved = True
    refresh_enrollment(home, http=http, clock=clock)
    return open_device(home, http=http, clock=clock, **kwargs)


def scan_many(ctx, clock, count):
    for i in range(count):
        clock.advance(2_500)
        ctx.gate.check_in(f"TKT{i % 50:05d}")


def test_home_resolution(tmp_path, monkeypatch):
    assert DeviceHome.resolve(tmp_path / "a").root == (tmp_path / "a").resolve()
    monkeypatch.setenv("FIELDPASS_HOME", str(tmp_path / "env"))
    assert DeviceHome.resolve(None).root == (tmp_path / "env").resolve()
    monkeypatch.delenv("FIELDPASS_HOME")
    assert DeviceHome.resolve(None).root.name == "fieldpass"


def test_enroll_writes_private_key_0600_and_pending_identity(home, server, clock):
    identity = enroll(
        home, "http://testserver/", "gate", "North 1", http=server.client(), clock=clock
    )
    assert (identity.status, identity.code, identity.device_id) == (
        "pending",
        "K7Q-4MX",
        "dev-fake",
    )
    assert stat.S_IMODE(os.stat(home.key_path).st_mode) == 0o600
    assert DeviceIdentity.load(home.identity_path) == identity
    assert identity.server_url == "http://testserver"
    with pytest.raises(DeviceError) as info:
        enroll(home, "http://testserver", "gate", "again", http=server.client(), clock=clock)
    assert info.value.code == "already_enrolled"


def test_enroll_bad_input_changes_nothing(home, server, clock):
    for args in (("ftp://x", "gate", "n"), ("http://x", "boss", "n"), ("http://x", "gate", " ")):
        with pytest.raises(DeviceError) as info:
            enroll(home, *args, http=server.client(), clock=clock)
        assert info.value.code == "invalid"
    assert not home.identity_path.exists() and not home.key_path.exists()


def test_enroll_offline_keeps_key_for_retry(home, server, clock):
    server.offline = True
    with pytest.raises(DeviceError) as info:
        enroll(home, "http://testserver", "gate", "North", http=server.client(), clock=clock)
    assert info.value.code == "offline"
    key_text = home.key_path.read_text()
    server.offline = False
    enroll(home, "http://testserver", "gate", "North", http=server.client(), clock=clock)
    assert home.key_path.read_text() == key_text


def test_pending_then_approved_then_revoked(home, server, clock):
    http = server.client()
    enroll(home, "http://testserver", "gate", "North 1", http=http, clock=clock)
    assert refresh_enrollment(home, http=http, clock=clock).status == "pending"
    with pytest.raises(DeviceError) as info:
        open_device(home, http=http, clock=clock)
    assert info.value.code == "not_approved" and "K7Q-4MX" in info.value.message
    server.approved = True
    identity = refresh_enrollment(home, http=http, clock=clock)
    assert (identity.status, identity.token, identity.event_id, identity.gate_id) == (
        "approved",
        "token-1",
        "ev-1",
        "gate-north",
    )
    server.revoked = True
    assert refresh_enrollment(home, http=http, clock=clock).status == "revoked"
    with pytest.raises(DeviceError) as info:
        open_device(home, http=http, clock=clock)
    assert info.value.code == "revoked"


def test_not_enrolled(home):
    with pytest.raises(DeviceError) as info:
        open_device(home)
    assert info.value.code == "not_enrolled"


def test_sync_pulls_in_pages_and_pushes_in_batches(home, server, clock, monkeypatch):
    monkeypatch.setattr("fieldpass.device.sync_client.PULL_LIMIT", 7)
    ctx = approved_device(home, server, clock)
    progress = []
    assert ctx.sync.pull(lambda done, total: progress.append((done, total))) == len(server.changes)
    assert progress[-1] == (len(server.changes), len(server.changes))
    assert all(total is None for _, total in progress[:-1]) and len(progress) > 1
    scan_many(ctx, clock, MAX_PUSH_EVENTS + 20)
    report = ctx.sync.sync_once()
    assert (report.online, report.error, report.pushed) == (True, None, MAX_PUSH_EVENTS + 20)
    assert [len(r.events) for r in server.push_requests[:2]] == [MAX_PUSH_EVENTS, 20]
    status = ctx.store.status()
    assert (status.unsynced, status.accepted_seq, status.online) == (0, MAX_PUSH_EVENTS + 20, True)
    assert status.last_sync_at == clock.now
    verify_chain(
        [server.events[s] for s in sorted(server.events)],
        device_id="dev-fake",
        public_key=ctx.key.public_key(),
        first_prev_hash=GENESIS_HASH,
    )
    ctx.close()


def test_pull_is_resumable_after_a_cut(home, server, clock, monkeypatch):
    monkeypatch.setattr("fieldpass.device.sync_client.PULL_LIMIT", 10)
    server.fail_pull_after = 2
    ctx = approved_device(home, server, clock)
    with pytest.raises(DeviceError) as info:
        ctx.sync.pull()
    assert info.value.code == "offline"
    assert ctx.store.ticket_count() == 17  # two whole pages (3 entities + 7 tickets, 10 tickets)
    server.fail_pull_after = None
    ctx.sync.pull()
    assert ctx.store.ticket_count() == 52
    assert ctx.store.get_meta("cursor") == "epoch-1:101"
    ctx.close()


def test_offline_sync_reports_and_records(home, server, clock):
    ctx = approved_device(home, server, clock)
    scan_many(ctx, clock, 3)
    server.offline = True
    report = ctx.sync.sync_once()
    assert not report.online and "unreachable" in report.error
    status = ctx.store.status()
    assert (status.online, status.unsynced) == (False, 3)
    assert status.last_error == report.error
    server.offline = False
    assert ctx.sync.sync_once().pushed == 3
    ctx.close()


def test_clock_offset_is_estimated_and_sent_back(home, server, clock):
    server.clock_skew_ms = 90_000
    ctx = approved_device(home, server, clock)
    ctx.sync.sync_once()
    assert ctx.store.status().clock_offset_ms == 90_000
    ctx.sync.sync_once()
    sample = server.push_requests[-1].clock
    assert sample is not None and sample.t1 - sample.t0 == 90_000
    ctx.close()


def test_server_restore_rewinds_and_repushes(home, server, clock):
    ctx = approved_device(home, server, clock)
    scan_many(ctx, clock, 10)
    ctx.sync.sync_once()
    server.restore(keep_through=4)
    server.changes.append(admission_change(900, "dev-x:1", "TKT00040", "in", T0))
    report = ctx.sync.sync_once()
    assert report.error is None
    assert sorted(server.events) == list(range(1, 11))
    status = ctx.store.status()
    assert (status.epoch, status.accepted_seq, status.unsynced) == ("epoch-1-restored", 10, 0)
    assert ctx.store.ticket_count() == 52
    ctx.close()


def test_gap_answer_rewinds_to_expected_seq(home, server, clock):
    ctx = approved_device(home, server, clock)
    scan_many(ctx, clock, 6)
    ctx.sync.sync_once()
    server.events = {s: e for s, e in server.events.items() if s <= 2}  # lost, same epoch
    scan_many(ctx, clock, 2)
    # the batch 7..8 meets a gap (expected 3): the device rewinds and pushes 3..8
    assert ctx.sync.push_pending() == 6
    assert sorted(server.events) == list(range(1, 9))
    ctx.close()


def test_fork_stops_pushing_and_is_surfaced(home, server, clock):
    ctx = approved_device(home, server, clock)
    scan_many(ctx, clock, 3)
    ctx.sync.sync_once()
    held = server.events[2]
    server.events[2] = msgspec.structs.replace(held, hash="f" * 64)
    ctx.store.record_accepted(1)  # make the device re-send seq 2
    report = ctx.sync.sync_once()
    assert "fork" in report.error and report.online
    assert ctx.store.status().fork_seq == 2
    requests_before = len(server.push_requests)
    with pytest.raises(DeviceError) as info:
        ctx.sync.push_pending()
    assert info.value.code == "fork" and len(server.push_requests) == requests_before
    ctx.close()


def test_upgrade_required_keeps_events_queued(home, server, clock):
    ctx = approved_device(home, server, clock)
    with ctx.store.transaction() as conn:
        ctx.store.append_event(
            conn, ctx.key, device_id="dev-fake", kind="future_kind", device_time=clock(), payload={}
        )
    report = ctx.sync.sync_once()
    assert "upgrade required" in report.error
    assert ctx.store.status().unsynced == 1
    assert ctx.store.ticket_count() == 52  # pull still happened
    ctx.close()


def test_revoked_and_unauthorized(home, server, clock):
    ctx = approved_device(home, server, clock)
    server.revoked = True
    report = ctx.sync.sync_once()
    assert report.error == "device revoked" and report.online
    server.revoked = False
    # the server no longer knows the device's token (someone else collected a new one):
    # the device proves its key again, gets a new token and carries on, nothing lost
    server.token = "rotated"
    report = ctx.sync.sync_once()
    assert report.error is None and report.online
    assert DeviceIdentity.load(home.identity_path).token == "rotated"
    ctx.close()


def test_pulled_tombstone_and_remote_entry_reach_the_gate(home, server, clock):
    ctx = approved_device(home, server, clock)
    ctx.sync.sync_once()
    server.changes += [
        tombstone(1000, "TKT00001"),
        admission_change(1001, "dev-x:5", "TKT00002", "in", T0 - 1000),
    ]
    ctx.sync.sync_once()
    assert ctx.gate.check_in("TKT00001").result is ScanResult.REVOKED
    clock.advance(10)
    assert ctx.gate.check_in("TKT00002").result is ScanResult.ALREADY_USED
    ctx.close()


def test_broken_identity_and_key_files_are_clear_errors(home, server, clock):
    enroll(home, "http://testserver", "gate", "North", http=server.client(), clock=clock)
    key_text = home.key_path.read_text()
    home.key_path.write_text("not a key")
    with pytest.raises(DeviceError) as info:
        open_device(home, require_approved=False)
    assert info.value.code == "bad_key"
    home.key_path.write_text(key_text)
    home.identity_path.write_text("{broken")
    with pytest.raises(DeviceError) as info:
        open_device(home, require_approved=False)
    assert info.value.code == "bad_identity"
    home.identity_path.write_text('{"device_id": "x"}')
    with pytest.raises(DeviceError) as info:
        open_device(home, require_approved=False)
    assert info.value.code == "bad_identity"
