"""A simulated scanner for demos and tests: replays codes at an interval on its own thread."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from fieldpass.drivers.errors import DriverError
from fieldpass.drivers.scanners.base import OnCode, OnError, ThreadedScanner

#: Where the codes come from: a fixed list, or a function called once at ``open()``
#: (so e.g. the device's pulled tickets are read when scanning starts, not at import).
CodeSource = Sequence[str] | Callable[[], Sequence[str]]

DEFAULT_INTERVAL_S = 2.0


def read_code_file(path: Path) -> list[str]:
    """Codes from a text file: one per line; blank lines and ``#`` comments skipped."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DriverError(
            f"cannot read scan file {path}: {exc}", code="sim_file_unreadable"
        ) from exc
    codes = [line.strip() for line in text.splitlines()]
    return [code for code in codes if code and not code.startswith("#")]


class SimScanner(ThreadedScanner):
    """Delivers each code of its source in turn, one every ``interval`` seconds."""

    thread_name = "sim-scanner"

    def __init__(
        self,
        on_code: OnCode,
        codes: CodeSource,
        *,
        interval: float = DEFAULT_INTERVAL_S,
        start_delay: float | None = None,
        repeat: bool = True,
        on_error: OnError | None = None,
        spec: str = "sim",
    ) -> None:
        super().__init__(on_code, on_error)
        if interval < 0:
            raise DriverError("sim scanner interval must not be negative", code="bad_driver_spec")
        self._source = codes
        self.interval = interval
        self.start_delay = interval if start_delay is None else start_delay
        self.repeat = repeat
        self.spec = spec
        self._codes: list[str] = []

    @classmethod
    def from_file(cls, on_code: OnCode, path: Path, **options: object) -> SimScanner:
        """A sim scanner replaying the codes of ``path`` (read at ``open()``)."""
        return cls(on_code, lambda: read_code_file(path), spec=f"sim:{path}", **options)  # type: ignore[arg-type]

    def _acquire(self) -> None:
        codes = self._source() if callable(self._source) else self._source
        self._codes = [code for code in codes if code]
        if not self._codes:
            raise DriverError("the simulated scanner has no codes to scan", code="sim_no_codes")

    def _read_loop(self, stop: threading.Event) -> None:
        if stop.wait(self.start_delay):
            return
        while True:
            for code in self._codes:
                self._deliver(code)
                if stop.wait(self.interval):
                    return
            if not self.repeat:
                return
