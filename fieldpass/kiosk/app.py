"""The gate app: wires the device's GateService and SyncClient to a scanner and the screens.

Threading (CONVENTIONS 2): check-in, sync, status reads, searches and everything that talks
to the receipt printer run in Textual thread workers that only post messages; scanner reader
threads only post CodeScanned. The handlers below own all state and never touch the
database, the network or the printer themselves.
"""

from __future__ import annotations

from collections import deque
from datetime import tzinfo
from typing import Any, ClassVar

from textual import work
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.reactive import reactive

from fieldpass.device.context import DeviceContext
from fieldpass.device.peer_exchange import PeerExchange
from fieldpass.drivers.errors import DriverError
from fieldpass.drivers.printers import Document, Printer, PrinterStatus, render_text
from fieldpass.drivers.scanners import Scanner, make_scanner
from fieldpass.kiosk.device_app import (
    NO_PRINTER_TEXT,
    PRINTER_STATUS_INTERVAL_S,
    DeviceApp,
    build_printer,
    while_running,
)
from fieldpass.kiosk.messages import (
    CodeScanned,
    ScanDecided,
    ScannerStatusChanged,
    ShiftReportPrepared,
    StatusRead,
    SyncFinished,
    WorkerFailed,
)
from fieldpass.kiosk.present import (
    UNCONFIRMED,
    one_line_error,
    present_counters,
    present_header,
    present_mode,
    present_outcome,
    present_printer_change,
    present_scan_error,
    print_failure_text,
    print_outcome_text,
)
from fieldpass.kiosk.receipts import ReportDevice, shift_report_document
from fieldpass.kiosk.screens.gate import GateScreen
from fieldpass.kiosk.screens.receipt_preview import ReceiptPreviewScreen
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


class GateApp(DeviceApp):
    """The gate scanner kiosk: scans decided in order, modes, holder search, shift report."""

    TITLE = "Fieldpass gate"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f2", "mode_entry", "Entry", id="mode-entry", priority=True),
        Binding("f3", "mode_exit", "Exit", id="mode-exit", priority=True),
        Binding("f4", "mode_check", "Check only", id="mode-check", priority=True),
        Binding("f5", "search", "Search holder", id="holder-search", priority=True),
        # Two bindings, one id: check_action enables exactly one, so F6 shows in the footer
        # only on a device with a printer, and still answers on one without.
        Binding("f6", "print_report", "Print report", id="print-report", priority=True),
        Binding("f6", "no_printer", "Print report", show=False, id="print-report", priority=True),
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
        printer: Printer | None = None,
        printer_status_interval: float = PRINTER_STATUS_INTERVAL_S,
        peers: PeerExchange | None = None,
    ) -> None:
        super().__init__(
            ctx,
            sync_interval,
            tz=tz,
            status_interval=status_interval,
            printer=printer,
            printer_status_interval=printer_status_interval,
        )
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
        self.peers = peers  # LAN exchange of admissions with the event's other gates
        self.bells_rung = 0
        self.last_outcome: Any = None
        self.last_sync: Any = None
        self._pending: deque[tuple[str, str, ScanMode]] = deque()
        self._scanning = False
        self._info: Any = None
        self.report: Document | None = None  # the last shift report built, kept for a reprint
        self._preparing_report = False
        self._print_notice = ""  # a failed print's message, until the printer was asked again
        self._gate_screen = GateScreen(
            present_header(None, None), present_mode(self.mode), cursor_blink=cursor_blink
        )

    # -- start and stop --------------------------------------------------------------------

    @property
    def home_screen(self) -> GateScreen:
        return self._gate_screen

    gate_screen = home_screen

    def start_role(self) -> None:
        self.start_status_read()
        self._open_scanner()
        if self.peers is not None:
            self._start_peers()

    @work(thread=True, group="peers", exit_on_error=False, description="start LAN exchange")
    def _start_peers(self) -> None:
        # Binding the port and starting its threads: off the UI; they only touch the store.
        if self.peers is not None:
            self.peers.start()

    @work(thread=True, group="scanner", exit_on_error=False, description="open scanner")
    def _open_scanner(self) -> None:
        # Opening may block (a device node, a camera, the sim's ticket sample): off the UI.
        self.scanner.open()

    def release_devices(self) -> None:
        self.scanner.close()
        if self.peers is not None:
            self.peers.stop()
        super().release_devices()

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

    @while_running
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
        if self.peers is not None and outcome.seq is not None:
            self.peers.poke()  # the other gates hear of an admission at once
        counters = self.ctx.gate.counters()
        status = self.ctx.store.status()
        self.post_message(ScanDecided(outcome, source, counters, status))

    @while_running
    def on_scan_decided(self, message: ScanDecided) -> None:
        self._scanning = False
        self.last_outcome = message.outcome
        screen = self.gate_screen
        screen.show_result(present_outcome(message.outcome, self.tz, message.source))
        screen.show_counters(present_counters(message.counters))
        self.show_device_status(message.status)
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

    def status_message(self, *, synced: bool = False, report: Any = None) -> Message:
        gate = self.ctx.gate
        if synced:
            return SyncFinished(report, self.ctx.store.status(), gate.counters(), gate.info())
        return StatusRead(self.ctx.store.status(), gate.counters())

    @while_running
    def on_sync_finished(self, message: SyncFinished) -> None:
        self.status_arrived(synced=True)
        self.last_sync = message.report
        info = message.info
        if info != self._info:
            self._info = info
            self.gate_screen.show_header(present_header(info.event_name, info.gate_name))
        self.gate_screen.show_counters(present_counters(message.counters))
        self.show_device_status(message.status)

    @while_running
    def on_status_read(self, message: StatusRead) -> None:
        self.status_arrived(synced=False)
        self.gate_screen.show_counters(present_counters(message.counters))
        self.show_device_status(message.status)

    def scanner_text(self) -> str:
        return self.scanner_spec

    def peers_seen(self) -> tuple[int, int] | None:
        return None if self.peers is None else self.peers.reachable()

    def show_status_line(self, text: str, online: bool) -> None:
        self.gate_screen.show_status(text, online)

    # -- the receipt printer: shift report ---------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "print_report":
            return self.printer is not None
        if action == "no_printer":
            return self.printer is None
        return True

    def action_no_printer(self) -> None:
        self.gate_screen.show_message(NO_PRINTER_TEXT)

    def action_print_report(self) -> None:
        """F6: build the report from fresh figures (worker), then preview it."""
        if self.printer is None:
            self.action_no_printer()
            return
        if isinstance(self.screen, ReceiptPreviewScreen) or self._preparing_report:
            return
        if self._printing:
            self.gate_screen.show_message("Printing… wait for this print to finish")
            return
        self._preparing_report = True
        self._prepare_report(self.printer.profile.columns)

    @work(thread=True, group="report", exit_on_error=False, description="shift report")
    def _prepare_report(self, columns: int) -> None:
        gate = self.ctx.gate
        identity = self.ctx.identity
        document = shift_report_document(
            gate.info(),
            gate.counters(),
            self.ctx.store.status(),
            gate.clock(),
            self.tz,
            device=ReportDevice(identity.device_id, identity.name),
        )
        self.post_message(ShiftReportPrepared(document, render_text(document, columns)))

    @while_running
    def on_shift_report_prepared(self, message: ShiftReportPrepared) -> None:
        self._preparing_report = False
        self.report = message.document
        self.push_screen(ReceiptPreviewScreen(message.preview), self._preview_closed)

    def _preview_closed(self, confirmed: bool | None) -> None:
        if confirmed and self.report is not None:
            self._start_print(self.report)
        else:
            self.gate_screen.show_message("Shift report not printed (cancelled)")

    def _offer_reprint(self, title: str, problem: str) -> None:
        if self.report is None or self.printer is None:
            return
        preview = render_text(self.report, self.printer.profile.columns)
        dialog = ReceiptPreviewScreen(
            preview, title=title, problem=problem, confirm_label="Reprint", cancel_label="Close"
        )
        self.push_screen(dialog, self._reprint_closed)

    def _reprint_closed(self, confirmed: bool | None) -> None:
        if confirmed and self.report is not None and not self._printing:
            self._start_print(self.report)

    def _start_print(self, document: Document) -> None:
        self._printing = True
        self.gate_screen.show_message("Printing shift report…")
        self.refresh_status_bar()
        self.print_receipt(document)

    def receipt_printed(self, result: Any, state: PrinterStatus) -> None:
        text = print_outcome_text(state, result.bytes_sent, tuple(result.notes))
        self.gate_screen.show_message(text)
        if state in UNCONFIRMED:
            self._offer_reprint("Shift report: printing not confirmed", text)

    def print_failed(self, message: WorkerFailed) -> None:
        text = print_failure_text(message.code, message.error)
        self.gate_screen.show_message(text)
        self._print_notice = text
        self._offer_reprint("Shift report NOT printed", text)

    def printer_state_changed(
        self, state: PrinterStatus, previous: PrinterStatus | None, detail: str
    ) -> None:
        notice, self._print_notice = self._print_notice, ""
        change = present_printer_change(state, previous) if state != previous else ""
        if change and detail and state is PrinterStatus.OFFLINE and not notice:
            change = f"{change}: {detail}"
        if change:
            # Right after a failed print, keep its message and add what the printer says.
            self.gate_screen.show_message(f"{notice} · {change}" if notice else change)

    # -- the one place background failures become visible ------------------------------------

    def describe_failure(self, task: str, error: BaseException | None) -> WorkerFailed:
        scanned = error.code_read if isinstance(error, ScanFailed) else None
        cause = error.__cause__ if isinstance(error, ScanFailed) else error
        return WorkerFailed(
            task, one_line_error(cause), code=getattr(cause, "code", None), scanned=scanned
        )

    def show_failure(self, message: WorkerFailed) -> None:
        self.gate_screen.show_message(f"{message.task.title()} problem: {message.error}")

    def task_failed(self, message: WorkerFailed) -> None:
        if message.task == "scan":
            self._scanning = False
            self.gate_screen.show_result(present_scan_error(message.scanned or "", message.error))
            self.bell()
            self._next_scan()
        elif message.task == "report":
            self._preparing_report = False


class ScanFailed(Exception):
    """A check-in raised; carries the code read so the failure panel can show it."""

    code = "scan_failed"

    def __init__(self, code_read: str, cause: BaseException) -> None:
        super().__init__(f"check-in of a scan failed: {cause}")
        self.code_read = code_read


def make_gate_app(
    ctx: DeviceContext,
    scanner_spec: str = "keyboard",
    sync_interval: float = 3.0,
    **options: Any,
) -> GateApp:
    """Build the gate app; raises DriverError (with ``code``) for a bad scanner spec.

    ``options``: ``tz`` (display time zone, default local), ``cursor_blink``,
    ``sim_interval``, ``status_interval``, ``printer`` (a Printer, not yet opened, or None
    for no printer), ``printer_status_interval``.
    """
    return GateApp(ctx, scanner_spec, sync_interval, **options)


def run_gate_app(
    ctx: DeviceContext,
    scanner_spec: str = "keyboard",
    printer_spec: str | None = None,
    **options: Any,
) -> None:
    """Run the gate app in this terminal until the operator quits (Ctrl+Q).

    ``printer_spec`` (dummy | file:PATH | usb:VID:PID | network:HOST[:PORT] | serial:DEV)
    is built here and opened by the app; raises DriverError (with ``code``) when it is bad.
    """
    make_gate_app(ctx, scanner_spec, printer=build_printer(printer_spec), **options).run()
