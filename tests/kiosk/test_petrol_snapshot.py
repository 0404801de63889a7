"""Snapshot of the petrol PIN entry screen (fixed clock, zone and size; cursor blink off).

Regenerate after an intended UI change with:
    .venv/bin/pytest tests/kiosk/test_petrol_snapshot.py --snapshot-update
"""

from __future__ import annotations

from datetime import UTC

from fieldpass.kiosk.petrol_app import make_petrol_app

from .helpers import wait_workers


def test_petrol_pin_entry_screen(petrol_device, snap_compare):
    app = make_petrol_app(petrol_device, sync_interval=3600, tz=UTC, cursor_blink=False)

    async def type_part_of_a_pin(pilot) -> None:
        for _ in range(4):
            await wait_workers(app)
            await pilot.pause()
        await pilot.press("1", "2", "a", "3")

    assert snap_compare(app, terminal_size=(100, 30), run_before=type_part_of_a_pin)
