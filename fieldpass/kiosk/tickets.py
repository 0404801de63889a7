"""What the petrol kiosk prints: one ticket per holder, built as a printer Document.

A pure function of values (time zone passed in), so the layout is tested without a
printer; the same Document becomes the on-screen preview (``render_text``) and the
ESC/POS bytes. A reprint carries REPRINT at the top and bottom so a copy is never taken
for the original.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from typing import Any

from fieldpass.drivers.printers import QR, Cut, Document, Feed, Heading, KeyValue, Rule, Text


def sale_reference(seq: int, pin: str) -> str:
    """The sale's reference on the ticket: the outbox seq of its event and the PIN."""
    return f"{seq}/{pin}"


def format_money(cents: int) -> str:
    return f"{'-' if cents < 0 else ''}{abs(cents) // 100}.{abs(cents) % 100:02d}"


def format_kickoff(ms: int | None, tz: tzinfo | None) -> str:
    """Kick-off as ``YYYY-MM-DD HH:MM ZONE`` in ``tz`` (None: the device's local zone)."""
    if ms is None:
        return "to be announced"
    moment = datetime.fromtimestamp(ms / 1000, tz=UTC).astimezone(tz)
    return moment.strftime("%Y-%m-%d %H:%M %Z").strip()


def ticket_document(
    ticket: Any,
    *,
    match: str,
    reference: str,
    kickoff_ms: int | None = None,
    tz: tzinfo | None = None,
    reprint: bool = False,
) -> Document:
    """One issued ticket (``IssuedTicket``: seat, holder, barcode, VAT-included price and
    rate) for the receipt printer."""
    price = int(getattr(ticket, "price_cents", 0))
    vat_percent = str(getattr(ticket, "vat_percent", "25.00"))
    vat = int(getattr(ticket, "vat_cents", 0))
    top = [Heading("REPRINT"), Text("copy of an issued ticket", align="center")] if reprint else []
    bottom = [Text("*** REPRINT ***", bold=True, align="center")] if reprint else []
    return Document.of(
        top,
        Heading("TICKET"),
        Text(match or "match", bold=True, align="center"),
        KeyValue("Kick-off", format_kickoff(kickoff_ms, tz), bold=True),
        Rule("="),
        KeyValue("Sector", ticket.sector, bold=True),
        KeyValue("Row", ticket.row, bold=True),
        KeyValue("Seat", ticket.seat, bold=True),
        KeyValue("Holder", ticket.holder),
        Rule(),
        KeyValue("Price (VAT incl.)", format_money(price), bold=True),
        KeyValue(f"of which VAT {vat_percent}%", format_money(vat)),
        Rule(),
        QR(getattr(ticket, "qr_text", ticket.barcode)),
        Text(ticket.barcode, align="center"),
        KeyValue("Sale", reference),
        bottom,
        Feed(1),
        Cut(),
    )
