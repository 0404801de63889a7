"""The ``serial:DEVICE[?baud=N&flow=none|rtscts|xonxoff]`` printer (RS-232 or USB-serial).

Writes get a timeout (python-escpos sets none, so a printer holding flow control would
block the worker forever), and status answers are read with a short one.
"""

from __future__ import annotations

from typing import Any

from fieldpass.drivers.printers.escpos_lib import load_escpos
from fieldpass.drivers.printers.transport import EscposPrinter

FLOW_CONTROLS = ("none", "rtscts", "xonxoff")
DEFAULT_BAUD = 9600


class SerialPrinter(EscposPrinter):
    """A receipt printer on a serial port."""

    kind = "serial"
    answers_status = True

    def __init__(
        self,
        spec: str,
        profile: Any,
        *,
        path: str,
        baud: int = DEFAULT_BAUD,
        flow: str = "none",
        **kwargs: Any,
    ) -> None:
        super().__init__(spec, profile, **kwargs)
        self.path = path
        self.baud = baud
        self.flow = flow

    @classmethod
    def missing_dependencies(cls) -> str:
        try:
            import serial  # noqa: F401
        except ImportError:
            return "pyserial (pip install pyserial)"
        return ""

    def _make_device(self) -> Any:
        return load_escpos().printer.Serial(
            devfile=self.path,
            baudrate=self.baud,
            timeout=self.status_timeout,
            xonxoff=self.flow == "xonxoff",
            dsrdtr=False,
        )

    def _after_open(self, device: Any) -> None:
        port = device._device
        port.write_timeout = self.timeout
        if self.flow == "rtscts":
            port.rtscts = True

    def _query(self, device: Any, command: bytes) -> bytes | None:
        port = device._device
        port.reset_input_buffer()
        port.write(command)
        answer = port.read(1)
        return answer or None
