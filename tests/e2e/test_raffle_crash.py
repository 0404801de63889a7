"""kill -9 of an RSU between a sale's commit and its receipt print, at random instants
of a selling loop, and in the middle of a sync pushing many sales: after restart and
sync the server holds every sale the RSU committed exactly once, and the RSU's numbers
continue without reuse."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fieldpass.sync.validation_numbers import format_validation_number
from tests.e2e.lossy_proxy import LossyProxy
from tests.e2e.raffle_e2e import (
    device_orders,
    ingested,
    outbox_count,
    server_orders,
    server_tickets,
    setup_with_api,
)

pytestmark = pytest.mark.e2e
RAFFLE_LOOP = Path(__file__).with_name("raffle_loop.py")
RANGE = (1, 3000)


def rsu_state(home: Path) -> dict:
    """The RSU's orders, checked against its outbox: every order has its sale event and
    vice versa, numbers are never sold twice and are the lowest of the range."""
    orders = device_orders(home)
    events = outbox_count(home)
    with sqlite3.connect(home / "store.sqlite") as db:
        kinds = dict(db.execute("select seq, kind from outbox").fetchall())
        numbers = dict(db.execute("select draw_number, order_id from raffle_number").fetchall())
    assert sorted(o.seq for o in orders.values()) == sorted(
        seq for seq, kind in kinds.items() if kind == "raffle_sale"
    )
    sold = [n for o in orders.values() for n in o.numbers]
    assert len(sold) == len(set(sold)) and set(sold) == set(numbers)
    assert sorted(sold) == list(range(1, len(sold) + 1)), "lowest first, no hole, no reuse"
    return {"events": events, "orders": orders, "numbers": set(sold)}


def wait_for_orders(home: Path, count: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if len(device_orders(home)) >= count:
            return
        assert process.poll() is None, process.communicate()
        time.sleep(0.05)
    raise AssertionError("the sale was not committed in time")


def start_loop(env, home: Path, pause: float, count: int) -> subprocess.Popen:
    loop = subprocess.Popen(
        [sys.executable, str(RAFFLE_LOOP), str(home), "1 for 5", str(pause), str(count)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert loop.stdout.readline().strip() == "ready", loop.stderr.read()
    return loop


def test_kill_9_of_the_rsu_at_print_in_a_sale_loop_and_mid_sync_loses_nothing(
    cli, server, tmp_path
):
    home = tmp_path / "stand"
    raffle = setup_with_api(cli, server, [home], [RANGE], max_tickets=RANGE[1])
    device_id = raffle.rsus["stand"]
    fifo = tmp_path / "printer.fifo"
    os.mkfifo(fifo)

    # 1. between the commit and the print: `device sell` blocks opening the printer
    for attempt in range(1, 3):
        sell = subprocess.Popen(
            [sys.executable, "-m", "fieldpass", "device", "sell", "--package", "3 for 10",
             "--cash", "10", "--printer", f"file:{fifo}", "--json", "--home", str(home)],
            env=cli.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        wait_for_orders(home, attempt, sell)
        time.sleep(0.3)
        assert sell.poll() is None, "the print did not block"
        os.kill(sell.pid, signal.SIGKILL)
        sell.wait()
        state = rsu_state(home)
        assert len(state["orders"]) == attempt and len(state["numbers"]) == 3 * attempt
    # the sale is valid and its receipt can be printed again, marked as a copy
    unprinted = max(rsu_state(home)["orders"].values(), key=lambda o: o.seq)
    paper = tmp_path / "reprint.bin"
    copy = cli.json("device", "reprint", unprinted.validation_number, "--reason",
                    "printer jammed", "--printer", f"file:{paper}", "--home", str(home))  # fmt: skip
    assert copy["copy_number"] == 2 and copy["draw_numbers"] == list(unprinted.numbers)
    assert copy["print_error"] is None
    printed = paper.read_bytes()
    assert b"REPRINT (copy 2)" in printed
    assert format_validation_number(unprinted.validation_number).encode() in printed

    # 2. at random instants of a fast selling loop (no printer)
    rng = random.Random(20261126)
    for _ in range(5):
        before = {o.validation_number for o in rsu_state(home)["orders"].values()}
        loop = start_loop(cli.env, home, 0.002, 10_000)
        time.sleep(rng.uniform(0.05, 0.4))
        assert loop.poll() is None
        os.kill(loop.pid, signal.SIGKILL)
        out, _ = loop.communicate()
        state = rsu_state(home)
        printed = {line.split()[2] for line in out.splitlines() if line.startswith("sold")}
        committed = {o.validation_number for o in state["orders"].values()} - before
        assert printed <= committed  # every sale the seller was told of is kept
        assert len(committed - printed) <= 1  # at most the one the kill cut short
    # enough queued sales for several push batches (500 events each)
    pending = state["events"]
    if pending < 1200:
        loop = start_loop(cli.env, home, 0.0, 1200 - pending)
        out, _ = loop.communicate(timeout=120)
        assert out.split()[-1] == "done", out[-500:]
    state = rsu_state(home)
    assert state["events"] >= 1200

    # 3. mid-sync: kill the sync process while it pushes, then sync to the end
    cut = 0
    for _ in range(3):
        before = ingested(server, device_id)[0]
        if before == state["events"]:
            break
        sync = subprocess.Popen(
            [sys.executable, "-m", "fieldpass", "device", "sync", "--home", str(home)],
            env=cli.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 20
        while ingested(server, device_id)[0] == before and time.monotonic() < deadline:
            time.sleep(0.01)  # the first batch has landed: the push is under way
        time.sleep(rng.uniform(0.0, 0.05))
        os.kill(sync.pid, signal.SIGKILL)
        sync.wait()
        rsu_state(home)
        stored, distinct = ingested(server, device_id)
        assert stored == distinct and stored <= state["events"]
        cut += stored < state["events"]
    assert cut >= 1, "no kill landed before the push ended"
    for _ in range(10):
        if cli.run("device", "sync", "--home", str(home), check=False).returncode == 0:
            break
        time.sleep(0.5)
    assert cli.json("device", "status", "--home", str(home))["unsynced"] == 0

    state = rsu_state(home)
    assert ingested(server, device_id) == (state["events"], state["events"])
    stored = server_orders(server, device_id)
    assert set(stored) == set(state["orders"])  # each sale exactly once (ids are unique)
    assert {v for v, _ in stored.values()} == {
        o.validation_number for o in state["orders"].values()
    }
    tickets = server_tickets(server, raffle.id)
    assert tickets == {
        n: ("sold", order_id) for order_id, o in state["orders"].items() for n in o.numbers
    }
    with sqlite3.connect(server.db_path) as db:
        counters = db.execute(
            "select tickets_sold, tickets_voided from rsu_allocation where rsu_id = ?",
            (device_id,),
        ).fetchall()
        reprints = db.execute(
            "select reprint_count from raffle_order where validation_number = ?",
            (unprinted.validation_number,),
        ).fetchone()
    assert counters == [(len(state["numbers"]), 0)]
    assert reprints == (1,)  # the logged reprint reached the server once
    assert cli.json("admin", "conflicts", "list", "--event", raffle.id) == []

    # 4. after all this the RSU sells on from the next number, none reused
    after = cli.json("device", "sell", "--package", "3 for 10", "--card", "POS-1", "--home",
                     str(home))  # fmt: skip
    top = max(state["numbers"])
    assert after["draw_numbers"] == [top + 1, top + 2, top + 3]
    assert after["validation_number"] not in {o.validation_number for o in state["orders"].values()}


def test_kill_9_after_the_server_committed_a_push_whose_answer_never_came(cli, server, tmp_path):
    """The worst instant of a sync, made certain: the server has stored a batch, the RSU
    is still waiting for the answer and is killed. It never learned the server has the
    batch; the next sync sends it again and nothing is stored or sold twice."""
    proxy = LossyProxy(server.url)
    try:
        home = tmp_path / "stand"
        raffle = setup_with_api(cli, server, [home], [(1, 900)], max_tickets=900,
                                device_url=proxy.url)  # fmt: skip
        device_id = raffle.rsus["stand"]
        loop = start_loop(cli.env, home, 0.0, 700)  # two push batches
        out, _ = loop.communicate(timeout=120)
        assert out.split()[-1] == "done", out[-500:]
        events = rsu_state(home)["events"]

        proxy.hold_pushes = True
        sync = subprocess.Popen(
            [sys.executable, "-m", "fieldpass", "device", "sync", "--home", str(home)],
            env=cli.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        assert proxy.push_committed.wait(30), "no push reached the server"
        os.kill(sync.pid, signal.SIGKILL)
        sync.wait()
        proxy.release()
        stored, distinct = ingested(server, device_id)
        assert 0 < stored == distinct < events  # the first batch is on the server...
        with sqlite3.connect(home / "store.sqlite") as db:
            accepted = db.execute("select value from meta where key = 'accepted_seq'").fetchone()
        assert accepted is None or int(accepted[0]) < stored  # ...the RSU does not know

        synced = cli.json("device", "sync", "--home", str(home))
        assert (synced["error"], synced["unsynced"]) == (None, 0)
        state = rsu_state(home)
        assert ingested(server, device_id) == (events, events)
        stored_orders = server_orders(server, device_id)
        assert set(stored_orders) == set(state["orders"]) and len(stored_orders) == 700
        assert server_tickets(server, raffle.id) == {
            n: ("sold", order_id) for order_id, o in state["orders"].items() for n in o.numbers
        }
        assert cli.json("admin", "conflicts", "list", "--event", raffle.id) == []
    finally:
        proxy.close()
