"""The raffle receipt: real ESC/POS bytes (python-escpos) parsed back, and its barcode
decoded from the printed raster (zxing-cpp) or from the printer's own Code128 command."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import numpy as np
import pytest
import zxingcpp

from fieldpass.device.raffle import RaffleReceipt
from fieldpass.drivers.printers import Barcode128, render_escpos_job, render_text, resolve_profile
from fieldpass.kiosk.raffle_receipt import draw_number_lines, raffle_receipt_document
from fieldpass.sync.validation_numbers import format_validation_number, new_validation_number
from tests.drivers.escpos_parse import find, parse, raster_image, style_of_line, text_lines

SOLD_AT = int(datetime(2026, 5, 1, 21, 7, 5, tzinfo=UTC).timestamp() * 1000)
CLAIM_BY = int(datetime(2026, 6, 30, 23, 0, tzinfo=UTC).timestamp() * 1000)
VALIDATION = new_validation_number(42, "123456789012345")
NUMBERS = [7, 8, 9, 120, 121, 122, 123, 124, 125, 126, 5000, 5001]


def receipt(**overrides) -> RaffleReceipt:
    values = dict(
        organization_name="NK Fieldpass",
        raffle_name="Club raffle",
        licence_number="LIC-77",
        rsu_id="rsu-1",
        rsu_name="Stand 1",
        terminal_number=42,
        order_id="order-1",
        validation_number=VALIDATION,
        package_name="10 for 20",
        draw_numbers=NUMBERS,
        price_cents=2000,
        payment_method="cash",
        payment_reference=None,
        tendered_cents=5000,
        sold_at=SOLD_AT,
        jackpot_estimate_cents=150_000,
        claim_deadline=CLAIM_BY,
        customer_name="Ana Horvat",
    )
    values.update(overrides)
    return RaffleReceipt(**values)


def printed(document, profile_name: str = "80mm", **settings) -> tuple[list, list[str]]:
    profile = resolve_profile(profile_name, **settings)
    job = render_escpos_job(document, profile)
    ops = parse(job.data, profile.codepages)
    return ops, [" ".join(line.split()) for line in text_lines(ops)]


def printed_numbers(lines: list[str]) -> list[int]:
    """The draw numbers printed between their title and the next rule."""
    start = next(i for i, line in enumerate(lines) if line.startswith("Your draw numbers"))
    numbers: list[int] = []
    for line in lines[start + 1 :]:
        if set(line) == {"-"}:
            return numbers
        numbers.extend(int(token) for token in line.split())
    raise AssertionError("no rule after the draw numbers")


@pytest.mark.parametrize("profile_name", ["80mm", "58mm"])
def test_receipt_bytes_carry_everything_the_rules_ask_for(profile_name):
    ops, lines = printed(raffle_receipt_document(receipt(), tz=UTC), profile_name)
    assert lines[:3] == ["NK Fieldpass", "Club raffle", "RAFFLE TICKET RECEIPT"]
    assert printed_numbers(lines) == NUMBERS
    for expected in (
        "Package 10 for 20",
        "Price 20.00",
        "Paid cash",
        "Cash tendered 50.00",
        "Change 30.00",
        "Sold 2026-05-01 21:07:05 UTC",  # 24-hour clock
        "RSU Stand 1",
        "Terminal 0042",
        "RSU id rsu-1",
        "Customer Ana Horvat",
        "Estimated jackpot 1500.00",
        "Claim by 2026-06-30 23:00 UTC",
        "Licence LIC-77",
        format_validation_number(VALIDATION),
    ):
        assert expected in lines, expected
    assert style_of_line(ops, format_validation_number(VALIDATION))["bold"] is True
    assert not any("REPRINT" in line or "VOID" in line for line in lines)


def test_draw_numbers_are_compact_columns_within_the_paper():
    many = list(range(999_990, 1_000_000)) + list(range(1, 31))
    for profile_name in ("80mm", "58mm"):
        columns = resolve_profile(profile_name).columns
        document = raffle_receipt_document(receipt(draw_numbers=many), columns=columns)
        _, lines = printed(document, profile_name)
        assert printed_numbers(lines) == many
        raw = text_lines(printed(document, profile_name)[0])
        number_lines = [line for line in raw if line.strip() and line.strip()[0].isdigit()]
        assert max(len(line) for line in number_lines) <= columns
    assert draw_number_lines([1, 22, 333], 32) == ["  1   22  333"]
    assert len(draw_number_lines(list(range(100, 200)), 32)) == 17  # 6 per line on 58 mm
    assert draw_number_lines([], 32) == []


def test_hardware_code128_encodes_the_canonical_digits():
    ops, _ = printed(raffle_receipt_document(receipt()), "80mm")
    (barcode,) = find(ops, "BARCODE")
    kind, payload = barcode.args
    assert kind == 73 and payload[:2] == b"{C"  # digit pairs: half the width
    assert "".join(f"{pair:02d}" for pair in payload[2:]) == VALIDATION


@pytest.mark.parametrize(
    ("profile_name", "settings"), [("58mm", {}), ("80mm", {"barcode": "image"})]
)
def test_printed_barcode_image_decodes_to_the_validation_number(profile_name, settings):
    ops, _ = printed(raffle_receipt_document(receipt()), profile_name, **settings)
    (raster,) = find(ops, "RASTER")
    assert raster.args[1] * 8 <= resolve_profile(profile_name).width_px
    decoded = zxingcpp.read_barcodes(np.array(raster_image(raster)))
    assert [(r.text, r.format) for r in decoded] == [(VALIDATION, zxingcpp.BarcodeFormat.Code128)]


def test_card_payment_prints_its_reference_and_no_change():
    document = raffle_receipt_document(
        receipt(payment_method="card", payment_reference="POS-998877", tendered_cents=None)
    )
    _, lines = printed(document)
    assert "Paid card" in lines and "Card reference POS-998877" in lines
    assert not any(line.startswith(("Change", "Cash tendered")) for line in lines)


def test_unknown_jackpot_claim_date_licence_and_customer_are_left_out():
    document = raffle_receipt_document(
        receipt(
            jackpot_estimate_cents=None,
            claim_deadline=None,
            licence_number=None,
            customer_name=None,
        )
    )
    text = render_text(document, 48)
    for absent in ("Estimated jackpot", "Claim by", "Licence", "Customer"):
        assert absent not in text
    assert format_validation_number(VALIDATION) in text


def test_reprint_is_marked_at_top_and_bottom_with_its_copy_number():
    ops, lines = printed(raffle_receipt_document(replace(receipt(), copy_number=3)))
    assert lines[0] == "REPRINT (copy 3)"
    assert lines[-1].endswith("*** REPRINT (copy 3) ***") or "*** REPRINT (copy 3) ***" in lines
    assert style_of_line(ops, "REPRINT (copy 3)") == {
        "bold": True,
        "size": (1, 2),
        "align": "center",
    }
    assert printed_numbers(lines) == NUMBERS  # a copy still says everything


def test_voided_order_prints_void():
    ops, lines = printed(raffle_receipt_document(receipt(voided=True)))
    assert lines[0] == "VOID" and "*** VOID ***" in lines
    assert style_of_line(ops, "VOID")["size"] == (2, 2)


def test_the_barcode_block_is_the_canonical_number_without_its_text():
    document = raffle_receipt_document(receipt())
    (barcode,) = [b for b in document.blocks if isinstance(b, Barcode128)]
    assert barcode.data == VALIDATION and barcode.show_text is False
