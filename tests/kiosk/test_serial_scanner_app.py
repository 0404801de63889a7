"""The gate app fed by a real serial scanner: a pseudo-terminal stands in for the USB port."""

from __future__ import annotations

import asyncio
import os
import tty
from datetime import UTC

import pytest

from fieldpass.kiosk.app import make_gate_app

from .helpers import settle

pytestmark = pytest.mark.anyio


async def wait_for(pilot, predicate, timeout: float = 5.0) -> None:
    """Poll the app (the codes arrive on the scanner's own reader thread)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("condition not reached in time")
        await pilot.pause(0.05)


async def test_codes_from_a_serial_scanner_are_decided_and_link_changes_shown(device, clock):
    master, slave = os.openpty()
    tty.setraw(master)
    app = make_gate_app(
        device,
        f"serial:{os.ttyname(slave)}?terminator=cr",
        sync_interval=3600,
        tz=UTC,
        cursor_blink=False,
    )
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            await wait_for(pilot, lambda: app.scanner.is_open)
            os.write(master, b"T-0001\r")
            await wait_for(pilot, lambda: app.last_outcome is not None)
            await settle(pilot, app)
            assert app.gate_screen.result_title == "VALID"
            assert app.gate_screen.text_of("#result-holder") == "Ana Horvat"
            assert "serial" in app.gate_screen.text_of("#result-meta")
            os.close(master)  # the scanner is unplugged
            master = -1
            await wait_for(
                pilot, lambda: "disconnected" in app.gate_screen.text_of("#message-line")
            )
    finally:
        if master >= 0:
            os.close(master)
        os.close(slave)
