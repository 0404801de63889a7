"""``fieldpass device`` commands on a prepared device home (no server needed)."""

from __future__ import annotations

import json

import msgspec
import pytest
from click.testing import CliRunner

from fieldpass.cli import cli
from fieldpass.device.home import DeviceHome
from fieldpass.device.identity import DeviceIdentity, save_key
from fieldpass.device.store import Store
from fieldpass.sync import signing

from .conftest import EVENT_ID, seed_changes

UNREACHABLE = "http://127.0.0.1:9"


@pytest.fixture
def home(tmp_path) -> DeviceHome:
    home = DeviceHome.resolve(tmp_path / "dev")
    home.ensure()
    save_key(home.key_path, signing.generate_private_key())
    DeviceIdentity(
        device_id="dev-cli",
        name="North 1",
        role="gate",
        server_url=UNREACHABLE,
        status="approved",
        token="tok",
        organization_id="org-1",
        event_id=EVENT_ID,
        gate_id="gate-north",
    ).save(home.identity_path)
    store = Store.open(home.store_path)
    changes = seed_changes(signing.generate_private_key())
    # the CLI runs on the real clock: open the event's window
    changes[0] = msgspec.structs.replace(
        changes[0], data={**changes[0].data, "valid_from": None, "valid_until": None}
    )
    store.apply_changes(changes, "epoch-1:101", "epoch-1")
    store.close()
    return home


def run(*args: str):
    return CliRunner().invoke(cli, ["device", *args], catch_exceptions=False)


def test_scan_json_and_repeat(home):
    first = run("scan", "TKT00001", "--home", str(home.root), "--json")
    assert first.exit_code == 0, first.output
    data = json.loads(first.output)
    assert (data["result"], data["holder"], data["seq"], data["repeated"]) == (
        "VALID",
        "Ana Horvat 1",
        1,
        False,
    )
    second = json.loads(run("scan", "TKT00001", "--home", str(home.root), "--json").output)
    assert second["repeated"] is True and second["seq"] is None


def test_scan_exit_mode_and_invalid_code(home):
    out = json.loads(
        run("scan", "TKT00002", "--mode", "exit", "--home", str(home.root), "--json").output
    )
    assert out["result"] == "VALID_EXIT"
    out = json.loads(run("scan", "💥' OR 1=1", "--home", str(home.root), "--json").output)
    assert out["result"] == "INVALID"


def test_status_json(home):
    run("scan", "TKT00003", "--home", str(home.root), "--json")
    result = run("status", "--home", str(home.root), "--json")
    data = json.loads(result.output)
    assert data["device_id"] == "dev-cli" and data["status"] == "approved"
    assert (data["unsynced"], data["tickets"], data["epoch"], data["fork_seq"]) == (
        1,
        52,
        "epoch-1",
        None,
    )


def test_sync_offline_fails_with_one_line(home):
    result = run("sync", "--home", str(home.root))
    assert result.exit_code == 1
    assert result.stderr.startswith("error: sync failed: offline: server unreachable")
    assert len(result.stderr.strip().splitlines()) == 1


def test_not_enrolled_is_a_clear_error(tmp_path):
    result = run("status", "--home", str(tmp_path / "none"))
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "error: this device is not enrolled (run: fieldpass device enroll)"
    )


def test_enroll_unreachable_server_is_one_line(tmp_path):
    home = tmp_path / "new"
    result = run(
        "enroll", "--server", UNREACHABLE, "--role", "gate", "--name", "N", "--home", str(home)
    )
    assert result.exit_code == 1
    assert result.stderr.startswith("error: server unreachable")
    assert not (home / "device.json").exists()


def test_enroll_rejects_unknown_role(tmp_path):
    result = run(
        "enroll", "--server", UNREACHABLE, "--role", "boss", "--name", "N", "--home", str(tmp_path)
    )
    assert result.exit_code == 2
