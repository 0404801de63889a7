"""The gate app: wires the device's GateService and SyncClient to a scanner and the screens.

Threading (CONVENTIONS 2): check-in, sync, status reads and searches run in Textual thread
workers that only post messages; scanner reader threads only post CodeScanned. The
handlers below own all state and never touch the database or the network themselves.
"""

from __future__ import annotations

from collections import deque
from datetime import tzinfo
from typing import Any, ClassVar

from textual import work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.reactive import reactive
from textual.worker import Worker, WorkerState

from fieldpass.device.context import DeviceContext
from fieldpass.drivers.errors import DriverError
from fieldpass.drivers.scanners import Scanner, make_scanner
from fieldpass.kiosk.messages import (
    CodeScanned,
    ScanDecided,
    ScannerStatusChanged,
    StatusRead,
    SyncFinished,
    WorkerFailed,
)
from fieldpass.kiosk.present import (
    present_counters,
    present_header,
    present_mode,
    present_outcome,
    present_scan_error,
    present_status,
)
from fieldpass.kiosk.screens.gate import GateScreen
from fieldpass.kiosk.screens.search import SearchScreen
from fieldpass.sync.checkin import ScanMode

#: Codes the demo's simulated scanner mixes into the real tickets: unknown and malformed.
DEMO_BAD_CODES = ("NO-SUCH-TICKET-0001", "bad code!", "X" * 80)
#: Letters whose holder searches sample the device's tickets for the demo scanner.
_SAMPLE_LETTERS = ("a", "e", "i", "o", "u")


def demo_scan_codes(ctx: DeviceContext, count: int = 8) -> list[str]:
    """Codes for the ``sim`` scanner: some pulled tickets (one read twice) plus bad codes."""
    barcodes: list[str] = []
    for letter in _SAMPLE_LETTERS:
        for ticket in ctx.gate.search_holder(letter, limit=count):
            if ticket.barcode not in barcodes:
                barcodes.append(ticket.barcode)
        if len(barcodes) >= count:
            break
    codes = barcodes[:count]
    if codes:
        codes.insert(min(2, len(codes)), codes[0])  # an ALREADY_USED in the first round
    for position, bad in enumerate(DEMO_BAD_CODES):
        codes.insert(min(len(codes), 1 + position * 3), bad)
    return codes


class GateApp(App[None]):
    """The gate scanner kiosk."""

    TITLE = "Fieldpass gate"
    CSS_PATH = "global.tcss"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f2", "mode_entry", "Entry", id="mode-entry", priority=True),
        Binding("f3", "mode_exit", "Exit", id="mode-exit", priority=True),
        Binding("f4", "mode_check", "Check only", id="mode-check", priority=True),
        Binding("f5", "search", "Search holder", id="holder-search", priority=True),
        Binding("ctrl+q", "quit", "Quit", id="quit", priority=True),
    ]

    mode: reactive[ScanMode] = reactive(ScanMode.ENTRY, init=False)

    def __init__(
        self,
        ctx: DeviceContext,
        scanner_spec: str = "keyboard",
        sync_interval: float = 3.0,
        *,
        tz: tzinfo | None = None,
        cursor_blink: bool = True,
        sim_interval: float = 2.0,
        status_interval: float = 1.0,
    ) -> None:
        super().__init__()
        self.ctx = ctx
        self.tz = tz
        self.sync_interval = sync_interval
        self.status_interval = status_interval
        self.cursor_blink = cursor_blink
        self.scanner: Scanner = make_scanner(
            scanner_spec,
            self._scanner_read,
            on_error=self._scanner_failed,
            sim_codes=lambda: demo_scan_codes(ctx),
            sim_interval=sim_interval,
            on_status=self._scanner_status,
        )
        self.scanner_spec = scanner_spec
        self.bells_rung = 0
        self.last_outcome: Any = None
        self.last_sync: Any = None
        self._pending: deque[tuple[str, str, ScanMode]] = deque()
        self._scanning = False
        self._syncing = False
        self._reading_status = False
        self._info: Any = None
        self._online = False
        self._gate_screen = GateScreen(
            present_header(None, None), present_mode(self.mode), cursor_blink=cursor_blink
        )

    # -- start and stop --------------------------------------------------------------------

    @property
    def gate_screen(self) -> GateScreen:
        return self._gate_screen

    async def on_mount(self) -> None:
        # Pushed (not the default screen) so Textual loads the screen's own gate.tcss.
        await self.push_screen(self._gate_screen)
        self.set_interval(self.sync_interval, self.start_sync, name="sync-timer")
        self.set_interval(self.status_interval, self.start_status_read, name="status-timer")
        self.start_sync()
        self.start_status_read()
        self._open_scanner()

    @work(thread=True, group="scanner", exit_on_error=False, description="open scanner")
    def _open_scanner(self) -> None:
        # Opening may block (a device node, a camera, the sim's ticket sample): off the UI.
        self.scanner.open()

    def on_unmount(self) -> None:
        self.scanner.close()

    # -- scanning --------------------------------------------------------------------------

    def _scanner_read(self, code: str) -> None:
        """Called on the scanner's reader thread: only hand the code over."""
        self.post_message(CodeScanned(code, self.scanner.spec.partition(":")[0]))

    def _scanner_failed(self, error: DriverError) -> None:
        """Called on the scanner's reader thread when it stops with an error."""
        self.post_message(WorkerFailed("scanner", str(error), code=error.code))

    def _scanner_status(self, text: str) -> None:
        """Called on the scanner's reader thread when its link changes."""
        self.post_message(ScannerStatusChanged(text))

    def on_scanner_status_changed(self, message: ScannerStatusChanged) -> None:
        self.gate_screen.show_message(message.text)

    def on_code_scanned(self, message: CodeScanned) -> None:
        # Queue, never drop: the mode is the one shown when the code was read.
        self._pending.append((message.code, message.source, self.mode))
        self._next_scan()

    @property
    def scans_waiting(self) -> int:
        """Scans read but not yet shown (queued plus the one being decided)."""
        return len(self._pending) + int(self._scanning)

    def _next_scan(self) -> None:
        if self._scanning or not self._pending:
            return
        code, source, mode = self._pending.popleft()
        self._scanning = True
        self._check_in(code, source, mode)

    @work(thread=True, group="scan", exit_on_error=False, description="check-in")
    def _check_in(self, code: str, source: str, mode: ScanMode) -> None:
        try:
            outcome = self.ctx.gate.check_in(code, mode)
        except Exception as exc:
            # Re-raised with the code attached so the one failure handler can name it.
            raise ScanFailed(code, exc) from exc
        counters = self.ctx.gate.counters()
        status = self.ctx.store.status()
        self.post_message(ScanDecided(outcome, source, counters, status))

    def on_scan_decided(self, message: ScanDecided) -> None:
        self._scanning = False
        self.last_outcome = message.outcome
        screen = self.gate_screen
        screen.show_result(present_outcome(message.outcome, self.tz, message.source))
        screen.show_counters(present_counters(message.counters))
        self._show_status(message.status)
        if not message.outcome.result.admits:
            self.bell()
        self._next_scan()

    def bell(self) -> None:
        """Ring the terminal bell; counted, so tests and the operator log can see it."""
        self.bells_rung += 1
        super().bell()

    # -- modes and search ------------------------------------------------------------------

    def action_mode_entry(self) -> None:
        self.mode = ScanMode.ENTRY

    def action_mode_exit(self) -> None:
        self.mode = ScanMode.EXIT

    def action_mode_check(self) -> None:
        self.mode = ScanMode.CHECK

    def watch_mode(self, mode: ScanMode) -> None:
        self.gate_screen.show_mode(present_mode(mode))

    def action_search(self) -> None:
        if isinstance(self.screen, SearchScreen):
            return
        self.push_screen(SearchScreen(self.ctx.gate.search_holder), self._search_chosen)

    def _search_chosen(self, barcode: str | None) -> None:
        if barcode:
            self.post_message(CodeScanned(barcode, "search"))

    # -- background sync and status --------------------------------------------------------

    def start_sync(self) -> None:
        if self._syncing:
            return  # the previous round is still running; the timer will come back
        self._syncing = True
        self._sync()

    @work(thread=True, group="sync", exit_on_error=False, description="sync")
    def _sync(self) -> None:
        report = self.ctx.sync.sync_once()
        self.post_message(
            SyncFinished(
                report, self.ctx.store.status(), self.ctx.gate.counters(), self.ctx.gate.info()
            )
        )

    def on_sync_finished(self, message: SyncFinished) -> None:
        self._syncing = False
        self.last_sync = message.report
        info = message.info
        if info != self._info:
            self._info = info
            self.gate_screen.show_header(present_header(info.event_name, info.gate_name))
        self.gate_screen.show_counters(present_counters(message.counters))
        self._show_status(message.status)

    def start_status_read(self) -> None:
        if self._reading_status:
            return
        self._reading_status = True
        self._read_status()

    @work(thread=True, group="status", exit_on_error=False, description="status")
    def _read_status(self) -> None:
        self.post_message(StatusRead(self.ctx.store.status(), self.ctx.gate.counters()))

    def on_status_read(self, message: StatusRead) -> None:
        self._reading_status = False
        self.gate_screen.show_counters(present_counters(message.counters))
        self._show_status(message.status)

    def _show_status(self, status: Any) -> None:
        self._online = bool(status.online)
        self.gate_screen.show_status(
            present_status(status, self.tz, self.scanner_spec), self._online
        )

    # -- the one place background failures become visible ------------------------------------

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state is not WorkerState.ERROR:
            return
        error = event.worker.error
        task = event.worker.group
        scanned = error.code_read if isinstance(error, ScanFailed) else None
        cause = error.__cause__ if isinstance(error, ScanFailed) else error
        self.post_message(
            WorkerFailed(task, _one_line(cause), code=getattr(cause, "code", None), scanned=scanned)
        )

    def on_worker_failed(self, message: WorkerFailed) -> None:
        self.gate_screen.show_message(f"{message.task.title()} problem: {message.error}")
        if message.task == "scan":
            self._scanning = False
            self.gate_screen.show_result(present_scan_error(message.scanned or "", message.error))
            self.bell()
            self._next_scan()
        elif message.task == "sync":
            self._syncing = False
        elif message.task == "status":
            self._reading_status = False


class ScanFailed(Exception):
    """A check-in raised; carries the code read so the failure panel can show it."""

    code = "scan_failed"

    def __init__(self, code_read: str, cause: BaseException) -> None:
        super().__init__(f"check-in of a scan failed: {cause}")
        self.code_read = code_read


def _one_line(error: BaseException | None) -> str:
    """An exception as one short line for the staff screen (never a traceback)."""
    if error is None:
        return "unknown error"
    lines = str(error).strip().splitlines()
    first = lines[0] if lines else ""
    if isinstance(getattr(error, "code", None), str) and first:
        return first[:120]  # an expected failure with a code already says what happened
    return f"{type(error).__name__}: {first}"[:120] if first else type(error).__name__


def make_gate_app(
    ctx: DeviceContext,
    scanner_spec: str = "keyboard",
    sync_interval: float = 3.0,
    **options: Any,
) -> GateApp:
    """Build the gate app; raises DriverError (with ``code``) for a bad scanner spec.

    ``options``: ``tz`` (display time zone, default local), ``cursor_blink``,
    ``sim_interval``, ``status_interval``.
    """
    return GateApp(ctx, scanner_spec, sync_interval, **options)


def run_gate_app(ctx: DeviceContext, scanner_spec: str = "keyboard", **options: Any) -> None:
    """Run the gate app in this terminal until the operator quits (Ctrl+Q)."""
    make_gate_app(ctx, scanner_spec, **options).run()
