"""What every Fieldpass device app (gate, petrol kiosk, RSU) does the same way.

``DeviceApp`` owns the background machinery: the periodic sync and status reads in
workers, the status bar (online/offline, unsynced count, last sync, scanner and printer),
the receipt printer (one conversation at a time, polled for its status), and the one
place where a failed worker becomes a one-line message. A role's app subclasses it and
adds only its screens and flows through the hooks below.

Textual calls a message handler (``on_mount``, ``on_worker_failed``...) of every class in
the MRO, so a subclass never defines the handlers this class defines: it fills the hooks.
Threading (CONVENTIONS 2): workers only post messages; handlers own all state and never
touch the database, the network or the printer themselves.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import tzinfo
from typing import Any, ClassVar, TypeVar

from textual import work
from textual.app import App
from textual.message import Message
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from fieldpass.device.context import DeviceContext
from fieldpass.drivers.printers import (
    Document,
    Printer,
    PrintError,
    PrinterStatus,
    make_printer,
)
from fieldpass.kiosk.messages import PrinterStatusRead, ReceiptPrinted, WorkerFailed
from fieldpass.kiosk.present import one_line_error, present_printer, present_status
from fieldpass.kiosk.status_bar import DeviceStatusBar

log = logging.getLogger(__name__)

#: What a device started without ``--printer`` says when asked to print.
NO_PRINTER_TEXT = "No printer configured (start with --printer SPEC)"
#: Seconds between printer status queries (each is blocking I/O, up to ~1.5 s unanswered).
PRINTER_STATUS_INTERVAL_S = 30.0
#: Worker groups whose failures the role words itself, with the printer's code.
TASKS_IN_OWN_WORDS = ("print", "printer")


def build_printer(printer_spec: str | None) -> Printer | None:
    """The printer a ``--printer`` spec names, built but not opened (None: no printer).

    Raises DriverSpecError / DriverUnavailable (DriverErrors with ``code``) for a bad spec
    or a transport this host cannot drive, before any window opens.
    """
    return make_printer(printer_spec) if printer_spec else None


_A = TypeVar("_A", bound="DeviceApp")
_M = TypeVar("_M")


def while_running(handler: Callable[[_A, _M], None]) -> Callable[[_A, _M], None]:
    """Drop a worker's result that arrives after shutdown began (the widgets are gone)."""

    @functools.wraps(handler)
    def guarded(app: _A, message: _M) -> None:
        if app.is_running:
            handler(app, message)

    return guarded


class DeviceApp(App[None]):
    """A device's kiosk app: sync, status bar, printer and failures; the role adds the rest."""

    CSS_PATH = "global.tcss"
    ENABLE_COMMAND_PALETTE = False
    #: Whether the printer is polled for its status and shown on the status bar.
    SHOWS_PRINTER: ClassVar[bool] = True

    def __init__(
        self,
        ctx: DeviceContext,
        sync_interval: float,
        *,
        tz: tzinfo | None,
        status_interval: float,
        printer: Printer | None,
        printer_status_interval: float = PRINTER_STATUS_INTERVAL_S,
    ) -> None:
        super().__init__()
        self.ctx = ctx
        self.tz = tz
        self.sync_interval = sync_interval
        self.status_interval = status_interval
        # The receipt printer: None when the device was started without one.
        self.printer = printer
        self.printer_status_interval = printer_status_interval
        self.printer_state: PrinterStatus | None = None
        self.device_status: Any = None  # the last DeviceStatus read
        self.status_shown: tuple[str, bool, str] | None = None  # what DeviceStatusBar shows
        self._syncing = False
        self._reading_status = False
        self._reading_printer = False
        self._printing = False
        self._printer_lock = threading.Lock()  # one printer conversation at a time (workers)
        self._sync_lock = threading.Lock()  # a role's own syncs never overlap the timer's

    # -- hooks a role fills ------------------------------------------------------------------

    @property
    def home_screen(self) -> Screen[Any]:
        """The role's main screen, pushed at mount (so Textual loads its own .tcss)."""
        raise NotImplementedError

    def start_role(self) -> None:
        """At mount, before the first sync: the role's own timers and start-up workers."""

    def after_sync(self, report: Any) -> None:
        """Worker thread, after each timer sync round: the role's follow-up local work."""

    def status_message(self, *, synced: bool = False, report: Any = None) -> Message:
        """Worker thread: read the status (and the role's figures) into the role's message."""
        raise NotImplementedError

    def totals_text(self) -> str:
        """The status bar's second line (the role's totals)."""
        return ""

    def peers_seen(self) -> tuple[int, int] | None:
        """(reachable, known) LAN peers for the status bar; None: no LAN exchange."""
        return None

    def scanner_text(self) -> str:
        """The scanner named on the status line ("" for a device without one)."""
        return ""

    def show_status_line(self, text: str, online: bool) -> None:
        """Put the status line on screen; by default on every screen's DeviceStatusBar."""
        self.status_shown = (text, online, self.totals_text())
        for screen in self.screen_stack:
            for bar in screen.query(DeviceStatusBar):
                bar.show(*self.status_shown)

    @property
    def printer_busy(self) -> bool:
        """A job is with the printer (the status poll waits; the bar says so)."""
        return self._printing

    def receipt_printed(self, result: Any, state: PrinterStatus) -> None:
        """A job from ``print_receipt`` was handed over; ``state`` is what the printer said."""

    def print_failed(self, message: WorkerFailed) -> None:
        """A print job raised: say so in the role's words (the bar and a poll follow)."""

    def printer_state_changed(
        self, state: PrinterStatus, previous: PrinterStatus | None, detail: str
    ) -> None:
        """A status poll answered (or failed: OFFLINE with ``detail``); the bar shows it."""

    def failure_text(self, task: str, error: BaseException | None) -> str:
        """A failed worker's error as the one line the role shows."""
        return one_line_error(error)

    def describe_failure(self, task: str, error: BaseException | None) -> WorkerFailed:
        """The message a failed worker becomes (its group names the task)."""
        return WorkerFailed(task, self.failure_text(task, error), code=getattr(error, "code", None))

    def show_failure(self, message: WorkerFailed) -> None:
        """A failure other than the printer's, before the role's handler: logged by default."""
        log.warning("%s failed: %s", message.task, message.error)

    def task_failed(self, message: WorkerFailed) -> None:
        """A worker of the role's own (not sync, status, print or printer) raised."""

    def release_devices(self) -> None:
        """At exit: close what the app opened (a subclass closes its scanner too)."""
        if self.printer is not None:
            # At exit only; bounded by the printer's write timeout if a job is in flight.
            self.printer.close()

    # -- start and stop ----------------------------------------------------------------------

    async def on_mount(self) -> None:
        await self.push_screen(self.home_screen)
        self.set_interval(self.sync_interval, self.start_sync, name="sync-timer")
        self.set_interval(self.status_interval, self.start_status_read, name="status-timer")
        self.start_role()
        self.start_sync()
        if self.printer is not None and self.SHOWS_PRINTER:
            self.set_interval(
                self.printer_status_interval,
                self.start_printer_status_read,
                name="printer-status-timer",
            )
            self.start_printer_status_read()  # opens the printer, off the UI

    def on_unmount(self) -> None:
        self.release_devices()

    # -- background sync and status ----------------------------------------------------------

    def start_sync(self) -> None:
        if self._syncing:
            return  # the previous round is still running; the timer will come back
        self._syncing = True
        self._sync()

    @work(thread=True, group="sync", exit_on_error=False, description="sync")
    def _sync(self) -> None:
        with self._sync_lock:
            report = self.ctx.sync.sync_once()
        self.after_sync(report)
        self.post_message(self.status_message(synced=True, report=report))

    def start_status_read(self) -> None:
        if self._reading_status:
            return
        self._reading_status = True
        self._read_status()

    @work(thread=True, group="status", exit_on_error=False, description="status")
    def _read_status(self) -> None:
        self.post_status()

    def post_status(self, *, synced: bool = False) -> None:
        """Read the status and post it (worker threads only: it reads the store)."""
        self.post_message(self.status_message(synced=synced))

    def status_arrived(self, *, synced: bool) -> None:
        """A status message came in: the sync round or the periodic read it ends is done."""
        if synced:
            self._syncing = False
        else:
            self._reading_status = False

    def show_device_status(self, status: Any) -> None:
        self.device_status = status
        self.refresh_status_bar()

    def refresh_status_bar(self) -> None:
        status = self.device_status
        if status is None:
            return
        printer = (
            present_printer(self.printer_state, printing=self.printer_busy)
            if self.printer is not None and self.SHOWS_PRINTER
            else None
        )
        text = present_status(status, self.tz, self.scanner_text(), printer, self.peers_seen())
        self.show_status_line(text, bool(status.online))

    # -- the receipt printer -----------------------------------------------------------------

    @contextmanager
    def printer_session(self, printer: Printer) -> Iterator[Printer]:
        """Worker threads only: the printer to ourselves, opened first (at start, and again
        after an unplug or a failed start)."""
        with self._printer_lock:
            if not printer.is_open:
                printer.open()
            yield printer

    @work(thread=True, group="print", exit_on_error=False, description="print")
    def print_receipt(self, document: Document) -> None:
        """Print one document and ask the printer how it went (ReceiptPrinted)."""
        printer = self.printer
        if printer is None:
            return
        with self.printer_session(printer):
            result = printer.print_document(document)
            try:
                state = printer.status()
            except PrintError:
                state = PrinterStatus.UNKNOWN  # printed; only the check afterwards failed
        self.post_message(ReceiptPrinted(result, state))

    @while_running
    def on_receipt_printed(self, message: ReceiptPrinted) -> None:
        self._printing = False
        state = PrinterStatus(message.status)
        self.printer_state = state
        self.refresh_status_bar()
        self.receipt_printed(message.result, state)

    def start_printer_status_read(self) -> None:
        if self.printer is None or not self.SHOWS_PRINTER:
            return
        if self._reading_printer or self.printer_busy:
            return  # a print reads the status itself when it is done
        self._reading_printer = True
        self._read_printer_status()

    @work(thread=True, group="printer", exit_on_error=False, description="printer status")
    def _read_printer_status(self) -> None:
        printer = self.printer
        if printer is None:
            return
        with self.printer_session(printer):
            state = printer.status()
        self.post_message(PrinterStatusRead(state))

    @while_running
    def on_printer_status_read(self, message: PrinterStatusRead) -> None:
        self._reading_printer = False
        self._set_printer_state(PrinterStatus(message.status))

    def _set_printer_state(self, state: PrinterStatus, detail: str = "") -> None:
        previous, self.printer_state = self.printer_state, state
        self.refresh_status_bar()
        self.printer_state_changed(state, previous, detail)

    # -- the one place background failures become visible ------------------------------------

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state is not WorkerState.ERROR:
            return
        self.post_message(self.describe_failure(event.worker.group, event.worker.error))

    @while_running
    def on_worker_failed(self, message: WorkerFailed) -> None:
        task = message.task
        if task not in TASKS_IN_OWN_WORDS:  # those say it in their own words
            self.show_failure(message)
        if task == "sync":
            self._syncing = False
        elif task == "status":
            self._reading_status = False
        elif task == "print":
            self._printing = False
            self.print_failed(message)
            self.refresh_status_bar()
            self.start_printer_status_read()  # what the printer says now, for the status bar
        elif task == "printer":
            self._reading_printer = False
            self._set_printer_state(PrinterStatus.OFFLINE, message.error)
        else:
            self.task_failed(message)
