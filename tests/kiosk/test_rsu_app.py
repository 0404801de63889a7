"""The RSU app (Pilot) on a real device: identity, key, SQLite store seeded with the pull
slice of docs/raffle.md, the real RaffleService; receipts reach a RecordingPrinter as
real ESC/POS bytes (python-escpos), parsed back."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fieldpass.device import raffle as raffle_module
from fieldpass.device.context import DeviceContext, open_device
from fieldpass.device.home import DeviceHome
from fieldpass.device.identity import DeviceIdentity, save_key
from fieldpass.device.raffle import RaffleClosing
from fieldpass.drivers.errors import DriverError
from fieldpass.drivers.printers import PrinterStatus, RecordingPrinter
from fieldpass.kiosk.rsu_app import RsuApp, make_rsu_app, run_rsu_app
from fieldpass.kiosk.rsu_messages import SalesClosed
from fieldpass.kiosk.screens.rsu_close import RsuCloseScreen, present_closed, present_upload
from fieldpass.kiosk.screens.rsu_sale import RsuSaleScreen
from fieldpass.kiosk.screens.rsu_void import RsuVoidScreen
from fieldpass.sync.messages import Change, make_cursor
from fieldpass.sync.validation_numbers import format_validation_number, new_validation_number
from tests.drivers.escpos_parse import parse, text_lines

from .conftest import START_MS, UNREACHABLE
from .helpers import wait_workers

pytestmark = pytest.mark.anyio

RAFFLE_ID = "raffle-1"
RSU_ID = "rsu-1"
TERMINAL = 42
HOUR = 3_600_000
SALES_END = START_MS + HOUR
PACKAGES = [  # id, name, tickets, price
    ("pkg-1", "1 for 5", 1, 500),
    ("pkg-3", "3 for 10", 3, 1000),
    ("pkg-10", "10 for 20", 10, 2000),
]


def raffle_changes(ranges: list[tuple[int, int]]) -> list[Change]:
    """The RSU's pull slice: raffle, packages, a prize, its own row and allocations."""
    changes: list[Change] = []

    def add(entity: str, key: str, data: dict) -> None:
        changes.append(Change(seq=len(changes) + 1, entity=entity, key=key, op="upsert", data=data))

    add(
        "raffle",
        RAFFLE_ID,
        {
            "id": RAFFLE_ID,
            "name": "Club raffle",
            "state": "active",
            "organization_name": "NK Fieldpass",
            "licence_number": "LIC-77",
            "sales_start": START_MS - HOUR,
            "sales_end": SALES_END,
            "claim_deadline": START_MS + 30 * 24 * HOUR,
            "jackpot_estimate_cents": 150_000,
            "max_tickets": 10_000,
        },
    )
    for order, (package_id, name, tickets, price) in enumerate(PACKAGES):
        add(
            "raffle_package",
            package_id,
            {
                "id": package_id,
                "name": name,
                "ticket_count": tickets,
                "price_cents": price,
                "display_order": order,
                "is_active": True,
            },
        )
    add(
        "raffle_prize",
        "prize-1",
        {
            "id": "prize-1",
            "name": "Car",
            "position": 1,
            "prize_type": "fixed",
            "value_cents": 2_000_000,
            "percentage": None,
            "winner_count": 1,
        },
    )
    add(
        "rsu",
        RSU_ID,
        {"id": RSU_ID, "name": "Stand 1", "terminal_number": TERMINAL, "state": "active"},
    )
    for index, (start, end) in enumerate(ranges, 1):
        add(
            "raffle_allocation",
            f"alloc-{index}",
            {"id": f"alloc-{index}", "start_number": start, "end_number": end, "is_active": True},
        )
    return changes


def rsu_home(tmp_path) -> DeviceHome:
    home = DeviceHome.resolve(tmp_path / "rsu-home")
    if not home.identity_path.exists():
        home.ensure()
        DeviceIdentity(
            device_id=RSU_ID,
            name="Stand 1",
            role="rsu",
            server_url=UNREACHABLE,
            status="approved",
            token="test-token",
            organization_id="org-1",
            raffle_id=RAFFLE_ID,
        ).save(home.identity_path)
        save_key(home.key_path, Ed25519PrivateKey.generate())
    return home


def open_rsu(tmp_path, clock, ranges: list[tuple[int, int]] | None = None) -> DeviceContext:
    ctx = open_device(rsu_home(tmp_path), clock=clock)
    if ranges is not None:
        changes = raffle_changes(ranges)
        ctx.store.apply_changes(changes, make_cursor("epoch-1", len(changes)), "epoch-1")
    ctx.sync.timeout = 2.0
    return ctx


@pytest.fixture
def rsu(tmp_path, clock) -> Iterator[DeviceContext]:
    """An approved, offline RSU selling numbers 1-100 of Club raffle."""
    ctx = open_rsu(tmp_path, clock, [(1, 100)])
    try:
        yield ctx
    finally:
        ctx.close()


def rsu_app(ctx, printer=None, **options) -> RsuApp:
    options.setdefault("tz", UTC)
    return make_rsu_app(ctx, sync_interval=3600, status_interval=3600, printer=printer, **options)


async def idle(pilot, app) -> None:
    for _ in range(4):
        await wait_workers(app)
        await pilot.pause()


def outbox(ctx) -> list[tuple[str, dict]]:
    return [(e.kind, e.payload) for e in ctx.store.events_after(ctx.identity.device_id, 0, 1000)]


def kinds(ctx) -> list[str]:
    return [kind for kind, _ in outbox(ctx)]


def job_lines(job) -> list[str]:
    return [" ".join(line.split()) for line in text_lines(parse(job.data))]


async def sell_cash(pilot, app, key: str, cash: str) -> None:
    await pilot.press(key)
    await pilot.pause()
    await pilot.press(*cash, "f9")
    await idle(pilot, app)


async def test_cash_sale_commits_then_prints_the_receipt(rsu):
    printer = RecordingPrinter()
    app = rsu_app(rsu, printer)
    async with app.run_test(size=(100, 34)) as pilot:
        await idle(pilot, app)
        screen = app.screen
        assert isinstance(screen, RsuSaleScreen)
        assert screen.text_of("#header-line") == "Club raffle — RSU Stand 1 (terminal 0042)"
        assert [str(b.label) for b in screen.query(".package")] == [
            "1 · 1 for 5 · 5.00",
            "2 · 3 for 10 · 10.00",
            "3 · 10 for 20 · 20.00",
        ]
        assert screen.text_of("#remaining-line") == "Numbers left: 100 of 100"
        await pilot.press("2")
        await pilot.pause()
        assert screen.text_of("#order-line") == "Order: 2 · 3 for 10 · 10.00 · 3 tickets"
        await pilot.press(*"25")
        await pilot.pause()
        assert screen.text_of("#change-line") == "Change 15.00"
        assert kinds(rsu) == []  # nothing is sold before F9
        await pilot.press("f9")
        await idle(pilot, app)

        receipt = app.sale.receipt
        assert receipt.draw_numbers == [1, 2, 3] and receipt.tendered_cents == 2500
        assert kinds(rsu) == ["raffle_sale"]
        assert outbox(rsu)[0][1]["validation_number"] == receipt.validation_number
        shown = format_validation_number(receipt.validation_number)
        assert screen.text_of("#sale-title") == f"SOLD · validation {shown}"
        assert screen.text_of("#sale-numbers") == "Numbers (3): 1, 2, 3"
        assert screen.text_of("#sale-payment") == "3 for 10 · 10.00 · cash 25.00 · change 15.00"
        assert screen.text_of("#print-line") == "Receipt printed"
        (job,) = printer.jobs
        lines = job_lines(job)
        assert shown in lines and "1 2 3" in lines
        assert "Change 15.00" in lines and "Terminal 0042" in lines
        assert not any("REPRINT" in line for line in lines)
        assert "Orders 1 · tickets 3 · cash 10.00 · card 0.00" in screen.text_of("#totals-line")
        assert "unsynced 1" in screen.text_of("#status-bar")
        assert "printer ok" in screen.text_of("#status-bar")
        assert screen.text_of("#remaining-line") == "Numbers left: 97 of 100"
        assert not screen.query_one("#order-panel").display  # ready for the next customer


async def test_card_sale_with_customer_name(rsu):
    printer = RecordingPrinter("58mm")
    app = rsu_app(rsu, printer)
    async with app.run_test(size=(100, 34)) as pilot:
        await idle(pilot, app)
        await pilot.press("1", "f3")
        await pilot.pause()
        await pilot.press(*"POS-77", "f9")
        await idle(pilot, app)
        screen = app.sale_screen
        assert "NOT sold" not in screen.text_of("#message-line")
        await pilot.press("1", "shift+tab")  # an order starts as cash: back to the phone
        await pilot.pause()
        assert app.focused is not None and app.focused.id == "customer-phone-input"
        await pilot.press("shift+tab", *"Ana", "tab", *"0911", "f3", *"POS-78", "enter")
        await idle(pilot, app)
        assert [p["payment"] for _, p in outbox(rsu)] == [
            {"method": "card", "reference": "POS-77"},
            {"method": "card", "reference": "POS-78"},
        ]
        assert outbox(rsu)[1][1]["customer_name"] == "Ana"
        assert outbox(rsu)[1][1]["customer_phone"] == "0911"
        lines = job_lines(printer.jobs[-1])
        assert "Card reference POS-78" in lines and "Customer Ana" in lines
        assert "card 10.00" in screen.text_of("#totals-line")


async def test_packages_pulled_later_replace_the_buttons_and_clicks_choose(rsu):
    app = rsu_app(rsu, RecordingPrinter())
    async with app.run_test(size=(100, 34)) as pilot:
        await idle(pilot, app)
        extra = Change(
            seq=99,
            entity="raffle_package",
            key="pkg-25",
            op="upsert",
            data={
                "id": "pkg-25",
                "name": "25 for 40",
                "ticket_count": 25,
                "price_cents": 4000,
                "display_order": 9,
                "is_active": True,
            },
        )
        rsu.store.apply_changes([extra], make_cursor("epoch-1", 99), "epoch-1")
        app.start_status_read()
        await idle(pilot, app)
        screen = app.sale_screen
        labels = [str(b.label) for b in screen.query(".package")]
        assert labels[-1] == "4 · 25 for 40 · 40.00" and len(labels) == 4
        await pilot.click(".package", offset=(2, 1))
        await pilot.pause()
        assert screen.package is not None and screen.package.id == "pkg-1"


async def test_short_cash_is_refused_on_screen_and_nothing_is_sold(rsu):
    app = rsu_app(rsu, RecordingPrinter())
    async with app.run_test(size=(100, 34)) as pilot:
        await idle(pilot, app)
        await sell_cash(pilot, app, "3", "15")
        screen = app.sale_screen
        assert (
            screen.text_of("#message-line")
            == "Cash not accepted: tendered is 5.00 short of the total"
        )
        assert kinds(rsu) == []
        await pilot.press("escape")
        await pilot.pause()
        assert screen.text_of("#message-line") == "Order cancelled, nothing sold"
        await pilot.press("7")
        await pilot.pause()
        assert screen.text_of("#message-line") == "No package on key 7"


async def test_failed_print_keeps_the_sale_and_reprint_is_logged_then_marked(rsu):
    printer = RecordingPrinter()
    printer.fail_next("paper_out", "paper out")
    app = rsu_app(rsu, printer)
    async with app.run_test(size=(100, 34)) as pilot:
        await idle(pilot, app)
        await sell_cash(pilot, app, "1", "5")
        screen = app.sale_screen
        assert printer.jobs == []
        assert kinds(rsu) == ["raffle_sale"]  # the sale stands
        assert screen.text_of("#print-line") == (
            "Receipt NOT printed [paper_out]: paper out — the sale is kept; "
            "F5 prints a copy marked REPRINT"
        )
        assert screen.can_reprint
        await pilot.press("f5")
        await idle(pilot, app)
        assert kinds(rsu) == ["raffle_sale", "raffle_reprint"]
        reprint = outbox(rsu)[1][1]
        assert reprint["copy_number"] == 2 and reprint["reason"] == "the receipt did not print"
        (job,) = printer.jobs
        lines = job_lines(job)
        assert lines[0] == "REPRINT (copy 2)" and "*** REPRINT (copy 2) ***" in lines
        assert format_validation_number(app.sale.receipt.validation_number) in lines
        assert screen.text_of("#print-line") == "Copy 2 printed (marked REPRINT, logged)"


async def test_paper_out_after_the_print_offers_a_reprint(rsu):
    printer = RecordingPrinter()
    printer.status_to_report = PrinterStatus.PAPER_OUT
    app = rsu_app(rsu, printer)
    async with app.run_test(size=(100, 34)) as pilot:
        await idle(pilot, app)
        await sell_cash(pilot, app, "1", "5")
        screen = app.sale_screen
        assert screen.text_of("#print-line") == (
            "Receipt NOT confirmed (printer PAPER OUT) — the sale is kept; "
            "F5 prints a copy marked REPRINT"
        )
        assert screen.can_reprint and "printer PAPER OUT" in screen.text_of("#status-bar")
        printer.status_to_report = PrinterStatus.OK
        await pilot.press("f5")
        await idle(pilot, app)
        assert kinds(rsu) == ["raffle_sale", "raffle_reprint"]
        assert outbox(rsu)[1][1]["reason"] == "the receipt did not print"
        assert [job_lines(job)[0] for job in printer.jobs] == ["NK Fieldpass", "REPRINT (copy 2)"]


async def test_reprint_that_fails_to_print_is_still_logged(rsu):
    printer = RecordingPrinter()
    app = rsu_app(rsu, printer)
    async with app.run_test(size=(100, 34)) as pilot:
        await idle(pilot, app)
        await sell_cash(pilot, app, "1", "5")
        printer.fail_next("printer_unreachable", "unplugged")
        await pilot.press("f5")
        await idle(pilot, app)
        assert kinds(rsu) == ["raffle_sale", "raffle_reprint"]
        assert "Copy 2 logged but NOT printed" in app.sale_screen.text_of("#print-line")
        await pilot.press("f5")
        await idle(pilot, app)
        assert [p.get("copy_number") for _, p in outbox(rsu)] == [None, 2, 3]
        assert job_lines(printer.jobs[-1])[0] == "REPRINT (copy 3)"


async def test_after_a_restart_the_last_order_can_be_reprinted(rsu):
    sold = rsu.raffle.sell("pkg-3", cash_tendered_cents=1000)  # committed, then a crash
    printer = RecordingPrinter()
    app = rsu_app(rsu, printer)
    async with app.run_test(size=(100, 34)) as pilot:
        await idle(pilot, app)
        screen = app.sale_screen
        shown = format_validation_number(sold.receipt.validation_number)
        assert screen.text_of("#sale-title") == f"LAST ORDER · validation {shown}"
        assert printer.jobs == []  # nothing prints by itself
        await pilot.press("f5")
        await idle(pilot, app)
        assert kinds(rsu) == ["raffle_sale", "raffle_reprint"]
        assert outbox(rsu)[1][1]["reason"] == "the seller asked for a copy"
        lines = job_lines(printer.jobs[-1])
        assert lines[0] == "REPRINT (copy 2)" and shown in lines and "1 2 3" in lines


async def test_void_shows_the_order_then_voids_it(rsu):
    app = rsu_app(rsu, RecordingPrinter())
    async with app.run_test(size=(100, 34)) as pilot:
        await idle(pilot, app)
        await sell_cash(pilot, app, "2", "10")
        validation = app.sale.receipt.validation_number
        await pilot.press("f6")
        await pilot.pause()
        void = app.screen
        assert isinstance(void, RsuVoidScreen)
        await pilot.press(*format_validation_number(validation), "enter", *"wrong package", "f9")
        await idle(pilot, app)
        assert "Numbers (3): 1, 2, 3" in void.text_of("#order-details")
        assert kinds(rsu) == ["raffle_sale"]  # the first F9 only shows the order
        await pilot.press("f9")
        await idle(pilot, app)
        assert isinstance(app.screen, RsuSaleScreen)
        assert kinds(rsu) == ["raffle_sale", "raffle_void"]
        assert outbox(rsu)[1][1]["reason"] == "wrong package"
        screen = app.sale_screen
        assert screen.text_of("#message-line") == (
            f"Order {format_validation_number(validation)} VOIDED (wrong package): numbers "
            "1, 2, 3 are never sold again"
        )
        assert "Orders 0 · tickets 0 · cash 0.00 · card 0.00 · voided 1" in screen.text_of(
            "#totals-line"
        )
        await pilot.press("f6")
        await pilot.pause()
        await pilot.press(*validation, "enter", *"again", "f9")
        await idle(pilot, app)
        assert "already voided (wrong package)" in app.screen.text_of("#message-line")
        await pilot.press("escape")
        await pilot.pause()
        await sell_cash(pilot, app, "1", "5")
        assert app.sale.receipt.draw_numbers == [4]  # voided numbers are never sold again


async def test_void_of_an_unknown_or_mistyped_number_changes_nothing(rsu):
    app = rsu_app(rsu, RecordingPrinter())
    async with app.run_test(size=(100, 34)) as pilot:
        await idle(pilot, app)
        await pilot.press("f6")
        await pilot.pause()
        await pilot.press(*"1234", "enter", *"test", "f9")
        await idle(pilot, app)
        assert app.screen.text_of("#message-line").startswith(
            "Nothing to void: a validation number"
        )
        assert kinds(rsu) == []


async def test_close_uploads_what_it_can_records_the_close_and_stops_sales(rsu):
    app = rsu_app(rsu, RecordingPrinter())
    async with app.run_test(size=(100, 34)) as pilot:
        await idle(pilot, app)
        await sell_cash(pilot, app, "1", "5")
        await pilot.press("f8")
        await idle(pilot, app)
        close = app.screen
        assert isinstance(close, RsuCloseScreen)
        assert close.text_of("#upload-line") == (
            "1 event(s) recorded here are NOT yet uploaded to the server"
        )
        assert close.text_of("#close-totals").startswith("Orders 1 · tickets 1 · cash 5.00")
        await pilot.press("f9")
        await idle(pilot, app)
        assert kinds(rsu) == ["raffle_sale", "device_close"]
        assert outbox(rsu)[1][1]["raffle_id"] == RAFFLE_ID
        result = close.text_of("#close-result")
        assert result.startswith("Sales are now closed on this RSU: 1 order(s). It sells no more")
        assert "NOT uploaded yet: 2 event(s)" in result  # the server is unreachable
        await pilot.press("escape")
        await idle(pilot, app)
        screen = app.sale_screen
        assert app.screen is screen
        assert screen.text_of("#message-line") == (
            "Sales closed on this RSU: 1 order(s); 2 event(s) to upload"
        )
        assert screen.text_of("#refusal-line") == (
            "NOT SELLING: sales of Club raffle are closed on this RSU"
        )
        await pilot.press("1")
        await pilot.pause()
        assert screen.text_of("#message-line") == (
            "Not selling: sales of Club raffle are closed on this RSU"
        )
        assert not screen.query_one("#order-panel").display
        assert kinds(rsu) == ["raffle_sale", "device_close"]


async def test_low_numbers_warn_and_sold_out_refuses(tmp_path, clock):
    ctx = open_rsu(tmp_path, clock, [(1, 12)])
    try:
        app = rsu_app(ctx, RecordingPrinter())
        async with app.run_test(size=(100, 34)) as pilot:
            await idle(pilot, app)
            screen = app.sale_screen
            line = screen.query_one("#remaining-line")
            assert not line.has_class("-low")
            await sell_cash(pilot, app, "2", "10")
            assert screen.text_of("#remaining-line") == (
                "Numbers left: 9 of 12 — LOW: ask the office for more numbers"
            )
            assert line.has_class("-low")
            await sell_cash(pilot, app, "3", "20")
            assert "NOT sold" in screen.text_of("#message-line")
            assert "needs 10 numbers but only 9 remain" in screen.text_of("#message-line")
            await sell_cash(pilot, app, "3", "20")  # the form was kept: fix and retry
            for _ in range(3):
                await pilot.press("escape")
                await sell_cash(pilot, app, "2", "10")
            assert screen.text_of("#remaining-line").startswith("Numbers left: 0 of 12 — SOLD OUT")
            assert screen.text_of("#refusal-line") == (
                "NOT SELLING: no numbers left in this RSU's allocations"
            )
            assert kinds(ctx).count("raffle_sale") == 4
    finally:
        ctx.close()


async def test_selling_is_refused_after_the_end_time(rsu, clock):
    app = rsu_app(rsu, RecordingPrinter())
    async with app.run_test(size=(100, 34)) as pilot:
        await idle(pilot, app)
        await pilot.press("1")
        await pilot.pause()
        clock.advance(HOUR)  # the order form is open when sales end
        await pilot.press(*"5", "f9")
        await idle(pilot, app)
        screen = app.sale_screen
        assert screen.text_of("#message-line").startswith("NOT sold: sales ended at")
        assert kinds(rsu) == []
        app.start_status_read()
        await idle(pilot, app)
        assert screen.text_of("#refusal-line").startswith("NOT SELLING: sales ended at")
        assert not screen.query_one("#order-panel").display
        assert screen.text_of("#message-line").startswith(
            "Order cancelled, nothing sold: sales ended at"
        )


async def test_a_damaged_store_starts_but_sells_nothing(tmp_path, clock):
    ctx = open_rsu(tmp_path, clock, [(1, 100)])
    ctx.raffle.sell("pkg-3", cash_tendered_cents=1000)
    path = ctx.store.path
    ctx.close()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE outbox SET payload = replace(payload, '[1,2,3]', '[1,2,4]') WHERE seq = 1")
    conn.commit()
    conn.close()
    ctx = open_rsu(tmp_path, clock)
    try:
        app = rsu_app(ctx, RecordingPrinter())
        async with app.run_test(size=(100, 34)) as pilot:
            await idle(pilot, app)
            screen = app.sale_screen
            assert not app.integrity.ok
            refusal = screen.text_of("#refusal-line")
            assert refusal.startswith("NOT SELLING: store damaged")
            assert "outbox chain" in refusal
            await pilot.press("1")
            await pilot.pause()
            assert screen.text_of("#message-line").startswith("Not selling: store damaged")
            assert not screen.query_one("#order-panel").display
            assert len(outbox(ctx)) == 1
    finally:
        ctx.close()


async def test_without_a_printer_the_sale_says_so_and_reprint_logs_nothing(rsu):
    app = rsu_app(rsu, None)
    async with app.run_test(size=(100, 34)) as pilot:
        await idle(pilot, app)
        await sell_cash(pilot, app, "1", "5")
        screen = app.sale_screen
        assert screen.text_of("#print-line").startswith("No printer configured")
        await pilot.press("f5")
        await idle(pilot, app)
        assert kinds(rsu) == ["raffle_sale"]
        assert "nothing reprinted or logged" in screen.text_of("#print-line")


def test_rsu_sale_screen_snapshot(rsu, snap_compare, monkeypatch):
    """The main screen after one sale, with the next order being typed (the validation
    number's random digits fixed so the picture is stable)."""
    monkeypatch.setattr(
        raffle_module,
        "new_validation_number",
        lambda terminal: new_validation_number(terminal, "123456789012345"),
    )
    app = rsu_app(rsu, RecordingPrinter())

    async def sell_then_start_the_next(pilot) -> None:
        await idle(pilot, app)
        await sell_cash(pilot, app, "2", "20")
        await pilot.press("3", *"50")
        await idle(pilot, app)

    assert snap_compare(app, terminal_size=(100, 34), run_before=sell_then_start_the_next)


def test_a_bad_printer_spec_is_refused_before_any_window_opens(rsu):
    with pytest.raises(DriverError) as err:
        run_rsu_app(rsu, "teleprinter:42")
    assert err.value.code
    assert rsu.store.status().last_seq == 0


def test_close_wording():
    closing = RaffleClosing(RAFFLE_ID, seq=5, orders=4, closed_at=START_MS, already=True)
    assert present_closed(SalesClosed(closing, 0, 0, None)) == (
        "Sales were already closed on this RSU: 4 order(s). It sells no more in this raffle. "
        "Every sale and the close reached the server."
    )
    assert present_closed(SalesClosed(closing, 3, 2, "server unreachable")).endswith(
        "NOT uploaded yet: 2 event(s) (server unreachable) — keep the RSU on and let it sync "
        "when online."
    )
    assert present_upload(0) == "Every sale recorded here is uploaded to the server"
