"""RSS probe, run in its own process by bench/run.py: a device process that opens the
store (100k tickets), runs scans and a holder search the way the gate app does, then
prints its /proc/self/status memory figures as one JSON line.

    .venv/bin/python bench/probe_rss.py HOME SCANS
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path


def status_kb() -> dict[str, int]:
    values = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0])
    return values


def main() -> None:
    home_dir, scans = Path(sys.argv[1]), int(sys.argv[2])
    baseline = status_kb()["VmRSS"]  # the interpreter alone
    from fieldpass.device.context import open_device
    from fieldpass.device.home import DeviceHome

    imported = status_kb()["VmRSS"]
    ctx = open_device(DeviceHome.resolve(home_dir))
    try:
        tickets = ctx.store.ticket_count()
        barcodes = [
            row[0]
            for row in ctx.store.conn.execute(
                "SELECT barcode FROM tickets ORDER BY random() LIMIT ?", (scans,)
            )
        ]
        opened = status_kb()["VmRSS"]
        rng = random.Random(7)
        clock_ms = ctx.gate.clock()
        ctx.gate.clock = lambda: clock_ms  # advanced below: no debounced repeats
        for index in range(scans):
            clock_ms += 2500
            code = rng.choice(barcodes) if index % 10 else f"NOPE{index:08d}"
            ctx.gate.check_in(code)
        for letter in "aeiou":
            ctx.gate.search_holder(letter, limit=8)
        ctx.gate.counters()
        ctx.store.status()
        after = status_kb()
    finally:
        ctx.close()
    print(
        json.dumps(
            {
                "tickets": tickets,
                "scans": scans,
                "baseline_kb": baseline,
                "imported_kb": imported,
                "opened_kb": opened,
                "rss_kb": after["VmRSS"],
                "hwm_kb": after["VmHWM"],
            }
        )
    )


if __name__ == "__main__":
    main()
