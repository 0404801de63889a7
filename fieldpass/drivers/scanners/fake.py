"""A recording fake scanner for tests: codes are pushed in by the test, calls are recorded."""

from __future__ import annotations

import threading

from fieldpass.drivers.errors import DriverError
from fieldpass.drivers.scanners.base import OnCode, OnError, Scanner


class FakeScanner(Scanner):
    """Records open/close; ``emit`` delivers a code from a fresh thread, as hardware would."""

    spec = "fake"

    def __init__(self, on_code: OnCode, on_error: OnError | None = None) -> None:
        super().__init__(on_code, on_error)
        self.calls: list[str] = []

    def open(self) -> None:
        self.calls.append("open")
        self._opened = True

    def close(self) -> None:
        self.calls.append("close")
        self._opened = False

    def emit(self, code: str) -> None:
        """Deliver ``code`` on a reader-like thread and wait for the callback to return."""
        if not self._opened:
            raise DriverError("fake scanner is not open", code="scanner_closed")
        thread = threading.Thread(target=self._on_code, args=(code,), name="fake-scanner")
        thread.start()
        thread.join()
