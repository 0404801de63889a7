"""The petrol ticket layout: pure Document values, rendered as text and as ESC/POS bytes."""

from __future__ import annotations

from datetime import UTC, timedelta, timezone

from fieldpass.device.petrol import IssuedTicket
from fieldpass.drivers.printers import QR, Heading, render_escpos_job, render_text
from fieldpass.kiosk.tickets import format_kickoff, sale_reference, ticket_document

from .conftest import START_MS

TICKET = IssuedTicket("PABCDEFGHIJKLMNOP", "Ana Horvat", "P", "A", "7", 2125, "25.00", "id_card")


def lines(document) -> list[str]:
    return [" ".join(line.split()) for line in render_text(document, 48).splitlines()]


def test_ticket_shows_match_kickoff_seat_holder_price_vat_barcode_and_sale():
    document = ticket_document(
        TICKET,
        match="Derby Night",
        reference=sale_reference(12, "54321"),
        kickoff_ms=START_MS,
        tz=UTC,
    )
    text = lines(document)
    assert text[0] == "TICKET" and text[1] == "Derby Night"
    for expected in (
        "Kick-off 2026-05-01 18:00 UTC",
        "Sector P",
        "Row A",
        "Seat 7",
        "Holder Ana Horvat",
        "Price (VAT incl.) 21.25",
        "of which VAT 25.00% 4.25",
        "PABCDEFGHIJKLMNOP",
        "Sale 12/54321",
    ):
        assert expected in text, expected
    assert not any("REPRINT" in line for line in text)
    assert [b.data for b in document.blocks if isinstance(b, QR)] == ["PABCDEFGHIJKLMNOP"]
    job = render_escpos_job(document)
    assert b"Ana Horvat" in job.data and b"21.25" in job.data


def test_reprint_is_marked_at_top_and_bottom():
    document = ticket_document(TICKET, match="Derby Night", reference="12/54321", reprint=True)
    text = lines(document)
    assert text[0] == "REPRINT" and "*** REPRINT ***" in text
    assert isinstance(document.blocks[0], Heading) and document.blocks[0].text == "REPRINT"
    assert "Kick-off to be announced" in text  # no kick-off known yet


def test_kickoff_in_the_kiosks_zone():
    zagreb_summer = timezone(timedelta(hours=2), "CEST")
    assert format_kickoff(START_MS, zagreb_summer) == "2026-05-01 20:00 CEST"
    assert format_kickoff(None, UTC) == "to be announced"
