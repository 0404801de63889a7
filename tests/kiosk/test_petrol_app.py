"""The petrol kiosk app (Pilot): PIN entry, holders' identity documents, seats reserved
with a countdown, payment of the real price, tickets printed, emergency reprint."""

from __future__ import annotations

from datetime import UTC

import pytest
from textual.widgets import Button, Input, SelectionList

from fieldpass.device.petrol import DEFAULT_RESERVATION_MINUTES, HOLDER_DATA_GRACE_MS
from fieldpass.drivers.printers import RecordingPrinter, render_text
from fieldpass.kiosk.petrol import cash_change, mask_document, parse_amount
from fieldpass.kiosk.petrol_app import PetrolApp, make_petrol_app
from fieldpass.kiosk.petrol_widgets import present_countdown
from fieldpass.kiosk.screens.holders import HoldersScreen
from fieldpass.kiosk.screens.payment import PaymentScreen
from fieldpass.kiosk.screens.pin_entry import PinEntryScreen
from fieldpass.kiosk.screens.reprint import ReprintScreen
from fieldpass.kiosk.screens.sale_result import SaleResultScreen
from fieldpass.kiosk.screens.seat_choice import SeatChoiceScreen
from fieldpass.sync.payloads import validate_payload

from .helpers import wait_workers

pytestmark = pytest.mark.anyio
MINUTE = 60_000


def petrol_app(device, printer=None, **options) -> PetrolApp:
    options.setdefault("tz", UTC)
    options.setdefault("cursor_blink", False)
    options.setdefault("countdown_interval", 3600)  # tests tick the countdown themselves
    return make_petrol_app(device, sync_interval=3600, printer=printer, **options)


async def idle(pilot, app) -> None:
    for _ in range(4):
        await wait_workers(app)
        await pilot.pause()


async def enter_pin(pilot, app, pin: str) -> None:
    await pilot.press(*pin, "enter")
    await idle(pilot, app)


async def to_seats(pilot, app, pin: str = "12345") -> SeatChoiceScreen:
    await enter_pin(pilot, app, pin)
    assert isinstance(app.screen, HoldersScreen)
    for n in range(1, app.screen.view.quantity + 1):
        await pilot.press(str(n))  # ID card
    await pilot.press("f9")
    await idle(pilot, app)
    assert isinstance(app.screen, SeatChoiceScreen)
    return app.screen


async def to_payment(pilot, app, pin: str = "12345") -> PaymentScreen:
    await to_seats(pilot, app, pin)
    await pilot.press("f9")
    await pilot.pause()
    assert isinstance(app.screen, PaymentScreen)
    return app.screen


def outbox(device) -> list[tuple[str, dict]]:
    events = device.store.events_after(device.identity.device_id, 0, 1000)
    return [(e.kind, e.payload) for e in events]


def outbox_kinds(device) -> list[str]:
    return [kind for kind, _ in outbox(device)]


def printer_text(job) -> str:
    return render_text(job.document, 48)


def test_pure_helpers():
    assert mask_document("OIB", "69435151530") == "OIB ***1530"
    assert parse_amount("25.5") == 2550 and parse_amount("1.234") is None
    assert cash_change(5000, "100") == ("Change 50.00", 10000)
    assert cash_change(5000, "20")[1] is None
    assert cash_change(5000, "")[1] is None
    assert present_countdown(None) == ""
    assert present_countdown(299_001) == "Seats reserved for 5:00 more"
    assert present_countdown(61_000) == "Seats reserved for 1:01 more"
    assert present_countdown(0).startswith("Reservation expired")


async def test_cash_sale_reserves_shows_total_and_change_and_prints_each_ticket(petrol_device):
    printer = RecordingPrinter()
    app = petrol_app(petrol_device, printer)
    async with app.run_test(size=(100, 34)) as pilot:
        await idle(pilot, app)
        assert "Today: no sales yet" in app.screen.query_one("#totals-line").render().plain
        await enter_pin(pilot, app, "12345")
        holders = app.screen
        assert isinstance(holders, HoldersScreen)
        names = [str(s.render()) for s in holders.query(".holder-name")]
        assert names == ["1. Ana Horvat — OIB ***1530", "2. John Smith — PASSPORT ***4567"]
        assert not any("69435151530" in n or "AB1234567" in n for n in names)
        await pilot.press("1", "2", "2")  # holder 1: ID card; holder 2: passport
        await pilot.press("f9")
        await idle(pilot, app)

        seats = app.screen
        assert isinstance(seats, SeatChoiceScreen)
        assert seats.text_of("#reserved-line") == (
            "Reserved: P/A/1, P/A/2 · total 42.50 (VAT 8.50 included)"
        )
        assert seats.text_of("#countdown-line") == "Seats reserved for 5:00 more"
        assert outbox_kinds(petrol_device) == ["petrol_reservation"]
        await pilot.press("f9")
        await pilot.pause()
        payment = app.screen
        assert isinstance(payment, PaymentScreen)
        assert payment.text_of("#total-line") == "Total 42.50 (VAT 8.50 included)"
        await pilot.press(*"50")
        await pilot.pause()
        assert payment.text_of("#change-line") == "Change 7.50"
        await pilot.press("f9")
        await idle(pilot, app)

        result = app.screen
        assert isinstance(result, SaleResultScreen)
        lines = result.ticket_lines
        assert lines[0].startswith("Ana Horvat · sector P row A seat 1 · ")
        assert lines[1].startswith("John Smith · sector P row A seat 2 · ")
        assert result.text_of("#payment-line") == (
            "Total 42.50 (VAT 8.50) · cash 50.00 · change 7.50"
        )
        assert result.text_of("#print-line") == "Printed 2 ticket(s)"
        assert len(printer.jobs) == 2
        for job, ticket in zip(printer.jobs, app.sale.tickets, strict=True):
            text = printer_text(job)
            assert ticket.barcode in text and f"{app.sale.seq}/12345" in text
            assert "Derby Night" in text and "2026-05-01 19:00 UTC" in text  # kick-off
            assert "21.25" in text and "4.25" in text  # price and its VAT
            assert ticket.holder in text and "REPRINT" not in text
        assert outbox_kinds(petrol_device) == ["petrol_reservation", "petrol_sale"]
        sale = validate_payload("petrol_sale", outbox(petrol_device)[1][1])
        assert sale.documents == ["id_card", "passport"]
        assert sale.payment.amount_cents == 4250 and sale.payment.tendered_cents == 5000
        assert sale.reservation_id == app.sale.reservation_id
        assert "cash 1 sale(s) 42.50" in result.query_one("#totals-line").render().plain
        assert "unsynced 2" in result.query_one("#status-bar").render().plain

        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, PinEntryScreen)
        assert app.pin_screen.pin_value == ""


async def test_document_type_is_required_for_every_holder(petrol_device):
    app = petrol_app(petrol_device)
    async with app.run_test(size=(100, 34)) as pilot:
        await idle(pilot, app)
        await enter_pin(pilot, app, "12345")
        holders = app.screen
        assert isinstance(holders, HoldersScreen)
        await pilot.press("1", "f9")
        await idle(pilot, app)
        assert app.screen is holders
        assert holders.query_one("#continue-button", Button).disabled
        assert "holder(s) 2 first" in holders.text_of("#message-line")
        assert outbox_kinds(petrol_device) == []  # nothing reserved without documents
        await pilot.press("2", "2", "2", "2", "2")  # stepped past the last type: none again
        await pilot.pause()
        assert holders.documents == ["id_card", None]
        assert holders.query_one("#continue-button", Button).disabled
        await pilot.press("2", "2", "2")
        await pilot.pause()
        assert holders.documents == ["id_card", "driving_licence"]
        assert not holders.query_one("#continue-button", Button).disabled
        await pilot.press("escape")
        await idle(pilot, app)
        assert isinstance(app.screen, PinEntryScreen)
        assert "cancelled, nothing sold" in app.pin_screen.text_of("#message-line")
        assert outbox_kinds(petrol_device) == []


async def test_seat_change_replaces_the_reservation(petrol_device):
    app = petrol_app(petrol_device)
    async with app.run_test(size=(100, 34)) as pilot:
        await idle(pilot, app)
        seats = await to_seats(pilot, app)
        listing = seats.query_one("#seat-list", SelectionList)
        assert listing.option_count == 6  # the reserved two and the four free
        listing.deselect("P|A|1")
        await pilot.press("f4")
        await idle(pilot, app)
        assert "Tick exactly 2 seat(s) (1 ticked now)" in seats.text_of("#message-line")
        listing.select("P|A|5")
        await pilot.press("f9")
        await pilot.pause()
        assert app.screen is seats  # a changed selection must be applied first
        assert "Apply the seat change first" in seats.text_of("#message-line")
        await pilot.press("f4")
        await idle(pilot, app)
        assert seats.text_of("#reserved-line").startswith("Reserved: P/A/2, P/A/5 ·")
        assert seats.text_of("#message-line") == "Seats changed"
        assert outbox_kinds(petrol_device) == [
            "petrol_reservation",
            "petrol_reservation_end",
            "petrol_reservation",
        ]
        await pilot.press("f9")
        await pilot.pause()
        await pilot.press("f3", *"POS-1", "f9")
        await idle(pilot, app)
        assert isinstance(app.screen, SaleResultScreen)
        assert [(t.row, t.seat) for t in app.sale.tickets] == [("A", "2"), ("A", "5")]


async def test_countdown_expiry_returns_to_pin_entry_and_frees_the_seats(petrol_device, clock):
    app = petrol_app(petrol_device)
    async with app.run_test(size=(100, 34)) as pilot:
        await idle(pilot, app)
        payment = await to_payment(pilot, app)
        clock.advance(4 * MINUTE + 30_000)
        app.check_reservation()
        await pilot.pause()
        assert payment.text_of("#countdown-line") == "Seats reserved for 0:30 more"
        clock.advance(30_000)
        app.check_reservation()
        await idle(pilot, app)
        assert app.screen is app.pin_screen
        message = app.pin_screen.text_of("#message-line")
        assert "reservation expired" in message and "released" in message
        assert f"{DEFAULT_RESERVATION_MINUTES} min" in message
        assert outbox_kinds(petrol_device) == ["petrol_reservation", "petrol_reservation_end"]
        assert outbox(petrol_device)[1][1]["outcome"] == "expired"
        assert len(petrol_device.petrol.free_seats()) == 6
        # the PIN can be started again
        await to_seats(pilot, app)


async def test_card_pays_the_total_and_needs_a_reference(petrol_device):
    app = petrol_app(petrol_device, RecordingPrinter())
    async with app.run_test(size=(100, 34)) as pilot:
        await idle(pilot, app)
        payment = await to_payment(pilot, app)
        await pilot.press("f3", "f9")
        await pilot.pause()
        assert app.screen is payment
        assert "POS reference" in payment.text_of("#message-line")
        await pilot.press(*"POS-77", "f9")
        await idle(pilot, app)
        assert isinstance(app.screen, SaleResultScreen)
        assert app.screen.text_of("#payment-line") == (
            "Total 42.50 (VAT 8.50) · paid by card · POS reference POS-77"
        )
        kind, payload = outbox(petrol_device)[-1]
        assert kind == "petrol_sale"
        assert payload["payment"] == {"method": "card", "amount_cents": 4250, "reference": "POS-77"}
        assert "card 1 sale(s) 42.50" in app.screen.query_one("#totals-line").render().plain


async def test_cash_short_of_the_total_is_refused(petrol_device):
    app = petrol_app(petrol_device)
    async with app.run_test(size=(100, 34)) as pilot:
        await idle(pilot, app)
        payment = await to_payment(pilot, app, "22222")
        await pilot.press(*"20", "f9")
        await pilot.pause()
        assert app.screen is payment
        assert "1.25 short of the total" in payment.text_of("#message-line")
        assert outbox_kinds(petrol_device) == ["petrol_reservation"]
        await pilot.press("escape", "escape")  # back to seats, then cancel the reservation
        await idle(pilot, app)
        assert app.screen is app.pin_screen
        assert "seats are released" in app.pin_screen.text_of("#message-line")
        assert outbox_kinds(petrol_device) == ["petrol_reservation", "petrol_reservation_end"]
        assert outbox(petrol_device)[1][1]["outcome"] == "cancelled"


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
    async with app.run_test(size=(100, 34)) as pilot:
        await idle(pilot, app)
        await enter_pin(pilot, app, pin)
        assert isinstance(app.screen, PinEntryScreen)
        assert words in app.pin_screen.text_of("#message-line")


async def test_a_pin_sold_here_is_used_on_a_second_try(petrol_device):
    petrol_device.petrol.redeem("22222", identity_verified=True, cash_cents=2125)
    app = petrol_app(petrol_device)
    async with app.run_test(size=(100, 34)) as pilot:
        await idle(pilot, app)
        await enter_pin(pilot, app, "22222")
        assert "[pin_used]" in app.pin_screen.text_of("#message-line")


async def test_a_reservation_left_by_a_previous_run_is_released_at_start(petrol_device):
    left = petrol_device.petrol.reserve("12345")
    app = petrol_app(petrol_device)
    async with app.run_test(size=(100, 34)) as pilot:
        await idle(pilot, app)
        assert petrol_device.petrol.reservation(left.id).status == "CANCELLED"
        await to_seats(pilot, app)  # the PIN is not stuck as "being sold"


async def test_non_digits_are_ignored_and_short_pins_refused(petrol_device):
    app = petrol_app(petrol_device)
    async with app.run_test(size=(100, 34)) as pilot:
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
    async with app.run_test(size=(100, 34)) as pilot:
        await idle(pilot, app)
        await to_payment(pilot, app)
        await pilot.press(*"50", "f9")
        await idle(pilot, app)
        result = app.screen
        assert isinstance(result, SaleResultScreen)
        assert printer.jobs == []
        assert "2 ticket(s) NOT printed [printer_unreachable]" in result.text_of("#print-line")
        assert not result.query_one("#reprint-button", Button).disabled
        assert outbox_kinds(petrol_device)[-1] == "petrol_sale"  # the sale is kept
        assert petrol_device.store.pin("12345").status == "USED"

        await pilot.press("f5")
        await idle(pilot, app)
        assert len(printer.jobs) == 2
        assert result.text_of("#print-line") == "Printed 2 ticket(s)"
        assert result.query_one("#reprint-button", Button).disabled


async def fill_reprint(pilot, app, barcode: str, reason: str, *, confirm: bool = True) -> None:
    await pilot.press("f7")
    await pilot.pause()
    screen = app.screen
    assert isinstance(screen, ReprintScreen)
    screen.query_one("#barcode-input", Input).value = barcode
    screen.query_one("#reason-input", Input).value = reason
    screen.query_one("#document-select").value = "passport"
    screen.query_one("#identity-check").value = confirm
    await pilot.pause()


async def test_emergency_reprint_needs_a_reason_is_logged_and_marked(petrol_device):
    sale = petrol_device.petrol.redeem("12345", identity_verified=True, card_ref="POS-1")
    printer = RecordingPrinter()
    app = petrol_app(petrol_device, printer)
    async with app.run_test(size=(100, 34)) as pilot:
        await idle(pilot, app)
        barcode = sale.tickets[1].barcode
        await fill_reprint(pilot, app, barcode, "   ")
        await pilot.press("f9")
        await pilot.pause()
        assert isinstance(app.screen, ReprintScreen)
        assert app.screen.text_of("#message-line") == "A reprint needs a reason"
        app.screen.query_one("#reason-input", Input).value = "paper jam"
        app.screen.query_one("#identity-check").value = False
        await pilot.press("f9")
        await pilot.pause()
        assert "Confirm you checked" in app.screen.text_of("#message-line")
        app.screen.query_one("#identity-check").value = True
        await pilot.press("f9")
        await idle(pilot, app)
        assert app.screen is app.pin_screen
        assert f"Ticket {barcode} reprinted" in app.pin_screen.text_of("#message-line")
        assert outbox_kinds(petrol_device) == ["petrol_sale", "petrol_reprint"]
        logged = validate_payload("petrol_reprint", outbox(petrol_device)[-1][1])
        assert logged.reason == "paper jam" and logged.document_type == "passport"
        assert len(printer.jobs) == 1
        text = printer_text(printer.jobs[0])
        assert "REPRINT" in text and barcode in text and "John Smith" in text
        assert f"{sale.seq}/12345" in text

        await fill_reprint(pilot, app, "PUNKNOWN000000000", "lost")
        await pilot.press("f9")
        await idle(pilot, app)
        assert "Reprint refused, nothing logged" in app.pin_screen.text_of("#message-line")
        assert "[unknown_ticket]" in app.pin_screen.text_of("#message-line")
        assert outbox_kinds(petrol_device) == ["petrol_sale", "petrol_reprint"]
        assert len(printer.jobs) == 1


async def test_reprint_logged_before_a_failed_print(petrol_device):
    sale = petrol_device.petrol.redeem("12345", identity_verified=True, card_ref="POS-1")
    printer = RecordingPrinter()
    printer.fail_next("paper_out", "the printer is out of paper")
    app = petrol_app(petrol_device, printer)
    async with app.run_test(size=(100, 34)) as pilot:
        await idle(pilot, app)
        await fill_reprint(pilot, app, sale.tickets[0].barcode, "torn")
        await pilot.press("f9")
        await idle(pilot, app)
        assert "Reprint logged but NOT printed" in app.pin_screen.text_of("#message-line")
        assert outbox_kinds(petrol_device) == ["petrol_sale", "petrol_reprint"]
        assert printer.jobs == []


async def test_holder_data_of_a_finished_match_is_purged_at_start(petrol_device, clock):
    petrol_device.petrol.redeem("22222", identity_verified=True, cash_cents=2125)
    conn = petrol_device.store.conn

    def holder_rows() -> tuple[int, int]:
        return (
            conn.execute(
                "SELECT COUNT(*) FROM petrol_pins WHERE holders_sealed IS NOT NULL"
            ).fetchone()[0],
            conn.execute("SELECT COUNT(*) FROM petrol_tickets WHERE holder IS NOT NULL").fetchone()[
                0
            ],
        )

    assert holder_rows() == (5, 1)
    clock.advance(4 * 3_600_000 + HOLDER_DATA_GRACE_MS)  # the match ended a day ago
    app = petrol_app(petrol_device)
    async with app.run_test(size=(100, 34)) as pilot:
        await idle(pilot, app)
        assert holder_rows() == (0, 0)
        assert conn.execute("SELECT COUNT(*) FROM petrol_tickets").fetchone()[0] == 1
        assert conn.execute("SELECT COUNT(*) FROM petrol_sales").fetchone()[0] == 1


async def test_a_reservation_expired_by_a_sync_round_also_returns_to_pin_entry(
    petrol_device, clock
):
    app = petrol_app(petrol_device)
    async with app.run_test(size=(100, 34)) as pilot:
        await idle(pilot, app)
        await to_seats(pilot, app)
        clock.advance(DEFAULT_RESERVATION_MINUTES * MINUTE)
        assert len(petrol_device.petrol.expire_reservations()) == 1  # as the sync worker does
        app.check_reservation()
        await idle(pilot, app)
        assert app.screen is app.pin_screen
        assert "reservation expired" in app.pin_screen.text_of("#message-line")
        assert app.reservation is None
