"""What the petrol kiosk prints: one ticket per holder, built as a printer Document.

A pure function of values, so the layout is tested without a printer; the same Document
becomes the on-screen preview (``render_text``) and the ESC/POS bytes.
"""

from __future__ import annotations

from typing import Any

from fieldpass.drivers.printers import QR, Cut, Document, Feed, Heading, KeyValue, Rule, Text


def sale_reference(seq: int, pin: str) -> str:
    """The sale's reference on the ticket: the outbox seq of its event and the PIN."""
    return f"{seq}/{pin}"


def ticket_document(ticket: Any, *, match: str, reference: str) -> Document:
    """One issued ticket (``IssuedTicket``) for the receipt printer."""
    return Document.of(
        Heading("TICKET"),
        Text(match or "match", bold=True, align="center"),
        Rule("="),
        KeyValue("Sector", ticket.sector, bold=True),
        KeyValue("Row", ticket.row, bold=True),
        KeyValue("Seat", ticket.seat, bold=True),
        KeyValue("Holder", ticket.holder),
        Rule(),
        QR(ticket.barcode),
        Text(ticket.barcode, align="center"),
        KeyValue("Sale", reference),
        Feed(1),
        Cut(),
    )
