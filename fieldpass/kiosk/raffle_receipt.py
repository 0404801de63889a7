"""What an RSU prints for a raffle order, built as a printer Document.

A pure function of the RaffleReceipt (time zone passed in), so the layout is tested
without a printer; the same Document becomes the on-screen text (``render_text``) and the
ESC/POS bytes. The validation number prints as text and as a Code128 of its 20 digits
(code set C: narrow enough for 58 mm paper; the renderer falls back to a QR code if a
printer cannot fit it). A copy says REPRINT at the top and bottom, a voided order VOID,
so neither is ever taken for the original of a valid order.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, tzinfo
from typing import Any

from fieldpass.drivers.printers import (
    Barcode128,
    Cut,
    Document,
    Feed,
    Heading,
    KeyValue,
    Rule,
    Text,
)
from fieldpass.kiosk.petrol import format_cents
from fieldpass.sync.validation_numbers import format_validation_number

#: Columns of the narrowest paper (58 mm): the default layout fits every RSU printer.
NARROW_COLUMNS = 32
#: Spaces between two draw numbers on a line.
NUMBER_GAP = 2


def format_moment(ms: int | None, tz: tzinfo | None, pattern: str = "%Y-%m-%d %H:%M") -> str:
    """Epoch ms in ``tz`` (None: the device's local zone), 24-hour clock, with the zone."""
    if ms is None:
        return "-"
    moment = datetime.fromtimestamp(ms / 1000, tz=UTC).astimezone(tz)
    return moment.strftime(f"{pattern} %Z").strip()


def draw_number_lines(numbers: Sequence[int], columns: int = NARROW_COLUMNS) -> list[str]:
    """The draw numbers in right-aligned columns, as many per line as fit in ``columns``."""
    if not numbers:
        return []
    width = max(len(str(number)) for number in numbers)
    per_line = max(1, (columns + NUMBER_GAP) // (width + NUMBER_GAP))
    cells = [str(number).rjust(width) for number in numbers]
    return [
        (" " * NUMBER_GAP).join(cells[start : start + per_line])
        for start in range(0, len(cells), per_line)
    ]


def payment_lines(receipt: Any) -> list[KeyValue]:
    """Cash tendered and change, or the card's POS reference."""
    if receipt.payment_method == "cash":
        lines = [KeyValue("Paid", "cash")]
        if receipt.tendered_cents is not None:
            lines.append(KeyValue("Cash tendered", format_cents(receipt.tendered_cents)))
            lines.append(KeyValue("Change", format_cents(receipt.change_cents or 0)))
        return lines
    return [KeyValue("Paid", "card"), KeyValue("Card reference", receipt.payment_reference or "-")]


def raffle_receipt_document(
    receipt: Any, *, tz: tzinfo | None = None, columns: int = NARROW_COLUMNS
) -> Document:
    """The receipt of one raffle order (a ``RaffleReceipt``); ``columns`` lays out the draw
    numbers (pass the printer's; the default fits 58 mm and 80 mm paper)."""
    copy = int(receipt.copy_number)
    marks_top: list[Any] = []
    marks_bottom: list[Any] = []
    if receipt.voided:
        marks_top += [
            Heading("VOID"),
            Text("this order was voided: no valid tickets", align="center"),
        ]
        marks_bottom.append(Text("*** VOID ***", bold=True, align="center"))
    if copy > 1:
        marks_top += [
            Heading(f"REPRINT (copy {copy})", size="large"),
            Text("a copy of an issued receipt", align="center"),
        ]
        marks_bottom.append(Text(f"*** REPRINT (copy {copy}) ***", bold=True, align="center"))
    numbers = list(receipt.draw_numbers)
    details: list[Any] = [
        KeyValue("Sold", format_moment(receipt.sold_at, tz, "%Y-%m-%d %H:%M:%S")),
        KeyValue("RSU", receipt.rsu_name or receipt.rsu_id),
        KeyValue("Terminal", f"{int(receipt.terminal_number):04d}"),
        KeyValue("RSU id", receipt.rsu_id),
    ]
    if receipt.customer_name:
        details.append(KeyValue("Customer", receipt.customer_name))
    raffle_info: list[Any] = []
    if receipt.jackpot_estimate_cents is not None:
        raffle_info.append(
            KeyValue("Estimated jackpot", format_cents(receipt.jackpot_estimate_cents), bold=True)
        )
    if receipt.claim_deadline is not None:
        raffle_info.append(KeyValue("Claim by", format_moment(receipt.claim_deadline, tz)))
    if receipt.licence_number:
        raffle_info.append(KeyValue("Licence", receipt.licence_number))
    return Document.of(
        marks_top,
        Text(receipt.organization_name or "", bold=True, align="center"),
        Heading(receipt.raffle_name or "Raffle", size="large"),
        Text("RAFFLE TICKET RECEIPT", align="center"),
        Rule("="),
        Text(f"Your draw numbers ({len(numbers)})", bold=True),
        [Text(line, bold=True) for line in draw_number_lines(numbers, columns)],
        Rule(),
        KeyValue("Package", receipt.package_name),
        KeyValue("Price", format_cents(receipt.price_cents), bold=True),
        payment_lines(receipt),
        Rule(),
        details,
        Rule(),
        raffle_info,
        Rule() if raffle_info else [],
        Text("Validation number", align="center"),
        Text(format_validation_number(receipt.validation_number), bold=True, align="center"),
        Barcode128(receipt.validation_number, show_text=False),
        Text("Keep this receipt: a prize is paid only against it.", align="center"),
        marks_bottom,
        Feed(1),
        Cut(),
    )
