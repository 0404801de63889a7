"""The petrol kiosk app (Pilot): PIN entry, holders' identity, payment, tickets printed."""

from __future__ import annotations

from datetime import UTC

import pytest
from textual.widgets import Button, Input

from fieldpass.drivers.printers import RecordingPrinter
from fieldpass.kiosk.petrol import cash_change, mask_document, parse_amount
from fieldpass.kiosk.petrol_app import PetrolApp, make_petrol_app
from fieldpass.kiosk.screens.holders import HoldersScreen
from fieldpass.kiosk.screens.payment import PaymentScreen
from fieldpass.kiosk.screens.pin_entry import PinEntryScreen
from fieldpass.kiosk.screens.sale_result import SaleResultScreen

from .helpers import wait_workers

pytestmark = pytest.mark.anyio


def petrol_app(device, printer=None, **options) -> PetrolApp:
    options.setdefault("tz", UTC)
    options.setdefault("cursor_blink", False)
    return make_petrol_app(device, sync_interval=3600, printer=printer, **options)


async def idle(pilot, app) -> None:
    for _ in range(4):
        await wait_workers(app)
        await pilot.pause()


async def enter_pin(pilot, app, pin: str) -> None:
    await pilot.press(*pin, "enter")
    await idle(pilot, app)


async def to_payment(pilot, app, pin: str = "12345") -> PaymentScreen:
    await enter_pin(pilot, app, pin)
    assert isinstance(app.screen, HoldersScreen)
    for n in range(1, app.screen.view.quantity + 1):
        await pilot.press(str(n))
    await pilot.press("f9")
    await pilot.pause()
    assert isinstance(app.screen, PaymentScreen)
    return app.screen


def outbox_kinds(device) -> list[str]:
    return [row[0] for row in device.store.conn.execute("SELECT kind FROM outbox ORDER BY seq")]


def test_pure_helpers():
    assert mask_document("OIB", "69435151530") == "OIB ***1530"
    assert parse_amount("25.5") == 2550 and parse_amount("1.234") is None
    assert cash_change("50", "100") == ("Change 50.00", 5000)
    assert cash_change("50", "20")[1] is None
    assert cash_change("", "20")[1] is None


async def test_cash_sale_shows_change_lists_and_prints_each_ticket(petrol_device):
    printer = RecordingPrinter()
    app = petrol_app(petrol_device, printer)
    async with app.run_test(size=(100, 30)) as pilot:
        await idle(pilot, app)
        assert "Today: no sales yet" in app.screen.query_one("#totals-line").render().plain
        await enter_pin(pilot, app, "12345")
        holders = app.screen
        assert isinstance(holders, HoldersScreen)
        labels = [str(box.label) for box in holders.query("Checkbox")]
        assert labels == ["1. Ana Horvat — OIB ***1530", "2. John Smith — PASSPORT ***4567"]
        assert not any("69435151530" in label or "AB1234567" in label for label in labels)

        for n in ("1", "2"):
            await pilot.press(n)
        await pilot.press("f9")
        await pilot.pause()
        payment = app.screen
        assert isinstance(payment, PaymentScreen)
        await pilot.press(*"42.50", "enter", *"50")
        await pilot.pause()
        assert payment.text_of("#change-line") == "Change 7.50"
        await pilot.press("f9")
        await idle(pilot, app)

        result = app.screen
        assert isinstance(result, SaleResultScreen)
        lines = result.ticket_lines
        assert len(lines) == 2
        assert lines[0].startswith("Ana Horvat · sector P row A seat 1 · ")
        assert lines[1].startswith("John Smith · sector P row A seat 2 · ")
        assert "Change 7.50" in result.text_of("#payment-line")
        assert result.text_of("#print-line") == "Printed 2 ticket(s)"
        assert len(printer.jobs) == 2
        barcodes = [t.barcode for t in app.sale.tickets]
        for job, barcode in zip(printer.jobs, barcodes, strict=True):
            text = printer_text(job)
            assert barcode in text and f"{app.sale.seq}/12345" in text
            assert "Derby Night" in text
        assert outbox_kinds(petrol_device) == ["petrol_sale"]
        assert "cash 1 sale(s) 42.50" in result.query_one("#totals-line").render().plain
        assert "unsynced 1" in result.query_one("#status-bar").render().plain

        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, PinEntryScreen)
        assert app.pin_screen.pin_value == ""


def printer_text(job) -> str:
    from fieldpass.drivers.printers import render_text

    return render_text(job.document, 48)


async def test_card_without_reference_is_refused(petrol_device):
    app = petrol_app(petrol_device, RecordingPrinter())
    async with app.run_test(size=(100, 30)) as pilot:
        await idle(pilot, app)
        payment = await to_payment(pilot, app)
        await pilot.press("f3", "f9")
        await pilot.pause()
        assert app.screen is payment
        assert "POS reference" in payment.text_of("#message-line")
        assert outbox_kinds(petrol_device) == []
        await pilot.press(*"POS-77", "f9")
        await idle(pilot, app)
        assert isinstance(app.screen, SaleResultScreen)
        assert "POS reference POS-77" in app.screen.text_of("#payment-line")
        assert outbox_kinds(petrol_device) == ["petrol_sale"]


async def test_cash_short_of_the_amount_due_is_refused(petrol_device):
    app = petrol_app(petrol_device)
    async with app.run_test(size=(100, 30)) as pilot:
        await idle(pilot, app)
        payment = await to_payment(pilot, app, "22222")
        await pilot.press(*"50", "enter", *"20", "f9")
        await pilot.pause()
        assert app.screen is payment
        assert "short" in payment.text_of("#message-line")
        assert outbox_kinds(petrol_device) == []


async def test_identity_not_confirmed_cannot_continue_and_escape_goes_back(petrol_device):
    app = petrol_app(petrol_device)
    async with app.run_test(size=(100, 30)) as pilot:
        await idle(pilot, app)
        await enter_pin(pilot, app, "12345")
        holders = app.screen
        assert isinstance(holders, HoldersScreen)
        await pilot.press("1", "f9")
        await pilot.pause()
        assert app.screen is holders
        assert holders.query_one("#continue-button", Button).disabled
        assert "Confirm every holder" in str(holders.query_one("#message-line").render())
        await pilot.press("2")
        await pilot.pause()
        assert not holders.query_one("#continue-button", Button).disabled
        await pilot.press("escape")
        await idle(pilot, app)
        assert isinstance(app.screen, PinEntryScreen)
        assert "cancelled, nothing sold" in app.pin_screen.text_of("#message-line")
        assert outbox_kinds(petrol_device) == []


@pytest.mark.parametrize(
    ("pin", "words"),
    [
        ("99999", "not known at this kiosk [unknown_pin]"),
        ("33333", "already redeemed [pin_used]"),
        ("44444", "expired [pin_expired]"),
        ("55555", "cancelled [pin_cancelled]"),
    ],
)
async def test_refused_pins_say_why(petrol_device, pin, words):
    app = petrol_app(petrol_device)
    async with app.run_test(size=(100, 30)) as pilot:
        await idle(pilot, app)
        await enter_pin(pilot, app, pin)
        assert isinstance(app.screen, PinEntryScreen)
        assert words in app.pin_screen.text_of("#message-line")


async def test_a_pin_sold_here_is_used_on_a_second_try(petrol_device):
    petrol_device.petrol.redeem("22222", identity_verified=True, cash_cents=100)
    app = petrol_app(petrol_device)
    async with app.run_test(size=(100, 30)) as pilot:
        await idle(pilot, app)
        await enter_pin(pilot, app, "22222")
        assert "[pin_used]" in app.pin_screen.text_of("#message-line")


async def test_non_digits_are_ignored_and_short_pins_refused(petrol_device):
    app = petrol_app(petrol_device)
    async with app.run_test(size=(100, 30)) as pilot:
        await idle(pilot, app)
        await pilot.press("1", "a", "2", "-", "3", "x")
        assert app.pin_screen.pin_value == "123"
        await pilot.press("enter")
        await idle(pilot, app)
        assert isinstance(app.screen, PinEntryScreen)
        assert "exactly 5 digits" in app.pin_screen.text_of("#message-line")
        await pilot.press("4", "5", "6", "7")
        assert app.pin_screen.query_one("#pin-input", Input).value == "12345"


async def test_print_failure_keeps_the_sale_and_reprint_prints_the_rest(petrol_device):
    printer = RecordingPrinter()
    printer.fail_next("printer_unreachable", "cannot reach printer fake: connection refused")
    app = petrol_app(petrol_device, printer)
    async with app.run_test(size=(100, 30)) as pilot:
        await idle(pilot, app)
        await to_payment(pilot, app)
        await pilot.press(*"10", "enter", *"10", "f9")
        await idle(pilot, app)
        result = app.screen
        assert isinstance(result, SaleResultScreen)
        assert printer.jobs == []
        assert "2 ticket(s) NOT printed [printer_unreachable]" in result.text_of("#print-line")
        assert not result.query_one("#reprint-button", Button).disabled
        assert outbox_kinds(petrol_device) == ["petrol_sale"]  # the sale is kept
        assert petrol_device.store.pin("12345").status == "USED"

        await pilot.press("f5")
        await idle(pilot, app)
        assert len(printer.jobs) == 2
        assert result.text_of("#print-line") == "Printed 2 ticket(s)"
        assert result.query_one("#reprint-button", Button).disabled
        assert outbox_kinds(petrol_device) == ["petrol_sale"]
