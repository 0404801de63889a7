"""The gate story end to end: real gunicorn, real device processes, network cut and back."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import enroll_gate

pytestmark = pytest.mark.e2e


def scan(cli, home, code, mode="entry"):
    return cli.json("device", "scan", code, "--mode", mode, "--home", str(home))


def test_two_offline_gates_admit_one_ticket_and_the_server_reconciles(cli, server, match, tmp_path):
    north, south = tmp_path / "north", tmp_path / "south"
    north_id = enroll_gate(cli, server, match, north, "North")
    south_id = enroll_gate(cli, server, match, south, "South")

    server.stop()  # the network is gone: both gates decide alone
    assert scan(cli, north, "E2E-00007")["result"] == "VALID"
    assert scan(cli, south, "E2E-00007")["result"] == "VALID"
    offline = cli.json("device", "status", "--home", str(north))
    assert offline["unsynced"] >= 1
    failed = cli.run("device", "sync", "--home", str(north), check=False)
    assert failed.returncode != 0 and "Traceback" not in failed.stderr
    assert len(failed.stderr.strip().splitlines()) == 1

    server.start()
    for home in (north, south, north):  # north pulls south's entry on its second sync
        cli.run("device", "sync", "--home", str(home))

    conflicts = cli.json("admin", "conflicts", "list", "--event", match.event_id)
    doubles = [c for c in conflicts if c["kind"] == "double_entry"]
    assert len(doubles) == 1
    assert set(doubles[0]["devices"]) == {north_id, south_id}
    assert doubles[0]["subject"] == "E2E-00007"

    third_north = scan(cli, north, "E2E-00007")
    third_south = scan(cli, south, "E2E-00007")
    assert third_north["result"] == third_south["result"] == "ALREADY_USED"

    report = cli.json("admin", "report", "attendance", "--event", match.event_id)
    assert report["attended"] == 1
    assert cli.json("device", "status", "--home", str(south))["unsynced"] >= 1  # the third scan
    cli.run("device", "sync", "--home", str(south))
    assert cli.json("device", "status", "--home", str(south))["unsynced"] == 0
    # Syncing again changes nothing: still one conflict.
    cli.run("device", "sync", "--home", str(south))
    again = cli.json("admin", "conflicts", "list", "--event", match.event_id)
    assert len([c for c in again if c["kind"] == "double_entry"]) == 1


def test_revocation_reaches_the_gate_at_its_next_pull(cli, server, match, tmp_path):
    home = tmp_path / "gate"
    enroll_gate(cli, server, match, home, "North")
    assert scan(cli, home, "E2E-00011", mode="check")["result"] == "VALID"
    cli.run(
        "admin",
        "tickets",
        "revoke",
        "--event",
        match.event_id,
        "E2E-00011",
        "--reason",
        "refunded at the box office",
    )
    assert scan(cli, home, "E2E-00012")["result"] == "VALID"  # still offline knowledge
    cli.run("device", "sync", "--home", str(home))
    revoked = scan(cli, home, "E2E-00011")
    assert revoked["result"] == "REVOKED"


def test_a_revoked_device_can_no_longer_sync(cli, server, match, tmp_path):
    home = tmp_path / "gate"
    device_id = enroll_gate(cli, server, match, home, "North")
    cli.run("admin", "device", "revoke", device_id)
    scan(cli, home, "E2E-00003")
    result = cli.run("device", "sync", "--home", str(home), check=False)
    assert result.returncode != 0
    assert "revoked" in result.stderr.lower()
    assert "Traceback" not in result.stderr
    devices = {d["id"]: d for d in cli.json("admin", "device", "list")}
    assert devices[device_id]["status"] == "revoked"
    assert devices[device_id]["accepted_seq"] == 0
