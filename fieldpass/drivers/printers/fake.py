"""A recording fake printer for tests of the layers above: real bytes, scripted failures."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from fieldpass.drivers.printers.base import Printer, PrintError, PrinterStatus, PrintResult
from fieldpass.drivers.printers.document import Document
from fieldpass.drivers.printers.profile import PrinterProfile, resolve_profile
from fieldpass.drivers.printers.render import render_escpos_job, render_text


@dataclass(frozen=True)
class RecordedJob:
    """One printed document, the ESC/POS bytes it became, and the renderer's notes."""

    document: Document
    data: bytes
    notes: tuple[str, ...]


class RecordingPrinter(Printer):
    """Records calls and jobs (like python-escpos' Dummy records ``_raw`` bytes).

    ``fail_next(code)`` makes the next print raise PrintError(code) without recording a
    job; ``status_to_report`` is what ``status()`` answers.
    """

    spec = "fake"

    def __init__(self, profile: PrinterProfile | str = "80mm") -> None:
        super().__init__(
            profile if isinstance(profile, PrinterProfile) else resolve_profile(profile)
        )
        self.calls: list[str] = []
        self.jobs: list[RecordedJob] = []
        self.status_to_report = PrinterStatus.OK
        self._failures: deque[PrintError] = deque()
        self._opened = False

    @property
    def is_open(self) -> bool:
        return self._opened

    def open(self) -> None:
        self.calls.append("open")
        self._opened = True

    def close(self) -> None:
        self.calls.append("close")
        self._opened = False

    def fail_next(self, code: str = "printer_unreachable", message: str = "") -> None:
        """Make the next ``print_document`` fail with PrintError(code)."""
        self._failures.append(PrintError(message or f"scripted failure: {code}", code=code))

    def print_document(self, document: Document) -> PrintResult:
        self.calls.append("print_document")
        if not self._opened:
            raise PrintError("printer fake is not open", code="printer_not_open")
        if self._failures:
            raise self._failures.popleft()
        job = render_escpos_job(document, self.profile)
        self.jobs.append(RecordedJob(document, job.data, job.notes))
        return PrintResult(len(job.data), job.notes)

    def status(self) -> PrinterStatus:
        self.calls.append("status")
        return self.status_to_report

    @property
    def output(self) -> bytes:
        """Every byte printed so far."""
        return b"".join(job.data for job in self.jobs)

    def last_preview(self) -> str:
        """The text preview of the last printed document ('' when nothing printed)."""
        if not self.jobs:
            return ""
        return render_text(self.jobs[-1].document, self.profile.columns)
