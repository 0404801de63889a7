"""kill -9 of a petrol kiosk between the sale's commit and its print, at random instants
of a redemption loop, and mid-sync: after restart and sync the server holds every sale the
kiosk committed exactly once, and nothing the kiosk did not commit."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.e2e.conftest import Fieldpass, LiveServer, Match

pytestmark = pytest.mark.e2e
PETROL_LOOP = Path(__file__).with_name("petrol_loop.py")
PINS = [f"{70000 + n}" for n in range(300)]
HOLDER = "Ana Horvat;1990-05-17;HR;69435151530"


def setup_kiosk(cli: Fieldpass, server: LiveServer, match: Match, tmp_path: Path):
    """A synced petrol kiosk with a 400-seat block and 300 one-ticket PINs."""
    home = tmp_path / "kiosk"
    cli.run(
        "admin", "sector", "add", "--event", match.event_id, "--name", "P", "--rows", "A-P",
        "--seats", "1-25",
    )  # fmt: skip
    enrolled = cli.json(
        "device", "enroll", "--server", server.url, "--role", "petrol", "--name", "Pump 1",
        "--home", str(home),
    )  # fmt: skip
    cli.run("admin", "device", "approve", enrolled["code"], "--event", match.event_id)
    cli.run(
        "admin", "seats", "allocate", "--event", match.event_id, "--device",
        enrolled["device_id"], "--sector", "P", "--rows", "A-P",
    )  # fmt: skip
    csv = tmp_path / "pins.csv"
    rows = ["pin,quantity,expires_at,holder_1"]
    rows += [f"{pin},1,2099-01-01T00:00:00Z,{HOLDER}" for pin in PINS]
    csv.write_text("\n".join(rows) + "\n", encoding="utf-8")
    cli.run("admin", "pins", "import", "--event", match.event_id, str(csv))
    cli.run("device", "sync", "--home", str(home))
    return home, enrolled["device_id"]


def start_loop(
    env, home: Path, printer: str, pins: list[str], pause: float = 0.0
) -> subprocess.Popen:
    loop = subprocess.Popen(
        [sys.executable, str(PETROL_LOOP), str(home), printer, str(pause), *pins],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert loop.stdout.readline().strip() == "ready", loop.stderr.read()
    return loop


def kiosk_state(home: Path) -> dict:
    """The kiosk's own records, read straight from its file, checked for consistency."""
    with sqlite3.connect(home / "store.sqlite") as db:
        assert db.execute("pragma integrity_check").fetchone()[0] == "ok"
        count, last = db.execute("select count(*), coalesce(max(seq), 0) from outbox").fetchone()
        assert count == last, "outbox seqs have a gap"
        kinds = dict(db.execute("select seq, kind from outbox").fetchall())
        sales = [r[0] for r in db.execute("select seq from petrol_sales order by seq")]
        assert all(kinds[seq] == "petrol_sale" for seq in sales)
        assert sorted(s for s, k in kinds.items() if k == "petrol_sale") == sales
        barcodes = {r[0]: r[1] for r in db.execute("select barcode, seq from petrol_tickets")}
        assert set(barcodes.values()) == set(sales), "every sale has its tickets and vice versa"
        reserved = [s for s, k in kinds.items() if k == "petrol_reservation"]
        rows = dict(db.execute("select seq, status from petrol_reservations").fetchall())
        assert sorted(rows) == sorted(reserved), "every reservation has its event"
        held = db.execute(
            "select count(*) from petrol_seat_holds h join petrol_reservations r"
            " on r.id = h.reservation_id where r.status != 'ACTIVE'"
        ).fetchone()[0]
        assert held == 0, "an ended reservation still holds seats"
        used = db.execute("select count(*) from petrol_pins where status = 'USED'").fetchone()[0]
    return {"events": count, "sales": sales, "barcodes": barcodes, "used": used}


def test_kill_9_of_the_kiosk_at_print_at_random_and_mid_sync_loses_nothing(
    cli, server, match, tmp_path
):
    home, device_id = setup_kiosk(cli, server, match, tmp_path)
    fifo = tmp_path / "printer.fifo"
    os.mkfifo(fifo)
    pins = list(PINS)
    sold_lines = 0

    # 1. between the commit and the print: the printer blocks, the sale is committed
    for _ in range(3):
        loop = start_loop(cli.env, home, f"file:{fifo}", pins[:5])
        line = loop.stdout.readline().split()
        assert line[0] == "sold", line
        sold_lines += 1
        time.sleep(0.2)  # blocked opening the FIFO
        assert loop.poll() is None
        os.kill(loop.pid, signal.SIGKILL)
        loop.wait()
        pins = pins[1:]  # the sold one
        state = kiosk_state(home)
        assert len(state["sales"]) == sold_lines and int(line[1]) in state["sales"]
        assert line[2] in state["barcodes"]

    # 2. at random instants of a fast redemption loop (no printer)
    rng = random.Random(20261125)
    killed_running = 0
    for _ in range(6):
        loop = start_loop(cli.env, home, "none", pins, pause=0.003)
        time.sleep(rng.uniform(0.02, 0.3))
        killed_running += loop.poll() is None
        os.kill(loop.pid, signal.SIGKILL)
        out, _ = loop.communicate()
        assert "done" not in out.split()
        state = kiosk_state(home)
        sold = {line.split()[1] for line in out.splitlines() if line.startswith("sold")}
        assert {str(s) for s in state["sales"]} >= sold  # every "sold" line is committed
    state = kiosk_state(home)
    assert killed_running == 6 and sold_lines < len(state["sales"]) < len(PINS)

    # 3. mid-sync: kill the sync process at random instants, then sync to the end
    for _ in range(4):
        sync = subprocess.Popen(
            [sys.executable, "-m", "fieldpass", "device", "sync", "--home", str(home)],
            env=cli.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(0.3, 1.2))  # interpreter start-up takes most of it
        os.kill(sync.pid, signal.SIGKILL)
        sync.wait()
        kiosk_state(home)
    for _ in range(10):
        if cli.run("device", "sync", "--home", str(home), check=False).returncode == 0:
            break
        time.sleep(0.5)
    status = cli.json("device", "status", "--home", str(home))
    assert status["unsynced"] == 0

    state = kiosk_state(home)
    with sqlite3.connect(server.db_path) as db:
        events = db.execute(
            "select count(*), count(distinct seq) from ingested_events where device_id = ?",
            (device_id,),
        ).fetchone()
        server_sales = db.execute(
            "select seq, barcodes from petrol_sales where device_id = ? order by seq",
            (device_id,),
        ).fetchall()
        server_tickets = [
            r[0]
            for r in db.execute(
                "select barcode from tickets where event_id = ? and barcode like 'P%'",
                (match.event_id,),
            )
        ]
    assert events == (state["events"], state["events"])
    assert [seq for seq, _ in server_sales] == state["sales"]  # each exactly once
    server_barcodes = [b for _, codes in server_sales for b in json.loads(codes)]
    assert sorted(server_barcodes) == sorted(state["barcodes"])
    assert sorted(server_tickets) == sorted(state["barcodes"])  # gates will get them
