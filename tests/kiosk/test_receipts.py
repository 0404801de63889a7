"""The shift report document and the printer wording: pure functions, no app, no printer."""

from __future__ import annotations

from datetime import UTC, timedelta, timezone

import pytest

from fieldpass.device.gate import GateCounters, GateInfo
from fieldpass.drivers.printers import (
    QR,
    Cut,
    PrinterStatus,
    RecordingPrinter,
    render_escpos_job,
    render_text,
)
from fieldpass.kiosk.present import (
    present_printer,
    present_printer_change,
    present_status,
    print_failure_text,
    print_outcome_text,
)
from fieldpass.kiosk.receipts import ReportDevice, format_stamp, shift_report_document

from .conftest import START_MS


class Status:
    """The DeviceStatus fields the report reads."""

    def __init__(self, unsynced=0, last_sync_at=None, online=None):
        self.unsynced = unsynced
        self.last_sync_at = last_sync_at
        self.online = online


INFO = GateInfo("ev-derby", "Derby Night", "gate-north", "North Gate", ("A", "B"))
COUNTERS = GateCounters(admitted=412, rejected=17, inside_now=380, scans=431)
DEVICE = ReportDevice("dev-gate-1", "north-1")


def report_lines(document, width=48) -> list[str]:
    return [" ".join(line.split()) for line in render_text(document, width).splitlines()]


def test_report_has_gate_event_device_time_counters_sync_and_qr():
    status = Status(unsynced=3, last_sync_at=START_MS - 600_000, online=True)
    document = shift_report_document(INFO, COUNTERS, status, START_MS, UTC, device=DEVICE)
    lines = report_lines(document)
    assert lines[0] == "SHIFT REPORT"
    assert lines[1:3] == ["Derby Night", "North Gate"]
    for expected in (
        "Device north-1",
        "Printed 2026-05-01 18:00:00 UTC",
        "Admitted 412",
        "Rejected 17",
        "Inside now 380",
        "Scans 431",
        "Last sync 2026-05-01 17:50:00 UTC",
        "Connection online",
        "Not yet synced 3",
    ):
        assert expected in lines
    assert any("3 record(s) are only on this device" in line for line in lines)
    qr = [block for block in document.blocks if isinstance(block, QR)]
    assert [block.data for block in qr] == ["dev-gate-1"]
    assert isinstance(document.blocks[-1], Cut)
    assert "operator" not in render_text(document).lower()


def test_report_before_any_sync_and_with_nothing_pending():
    document = shift_report_document(INFO, COUNTERS, Status(), START_MS, UTC, device=DEVICE)
    lines = report_lines(document)
    assert "Last sync never" in lines
    assert "Connection not tried yet" in lines
    assert "Nothing recorded here is waiting to be synced." in lines


def test_report_of_a_device_without_event_names_yet():
    info = GateInfo("", "", None, "", None)
    document = shift_report_document(info, COUNTERS, Status(), START_MS, UTC, device=DEVICE)
    assert report_lines(document)[1:3] == ["no event yet", "no gate assigned"]


def test_times_are_in_the_display_zone():
    zagreb_summer = timezone(timedelta(hours=2), "CEST")
    assert format_stamp(START_MS, zagreb_summer) == "2026-05-01 20:00:00 CEST"
    assert format_stamp(None, UTC) == "never"


@pytest.mark.parametrize("profile", ["80mm", "58mm"])
def test_report_renders_to_escpos_on_both_paper_widths(profile):
    long_info = GateInfo(
        "e", "Međunarodni turnir u nogometu — finale", "g", "Sjever / Ulaz 3", None
    )
    status = Status(unsynced=1200, last_sync_at=START_MS, online=False)
    document = shift_report_document(long_info, COUNTERS, status, START_MS, UTC, device=DEVICE)
    job = render_escpos_job(document, profile)
    assert job.data.startswith(b"\x1b@")
    assert b"SHIFT REPORT" in job.data
    columns = RecordingPrinter(profile).profile.columns
    assert all(len(line) <= columns for line in render_text(document, columns).splitlines())


def test_printer_words_in_the_status_bar():
    assert present_printer(None) == "printer connecting…"
    assert present_printer(PrinterStatus.OK) == "printer ok"
    assert present_printer(PrinterStatus.PAPER_OUT) == "printer PAPER OUT"
    assert present_printer(PrinterStatus.UNKNOWN) == "printer status unknown"
    assert present_printer(PrinterStatus.OK, printing=True) == "printer printing…"
    status = Status(unsynced=2, online=False)
    assert present_status(status, UTC, "keyboard") == (
        "OFFLINE │ unsynced 2 │ last sync never │ scanner keyboard"
    )
    assert present_status(status, UTC, "keyboard", "printer ok").endswith(
        "│ scanner keyboard │ printer ok"
    )


def test_printer_change_messages():
    assert present_printer_change(PrinterStatus.OK, None) == ""
    assert present_printer_change(PrinterStatus.UNKNOWN, None) == ""
    assert present_printer_change(PrinterStatus.OK, PrinterStatus.PAPER_OUT) == "Printer ok again"
    assert present_printer_change(PrinterStatus.COVER_OPEN, PrinterStatus.OK) == (
        "Printer: cover open — close it"
    )


def test_print_outcome_wording():
    assert print_outcome_text(PrinterStatus.OK, 900) == "Shift report printed"
    assert "paper is low" in print_outcome_text(PrinterStatus.PAPER_LOW, 900)
    for state in (PrinterStatus.PAPER_OUT, PrinterStatus.COVER_OPEN, PrinterStatus.OFFLINE):
        assert print_outcome_text(state, 900).startswith("Shift report NOT confirmed")
    unknown = print_outcome_text(PrinterStatus.UNKNOWN, 900, ("no cutter: fed for tearing",))
    assert unknown.startswith("Shift report sent to the printer (900 bytes)")
    assert unknown.endswith("(note: no cutter: fed for tearing)")
    failed = print_failure_text("printer_busy", "printer usb:04b8:0202 is busy")
    assert failed == (
        "Shift report NOT printed [printer_busy]: printer usb:04b8:0202 is busy "
        "— F6 prints it again"
    )
