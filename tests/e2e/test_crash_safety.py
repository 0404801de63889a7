"""kill -9 at any instant loses nothing and duplicates nothing, on the device and the server."""

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

from tests.e2e.conftest import enroll_gate

pytestmark = pytest.mark.e2e
SCAN_LOOP = Path(__file__).with_name("scan_loop.py")


def run_scan_loop(env, home: Path, count: int) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(SCAN_LOOP), str(home), str(count)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def store_counts(home: Path) -> tuple[int, int, str]:
    """(outbox events, own scans, integrity check) read straight from the device file."""
    with sqlite3.connect(home / "store.sqlite") as db:
        outbox = db.execute("select count(*), coalesce(max(seq), 0) from outbox").fetchone()
        scans = db.execute("select count(*) from scans").fetchone()[0]
        integrity = db.execute("pragma integrity_check").fetchone()[0]
    assert outbox[0] == outbox[1], "outbox seqs have a gap"
    return outbox[0], scans, integrity


def server_events(server, device_id: str) -> tuple[int, int]:
    """(ingested events, distinct seqs) the server holds for one device."""
    with sqlite3.connect(server.db_path) as db:
        return db.execute(
            "select count(*), count(distinct seq) from ingested_events where device_id = ?",
            (device_id,),
        ).fetchone()


def test_kill_9_of_the_device_during_a_scan_loop_loses_nothing(cli, server, match, tmp_path):
    home = tmp_path / "gate"
    device_id = enroll_gate(cli, server, match, home, "North")
    rng = random.Random(20261125)
    for _ in range(6):
        loop = run_scan_loop(cli.env, home, 100_000)
        loop.stdout.readline()  # it is scanning
        time.sleep(rng.uniform(0.05, 0.4))
        os.kill(loop.pid, signal.SIGKILL)
        loop.wait()
        events, scans, integrity = store_counts(home)
        assert integrity == "ok"
        assert events == scans, "every scan has its outbox event and no event lacks its scan"
    assert events > 20
    cli.run("device", "sync", "--home", str(home))  # the server re-verifies the whole chain
    assert cli.json("device", "status", "--home", str(home))["unsynced"] == 0
    assert server_events(server, device_id) == (events, events)


def test_kill_9_of_a_gunicorn_worker_mid_push_loses_and_duplicates_nothing(
    cli, server, match, tmp_path
):
    home = tmp_path / "gate"
    device_id = enroll_gate(cli, server, match, home, "North")
    loop = run_scan_loop(cli.env, home, 3_000)
    loop.communicate(timeout=300)
    events, _, _ = store_counts(home)
    assert events == 3_000

    sync = subprocess.Popen(
        [sys.executable, "-m", "fieldpass", "device", "sync", "--home", str(home)],
        env=cli.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    killed = 0
    deadline = time.monotonic() + 20
    while sync.poll() is None and time.monotonic() < deadline and killed < 3:
        time.sleep(0.05)
        for worker in gunicorn_workers(server.process.pid):
            os.kill(worker, signal.SIGKILL)
            killed += 1
    sync.communicate(timeout=120)
    for _ in range(10):  # the device retries until the server holds everything
        if cli.run("device", "sync", "--home", str(home), check=False).returncode == 0:
            break
        time.sleep(0.5)
    assert cli.json("device", "status", "--home", str(home))["unsynced"] == 0
    assert server_events(server, device_id) == (events, events)
    devices = {d["id"]: d for d in cli.json("admin", "device", "list")}
    assert devices[device_id]["accepted_seq"] == events


def gunicorn_workers(master_pid: int) -> list[int]:
    """Worker pids: the gunicorn master's children (the serve command may wrap the master)."""
    found, frontier = [], [master_pid]
    while frontier:
        pid = frontier.pop()
        path = Path(f"/proc/{pid}/task/{pid}/children")
        children = [int(c) for c in path.read_text().split()] if path.exists() else []
        if not children and pid != master_pid:
            found.append(pid)
        frontier.extend(children)
    return found
