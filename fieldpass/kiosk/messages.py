"""Messages of the gate app, named as past events. Workers and reader threads only post these."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.message import Message


@dataclass
class CodeScanned(Message):
    """A code was read (scanner, typed, or chosen in search) and waits to be decided."""

    code: str
    source: str  # scanner | manual | search | sim | ...


@dataclass
class ScanDecided(Message):
    """The device decided and recorded a scan; carries fresh counters and sync status."""

    outcome: Any  # fieldpass.device.gate.ScanOutcome
    source: str
    counters: Any  # GateCounters
    status: Any  # DeviceStatus


@dataclass
class SyncFinished(Message):
    """One background sync round ended (online or not)."""

    report: Any  # SyncReport
    status: Any
    counters: Any
    info: Any  # GateInfo: names may arrive with the first pull


@dataclass
class StatusRead(Message):
    """The periodic status read finished."""

    status: Any
    counters: Any


@dataclass
class WorkerFailed(Message):
    """Background work raised; ``task`` names it (scan, sync, status, scanner, report, print,
    printer)."""

    task: str
    error: str
    code: str | None = None  # the exception's machine-readable code, when it has one
    scanned: str | None = None  # for a failed scan: the code that was not decided


@dataclass
class ScannerStatusChanged(Message):
    """The scanner's link changed (camera lost / reopened, serial reconnected); not a failure."""

    text: str


@dataclass
class ShiftReportPrepared(Message):
    """The shift report was built from fresh counters and status; waits for a preview."""

    document: Any  # fieldpass.drivers.printers.Document
    preview: str  # render_text of the document at the printer's width


@dataclass
class ReceiptPrinted(Message):
    """A job was handed to the printer; ``status`` is what the printer said right after."""

    result: Any  # PrintResult
    status: Any  # PrinterStatus


@dataclass
class PrinterStatusRead(Message):
    """A printer status query finished (at start, periodically, after a print)."""

    status: Any  # PrinterStatus

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, PrinterStatusRead)
