"""The gate app fed by the camera scanner: a recorded MJPG video stands in for the camera.

The video goes through the same capture, decode and hold-off code as a live camera
(``realtime=0``: every frame decoded, so the test does not depend on machine speed).
"""

from __future__ import annotations

import asyncio
from datetime import UTC

import pytest

from fieldpass.kiosk.app import make_gate_app
from fieldpass.kiosk.messages import ScanDecided
from fieldpass.sync.checkin import ScanResult
from tests.drivers.images import Segment, write_video

from .helpers import settle
from .test_serial_scanner_app import wait_for

pytestmark = pytest.mark.anyio


async def test_codes_held_in_front_of_the_camera_are_decided_once_each_in_order(device, tmp_path):
    video = tmp_path / "gate.avi"
    # 10 fps: nothing, T-0001 held for 4 s (longer than the 2 s hold-off), then T-0002.
    write_video(
        str(video),
        [Segment(None, 5), Segment("T-0001", 40), Segment("T-0002", 30), Segment(None, 3)],
        fps=10,
    )
    decided: list[ScanDecided] = []

    def record(message) -> None:
        if isinstance(message, ScanDecided):
            decided.append(message)

    app = make_gate_app(
        device, f"camera:{video}?realtime=0", sync_interval=3600, tz=UTC, cursor_blink=False
    )
    async with app.run_test(size=(100, 30), message_hook=record) as pilot:
        # Frames read means the reader thread runs (is_open alone is set just before it starts).
        await wait_for(pilot, lambda: app.scanner.is_open and app.scanner.stats.frames_read > 0)
        assert await asyncio.to_thread(app.scanner.wait_stopped, 30)  # the whole video read
        await settle(pilot, app)

        assert [(m.outcome.barcode, m.outcome.result, m.source) for m in decided] == [
            ("T-0001", ScanResult.VALID, "camera"),
            ("T-0002", ScanResult.VALID, "camera"),
        ]
        assert not any(m.outcome.repeated for m in decided)
        screen = app.gate_screen
        assert screen.result_title == "VALID"
        assert screen.text_of("#result-holder") == "Ivan Kovač"
        assert screen.text_of("#result-meta") == "code T-0002 · ENTRY · camera"
        assert "Admitted 2" in screen.text_of("#counters")
        assert "Scans 2" in screen.text_of("#counters")
        assert screen.text_of("#message-line").startswith("camera ended: end of video file")
        assert app.scanner.stats.frames_decoded == 78
