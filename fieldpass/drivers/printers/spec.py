"""Choose a printer from a spec string: dummy | file:PATH | usb:VID:PID | network:HOST[:PORT]
| serial:DEVICE, each optionally followed by ``?key=value&...``.

Options for every transport: ``profile`` (80mm, 58mm or a python-escpos profile name),
``qr`` (image|native), ``barcode`` (hardware|image), ``cut`` (auto|always|never),
``width`` (printable dots, overrides the profile), ``timeout`` (seconds per write).
Serial adds ``baud`` and ``flow`` (none|rtscts|xonxoff); usb adds ``in_ep``/``out_ep``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from fieldpass.drivers.errors import DriverSpecError, DriverUnavailable
from fieldpass.drivers.options import float_option, int_option
from fieldpass.drivers.printers.base import Printer
from fieldpass.drivers.printers.dummy import DummyPrinter
from fieldpass.drivers.printers.file import FilePrinter
from fieldpass.drivers.printers.network import DEFAULT_PORT, NetworkPrinter
from fieldpass.drivers.printers.profile import DEFAULT_PROFILE, resolve_profile
from fieldpass.drivers.printers.serial import FLOW_CONTROLS, SerialPrinter
from fieldpass.drivers.printers.transport import DEFAULT_TIMEOUT_S, EscposPrinter
from fieldpass.drivers.printers.usb import DEFAULT_IN_EP, DEFAULT_OUT_EP, UsbPrinter

PRINTER_KINDS = ("dummy", "file", "usb", "network", "serial")
SPEC_HELP = "dummy | file:PATH | usb:VID:PID | network:HOST[:PORT] | serial:DEVICE[?baud=N]"
COMMON_OPTIONS = ("profile", "qr", "barcode", "cut", "width", "timeout")
KIND_OPTIONS = {
    "dummy": COMMON_OPTIONS,
    "file": COMMON_OPTIONS,
    "network": COMMON_OPTIONS,
    "serial": (*COMMON_OPTIONS, "baud", "flow"),
    "usb": (*COMMON_OPTIONS, "in_ep", "out_ep"),
}
_HEX_ID = re.compile(r"^(0x)?[0-9a-fA-F]{1,4}$")
_HOST = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.\-_]*[A-Za-z0-9])?$")
_PRINTERS: dict[str, type[EscposPrinter]] = {
    "dummy": DummyPrinter,
    "file": FilePrinter,
    "usb": UsbPrinter,
    "network": NetworkPrinter,
    "serial": SerialPrinter,
}


@dataclass(frozen=True)
class PrinterSpec:
    """A parsed printer spec: transport, its address and the options after ``?``."""

    kind: str
    target: str | None = None
    options: dict[str, str] = field(default_factory=dict)
    host: str | None = None
    port: int | None = None
    vendor_id: int | None = None
    product_id: int | None = None


def parse_printer_spec(spec: str) -> PrinterSpec:
    """Parse and check a spec without touching any hardware. Raises DriverSpecError."""
    text = spec.strip()
    base, _, query = text.partition("?")
    kind, sep, target = base.partition(":")
    kind = kind.strip().lower()
    if kind not in PRINTER_KINDS:
        raise DriverSpecError(f"unknown printer {text!r}; use {SPEC_HELP}")
    options = _parse_options(kind, query)
    if kind == "dummy":
        if sep:
            raise DriverSpecError("the dummy printer takes no target; use 'dummy'")
        return PrinterSpec("dummy", None, options)
    if not target:
        examples = {
            "file": "file:/tmp/receipt.bin",
            "usb": "usb:04b8:0202",
            "network": "network:192.168.1.50",
            "serial": "serial:/dev/ttyUSB0",
        }
        raise DriverSpecError(f"the {kind} printer needs a target, e.g. {examples[kind]}")
    if kind == "file":
        return PrinterSpec("file", target, options)
    if kind == "serial":
        if not target.startswith("/"):
            raise DriverSpecError(
                f"serial printer must be an absolute device path like /dev/ttyUSB0, not {target!r}"
            )
        return PrinterSpec("serial", target, options)
    if kind == "usb":
        vendor_id, product_id = _parse_usb_ids(target)
        return PrinterSpec("usb", target, options, vendor_id=vendor_id, product_id=product_id)
    host, port = _parse_host_port(target)
    return PrinterSpec("network", target, options, host=host, port=port)


def make_printer(spec: str) -> Printer:
    """Build (not open) the printer a spec names.

    Raises DriverSpecError for a malformed spec or an unknown/incompatible profile, and
    DriverUnavailable when this host lacks the transport's libraries (usb without pyusb).
    """
    parsed = parse_printer_spec(spec)
    options = parsed.options
    width = int_option(options, "width", None, low=96, high=4096)
    profile = resolve_profile(
        options.get("profile", DEFAULT_PROFILE),
        qr=options.get("qr"),
        barcode=options.get("barcode"),
        cut=options.get("cut"),
        width_px=width,
    )
    printer_type = _PRINTERS[parsed.kind]
    missing = printer_type.missing_dependencies()
    if missing:
        raise DriverUnavailable(
            f"{parsed.kind} printers need libraries missing on this host: {missing}",
            code="printer_unavailable",
        )
    timeout = float_option(
        options, "timeout", DEFAULT_TIMEOUT_S, low=0.5, high=300.0, unit="seconds"
    )
    name = spec.strip()
    if parsed.kind == "dummy":
        return DummyPrinter(name, profile, timeout=timeout)
    if parsed.kind == "file":
        return FilePrinter(name, profile, path=str(parsed.target), timeout=timeout)
    if parsed.kind == "network":
        return NetworkPrinter(
            name, profile, host=str(parsed.host), port=int(parsed.port or 0), timeout=timeout
        )
    if parsed.kind == "serial":
        baud = int_option(options, "baud", 9600, low=300, high=4_000_000)
        flow = options.get("flow", "none").lower()
        return SerialPrinter(
            name, profile, path=str(parsed.target), baud=int(baud or 0), flow=flow, timeout=timeout
        )
    return UsbPrinter(
        name,
        profile,
        vendor_id=int(parsed.vendor_id or 0),
        product_id=int(parsed.product_id or 0),
        in_ep=_endpoint(options, "in_ep", DEFAULT_IN_EP),
        out_ep=_endpoint(options, "out_ep", DEFAULT_OUT_EP),
        timeout=timeout,
    )


def _parse_options(kind: str, query: str) -> dict[str, str]:
    if not query:
        return {}
    try:
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        raise DriverSpecError(f"malformed printer options {query!r}: use key=value&...") from None
    options: dict[str, str] = {}
    for key, value in pairs:
        if key in options:
            raise DriverSpecError(f"printer option {key!r} given twice")
        options[key] = value
    allowed = KIND_OPTIONS[kind]
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise DriverSpecError(
            f"unknown {kind} printer option(s) {', '.join(unknown)}; use {', '.join(allowed)}"
        )
    # Check values now, so a bad spec fails before anything is loaded or opened.
    int_option(options, "width", None, low=96, high=4096)
    float_option(options, "timeout", DEFAULT_TIMEOUT_S, low=0.5, high=300.0, unit="seconds")
    int_option(options, "baud", 9600, low=300, high=4_000_000)
    for key, allowed_values in (
        ("qr", ("image", "native")),
        ("barcode", ("hardware", "image")),
        ("cut", ("auto", "always", "never")),
        ("flow", FLOW_CONTROLS),
    ):
        if key in options and options[key].lower() not in allowed_values:
            raise DriverSpecError(
                f"{key} must be one of {'|'.join(allowed_values)}, not {options[key]!r}"
            )
    for key in ("in_ep", "out_ep"):
        if key in options:
            _endpoint(options, key, 0)
    if "profile" in options and not options["profile"].strip():
        raise DriverSpecError("profile= needs a name: 80mm, 58mm or a python-escpos profile")
    return options


def _parse_usb_ids(target: str) -> tuple[int, int]:
    parts = target.split(":")
    if len(parts) != 2 or not all(_HEX_ID.match(part) for part in parts):
        raise DriverSpecError(
            f"usb printer needs VENDOR:PRODUCT in hex like usb:04b8:0202, not {target!r}"
        )
    vendor_id, product_id = (int(part, 16) for part in parts)
    if vendor_id == 0:
        raise DriverSpecError("usb vendor id 0000 is not a device")
    return vendor_id, product_id


def _parse_host_port(target: str) -> tuple[str, int]:
    port_text = ""
    if target.startswith("["):
        host, bracket, rest = target[1:].partition("]")
        if not bracket or not host or (rest and not rest.startswith(":")):
            raise DriverSpecError(f"malformed IPv6 printer address {target!r}; use [ADDR]:PORT")
        port_text = rest[1:]
        if ":" not in host:
            raise DriverSpecError(f"brackets are only for IPv6 addresses, not {host!r}")
    else:
        host, sep, port_text = target.partition(":")
        if sep and not port_text:
            raise DriverSpecError(f"printer address {target!r} ends in ':' with no port")
        if not _HOST.match(host):
            raise DriverSpecError(f"not a host name or address: {host!r}")
    if not port_text:
        return host, DEFAULT_PORT
    if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        raise DriverSpecError(f"printer port must be 1..65535, not {port_text!r}")
    return host, int(port_text)


def _endpoint(options: dict[str, str], name: str, default: int) -> int:
    raw = options.get(name)
    if raw is None:
        return default
    try:
        value = int(raw.strip(), 16)
    except ValueError:
        raise DriverSpecError(f"{name} must be a hex endpoint like 0x81, not {raw!r}") from None
    if not 0x01 <= value <= 0xFF:
        raise DriverSpecError(f"{name} must be between 0x01 and 0xff, not {raw!r}")
    return value
