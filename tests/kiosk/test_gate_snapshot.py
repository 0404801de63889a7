"""Snapshot of the main gate screen after a VALID scan (fixed clock, ids, zone and size).

Regenerate after an intended UI change with:
    .venv/bin/pytest tests/kiosk/test_gate_snapshot.py --snapshot-update
"""

from __future__ import annotations

from datetime import UTC

from fieldpass.kiosk.app import make_gate_app

from .helpers import enter_code, settle


def test_gate_screen_after_valid_scan(device, snap_compare):
    app = make_gate_app(device, "keyboard", sync_interval=3600, tz=UTC, cursor_blink=False)

    async def scan_one(pilot) -> None:
        await settle(pilot, app)  # the first (offline) sync round has been shown
        await enter_code(pilot, app, "T-0001")

    assert snap_compare(app, terminal_size=(100, 30), run_before=scan_one)
