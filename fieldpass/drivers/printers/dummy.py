"""The ``dummy`` printer: python-escpos' Dummy, keeping the last job's bytes (demo mode)."""

from __future__ import annotations

from typing import Any

from fieldpass.drivers.printers.escpos_lib import load_escpos
from fieldpass.drivers.printers.transport import EscposPrinter


class DummyPrinter(EscposPrinter):
    """Prints nowhere; ``last_output`` holds the bytes of the last job. Status is UNKNOWN."""

    kind = "dummy"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.last_output = b""
        self.jobs_sent = 0

    def _make_device(self) -> Any:
        return load_escpos().printer.Dummy(profile=self.profile.escpos_name)

    def _write(self, device: Any, data: bytes) -> None:
        device.clear()  # keep one job, not every job since start
        device._raw(data)
        self.last_output = device.output
        self.jobs_sent += 1
