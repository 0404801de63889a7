"""The printer interface: open, print a Document, ask for status, close.

Every method that touches the printer is blocking I/O (USB, TCP, serial writes and status
reads can take seconds): the app calls them from a Textual thread worker, never from a
message handler. Nothing opens hardware until ``open()``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from enum import StrEnum

from fieldpass.drivers.errors import DriverError
from fieldpass.drivers.printers.document import Document
from fieldpass.drivers.printers.profile import PrinterProfile


class PrintError(DriverError):
    """A print or status query failed; ``code`` says how (printer_unreachable, ...).

    After a PrintError the printer object stays usable: the next call reconnects.
    The sale a receipt belongs to is already committed; the app offers a reprint.
    """

    code = "print_failed"


class PrinterStatus(StrEnum):
    """What the printer says about itself; UNKNOWN when it cannot or did not answer."""

    OK = "ok"
    PAPER_LOW = "paper_low"
    PAPER_OUT = "paper_out"
    COVER_OPEN = "cover_open"
    OFFLINE = "offline"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class PrintResult:
    """A job handed to the transport.

    ``notes`` name the fallbacks the renderer took (a barcode printed as QR, no cutter).
    Handing bytes over is not proof of printing: ask ``status()`` to check for paper out.
    """

    bytes_sent: int
    notes: tuple[str, ...] = ()


# DLE EOT n real-time status (Epson ESC/POS). Every answer byte has bits 1 and 4 set and
# bits 0 and 7 clear; anything else is not a status answer (a printer echoing, noise).
STATUS_PRINTER = b"\x10\x04\x01"
STATUS_OFFLINE_CAUSE = b"\x10\x04\x02"
STATUS_PAPER = b"\x10\x04\x04"
_FIXED_MASK, _FIXED_BITS = 0x93, 0x12


def _valid(answer: bytes | None) -> int | None:
    if not answer or len(answer) != 1:
        return None
    byte = answer[0]
    return byte if byte & _FIXED_MASK == _FIXED_BITS else None


def status_from_answers(
    printer: bytes | None, offline_cause: bytes | None = None, paper: bytes | None = None
) -> PrinterStatus:
    """Interpret the answers to DLE EOT 1, 2 and 4 (None = no answer).

    No (or a malformed) answer to DLE EOT 1 is UNKNOWN, never OK: python-escpos'
    ``paper_status()`` reports "paper adequate" when the printer says nothing.
    """
    state = _valid(printer)
    if state is None:
        return PrinterStatus.UNKNOWN
    cause = _valid(offline_cause)
    sensor = _valid(paper)
    if cause is not None and cause & 0x04:
        return PrinterStatus.COVER_OPEN
    if (sensor is not None and sensor & 0x60 == 0x60) or (cause is not None and cause & 0x20):
        return PrinterStatus.PAPER_OUT
    if state & 0x08:
        return PrinterStatus.OFFLINE
    if sensor is not None and sensor & 0x0C == 0x0C:
        return PrinterStatus.PAPER_LOW
    return PrinterStatus.OK


class Printer(ABC):
    """A receipt printer. Blocking I/O throughout: call from a worker thread."""

    #: The spec string this printer was made from, for status lines.
    spec: str = ""

    def __init__(self, profile: PrinterProfile) -> None:
        self.profile = profile

    @classmethod
    def is_usable(cls) -> bool:
        """Whether this transport's optional dependencies are present on this host."""
        return not cls.missing_dependencies()

    @classmethod
    def missing_dependencies(cls) -> str:
        """What this host lacks for this transport (empty when usable), said for people."""
        return ""

    @property
    @abstractmethod
    def is_open(self) -> bool:
        """Whether ``open()`` was called (and ``close()`` not since)."""

    @abstractmethod
    def open(self) -> None:
        """Connect to the printer. Blocking. Raises PrintError (printer_unreachable, ...)."""

    @abstractmethod
    def close(self) -> None:
        """Release the printer; safe to call twice."""

    @abstractmethod
    def print_document(self, document: Document) -> PrintResult:
        """Render and send one document. Blocking. Raises PrintError(code=...)."""

    @abstractmethod
    def status(self) -> PrinterStatus:
        """Ask the printer for its state. Blocking (bounded by the status timeout)."""

    def __enter__(self) -> Printer:
        self.open()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
