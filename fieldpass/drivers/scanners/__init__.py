"""Barcode scanners: one ABC, one module per transport, chosen by a spec string."""

from fieldpass.drivers.scanners.base import OnCode, OnError, Scanner, ThreadedScanner
from fieldpass.drivers.scanners.keyboard import EntrySource, KeyboardWedgeScanner, KeystrokeBurst
from fieldpass.drivers.scanners.sim import SimScanner
from fieldpass.drivers.scanners.spec import ScannerSpec, make_scanner, parse_scanner_spec

__all__ = [
    "EntrySource",
    "KeyboardWedgeScanner",
    "KeystrokeBurst",
    "OnCode",
    "OnError",
    "ScannerSpec",
    "Scanner",
    "SimScanner",
    "ThreadedScanner",
    "make_scanner",
    "parse_scanner_spec",
]
