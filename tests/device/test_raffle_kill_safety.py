"""An RSU process selling and voiding, killed with SIGKILL at random moments: every order
has its sale event, no number is sold twice, next_number matches what was sold, and the
reopened store passes its integrity check and sells on."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time

from fieldpass.device.identity import save_key
from fieldpass.device.raffle import RaffleService
from fieldpass.device.store import Store
from fieldpass.sync import signing

from .conftest import T0
from .raffle_fixtures import RAFFLE_ID, Rsu, rsu_identity

SELL_LOOP = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from fieldpass.device.identity import load_key
    from fieldpass.device.raffle import RaffleService
    from fieldpass.device.store import Store
    from tests.device.raffle_fixtures import rsu_identity
    from tests.device.conftest import T0

    home = Path(sys.argv[1])
    store = Store.open(home / "store.sqlite")
    service = RaffleService(store, rsu_identity(), load_key(home / "device.key"), lambda: T0)
    print("ready", flush=True)
    i = 0
    while True:
        i += 1
        sale = service.sell("pkg-3" if i % 3 else "pkg-1", card_reference=f"POS-{i}")
        if i % 4 == 0:
            service.void(sale.receipt.validation_number, "test void")
    """
)


def test_sigkill_during_sales_keeps_orders_numbers_and_events_together(tmp_path):
    seeded = Rsu(tmp_path / "store.sqlite").seed([(1, 100_000)])
    seeded.close()
    key = signing.generate_private_key()
    save_key(tmp_path / "device.key", key)
    script = tmp_path / "sell_loop.py"
    script.write_text(SELL_LOOP)
    rng = random.Random(4321)
    for _ in range(4):
        child = subprocess.Popen(
            [sys.executable, str(script), str(tmp_path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": os.getcwd()},
        )
        assert child.stdout.readline().strip() == b"ready", child.stderr.read().decode()
        time.sleep(rng.uniform(0.1, 0.4))
        child.send_signal(signal.SIGKILL)
        child.wait()
        assert child.returncode == -signal.SIGKILL

    store = Store.open(tmp_path / "store.sqlite")
    try:
        service = RaffleService(store, rsu_identity(), key, lambda: T0)
        assert service.check_integrity().problems == []
        conn = store.conn
        sales = {
            e.payload["order_id"]: e.payload
            for e in store.events_after("rsu-1", 0, 1_000_000)
            if e.kind == "raffle_sale"
        }
        voids = {
            e.payload["order_id"]
            for e in store.events_after("rsu-1", 0, 1_000_000)
            if e.kind == "raffle_void"
        }
        orders = {
            row[0]: (json.loads(row[1]), row[2] is not None)
            for row in conn.execute("SELECT id, draw_numbers, voided_at FROM raffle_order")
        }
        assert len(orders) > 3 and set(orders) == set(sales), len(orders)
        assert {o for o, (_, voided) in orders.items() if voided} == voids
        for order_id, (numbers, _) in orders.items():
            assert sales[order_id]["draw_numbers"] == numbers
        sold = sorted(n for numbers, _ in orders.values() for n in numbers)
        assert sold == list(range(1, len(sold) + 1))  # lowest first, none twice, no hole
        rows = dict(conn.execute("SELECT draw_number, order_id FROM raffle_number"))
        assert sorted(rows) == sold
        next_number = conn.execute("SELECT next_number FROM raffle_allocation").fetchone()[0]
        assert next_number == len(sold) + 1
        assert service.sell("pkg-1", cash_tendered_cents=500).receipt.draw_numbers == [
            len(sold) + 1
        ]
        assert RAFFLE_ID in {p["raffle_id"] for p in sales.values()}
    finally:
        store.close()
