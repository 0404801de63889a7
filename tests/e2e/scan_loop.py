"""A device process that scans as fast as it can until killed (used by the kill -9 tests).

Usage: python scan_loop.py HOME COUNT  — scans ticket codes and unknown codes in turn,
printing each recorded seq on its own line.
"""

from __future__ import annotations

import sys

from fieldpass.device.context import open_device
from fieldpass.device.home import DeviceHome
from fieldpass.sync.checkin import ScanMode


def main() -> None:
    home, count = sys.argv[1], int(sys.argv[2])
    # No debouncing: the loop re-reads the same 200 tickets far faster than a person could.
    ctx = open_device(DeviceHome.resolve(home), debounce_ms=0)
    for n in range(count):
        code = f"E2E-{1 + n % 200:05d}" if n % 3 else f"NOPE-{n:06d}"
        mode = ScanMode.EXIT if n % 5 == 4 else ScanMode.ENTRY
        outcome = ctx.gate.check_in(code, mode)
        print(outcome.seq, outcome.result, flush=True)


if __name__ == "__main__":
    main()
