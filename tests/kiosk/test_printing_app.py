"""The gate app's receipt printer: shift report preview (F6), printing, failures, status bar.

Printers are the drivers' RecordingPrinter fake (real ESC/POS bytes, scripted failures)
injected through make_gate_app, plus one real ``file:`` printer built from its spec.
"""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC

import pytest
from click.testing import CliRunner

from fieldpass.cli import cli
from fieldpass.drivers.printers import PrinterStatus, RecordingPrinter, render_text
from fieldpass.kiosk.app import NO_PRINTER_TEXT, GateApp, build_printer, make_gate_app
from fieldpass.kiosk.screens.gate import CodeInput
from fieldpass.kiosk.screens.receipt_preview import ReceiptPreviewScreen
from fieldpass.sync.checkin import ScanResult

from .helpers import enter_code, settle, wait_workers

pytestmark = pytest.mark.anyio

ESC_INIT = b"\x1b@"


def gate_app(device, printer=None, **options) -> GateApp:
    options.setdefault("tz", UTC)
    options.setdefault("cursor_blink", False)
    return make_gate_app(device, "keyboard", sync_interval=3600, printer=printer, **options)


async def idle(pilot, app: GateApp) -> None:
    """Every worker finished and every message it posted handled."""
    for _ in range(3):
        await wait_workers(app)
        await pilot.pause()


async def open_preview(pilot, app: GateApp) -> ReceiptPreviewScreen:
    await pilot.press("f6")
    await idle(pilot, app)
    assert isinstance(app.screen, ReceiptPreviewScreen)
    return app.screen


def preview_lines(screen: ReceiptPreviewScreen) -> list[str]:
    return [" ".join(line.split()) for line in screen.preview.splitlines()]


async def test_f6_previews_the_report_with_the_counters_and_escape_cancels(device, clock):
    printer = RecordingPrinter()
    app = gate_app(device, printer)
    async with app.run_test(size=(100, 30)) as pilot:
        await idle(pilot, app)
        await enter_code(pilot, app, "T-0001")
        clock.advance(5_000)
        await enter_code(pilot, app, "NOPE-1")

        preview = await open_preview(pilot, app)
        lines = preview_lines(preview)
        assert "SHIFT REPORT" in lines
        assert {"Derby Night", "North Gate", "Device north-1"} <= set(lines)
        assert "Printed 2026-05-01 18:00:05 UTC" in lines  # the device clock, display zone
        assert {"Admitted 1", "Rejected 1", "Inside now 2", "Scans 2"} <= set(lines)
        assert {"Last sync never", "Connection offline", "Not yet synced 2"} <= set(lines)
        assert "[QR: dev-gate-1]" in lines
        # What the dialog shows is the text preview at the printer's width.
        shown = str(preview.query_one("#receipt-text").render())
        assert "Admitted" in shown and "[QR: dev-gate-1]" in shown
        assert max(len(line) for line in preview.preview.splitlines()) <= 48

        await pilot.press("escape")
        await idle(pilot, app)
        assert not isinstance(app.screen, ReceiptPreviewScreen)
        assert printer.jobs == []
        assert "not printed (cancelled)" in app.gate_screen.text_of("#message-line")
        assert app.gate_screen.query_one(CodeInput).has_focus


async def test_enter_prints_one_job_that_matches_the_preview(device):
    printer = RecordingPrinter()
    app = gate_app(device, printer)
    async with app.run_test(size=(100, 30)) as pilot:
        await idle(pilot, app)
        await enter_code(pilot, app, "T-0002")
        preview = await open_preview(pilot, app)
        shown = preview.preview

        await pilot.press("enter")
        await idle(pilot, app)
        assert not isinstance(app.screen, ReceiptPreviewScreen)
        assert len(printer.jobs) == 1
        printed = printer.last_preview()
        assert printed == shown
        assert "North Gate" in printed
        assert "Admitted                                       1" in printed
        assert printer.jobs[0].data.startswith(ESC_INIT)
        assert app.gate_screen.text_of("#message-line") == "Shift report printed"
        assert app.gate_screen.text_of("#status-bar").endswith("│ printer ok")
        # Opened once at start; status read at start and right after the print.
        assert printer.calls == ["open", "status", "print_document", "status"]
    assert printer.calls[-1] == "close"


async def test_failed_print_is_reported_and_the_reprint_prints_the_same_report(device, clock):
    printer = RecordingPrinter()
    printer.fail_next("printer_unreachable", "cannot reach printer fake: connection refused")
    app = gate_app(device, printer)
    async with app.run_test(size=(100, 30)) as pilot:
        await idle(pilot, app)
        await enter_code(pilot, app, "T-0001")
        await open_preview(pilot, app)
        await pilot.press("enter")
        await idle(pilot, app)

        assert printer.jobs == []
        message = app.gate_screen.text_of("#message-line")
        assert message.startswith("Shift report NOT printed [printer_unreachable]")
        assert "connection refused" in message and "F6 prints it again" in message
        dialog = app.screen
        assert isinstance(dialog, ReceiptPreviewScreen)
        assert dialog.title_text == "Shift report NOT printed"
        assert "printer_unreachable" in dialog.problem_text
        assert "Reprint (Enter)" in str(dialog.query_one("#confirm-button").label)
        assert "Close (Esc)" in str(dialog.query_one("#cancel-button").label)
        failed_report = app.report

        # Nothing is lost: the scan stays recorded and the gate keeps deciding scans.
        clock.advance(5_000)
        await pilot.press(*"T-0002", "enter")  # a wedge scan while the dialog is open
        await settle(pilot, app)
        assert app.last_outcome.barcode == "T-0002"
        assert app.last_outcome.result is ScanResult.VALID
        assert isinstance(app.screen, ReceiptPreviewScreen)  # its Enter did not reprint
        assert printer.jobs == []

        await pilot.press("enter")  # Reprint
        await idle(pilot, app)
        assert len(printer.jobs) == 1
        assert printer.jobs[0].document == failed_report  # the report that failed, unchanged
        assert "Admitted                                       1" in printer.last_preview()
        assert app.gate_screen.text_of("#message-line") == "Shift report printed"
        assert not isinstance(app.screen, ReceiptPreviewScreen)

        # F6 again builds a fresh report with the figures of now.
        preview = await open_preview(pilot, app)
        assert "Admitted 2" in preview_lines(preview)


async def test_failed_print_then_close_leaves_the_message_and_f6_works_again(device):
    printer = RecordingPrinter()
    printer.fail_next("printer_timeout", "printer fake did not accept data in time")
    app = gate_app(device, printer)
    async with app.run_test(size=(100, 30)) as pilot:
        await idle(pilot, app)
        await open_preview(pilot, app)
        await pilot.press("enter")
        await idle(pilot, app)
        await pilot.press("escape")  # Close
        await idle(pilot, app)
        assert not isinstance(app.screen, ReceiptPreviewScreen)
        assert "NOT printed [printer_timeout]" in app.gate_screen.text_of("#message-line")
        assert printer.jobs == []
        await open_preview(pilot, app)
        await pilot.press("enter")
        await idle(pilot, app)
        assert len(printer.jobs) == 1


async def test_paper_out_shows_in_the_status_bar_and_a_print_is_unconfirmed(device):
    printer = RecordingPrinter()
    printer.status_to_report = PrinterStatus.PAPER_OUT
    app = gate_app(device, printer)
    async with app.run_test(size=(110, 30)) as pilot:
        await idle(pilot, app)
        screen = app.gate_screen
        assert screen.text_of("#status-bar").endswith("│ printer PAPER OUT")
        assert screen.text_of("#message-line") == "Printer: paper out — load a new roll"

        await open_preview(pilot, app)
        await pilot.press("enter")
        await idle(pilot, app)
        assert len(printer.jobs) == 1  # handed over, but the printer says it has no paper
        message = screen.text_of("#message-line")
        assert message.startswith("Shift report NOT confirmed: the printer reports paper out")
        dialog = app.screen
        assert isinstance(dialog, ReceiptPreviewScreen)
        assert dialog.title_text == "Shift report: printing not confirmed"

        printer.status_to_report = PrinterStatus.OK  # a new roll went in
        await pilot.press("enter")  # Reprint
        await idle(pilot, app)
        assert len(printer.jobs) == 2
        assert printer.jobs[1].document == printer.jobs[0].document
        assert screen.text_of("#status-bar").endswith("│ printer ok")
        assert screen.text_of("#message-line") == "Shift report printed"


async def test_printer_status_is_refreshed_periodically(device):
    printer = RecordingPrinter()
    app = gate_app(device, printer, printer_status_interval=0.05)
    async with app.run_test(size=(110, 30)) as pilot:
        await idle(pilot, app)
        screen = app.gate_screen
        assert screen.text_of("#status-bar").endswith("│ printer ok")
        for state, shown, message in [
            (PrinterStatus.COVER_OPEN, "printer COVER OPEN", "Printer: cover open — close it"),
            (PrinterStatus.OK, "printer ok", "Printer ok again"),
            (PrinterStatus.PAPER_LOW, "printer PAPER LOW", "Printer: paper low"),
        ]:
            printer.status_to_report = state
            await wait_for(pilot, lambda s=shown: screen.text_of("#status-bar").endswith(s))
            assert screen.text_of("#message-line").startswith(message)


async def test_the_default_status_interval_is_not_more_often_than_30_seconds(device):
    app = gate_app(device, RecordingPrinter())
    assert app.printer_status_interval >= 30


class SlowPrinter(RecordingPrinter):
    """Holds each print until the test lets it go (a printer slowly feeding paper)."""

    def __init__(self) -> None:
        super().__init__()
        self.started = threading.Event()
        self.release = threading.Event()

    def print_document(self, document):
        self.started.set()
        if not self.release.wait(10):
            raise AssertionError("the test never released the print")
        return super().print_document(document)


async def settle_scans(pilot, app: GateApp) -> None:
    """Like settle(), but waits only for check-ins (a print may still be running)."""
    for _ in range(100):
        scans = [w for w in list(app.workers) if w.group == "scan"]
        await asyncio.gather(*(w.wait() for w in scans), return_exceptions=True)
        await pilot.pause()
        if app.scans_waiting == 0:
            return
    raise AssertionError("scans never settled")


async def wait_for(pilot, predicate, timeout: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("condition not reached in time")
        await pilot.pause(0.02)


async def test_scans_are_decided_while_a_slow_print_runs(device, clock):
    printer = SlowPrinter()
    app = gate_app(device, printer)
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            await idle(pilot, app)
            await open_preview(pilot, app)
            await pilot.press("enter")
            await wait_for(pilot, printer.started.is_set)
            screen = app.gate_screen
            assert screen.text_of("#status-bar").endswith("│ printer printing…")
            assert screen.text_of("#message-line") == "Printing shift report…"

            await pilot.press(*"T-0001", "enter")
            await settle_scans(pilot, app)
            assert screen.result_title == "VALID"
            assert screen.text_of("#result-holder") == "Ana Horvat"
            clock.advance(5_000)
            await pilot.press(*"T-0009", "enter")
            await settle_scans(pilot, app)
            assert screen.result_title == "ALREADY USED"
            assert printer.jobs == []  # still printing

            await pilot.press("f6")  # a second print while one runs is refused, politely
            await pilot.pause()
            assert not isinstance(app.screen, ReceiptPreviewScreen)
            assert "wait for this print" in screen.text_of("#message-line")

            printer.release.set()
            await idle(pilot, app)
            assert len(printer.jobs) == 1
            assert screen.text_of("#message-line") == "Shift report printed"
            assert screen.text_of("#status-bar").endswith("│ printer ok")
    finally:
        printer.release.set()


async def test_without_a_printer_f6_says_how_to_configure_one(device):
    app = gate_app(device)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        await pilot.press("f6")
        await pilot.pause()
        assert not isinstance(app.screen, ReceiptPreviewScreen)
        assert app.gate_screen.text_of("#message-line") == NO_PRINTER_TEXT
        assert "(start with --printer SPEC)" in NO_PRINTER_TEXT
        assert "printer" not in app.gate_screen.text_of("#status-bar")
        shown = {b.action for _, b, enabled, _ in app.active_bindings.values() if b.show}
        assert "print_report" not in shown  # no F6 in the footer of a printer-less gate


async def test_with_a_printer_f6_is_in_the_footer(device):
    app = gate_app(device, RecordingPrinter())
    async with app.run_test(size=(100, 30)) as pilot:
        await idle(pilot, app)
        shown = {b.action: enabled for _, b, enabled, _ in app.active_bindings.values() if b.show}
        assert shown.get("print_report") is True


async def test_printer_that_cannot_be_reached_at_start_is_shown_offline(device):
    class Unreachable(RecordingPrinter):
        def open(self):
            from fieldpass.drivers.printers import PrintError

            self.calls.append("open")
            raise PrintError(
                "cannot reach printer fake: no route to host", code="printer_unreachable"
            )

    printer = Unreachable()
    app = gate_app(device, printer)
    async with app.run_test(size=(110, 30)) as pilot:
        await idle(pilot, app)
        screen = app.gate_screen
        assert screen.text_of("#status-bar").endswith("│ printer OFFLINE")
        assert screen.text_of("#message-line") == (
            "Printer offline — check its power and cable: "
            "cannot reach printer fake: no route to host"
        )
        await enter_code(pilot, app, "T-0001")  # the gate works without its printer
        assert screen.result_title == "VALID"
        await open_preview(pilot, app)  # a report can still be previewed
        await pilot.press("enter")
        await idle(pilot, app)
        message = screen.text_of("#message-line")
        assert message.startswith("Shift report NOT printed [printer_unreachable]")
        assert isinstance(app.screen, ReceiptPreviewScreen)  # offers the reprint


async def test_file_printer_from_its_spec_writes_escpos_bytes(device, tmp_path):
    path = tmp_path / "receipt.bin"
    printer = build_printer(f"file:{path}")
    assert printer is not None and build_printer(None) is None
    app = gate_app(device, printer)
    async with app.run_test(size=(110, 30)) as pilot:
        await idle(pilot, app)
        screen = app.gate_screen
        assert screen.text_of("#status-bar").endswith("│ printer status unknown")
        await enter_code(pilot, app, "T-0003")
        preview = await open_preview(pilot, app)
        expected = preview.preview
        await pilot.press("enter")
        await idle(pilot, app)
        data = path.read_bytes()
        assert data.startswith(ESC_INIT)
        assert b"SHIFT REPORT" in data and b"North Gate" in data
        assert render_text(app.report, printer.profile.columns) == expected
        message = screen.text_of("#message-line")
        assert message.startswith(f"Shift report sent to the printer ({len(data)} bytes)")
        assert "cannot confirm" in message


def test_bad_printer_spec_fails_before_the_app_starts(device):
    home = str(device.home.root)
    result = CliRunner().invoke(cli, ["device", "run", "--home", home, "--printer", "usb:nope"])
    assert result.exit_code != 0
    assert "usb printer needs VENDOR:PRODUCT" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("with_printer", [True, False])
async def test_a_device_keymap_moves_the_print_key(device, with_printer):
    app = gate_app(device, RecordingPrinter() if with_printer else None)
    async with app.run_test(size=(100, 30)) as pilot:
        await idle(pilot, app)
        app.set_keymap({"print-report": "f7"})
        await pilot.press("f6")
        await idle(pilot, app)
        assert not isinstance(app.screen, ReceiptPreviewScreen)
        assert app.gate_screen.text_of("#message-line") == ""
        await pilot.press("f7")
        await idle(pilot, app)
        if with_printer:
            assert isinstance(app.screen, ReceiptPreviewScreen)
        else:
            assert app.gate_screen.text_of("#message-line") == NO_PRINTER_TEXT
