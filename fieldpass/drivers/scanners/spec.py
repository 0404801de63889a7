"""Choose a scanner from a spec string: keyboard | sim | sim:FILE | serial:DEV | camera:N."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fieldpass.drivers.errors import DriverSpecError, DriverUnavailable
from fieldpass.drivers.scanners.base import OnCode, OnError, Scanner
from fieldpass.drivers.scanners.keyboard import KeyboardWedgeScanner
from fieldpass.drivers.scanners.sim import DEFAULT_INTERVAL_S, CodeSource, SimScanner

SCANNER_KINDS = ("keyboard", "sim", "serial", "camera")
SPEC_HELP = "keyboard | sim | sim:FILE | serial:DEVICE | camera:INDEX"


@dataclass(frozen=True)
class ScannerSpec:
    """A parsed spec: the transport and its target (file, device path, camera index)."""

    kind: str
    target: str | None = None


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
    if not target:
        example = "serial:/dev/ttyACM0" if kind == "serial" else "camera:0"
        raise DriverSpecError(f"the {kind} scanner needs a target, e.g. {example}")
    if kind == "camera" and not target.isdigit():
        raise DriverSpecError(f"camera index must be a number, not {target!r}")
    return ScannerSpec(kind, target)


def make_scanner(
    spec: str,
    on_code: OnCode,
    *,
    on_error: OnError | None = None,
    sim_codes: CodeSource | None = None,
    sim_interval: float = DEFAULT_INTERVAL_S,
) -> Scanner:
    """Build (not open) the scanner a spec names.

    ``sim_codes`` feeds plain ``sim`` (the app passes the device's tickets plus bad codes).
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
    raise DriverUnavailable(
        f"{parsed.kind} scanners are not available in this build yet; use keyboard or sim",
        code="scanner_unavailable",
    )
