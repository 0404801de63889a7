"""Petrol kiosk figures for the closing note of the petrol issue.

    .venv/bin/python bench/petrol.py                  # 50,000 active PINs, 5,000 look-ups, 1,000 sales
    .venv/bin/python bench/petrol.py --pins 10000 --lookups 1000 --sales 200

Figures, on a real device store (``Store``: WAL, ``synchronous=FULL``) filled the way a
pull fills it (``Store.apply_changes`` pages of PINs with holders sealed for the kiosk,
one seat block), driven through ``PetrolService`` as the app drives it:

- PIN look-up: ``PetrolService.look_up`` of a random active PIN (the indexed read, the
  status and clock checks, and the AES-GCM opening of its holders), each call timed.
- complete redemption: ``reserve`` (its transaction and ``petrol_reservation`` event),
  ``redeem`` of that reservation with cash (the sale's transaction and ``petrol_sale``
  event), then the ESC/POS bytes of every ticket (``ticket_document`` rendered by
  ``render_escpos_job``), timed from the reserve call to the last ticket's bytes. Two
  tickets per PIN.

Progress goes to stderr, the figures to stdout. Nothing under ``fieldpass/`` is patched.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

import msgspec

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from harness import Summary, log  # noqa: E402

from fieldpass.device.identity import DeviceIdentity  # noqa: E402
from fieldpass.device.petrol import PetrolService  # noqa: E402
from fieldpass.device.store import Store  # noqa: E402
from fieldpass.drivers.printers import render_escpos_job  # noqa: E402
from fieldpass.kiosk.tickets import sale_reference, ticket_document  # noqa: E402
from fieldpass.sync import sealing, signing  # noqa: E402
from fieldpass.sync.messages import Change  # noqa: E402

DEVICE_ID = "bench-kiosk"
EVENT_ID = "bench-event"
PAGE = 5_000
NOW = 1_800_000_000_000
HOLDERS = [
    {
        "full_name": "Ana Horvat",
        "date_of_birth": "1990-05-17",
        "nationality": "HR",
        "document_type": "OIB",
        "document_number": "69435151530",
    },
    {
        "full_name": "John Smith",
        "date_of_birth": "1985-01-02",
        "nationality": "GB",
        "document_type": "PASSPORT",
        "document_number": "AB1234567",
    },
]


class Clock:
    """Device clock for the bench: real time moved to a fixed day, so PINs stay valid."""

    def __init__(self) -> None:
        self.start = time.monotonic_ns()

    def __call__(self) -> int:
        return NOW + (time.monotonic_ns() - self.start) // 1_000_000


def pin_value(n: int) -> str:
    return f"{n:05d}"


def fill_store(store: Store, holders_key: bytes, pins: int, seats_needed: int) -> None:
    seq = 0

    def change(entity: str, key: str, data: dict) -> Change:
        nonlocal seq
        seq += 1
        return Change(seq=seq, entity=entity, key=key, op="upsert", data=data)

    event = change(
        "event",
        EVENT_ID,
        {"id": EVENT_ID, "name": "Bench derby", "starts_at": NOW + 86_400_000},
    )
    store.apply_changes([event], f"c:{seq}", "e")
    holders = msgspec.json.encode(HOLDERS)
    batch: list[Change] = []
    for n in range(pins):
        pin_id = f"pin-{n}"
        batch.append(
            change(
                "petrol_pin",
                pin_id,
                {
                    "id": pin_id,
                    "pin": pin_value(n),
                    "event_id": EVENT_ID,
                    "quantity": 2,
                    "status": "ACTIVE",
                    "expires_at": NOW + 2 * 86_400_000,
                    "holders": sealing.seal_for_device(holders_key, DEVICE_ID, pin_id, holders),
                },
            )
        )
        if len(batch) == PAGE:
            store.apply_changes(batch, f"c:{seq}", "e")
            batch = []
    rows = [f"R{r:03d}" for r in range(seats_needed // 50 + 1)]
    batch.append(
        change(
            "seat_block",
            "blk",
            {
                "id": "blk",
                "event_id": EVENT_ID,
                "sector": "P",
                "status": "ACTIVE",
                "price_cents": 2125,
                "vat_percent": "25.00",
            },
        )
    )
    for row in rows:
        for number in range(1, 51):
            seat_id = f"blk-{row}-{number}"
            data = {"id": seat_id, "event_id": EVENT_ID, "block_id": "blk", "sector": "P"}
            data |= {"row": row, "seat": str(number), "status": "ALLOCATED"}
            batch.append(change("seat", seat_id, data))
            if len(batch) == PAGE:
                store.apply_changes(batch, f"c:{seq}", "e")
                batch = []
    store.apply_changes(batch, f"c:{seq}", "e")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pins", type=int, default=50_000, help="active PINs in the store")
    parser.add_argument("--lookups", type=int, default=5_000, help="timed look-ups")
    parser.add_argument("--sales", type=int, default=1_000, help="timed complete redemptions")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()
    if not 0 < args.sales < args.pins <= 100_000:
        parser.error("need 0 < --sales < --pins <= 100,000 (PINs are 5 digits)")

    work = Path(tempfile.mkdtemp(prefix="fieldpass-bench-petrol-"))
    try:
        store = Store.open(work / "store.sqlite", Clock())
        store.device_id = DEVICE_ID
        holders_key = sealing.generate_key()
        identity = DeviceIdentity(
            device_id=DEVICE_ID,
            name="bench",
            role="petrol",
            server_url="http://127.0.0.1:9",
            status="approved",
            event_id=EVENT_ID,
        )
        started = time.perf_counter()
        fill_store(store, holders_key, args.pins, 2 * args.sales)
        log(f"store with {args.pins:,} PINs built in {time.perf_counter() - started:.1f} s")
        service = PetrolService(
            store, identity, signing.generate_private_key(), Clock(), holders_key=holders_key
        )
        rng = random.Random(5)

        lookups = []
        for _ in range(args.lookups):
            pin = pin_value(rng.randrange(args.sales, args.pins))  # never one sold below
            t0 = time.perf_counter_ns()
            service.look_up(pin)
            lookups.append((time.perf_counter_ns() - t0) / 1e6)

        sales, ticket_bytes = [], 0
        parts: dict[str, list[float]] = {"reserve": [], "redeem": [], "ticket bytes": []}
        for n in range(args.sales):
            pin = pin_value(n)
            t0 = time.perf_counter_ns()
            reservation = service.reserve(pin)
            t1 = time.perf_counter_ns()
            sale = service.redeem(
                pin,
                identity_verified=True,
                cash_cents=reservation.total_cents + 750,
                reservation_id=reservation.id,
                documents=["id_card", "passport"],
            )
            t2 = time.perf_counter_ns()
            reference = sale_reference(sale.seq, sale.pin)
            for ticket in sale.tickets:
                document = ticket_document(
                    ticket, match="Bench derby", reference=reference, kickoff_ms=NOW
                )
                ticket_bytes += len(render_escpos_job(document).data)
            t3 = time.perf_counter_ns()
            sales.append((t3 - t0) / 1e6)
            for name, start, end in (
                ("reserve", t0, t1),
                ("redeem", t1, t2),
                ("ticket bytes", t2, t3),
            ):
                parts[name].append((end - start) / 1e6)
        store.close()

        print(f"PIN look-up, {args.pins:,} active PINs   {Summary.of(lookups).ms(3)}")
        print(f"complete redemption (2 tickets)       {Summary.of(sales).ms(2)}")
        for name, values in parts.items():
            print(f"  of which {name:<27} {Summary.of(values).ms(2)}")
        print(
            f"  {args.sales:,} sales, {2 * args.sales:,} events, "
            f"{ticket_bytes / (2 * args.sales):,.0f} ESC/POS bytes per ticket"
        )
        return 0
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
