"""The ``usb:VID:PID[?in_ep=0x82&out_ep=0x01]`` printer, through pyusb (python-escpos[usb]).

Needs read/write access to the USB device node (packaging/udev/70-fieldpass.rules) and
fails with "resource busy" while the usblp kernel driver or CUPS holds the printer:
blacklist usblp, or print through ``file:/dev/usb/lp0`` instead.
"""

from __future__ import annotations

import errno
from typing import Any

from fieldpass.drivers.printers.escpos_lib import load_escpos
from fieldpass.drivers.printers.transport import EscposPrinter

DEFAULT_IN_EP = 0x82
DEFAULT_OUT_EP = 0x01


class UsbPrinter(EscposPrinter):
    """A USB receipt printer found by vendor and product id."""

    kind = "usb"
    answers_status = True

    def __init__(
        self,
        spec: str,
        profile: Any,
        *,
        vendor_id: int,
        product_id: int,
        in_ep: int = DEFAULT_IN_EP,
        out_ep: int = DEFAULT_OUT_EP,
        **kwargs: Any,
    ) -> None:
        super().__init__(spec, profile, **kwargs)
        self.vendor_id = vendor_id
        self.product_id = product_id
        self.in_ep = in_ep
        self.out_ep = out_ep

    @classmethod
    def missing_dependencies(cls) -> str:
        if load_escpos().usb_usable:
            return ""
        return "pyusb and libusb-1.0 (pip install 'python-escpos[usb]'; apt install libusb-1.0-0)"

    def _make_device(self) -> Any:
        return load_escpos().printer.Usb(
            idVendor=self.vendor_id,
            idProduct=self.product_id,
            # milliseconds; python-escpos' default 0 means "wait forever" to libusb
            timeout=max(1, int(self.timeout * 1000)),
            in_ep=self.in_ep,
            out_ep=self.out_ep,
        )

    def _after_open(self, device: Any) -> None:
        if not device._device:
            # python-escpos checks "found" with assert, which python -O removes.
            raise OSError(errno.ENODEV, f"no USB device {self.vendor_id:04x}:{self.product_id:04x}")

    def _query(self, device: Any, command: bytes) -> bytes | None:
        import usb.core

        handle = device._device
        handle.write(self.out_ep, command, max(1, int(self.timeout * 1000)))
        try:
            answer = handle.read(self.in_ep, 16, max(1, int(self.status_timeout * 1000)))
        except usb.core.USBTimeoutError:
            return None
        return bytes(answer[:1]) or None
