"""Pilot helpers shared by the kiosk tests."""

from __future__ import annotations

import asyncio

from textual.pilot import Pilot

from fieldpass.kiosk.app import GateApp
from fieldpass.kiosk.screens.gate import CodeInput


async def wait_workers(app: GateApp) -> None:
    """Wait for the running workers; a failed one is the app's to report, not the test's."""
    await asyncio.gather(*(worker.wait() for worker in list(app.workers)), return_exceptions=True)


async def settle(pilot: Pilot, app: GateApp) -> None:
    """Wait until every queued scan has been decided and shown (no sleeping)."""
    for _ in range(100):
        await wait_workers(app)
        await pilot.pause()
        if app.scans_waiting == 0:
            return
    raise AssertionError("scans never settled")


async def type_code(pilot: Pilot, app: GateApp, code: str) -> None:
    """Type a code key by key, press Enter, and wait for its result."""
    await pilot.press(*code, "enter")
    await settle(pilot, app)


async def enter_code(pilot: Pilot, app: GateApp, code: str) -> None:
    """Put a whole code in the field at once (like a paste) and press Enter."""
    app.gate_screen.query_one(CodeInput).value = code
    await pilot.press("enter")
    await settle(pilot, app)
