"""Choose a scanner from a spec string: keyboard | sim | sim:FILE | serial:DEV | camera:N.

Serial and camera specs take options after ``?``:
``serial:/dev/serial/by-id/usb-X?baud=9600&terminator=cr``, ``camera:0?width=1280&height=720``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl

from fieldpass.drivers.errors import DriverSpecError, DriverUnavailable
from fieldpass.drivers.scanners.base import OnCode, OnError, Scanner
from fieldpass.drivers.scanners.keyboard import KeyboardWedgeScanner
from fieldpass.drivers.scanners.sim import DEFAULT_INTERVAL_S, CodeSource, SimScanner

SCANNER_KINDS = ("keyboard", "sim", "serial", "camera")
#: Receives a one-line description of a link change (camera lost, serial reconnected...),
#: on the scanner's reader thread; scanning goes on.
OnStatusText = Callable[[str], None]
SPEC_HELP = "keyboard | sim | sim:FILE | serial:DEVICE[?OPTIONS] | camera:INDEX|PATH[?OPTIONS]"


@dataclass(frozen=True)
class ScannerSpec:
    """A parsed spec: the transport and its target (file, device path, camera index)."""

    kind: str
    target: str | None = None
    options: dict[str, str] = field(default_factory=dict)


def parse_scanner_spec(spec: str) -> ScannerSpec:
    """Parse and check a spec without touching any hardware. Raises DriverSpecError."""
    text = spec.strip()
    kind, sep, target = text.partition(":")
    kind = kind.lower()
    if kind not in SCANNER_KINDS:
        raise DriverSpecError(f"unknown scanner {text!r}; use {SPEC_HELP}")
    if kind == "keyboard":
        if sep:
            raise DriverSpecError("the keyboard scanner takes no target; use 'keyboard'")
        return ScannerSpec("keyboard")
    if kind == "sim":
        if sep and not target:
            raise DriverSpecError("'sim:' needs a file of codes, e.g. sim:codes.txt")
        return ScannerSpec("sim", target or None)
    target, _, query = target.partition("?")
    if not target:
        example = "serial:/dev/ttyACM0" if kind == "serial" else "camera:0"
        raise DriverSpecError(f"the {kind} scanner needs a target, e.g. {example}")
    if kind == "camera" and not (target.isdigit() or target.startswith("/")):
        raise DriverSpecError(f"camera must be an index or a /dev path, not {target!r}")
    try:
        options = dict(parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query)))
    except ValueError as exc:
        raise DriverSpecError(f"malformed scanner options {query!r}: use key=value&...") from exc
    return ScannerSpec(kind, target, options)


def make_scanner(
    spec: str,
    on_code: OnCode,
    *,
    on_error: OnError | None = None,
    sim_codes: CodeSource | None = None,
    sim_interval: float = DEFAULT_INTERVAL_S,
    on_status: OnStatusText | None = None,
) -> Scanner:
    """Build (not open) the scanner a spec names.

    ``sim_codes`` feeds plain ``sim`` (the app passes the device's tickets plus bad codes).
    ``on_status`` hears link changes of serial and camera scanners as one line of text.
    Raises DriverSpecError for a malformed spec, DriverUnavailable for a transport this
    build cannot drive yet.
    """
    parsed = parse_scanner_spec(spec)
    if parsed.kind == "keyboard":
        return KeyboardWedgeScanner(on_code, on_error)
    if parsed.kind == "sim":
        if parsed.target is not None:
            return SimScanner.from_file(
                on_code, Path(parsed.target), interval=sim_interval, on_error=on_error
            )
        if sim_codes is None:
            raise DriverSpecError("'sim' needs codes to scan here; use sim:FILE")
        return SimScanner(on_code, sim_codes, interval=sim_interval, on_error=on_error)
    if parsed.kind == "serial":
        from fieldpass.drivers.scanners.serial import SerialScanner

        scanner_type: type = SerialScanner
    else:
        from fieldpass.drivers.scanners.camera import CameraScanner

        scanner_type = CameraScanner
    if not scanner_type.is_usable():
        raise DriverUnavailable(
            f"{parsed.kind} scanners need libraries missing on this host: "
            f"{scanner_type.missing_dependencies()}",
            code="scanner_unavailable",
        )
    return scanner_type.from_spec(
        parsed, on_code, on_error, on_status=_status_adapter(parsed.kind, on_status)
    )


def _status_adapter(kind: str, on_status: OnStatusText | None) -> Callable[..., None] | None:
    """Each transport reports link changes in its own terms; the app wants one line."""
    if on_status is None:
        return None
    if kind == "camera":
        return lambda status: on_status(f"camera {status.state}: {status.message}")
    return lambda event, detail: on_status(f"scanner {event.value}: {detail}")
