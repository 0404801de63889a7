"""The RSU (raffle sale unit) app: packages on keys 1-9, cash or card, the receipt printed
after the order is committed; reprint (logged first, marked REPRINT), void, close.

Threading (CONVENTIONS 2): the integrity check, sales, voids, the close, sync, status
reads and everything that talks to the printer run in Textual thread workers that only
post messages; the handlers own all state and never touch the database, the network or
the printer themselves. A store that fails its integrity check at start-up sells
nothing: the sale screen says why.
"""

from __future__ import annotations

import logging
from datetime import tzinfo
from typing import Any, ClassVar

from textual import work
from textual.binding import Binding, BindingType
from textual.message import Message

from fieldpass.device.context import DeviceContext
from fieldpass.device.errors import DeviceError
from fieldpass.drivers.printers import Document, Printer, PrinterStatus
from fieldpass.kiosk.device_app import (
    NO_PRINTER_TEXT,
    PRINTER_STATUS_INTERVAL_S,
    DeviceApp,
    build_printer,
    while_running,
)
from fieldpass.kiosk.messages import WorkerFailed
from fieldpass.kiosk.petrol import present_sale_error
from fieldpass.kiosk.present import UNCONFIRMED, one_line_error, present_printer
from fieldpass.kiosk.raffle_receipt import raffle_receipt_document
from fieldpass.kiosk.rsu_messages import (
    CloseRequested,
    IntegrityChecked,
    LastOrderRead,
    OrderVoided,
    RaffleReprintLogged,
    RaffleReprintPrinted,
    RaffleSaleCommitted,
    ReprintRequested,
    RsuStatusRead,
    SaleRequested,
    SalesClosed,
    VoidLookupRequested,
    VoidOrderFound,
)
from fieldpass.kiosk.screens.rsu_close import RsuCloseScreen, present_closed
from fieldpass.kiosk.screens.rsu_sale import (
    OrderRequest,
    RsuSaleScreen,
    present_numbers,
    present_raffle_totals,
)
from fieldpass.kiosk.screens.rsu_void import RsuVoidScreen, VoidRequest
from fieldpass.sync.validation_numbers import format_validation_number

log = logging.getLogger(__name__)

#: Why a copy is printed, as logged with its ``raffle_reprint`` event.
REASON_PRINT_FAILED = "the receipt did not print"
REASON_COPY_ASKED = "the seller asked for a copy"
#: Worker groups that talk to the printer.
PRINTER_TASKS = ("print", "reprint", "printer")


def present_header(raffle: Any, rsu_name: str) -> str:
    """The sale screen's top line: the raffle, this RSU and its terminal number."""
    name = (raffle.raffle_name if raffle else None) or "no raffle yet"
    terminal = raffle.terminal_number if raffle else None
    unit = f"{rsu_name} (terminal {terminal:04d})" if terminal else rsu_name
    return f"{name} — RSU {unit}"


def present_integrity(report: Any) -> str:
    return "store damaged, call support: " + "; ".join(report.problems)


class RsuApp(DeviceApp):
    """The raffle sale unit: sell, print and reprint receipts, void, close."""

    TITLE = "Fieldpass RSU"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+q", "quit", "Quit", id="quit", priority=True),
    ]

    def __init__(
        self,
        ctx: DeviceContext,
        sync_interval: float = 3.0,
        *,
        tz: tzinfo | None = None,
        status_interval: float = 5.0,
        printer: Printer | None = None,
        printer_status_interval: float = PRINTER_STATUS_INTERVAL_S,
        operator: str = "",
    ) -> None:
        super().__init__(
            ctx,
            sync_interval,
            tz=tz,
            status_interval=status_interval,
            printer=printer,
            printer_status_interval=printer_status_interval,
        )
        self.operator = operator
        self.raffle: Any = None  # the last RaffleStatus read
        self.integrity: Any = None  # the start-up IntegrityReport
        self.sale: Any = None  # the last RaffleSale committed here
        self.receipt_unconfirmed = False  # the last sale's receipt did not (surely) print
        self._selling = False
        self._reprinting = False
        self._reprint_logged: Any = None  # the receipt of the running reprint, once logged
        self._voiding = False
        self._closing_sales = False
        self._sale_screen = RsuSaleScreen(present_header(None, ctx.identity.name))

    @property
    def home_screen(self) -> RsuSaleScreen:
        return self._sale_screen

    sale_screen = home_screen

    def start_role(self) -> None:
        self._start_up()

    @work(thread=True, group="startup", exit_on_error=False, description="integrity check")
    def _start_up(self) -> None:
        """Check the store before the first sale (a damaged one sells nothing); show the
        newest order, whose printing a crash may have cut, so F5 can print it again."""
        report = self.ctx.raffle.check_integrity()
        self.post_message(IntegrityChecked(report))
        if report.ok:
            for receipt in self.ctx.raffle.recent(1):
                self.post_message(LastOrderRead(receipt))
        self.post_status()

    def on_integrity_checked(self, message: IntegrityChecked) -> None:
        self.integrity = message.report
        if not message.report.ok:
            log.error("RSU store failed its integrity check: %s", message.report.problems)
            self.sale_screen.refuse_selling(present_integrity(message.report))

    def on_last_order_read(self, message: LastOrderRead) -> None:
        self.sale_screen.show_last_order(message.receipt)

    # -- selling -----------------------------------------------------------------------------

    def on_sale_requested(self, message: SaleRequested) -> None:
        if self._selling:
            return
        if self.integrity is not None and not self.integrity.ok:
            self.sale_screen.sale_refused(f"NOT sold: {present_integrity(self.integrity)}")
            return
        self._selling = True
        self._sell(message.order)

    @work(thread=True, group="sale", exit_on_error=False, description="sale")
    def _sell(self, order: OrderRequest) -> None:
        sale = self.ctx.raffle.sell(
            order.package_id,
            cash_tendered_cents=order.cash_tendered_cents,
            card_reference=order.card_reference,
            customer_name=order.customer_name,
            customer_phone=order.customer_phone,
            operator=self.operator,
        )
        self.post_message(RaffleSaleCommitted(sale))  # committed before a byte prints
        self.post_status()

    def on_raffle_sale_committed(self, message: RaffleSaleCommitted) -> None:
        self._selling = False
        self.sale = message.sale
        receipt = message.sale.receipt
        self.sale_screen.sale_done(receipt)
        self.sale_screen.show_message(
            f"Sold {receipt.package_name}: numbers {present_numbers(receipt.draw_numbers)}"
        )
        self.receipt_unconfirmed = False
        if self.printer is None:
            self.sale_screen.show_print(NO_PRINTER_TEXT + ": no receipt printed")
            return
        self._printing = True
        self.sale_screen.show_print("Printing the receipt…")
        self.refresh_status_bar()
        self.print_receipt(self._document(receipt))

    def _document(self, receipt: Any) -> Document:
        columns = self.printer.profile.columns if self.printer is not None else 32
        return raffle_receipt_document(receipt, tz=self.tz, columns=columns)

    # -- printing ----------------------------------------------------------------------------

    def receipt_printed(self, result: Any, state: PrinterStatus) -> None:
        if state in UNCONFIRMED:
            self.receipt_unconfirmed = True
            self.sale_screen.show_print(
                f"Receipt NOT confirmed ({present_printer(state)}) — the sale is kept; "
                "F5 prints a copy marked REPRINT",
                failed=True,
            )
        else:
            self.sale_screen.show_print("Receipt printed")

    def print_failed(self, message: WorkerFailed) -> None:
        self.receipt_unconfirmed = True
        self.sale_screen.show_print(
            f"Receipt NOT printed [{message.code or 'print_failed'}]: {message.error} — the "
            "sale is kept; F5 prints a copy marked REPRINT",
            failed=True,
        )

    def on_reprint_requested(self, message: ReprintRequested) -> None:
        if self.printer is None:
            self.sale_screen.show_print(NO_PRINTER_TEXT + ": nothing reprinted or logged")
            return
        if self._reprinting or self._printing:
            self.sale_screen.show_message("Printing… wait for this print to finish")
            return
        self._reprinting = True
        self._reprint_logged = None
        reason = REASON_PRINT_FAILED if self.receipt_unconfirmed else REASON_COPY_ASKED
        self._reprint(message.validation_number, reason)

    @work(thread=True, group="reprint", exit_on_error=False, description="reprint receipt")
    def _reprint(self, validation_number: str, reason: str) -> None:
        receipt = self.ctx.raffle.record_reprint(validation_number, reason, self.operator)
        self.post_message(RaffleReprintLogged(receipt))  # logged before a byte prints
        printer = self.printer
        if printer is None:
            return
        document = self._document(receipt)
        with self.printer_session(printer):
            result = printer.print_document(document)
        self.post_message(RaffleReprintPrinted(receipt, result))
        self.post_status()

    def on_raffle_reprint_logged(self, message: RaffleReprintLogged) -> None:
        self._reprint_logged = message.receipt
        self.sale_screen.show_print(f"Printing copy {message.receipt.copy_number} (REPRINT)…")

    def on_raffle_reprint_printed(self, message: RaffleReprintPrinted) -> None:
        self._reprinting = False
        self.receipt_unconfirmed = False
        self.sale_screen.show_print(
            f"Copy {message.receipt.copy_number} printed (marked REPRINT, logged)"
        )

    def _reprint_failed(self, message: WorkerFailed) -> None:
        self._reprinting = False
        logged = self._reprint_logged
        if logged is None:
            self.sale_screen.show_print(
                f"Reprint refused, nothing logged: {message.error}", failed=self.receipt_unconfirmed
            )
        else:
            self.receipt_unconfirmed = True
            self.sale_screen.show_print(
                f"Copy {logged.copy_number} logged but NOT printed: {message.error} — F5 tries "
                "again",
                failed=True,
            )

    # -- void ----------------------------------------------------------------------------

    def action_open_void(self) -> None:
        if self.screen is not self.sale_screen or self._selling or self._voiding:
            return
        self.push_screen(RsuVoidScreen(), self._void_requested)

    def on_void_lookup_requested(self, message: VoidLookupRequested) -> None:
        self._look_up_order(message.validation_number)

    @work(thread=True, group="void-lookup", exit_on_error=False, description="order look-up")
    def _look_up_order(self, validation_number: str) -> None:
        try:
            receipt = self.ctx.raffle.receipt(validation_number)
        except DeviceError as exc:
            self.post_message(VoidOrderFound(None, present_sale_error(exc)))
            return
        self.post_message(VoidOrderFound(receipt))

    def on_void_order_found(self, message: VoidOrderFound) -> None:
        for screen in self.screen_stack:
            if isinstance(screen, RsuVoidScreen):
                screen.show_order(message.receipt, message.error)

    def _void_requested(self, request: VoidRequest | None) -> None:
        if request is None:
            return
        self._voiding = True
        shown = format_validation_number(request.validation_number)
        self.sale_screen.show_message(f"Voiding order {shown}…")
        self._void(request)

    @work(thread=True, group="void", exit_on_error=False, description="void")
    def _void(self, request: VoidRequest) -> None:
        voided = self.ctx.raffle.void(request.validation_number, request.reason, self.operator)
        self.post_message(OrderVoided(voided))
        self.post_status()

    def on_order_voided(self, message: OrderVoided) -> None:
        self._voiding = False
        receipt = message.sale.receipt
        screen = self.sale_screen
        if screen.last_receipt is not None and (
            screen.last_receipt.validation_number == receipt.validation_number
        ):
            screen.last_receipt = None  # a voided order is not reprinted
            screen.show_print("This order is VOIDED")
        screen.show_message(
            f"Order {format_validation_number(receipt.validation_number)} VOIDED "
            f"({receipt.void_reason}): numbers {present_numbers(receipt.draw_numbers)} are "
            "never sold again"
        )

    # -- close -------------------------------------------------------------------------------

    def action_open_close(self) -> None:
        if self.screen is not self.sale_screen or self._selling:
            return
        raffle = self.raffle
        status = self.device_status
        unsynced = status.unsynced if status is not None else None
        name = (raffle.raffle_name if raffle else None) or "the raffle"
        self.push_screen(RsuCloseScreen(name, unsynced, raffle.totals if raffle else None))

    def on_close_requested(self, message: CloseRequested) -> None:
        if self._closing_sales:
            return
        self._closing_sales = True
        self._close_sales()

    @work(thread=True, group="close", exit_on_error=False, description="close sales")
    def _close_sales(self) -> None:
        with self._sync_lock:
            before = self.ctx.sync.sync_once()
            waiting = self.ctx.store.status().unsynced
            closing = self.ctx.raffle.close(self.operator)
            after = self.ctx.sync.sync_once()
        unsynced = self.ctx.store.status().unsynced
        self.post_message(SalesClosed(closing, waiting, unsynced, after.error or before.error))
        self.post_status(synced=True)

    def on_sales_closed(self, message: SalesClosed) -> None:
        self._closing_sales = False
        text = present_closed(message)
        for screen in self.screen_stack:
            if isinstance(screen, RsuCloseScreen):
                screen.show_closed(text)
        uploaded = message.unsynced == 0 and message.error is None
        self.sale_screen.show_message(
            f"Sales closed on this RSU: {message.closing.orders} order(s); "
            + ("everything is uploaded" if uploaded else f"{message.unsynced} event(s) to upload")
        )

    # -- background sync and status ----------------------------------------------------------

    def status_message(self, *, synced: bool = False, report: Any = None) -> Message:
        """The sync status and the raffle's (worker threads only)."""
        return RsuStatusRead(self.ctx.store.status(), self.ctx.raffle.status(), synced)

    @while_running
    def on_rsu_status_read(self, message: RsuStatusRead) -> None:
        self.status_arrived(synced=message.synced)
        raffle = message.raffle
        self.raffle = raffle
        self.sale_screen.show_header(present_header(raffle, self.ctx.identity.name))
        self.sale_screen.show_raffle(raffle)
        if self.integrity is not None and not self.integrity.ok:
            self.sale_screen.refuse_selling(present_integrity(self.integrity))
        for screen in self.screen_stack:
            if isinstance(screen, RsuCloseScreen):
                screen.show_state(message.status.unsynced, raffle.totals)
        self.show_device_status(message.status)

    def totals_text(self) -> str:
        return present_raffle_totals(self.raffle.totals) if self.raffle is not None else ""

    @property
    def printer_busy(self) -> bool:
        return self._printing or self._reprinting

    # -- the one place background failures become visible ------------------------------------

    def failure_text(self, task: str, error: BaseException | None) -> str:
        # Printer failures are worded with their code by the print handlers themselves.
        return one_line_error(error) if task in PRINTER_TASKS else present_sale_error(error)

    def task_failed(self, message: WorkerFailed) -> None:
        task = message.task
        if task == "sale":
            self._selling = False
            self.sale_screen.sale_refused(f"NOT sold: {message.error}")
        elif task == "reprint":
            self._reprint_failed(message)
        elif task == "void":
            self._voiding = False
            self.sale_screen.show_message(f"NOT voided: {message.error}")
        elif task == "void-lookup":
            for screen in self.screen_stack:
                if isinstance(screen, RsuVoidScreen):
                    screen.show_order(None, message.error)
        elif task == "close":
            self._closing_sales = False
            for screen in self.screen_stack:
                if isinstance(screen, RsuCloseScreen):
                    screen.close_failed(message.error)
        elif task == "startup":
            self.sale_screen.refuse_selling(f"the store could not be checked: {message.error}")


def make_rsu_app(ctx: DeviceContext, sync_interval: float = 3.0, **options: Any) -> RsuApp:
    """Build the RSU app. ``options``: ``tz``, ``status_interval``, ``printer`` (a Printer,
    not yet opened, or None), ``printer_status_interval``, ``operator``."""
    return RsuApp(ctx, sync_interval, **options)


def run_rsu_app(ctx: DeviceContext, printer_spec: str | None = None, **options: Any) -> None:
    """Run the RSU app in this terminal until the seller quits (Ctrl+Q).

    ``printer_spec`` (dummy | file:PATH | usb:VID:PID | network:HOST[:PORT] | serial:DEV)
    is built here and opened by the app; raises DriverError (with ``code``) when it is bad.
    """
    make_rsu_app(ctx, printer=build_printer(printer_spec), **options).run()
