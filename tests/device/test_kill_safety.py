"""A scanning process killed with SIGKILL at random moments loses nothing half-written."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time

from fieldpass.device.identity import save_key
from fieldpass.device.store import Store
from fieldpass.sync import signing
from fieldpass.sync.events import GENESIS_HASH, verify_chain

from .conftest import EVENT_ID, seed_changes

SCAN_LOOP = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from fieldpass.device.gate import GateService
    from fieldpass.device.identity import DeviceIdentity, load_key
    from fieldpass.device.store import Store
    from fieldpass.sync.checkin import ScanMode

    home = Path(sys.argv[1])
    store = Store.open(home / "store.sqlite")
    identity = DeviceIdentity(device_id="dev-kill", name="k", role="gate",
                              server_url="http://x", status="approved", token="t",
                              event_id=sys.argv[2], gate_id="gate-north")
    gate = GateService(store, identity, load_key(home / "device.key"), debounce_ms=0)
    print("ready", flush=True)
    i = 0
    while True:
        i += 1
        mode = ScanMode.EXIT if i % 5 == 0 else ScanMode.ENTRY
        gate.check_in(f"TKT{i % 60:05d}" if i % 9 else "not a ticket!", mode)
    """
)


def test_sigkill_during_scanning_keeps_store_consistent(tmp_path):
    store = Store.open(tmp_path / "store.sqlite")
    store.apply_changes(seed_changes(signing.generate_private_key()), "e:101", "e")
    store.close()
    key = signing.generate_private_key()
    save_key(tmp_path / "device.key", key)
    script = tmp_path / "scan_loop.py"
    script.write_text(SCAN_LOOP)
    rng = random.Random(1234)
    seen_seqs = []
    for _ in range(5):
        child = subprocess.Popen(
            [sys.executable, str(script), str(tmp_path), EVENT_ID],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": os.getcwd()},
        )
        assert child.stdout.readline().strip() == b"ready", child.stderr.read().decode()
        time.sleep(rng.uniform(0.05, 0.4))
        child.send_signal(signal.SIGKILL)
        child.wait()
        assert child.returncode == -signal.SIGKILL
        check = Store.open(tmp_path / "store.sqlite")
        seen_seqs.append(check.last_seq())
        check.close()

    store = Store.open(tmp_path / "store.sqlite")
    try:
        assert store.integrity_check() == "ok"
        events = store.events_after("dev-kill", 0, 1_000_000)
        assert len(events) > 0 and seen_seqs == sorted(seen_seqs)
        assert [e.seq for e in events] == list(range(1, len(events) + 1))
        verify_chain(
            events, device_id="dev-kill", public_key=key.public_key(), first_prev_hash=GENESIS_HASH
        )
        scans = [r[0] for r in store.conn.execute("SELECT seq FROM scans ORDER BY seq")]
        assert scans == [e.seq for e in events]
        moved = {e.seq: e.payload.get("moved") for e in events}
        admissions = dict(
            store.conn.execute("SELECT CAST(substr(key, 10) AS INTEGER), direction FROM admissions")
        )
        assert admissions == {seq: m for seq, m in moved.items() if m is not None}
        totals = store.conn.execute(
            "SELECT SUM(entries), SUM(exits) FROM ticket_presence"
        ).fetchone()
        assert totals == (
            sum(1 for m in moved.values() if m == "in"),
            sum(1 for m in moved.values() if m == "out"),
        )
        counters = store.scan_counters()
        assert counters[2] == len(events)
    finally:
        store.close()
