"""A petrol kiosk process that redeems PINs until killed (used by the kill -9 tests).

Usage: python petrol_loop.py HOME PRINTER_SPEC|none PAUSE PIN...  — for each PIN (PAUSE
seconds apart, so a kill can land anywhere in a long run): reserve the
best seats, sell them (cash), print ``sold SEQ BARCODE...`` once the sale is committed,
then print each ticket (a ``file:`` printer on a FIFO nobody reads blocks right there:
between the commit and the print). A refused PIN prints ``refused PIN CODE``. Like the
app, it first releases reservations a killed run left behind.
"""

from __future__ import annotations

import sys
import time

from fieldpass.device.context import open_device
from fieldpass.device.errors import DeviceError
from fieldpass.device.home import DeviceHome
from fieldpass.drivers.printers import make_printer
from fieldpass.kiosk.tickets import sale_reference, ticket_document


def main() -> None:
    home, printer_spec, pause, pins = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4:]
    ctx = open_device(DeviceHome.resolve(home))
    petrol = ctx.petrol
    petrol.cancel_open_reservations("kiosk restarted")
    printer = None if printer_spec == "none" else make_printer(printer_spec)
    print("ready", flush=True)
    for pin in pins:
        time.sleep(pause)
        try:
            reservation = petrol.reserve(pin)
            sale = petrol.redeem(
                pin,
                identity_verified=True,
                cash_cents=reservation.total_cents + 500,
                reservation_id=reservation.id,
                documents=["id_card"] * len(reservation.seats),
            )
        except DeviceError as exc:
            print("refused", pin, exc.code, flush=True)
            continue
        print("sold", sale.seq, *(t.barcode for t in sale.tickets), flush=True)
        if printer is not None:
            if not printer.is_open:
                printer.open()  # a FIFO without a reader: blocks here, after the commit
            for ticket in sale.tickets:
                printer.print_document(
                    ticket_document(ticket, match="e2e", reference=sale_reference(sale.seq, pin))
                )
    print("done", flush=True)


if __name__ == "__main__":
    main()
