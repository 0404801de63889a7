"""The ``file:PATH`` printer: bytes written to a file or device node (e.g. /dev/usb/lp0).

``file:/dev/usb/lp0`` drives a USB printer through the kernel's usblp driver when that
driver (or CUPS) holds the device and ``usb:`` would fail with "resource busy". Opening a
regular file truncates it. No status: the file cannot answer.
"""

from __future__ import annotations

from typing import Any

from fieldpass.drivers.printers.escpos_lib import load_escpos
from fieldpass.drivers.printers.transport import EscposPrinter


class FilePrinter(EscposPrinter):
    """Writes each job to ``path`` and flushes it."""

    kind = "file"

    def __init__(self, spec: str, profile: Any, *, path: str, **kwargs: Any) -> None:
        super().__init__(spec, profile, **kwargs)
        self.path = path

    def _make_device(self) -> Any:
        return load_escpos().printer.File(devfile=self.path, auto_flush=True)
