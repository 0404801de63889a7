"""Snapshot of the shift report preview (F6) over the gate screen, with a recording printer.

Regenerate after an intended UI change with:
    .venv/bin/pytest tests/kiosk/test_receipt_preview_snapshot.py --snapshot-update
"""

from __future__ import annotations

from datetime import UTC

from fieldpass.drivers.printers import RecordingPrinter
from fieldpass.kiosk.app import make_gate_app
from fieldpass.kiosk.screens.receipt_preview import ReceiptPreviewScreen

from .helpers import enter_code, settle, wait_workers


def test_receipt_preview_over_the_gate_screen(device, snap_compare):
    app = make_gate_app(
        device,
        "keyboard",
        sync_interval=3600,
        tz=UTC,
        cursor_blink=False,
        printer=RecordingPrinter(),
    )

    async def open_preview(pilot) -> None:
        await settle(pilot, app)
        await enter_code(pilot, app, "T-0001")
        await pilot.press("f6")
        for _ in range(3):
            await wait_workers(app)
            await pilot.pause()
        assert isinstance(app.screen, ReceiptPreviewScreen)

    assert snap_compare(app, terminal_size=(100, 40), run_before=open_preview)
