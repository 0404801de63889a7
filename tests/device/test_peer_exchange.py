"""Issue 12, part 2: gates of one event share admissions over the LAN (real HTTP on
loopback, real stores, real server-issued certificates), and believe nothing a peer
cannot prove."""

from __future__ import annotations

import time

import httpx
import msgspec
import pytest
import sqlalchemy as sa

from fieldpass.device.peer_exchange import PeerExchange
from fieldpass.server import schema
from fieldpass.sync import signing
from fieldpass.sync.checkin import ScanResult
from fieldpass.sync.events import build_event
from fieldpass.sync.peers import PEER_PATH, PEER_PROTOCOL, PeerBatch, PeerCredential
from tests.device.test_sync_real_server import Server, enroll_device, setup_event
from tests.e2e.conftest import free_port


@pytest.fixture
def server(tmp_path):
    srv = Server(tmp_path)
    yield srv
    srv.close()


@pytest.fixture
def gates(server, tmp_path):
    """Three synced gates of one event, each exchanging with the two others."""
    event_id, gate_ids = setup_event(server)
    contexts = [
        enroll_device(server, tmp_path, name, event_id, gate_ids[name], debounce_ms=0)[1]
        for name in ("North", "South", "West")
    ]
    for ctx in contexts:
        assert ctx.sync.sync_once().error is None
    ports = [free_port() for _ in contexts]
    exchanges = []
    for index, ctx in enumerate(contexts):
        peers = [f"127.0.0.1:{p}" for i, p in enumerate(ports) if i != index]
        exchange = PeerExchange(
            ctx.store, ctx.identity, peers=peers, listen=f"127.0.0.1:{ports[index]}"
        )
        exchange.start()
        exchanges.append(exchange)
    yield contexts, exchanges, ports
    for exchange in exchanges:
        exchange.stop()
    for ctx in contexts:
        ctx.close()


def _wait_for(condition, timeout: float = 10.0) -> None:
    """Until ``condition`` holds; a generous bound only so a broken exchange fails."""
    start = time.monotonic()
    while not condition():
        assert time.monotonic() - start < timeout, "the LAN exchange never delivered"
        time.sleep(0.01)


def test_an_entry_at_one_gate_is_refused_at_another(gates):
    (north, south, west), exchanges, _ = gates
    assert north.gate.check_in("TKT00001").result is ScanResult.VALID
    _wait_for(lambda: south.store.presence("TKT00001") is not None)  # bench/peers.py times it
    outcome = south.gate.check_in("TKT00001")
    assert outcome.result is ScanResult.ALREADY_USED
    assert outcome.first_entry_gate == "North (via LAN)"
    _wait_for(lambda: west.store.presence("TKT00001") is not None)
    assert west.store.presence("TKT00001")[2] == "North (via LAN)"  # West serves sector W
    _wait_for(lambda: exchanges[1].reachable() == (2, 2))


def test_the_server_still_gets_each_event_once_from_its_maker(server, gates):
    (north, south, _west), _exchanges, _ = gates
    north.gate.check_in("TKT00002")
    _wait_for(lambda: south.store.presence("TKT00002") is not None)
    for ctx in (north, south):
        assert ctx.sync.sync_once().error is None
    admissions = server.admin(
        "POST", f"/v1/events/{north.identity.event_id}/tickets/search", json={"search": "TKT00002"}
    )["tickets"][0]
    assert admissions["first_entry_at"] is not None
    with server.engine.connect() as conn:
        rows = conn.execute(
            sa.select(schema.ingested_events.c.device_id, schema.ingested_events.c.seq)
        ).all()
    assert len(rows) == len(set(rows)) == 1  # north's scan, pushed by north only
    # the pulled copy of the admission is the same one the LAN brought: still one entry
    assert south.store.presence("TKT00002")[4] == 1


def test_a_gate_that_was_down_catches_up_without_duplicates(gates):
    (north, south, west), exchanges, ports = gates
    exchanges[2].stop()  # West goes away
    for n in range(3, 8):
        north.gate.check_in(f"TKT0000{n}")
    _wait_for(lambda: south.store.presence("TKT00007") is not None)
    restarted = PeerExchange(
        west.store,
        west.identity,
        peers=[f"127.0.0.1:{ports[0]}", f"127.0.0.1:{ports[1]}"],
        listen=f"127.0.0.1:{ports[2]}",
    )
    exchanges[2] = restarted
    restarted.start()
    _wait_for(lambda: west.store.presence("TKT00007") is not None)
    entries = [west.store.presence(f"TKT0000{n}")[4] for n in range(3, 8)]
    assert entries == [1] * 5


def _batch(events, credential: PeerCredential) -> bytes:
    return msgspec.json.encode(
        PeerBatch(protocol=PEER_PROTOCOL, sender=credential, clock_offset_ms=0, events=events)
    )


def test_a_batch_without_a_valid_certificate_or_signature_changes_nothing(gates):
    (north, south, _west), exchanges, ports = gates
    url = f"http://127.0.0.1:{ports[1]}{PEER_PATH}"
    intruder = signing.generate_private_key()
    payload = {
        "event_id": north.identity.event_id,
        "mode": "entry",
        "result": "VALID",
        "code": "TKT00009",
        "code_length": 8,
        "barcode": "TKT00009",
        "gate_id": north.identity.gate_id,
        "moved": "in",
    }
    forged = build_event(
        intruder,
        device_id=north.identity.device_id,
        seq=999,
        kind="scan",
        device_time=1,
        payload=payload,
        prev_hash="0" * 64,
    )
    credential = exchanges[0].credential
    attempts = {
        "not signed by north": _batch([forged], credential),
        "a certificate the server never signed": _batch(
            [forged],
            msgspec.structs.replace(credential, public_key=signing.public_key_text(intruder)),
        ),
        "garbage": b"{not json",
    }
    for name, body in attempts.items():
        answer = httpx.post(url, content=body, headers={"Content-Type": "application/json"})
        assert answer.status_code == 403, name
    assert south.store.presence("TKT00009") is None
    assert south.gate.check_in("TKT00009").result is ScanResult.VALID
