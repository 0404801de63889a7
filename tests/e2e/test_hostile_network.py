"""Issue 9 end to end: a machine in the middle between a gate and the real server (real
gunicorn, real fieldpass processes) can neither forge, replay nor redirect what the gate
acts on."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import pytest

from fieldpass.sync import signing
from fieldpass.sync.answers import key_fingerprint
from tests.e2e.conftest import Fieldpass, LiveServer, Match, enroll_gate
from tests.e2e.lossy_proxy import LossyProxy

pytestmark = pytest.mark.e2e


def _route_through(home: Path, url: str) -> None:
    """What ARP or DNS spoofing does: the gate's requests reach ``url`` instead."""
    identity = json.loads((home / "device.json").read_text())
    identity["server_url"] = url
    (home / "device.json").write_text(json.dumps(identity))


def _scan(cli: Fieldpass, home: Path, code: str) -> str:
    return cli.json("device", "scan", code, "--home", str(home))["result"]


@pytest.fixture
def gate(cli: Fieldpass, server: LiveServer, match: Match, tmp_path: Path) -> Path:
    home = tmp_path / "north"
    enroll_gate(cli, server, match, home, "North")
    return home


@pytest.fixture
def proxy(server: LiveServer):
    mitm = LossyProxy(server.url)
    yield mitm
    mitm.close()


def test_a_forged_pull_page_changes_nothing_at_the_gate(
    cli: Fieldpass, server: LiveServer, match: Match, gate: Path, proxy: LossyProxy
):
    """Reproduces issue 9.1: a proxy that added a ticket made the gate admit it, and one
    that flipped a valid ticket made the gate refuse it."""

    def forge(method: str, path: str, body: bytes) -> bytes:
        if not path.startswith("/v1/sync/pull"):
            return body
        page = msgspec.json.decode(body)
        page["changes"] += [
            {
                "seq": 10**9,
                "entity": "ticket",
                "key": "FORGED-1",
                "op": "upsert",
                "data": {"event_id": match.event_id, "sector": "A", "status": "VALID"},
            },
            {
                "seq": 10**9 + 1,
                "entity": "ticket",
                "key": "E2E-00002",
                "op": "tombstone",
                "data": {"event_id": match.event_id, "status": "REVOKED"},
            },
        ]
        return msgspec.json.encode(page)

    proxy.tamper_answer = forge
    _route_through(gate, proxy.url)
    result = cli.run("device", "sync", "--home", str(gate), check=False)
    assert result.returncode == 1
    assert "did not sign" in result.stderr and "Traceback" not in result.stderr
    assert _scan(cli, gate, "FORGED-1") == "UNKNOWN"
    assert _scan(cli, gate, "E2E-00002") == "VALID"
    status = cli.json("device", "status", "--home", str(gate))
    assert "did not sign" in status["last_error"] and status["online"] is False
    # the real server, reached again, is trusted as before
    _route_through(gate, server.url)
    cli.run("device", "sync", "--home", str(gate))
    assert cli.json("device", "status", "--home", str(gate))["last_error"] is None


def test_a_replayed_answer_is_refused_and_the_revocation_it_hid_arrives(
    cli: Fieldpass, server: LiveServer, match: Match, gate: Path, proxy: LossyProxy
):
    _route_through(gate, proxy.url)
    cli.run("device", "sync", "--home", str(gate))  # a genuine page, recorded by the proxy
    cli.run(
        "admin", "tickets", "revoke", "--event", match.event_id, "E2E-00003", "--reason", "refund"
    )
    proxy.replay = "/v1/sync/pull"  # the old, genuinely signed page again
    result = cli.run("device", "sync", "--home", str(gate), check=False)
    assert result.returncode == 1 and "did not sign" in result.stderr
    proxy.replay = None
    cli.run("device", "sync", "--home", str(gate))
    assert _scan(cli, gate, "E2E-00003") == "REVOKED"


def test_a_request_altered_on_the_way_is_refused(
    cli: Fieldpass, server: LiveServer, match: Match, gate: Path, proxy: LossyProxy
):
    """Skipping changes by moving the pull cursor forward gets a signed answer for the
    altered request, which the gate refuses: its own request is what the answer must fit."""
    cli.run(
        "admin", "tickets", "revoke", "--event", match.event_id, "E2E-00004", "--reason", "refund"
    )

    def skip_ahead(method: str, path: str, body: bytes) -> tuple[str, bytes]:
        if path.startswith("/v1/sync/pull"):
            head, _, query = path.partition("?")
            params = [p for p in query.split("&") if not p.startswith("cursor=")]
            path = head + "?" + "&".join(["cursor=x%3A999999999", *params])
        return path, body

    proxy.tamper_request = skip_ahead
    _route_through(gate, proxy.url)
    result = cli.run("device", "sync", "--home", str(gate), check=False)
    assert result.returncode == 1 and "did not sign" in result.stderr
    assert _scan(cli, gate, "E2E-00004") == "VALID"  # nothing of the altered answer applied


def test_enrollment_with_the_servers_fingerprint_and_with_a_wrong_one(
    cli: Fieldpass, server: LiveServer, tmp_path: Path
):
    fingerprint = cli.run("server", "fingerprint", "--db", server.db_url).stdout.strip()
    pinned = cli.json(
        "device", "enroll", "--server", server.url, "--role", "gate", "--name", "Pinned",
        "--pin", fingerprint.upper(), "--home", str(tmp_path / "pinned"),
    )  # fmt: skip
    assert pinned["server_key_fingerprint"] == fingerprint
    assert pinned["server_key_source"] == "pin"
    impostor = key_fingerprint(signing.public_key_text(signing.generate_private_key()))
    refused = cli.run(
        "device", "enroll", "--server", server.url, "--role", "gate", "--name", "Fooled",
        "--pin", impostor, "--home", str(tmp_path / "fooled"), check=False,
    )  # fmt: skip
    assert refused.returncode == 1 and "not the pinned" in refused.stderr
    assert not (tmp_path / "fooled" / "device.json").exists()


def test_a_gate_that_lost_its_token_proves_its_key_and_carries_on(
    cli: Fieldpass, server: LiveServer, match: Match, gate: Path
):
    identity = json.loads((gate / "device.json").read_text())
    identity["token"] = None
    (gate / "device.json").write_text(json.dumps(identity))
    assert _scan(cli, gate, "E2E-00005") == "VALID"
    cli.run("device", "sync", "--home", str(gate))
    assert json.loads((gate / "device.json").read_text())["token"]
    devices = {d["id"]: d for d in cli.json("admin", "device", "list")}
    assert devices[identity["device_id"]]["accepted_seq"] == 1
