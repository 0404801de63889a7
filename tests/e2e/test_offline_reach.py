"""Issue 12 end to end, with real gunicorn and real fieldpass processes: gates that lost
the server share their admissions over the LAN (through a lossy link, one of them killed
and restarted), and a petrol kiosk's ticket sold offline enters offline."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from fieldpass.server import schema
from fieldpass.server.db import make_engine
from fieldpass.sync.identity import oib_check_digit
from tests.e2e.conftest import Fieldpass, LiveServer, Match, enroll_gate, free_port
from tests.e2e.lossy_proxy import LossyProxy

pytestmark = pytest.mark.e2e


class PeerDaemon:
    """`fieldpass device peers` for one gate home, as a real process."""

    def __init__(self, cli: Fieldpass, home: Path, port: int, peers: list[str]) -> None:
        self.cli, self.home, self.port, self.peers = cli, home, port, peers
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "fieldpass", "device", "peers", "--home", str(self.home),
             "--listen", f"127.0.0.1:{self.port}", "--peers", ",".join(self.peers)],
            env=self.cli.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


def _first_entry(home: Path, barcode: str) -> str | None:
    """Where the gate's own store says the ticket first entered (read-only look)."""
    conn = sqlite3.connect(f"file:{home / 'store.sqlite'}?mode=ro", uri=True, timeout=5)
    try:
        row = conn.execute(
            "SELECT first_entry_gate FROM ticket_presence WHERE barcode = ?", (barcode,)
        ).fetchone()
    finally:
        conn.close()
    return None if row is None else row[0]


def _wait_for(condition, timeout: float = 20.0) -> None:
    start = time.monotonic()
    while not condition():
        assert time.monotonic() - start < timeout, "the LAN exchange never delivered"
        time.sleep(0.05)


def test_gates_without_the_server_refuse_a_ticket_another_gate_admitted(
    cli: Fieldpass, server: LiveServer, match: Match, tmp_path: Path
):
    cli.run("admin", "gate", "create", "--event", match.event_id, "--name", "East")
    gates = {
        g["name"]: g["id"] for g in cli.json("admin", "gate", "list", "--event", match.event_id)
    }
    match.gates.update(gates)
    homes = {name: tmp_path / name for name in ("North", "South", "East")}
    for name, home in homes.items():
        enroll_gate(cli, server, match, home, name)
    ports = {name: free_port() for name in homes}
    # North reaches South through a lossy link: a third of its requests lost, all delayed
    lossy = LossyProxy(f"http://127.0.0.1:{ports['South']}")
    lossy.drop_rate, lossy.max_delay_s = 0.3, 0.2
    lossy_address = lossy.url.removeprefix("http://")

    def peers_of(name: str) -> list[str]:
        return [
            lossy_address if (name, other) == ("North", "South") else f"127.0.0.1:{ports[other]}"
            for other in homes
            if other != name
        ]

    daemons = {name: PeerDaemon(cli, homes[name], ports[name], peers_of(name)) for name in homes}
    server.stop()  # the uplink is gone; the LAN is not
    try:
        for daemon in daemons.values():
            daemon.start()
        assert (
            cli.json("device", "scan", "E2E-00001", "--home", str(homes["North"]))["result"]
            == "VALID"
        )
        _wait_for(lambda: _first_entry(homes["South"], "E2E-00001") is not None)
        refused = cli.json("device", "scan", "E2E-00001", "--home", str(homes["South"]))
        assert refused["result"] == "ALREADY_USED"
        assert refused["first_entry_gate"] == "North (via LAN)"
        # East is killed mid-match; North admits more; East comes back and catches up
        daemons["East"].kill()
        for n in (2, 3, 4):
            cli.json("device", "scan", f"E2E-0000{n}", "--home", str(homes["North"]))
        daemons["East"].start()
        _wait_for(lambda: _first_entry(homes["East"], "E2E-00004") is not None)
        status = cli.json("device", "status", "--home", str(homes["South"]))
        assert {p["address"] for p in status["peers"]} == {
            f"127.0.0.1:{ports['North']}",
            f"127.0.0.1:{ports['East']}",
        }
    finally:
        for daemon in daemons.values():
            daemon.stop()
        lossy.close()
    assert lossy.dropped > 0  # the lossy link did lose requests
    server.start()
    for home in homes.values():
        cli.run("device", "sync", "--home", str(home))
    engine = make_engine(server.db_url)
    try:
        with engine.connect() as conn:
            ingested = conn.execute(
                sa.select(schema.ingested_events.c.device_id, schema.ingested_events.c.seq)
            ).all()
            entries = conn.execute(
                sa.select(sa.func.count()).where(
                    schema.admissions.c.barcode == "E2E-00001",
                    schema.admissions.c.direction == "in",
                )
            ).scalar()
            kinds = conn.execute(sa.select(schema.conflicts.c.kind)).scalars().all()
    finally:
        engine.dispose()
    assert len(ingested) == len(set(ingested))  # each event once, from the gate that made it
    assert entries == 1 and "double_entry" not in kinds


def test_a_ticket_sold_at_an_offline_kiosk_enters_at_an_offline_gate(
    cli: Fieldpass, server: LiveServer, match: Match, tmp_path: Path
):
    cli.run(
        "admin", "sector", "add", "--event", match.event_id, "--name", "P", "--rows", "A",
        "--seats", "1-4", "--price", "25.00",
    )  # fmt: skip
    oib = "1234567890" + str(oib_check_digit("1234567890"))
    pin = cli.json(
        "admin", "pins", "create", "--event", match.event_id, "--quantity", "1",
        "--holder", f"Ana Horvat;1990-05-17;HR;{oib}", "--expires", "2099-01-01T00:00:00Z",
    )  # fmt: skip
    gate_home, kiosk_home = tmp_path / "gate", tmp_path / "kiosk"
    match.gates["Main"] = cli.json(
        "admin", "gate", "create", "--event", match.event_id, "--name", "Main"
    )["id"]  # every sector, P included
    enroll_gate(cli, server, match, gate_home, "Main")
    enrolled = cli.json(
        "device", "enroll", "--server", server.url, "--role", "petrol", "--name", "Kiosk",
        "--home", str(kiosk_home),
    )  # fmt: skip
    cli.run("admin", "device", "approve", enrolled["code"], "--event", match.event_id)
    cli.run(
        "admin", "seats", "allocate", "--event", match.event_id, "--device",
        enrolled["device_id"], "--sector", "P", "--rows", "A",
    )  # fmt: skip
    for home in (kiosk_home, gate_home):
        cli.run("device", "sync", "--home", str(home))
    server.stop()  # both offline from here
    sale = cli.json(
        "device", "redeem", pin["pin"], "--verify-identity", "--cash", "30",
        "--home", str(kiosk_home),
    )  # fmt: skip
    code = sale["tickets"][0]["code"]
    assert code.startswith("FP2.")
    first = cli.json("device", "scan", code, "--home", str(gate_home))  # QR from the ticket
    assert first["result"] == "VALID" and first["holder"] == "Ana Horvat"
    time.sleep(2.1)  # past the hold-off: a second read is a new decision
    assert cli.json("device", "scan", code, "--home", str(gate_home))["result"] == "ALREADY_USED"
    server.start()
    for home in (gate_home, kiosk_home, gate_home):
        cli.run("device", "sync", "--home", str(home))
    engine = make_engine(server.db_url)
    try:
        with engine.connect() as conn:
            sales = conn.execute(
                sa.select(sa.func.count()).select_from(schema.petrol_sales)
            ).scalar()
            barcode = sale["tickets"][0]["barcode"]
            admitted = conn.execute(
                sa.select(sa.func.count()).where(
                    schema.admissions.c.barcode == barcode, schema.admissions.c.direction == "in"
                )
            ).scalar()
            kinds = conn.execute(sa.select(schema.conflicts.c.kind)).scalars().all()
    finally:
        engine.dispose()
    assert (sales, admitted, kinds) == (1, 1, [])
    assert os.path.exists(kiosk_home / "store.sqlite")
