"""An RSU process that sells raffle packages until killed (used by the kill -9 tests).

Usage: python raffle_loop.py HOME PACKAGE PAUSE COUNT — sells COUNT orders of PACKAGE by
card (PAUSE seconds apart, so a kill can land anywhere in a long run) and prints
``sold SEQ VALIDATION NUMBER...`` once each sale is committed; ``done`` at the end. A
refused sale prints ``refused CODE`` and stops.
"""

from __future__ import annotations

import sys
import time

from fieldpass.device.context import open_device
from fieldpass.device.errors import DeviceError
from fieldpass.device.home import DeviceHome


def main() -> None:
    home, package_name, pause, count = (
        sys.argv[1],
        sys.argv[2],
        float(sys.argv[3]),
        int(sys.argv[4]),
    )
    ctx = open_device(DeviceHome.resolve(home))
    raffle = ctx.raffle
    package = next(p for p in raffle.status().packages if p.name == package_name)
    print("ready", flush=True)
    for index in range(count):
        time.sleep(pause)
        try:
            sale = raffle.sell(package.id, card_reference=f"LOOP-{index}")
        except DeviceError as exc:
            print("refused", exc.code, flush=True)
            return
        receipt = sale.receipt
        print("sold", sale.seq, receipt.validation_number, *receipt.draw_numbers, flush=True)
    print("done", flush=True)


if __name__ == "__main__":
    main()
