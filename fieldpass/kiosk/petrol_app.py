"""The petrol kiosk app: PIN entry, holders' identity, payment, tickets printed.

Threading (CONVENTIONS 2): the PIN look-up, the sale, sync, status reads and printing run
in Textual thread workers that only post messages; the handlers own all state and never
touch the database, the network or the printer themselves.
"""

from __future__ import annotations

import logging
import threading
from datetime import tzinfo
from typing import Any, ClassVar

from textual import work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.worker import Worker, WorkerState

from fieldpass.device.context import DeviceContext
from fieldpass.drivers.printers import Document, Printer
from fieldpass.kiosk.app import build_printer
from fieldpass.kiosk.messages import WorkerFailed
from fieldpass.kiosk.petrol import (
    day_start_ms,
    format_cents,
    look_up_pin,
    present_sale_error,
    present_totals,
)
from fieldpass.kiosk.petrol_messages import (
    PetrolStatusRead,
    PinEntered,
    PinLookedUp,
    ReprintRequested,
    SaleCommitted,
    TicketPrinted,
)
from fieldpass.kiosk.petrol_widgets import PetrolStatusBar
from fieldpass.kiosk.present import present_status
from fieldpass.kiosk.screens.holders import HoldersScreen
from fieldpass.kiosk.screens.payment import PaymentChoice
from fieldpass.kiosk.screens.pin_entry import PinEntryScreen
from fieldpass.kiosk.screens.sale_result import SaleResultScreen
from fieldpass.kiosk.tickets import sale_reference, ticket_document

log = logging.getLogger(__name__)

DAY_MS = 86_400_000


class PetrolApp(App[None]):
    """The petrol-station kiosk."""

    TITLE = "Fieldpass petrol"
    CSS_PATH = "global.tcss"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+q", "quit", "Quit", id="quit", priority=True),
    ]

    def __init__(
        self,
        ctx: DeviceContext,
        sync_interval: float = 3.0,
        *,
        tz: tzinfo | None = None,
        cursor_blink: bool = True,
        status_interval: float = 5.0,
        printer: Printer | None = None,
    ) -> None:
        super().__init__()
        self.ctx = ctx
        self.tz = tz
        self.sync_interval = sync_interval
        self.status_interval = status_interval
        self.printer = printer
        self.status_shown: tuple[str, bool, str] | None = None
        self.sale: Any = None  # the last committed PetrolSale
        self.printed: set[int] = set()  # indexes of the last sale's tickets handed over
        self._documents: list[Document] = []
        self._looking_up = False
        self._selling = False
        self._syncing = False
        self._reading_status = False
        self._printing = False
        self._change_text = ""
        self._match = self._event_name()
        self._printer_lock = threading.Lock()
        self._pin_screen = PinEntryScreen(self._header(), cursor_blink=cursor_blink)

    @property
    def pin_screen(self) -> PinEntryScreen:
        return self._pin_screen

    def _event_name(self) -> str:
        """The match's name from the store (construction and workers only)."""
        row = self.ctx.store.event_row(self.ctx.identity.event_id)
        return (row[1] if row else None) or ""

    def _header(self) -> str:
        return f"{self._match or 'no match yet'} — petrol kiosk"

    async def on_mount(self) -> None:
        await self.push_screen(self._pin_screen)
        self.set_interval(self.sync_interval, self.start_sync, name="sync-timer")
        self.set_interval(self.status_interval, self.start_status_read, name="status-timer")
        self.start_sync()

    def on_unmount(self) -> None:
        if self.printer is not None:
            self.printer.close()

    # -- PIN look-up -------------------------------------------------------------------------

    def on_pin_entered(self, message: PinEntered) -> None:
        if self._looking_up or self._selling:
            return
        self._looking_up = True
        self._look_up(message.pin)

    @work(thread=True, group="lookup", exit_on_error=False, description="PIN look-up")
    def _look_up(self, pin: str) -> None:
        self.post_message(PinLookedUp(look_up_pin(self.ctx, pin)))

    def on_pin_looked_up(self, message: PinLookedUp) -> None:
        self._looking_up = False
        self.pin_screen.show_message("")
        view = message.view
        self.push_screen(HoldersScreen(view), lambda choice: self._payment_chosen(view, choice))

    # -- the sale ------------------------------------------------------------------------------

    def _payment_chosen(self, view: Any, choice: PaymentChoice | None) -> None:
        if choice is None:
            self.pin_screen.show_message(f"PIN {view.pin}: cancelled, nothing sold")
            self.pin_screen.reset()
            return
        self._selling = True
        self._change_text = choice.change_text
        self.pin_screen.show_message(f"Selling PIN {view.pin}…")
        self._redeem(view.pin, choice)

    @work(thread=True, group="sale", exit_on_error=False, description="sale")
    def _redeem(self, pin: str, choice: PaymentChoice) -> None:
        sale = self.ctx.petrol.redeem(
            pin, identity_verified=True, cash_cents=choice.cash_cents, card_ref=choice.card_ref
        )
        self.post_message(SaleCommitted(sale))
        self._post_status()

    def on_sale_committed(self, message: SaleCommitted) -> None:
        self._selling = False
        sale = message.sale
        self.sale = sale
        self.printed = set()
        self.pin_screen.reset()
        self.pin_screen.show_message(f"PIN {sale.pin} sold: {len(sale.tickets)} ticket(s)")
        payment = sale.payment
        if payment["method"] == "cash":
            text = f"Paid cash {format_cents(payment['amount_cents'])}"
            if self._change_text:
                text += f" · {self._change_text}"
        else:
            text = f"Paid by card · POS reference {payment['reference']}"
        result = SaleResultScreen(sale, text)
        self.push_screen(result)
        match = self._match
        reference = sale_reference(sale.seq, sale.pin)
        self._documents = [
            ticket_document(ticket, match=match, reference=reference) for ticket in sale.tickets
        ]
        self.call_after_refresh(self._start_print)

    # -- printing ------------------------------------------------------------------------------

    def _result_screen(self) -> SaleResultScreen | None:
        for screen in self.screen_stack:
            if isinstance(screen, SaleResultScreen) and screen.sale is self.sale:
                return screen
        return None

    def _start_print(self) -> None:
        screen = self._result_screen()
        if self.printer is None:
            if screen is not None:
                screen.show_print("No printer configured (start with --printer SPEC)")
            return
        pending = [i for i in range(len(self._documents)) if i not in self.printed]
        if self._printing or not pending:
            return
        self._printing = True
        if screen is not None:
            screen.show_print(f"Printing {len(pending)} ticket(s)…")
        self._print(self.sale.seq, [(i, self._documents[i]) for i in pending])

    @work(thread=True, group="print", exit_on_error=False, description="print tickets")
    def _print(self, seq: int, jobs: list[tuple[int, Document]]) -> None:
        printer = self.printer
        if printer is None:
            return
        with self._printer_lock:
            if not printer.is_open:
                printer.open()
            for index, document in jobs:
                printer.print_document(document)
                self.post_message(TicketPrinted(seq, index))

    def on_ticket_printed(self, message: TicketPrinted) -> None:
        if self.sale is None or message.seq != self.sale.seq:
            return
        self.printed.add(message.index)
        if len(self.printed) == len(self._documents):
            self._printing = False
            screen = self._result_screen()
            if screen is not None:
                screen.show_print(f"Printed {len(self._documents)} ticket(s)")

    def on_reprint_requested(self, message: ReprintRequested) -> None:
        if self.sale is None or message.seq != self.sale.seq:
            return
        log.info("reprint of the tickets of sale %s requested", message.seq)
        self.pin_screen.show_message(f"Reprint of sale {message.seq} requested")
        self._start_print()

    def _print_failed(self, message: WorkerFailed) -> None:
        self._printing = False
        left = len(self._documents) - len(self.printed)
        screen = self._result_screen()
        if screen is not None:
            screen.show_print(
                f"{left} ticket(s) NOT printed [{message.code or 'print_failed'}]: "
                f"{message.error} — the sale is kept; F5 reprints",
                failed=True,
            )

    # -- background sync and status ---------------------------------------------------------

    def start_sync(self) -> None:
        if self._syncing:
            return
        self._syncing = True
        self._sync()

    @work(thread=True, group="sync", exit_on_error=False, description="sync")
    def _sync(self) -> None:
        self.ctx.sync.sync_once()
        self._post_status(synced=True)

    def start_status_read(self) -> None:
        if self._reading_status:
            return
        self._reading_status = True
        self._read_status()

    @work(thread=True, group="status", exit_on_error=False, description="status")
    def _read_status(self) -> None:
        self._post_status()

    def _post_status(self, *, synced: bool = False) -> None:
        """Read status and today's totals (worker threads only) and post them."""
        since = day_start_ms(self.ctx.petrol.clock(), self.tz)
        totals = self.ctx.store.petrol_totals(since, since + DAY_MS)
        status = self.ctx.store.status()
        self.post_message(PetrolStatusRead(status, totals, synced, self._event_name()))

    def on_petrol_status_read(self, message: PetrolStatusRead) -> None:
        if message.synced:
            self._syncing = False
            if message.match and message.match != self._match:
                self._match = message.match
                self.pin_screen.show_header(self._header())
        else:
            self._reading_status = False
        status = message.status
        self.status_shown = (
            present_status(status, self.tz, ""),
            bool(status.online),
            present_totals(message.totals),
        )
        for screen in self.screen_stack:
            for bar in screen.query(PetrolStatusBar):
                bar.show(*self.status_shown)

    # -- the one place background failures become visible ------------------------------------

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state is not WorkerState.ERROR:
            return
        error = event.worker.error
        self.post_message(
            WorkerFailed(
                event.worker.group, present_sale_error(error), code=getattr(error, "code", None)
            )
        )

    def on_worker_failed(self, message: WorkerFailed) -> None:
        if not self.is_running:
            return
        if message.task == "lookup":
            self._looking_up = False
            self.pin_screen.show_message(message.error)
        elif message.task == "sale":
            self._selling = False
            self.pin_screen.show_message(f"NOT sold: {message.error}")
        elif message.task == "print":
            self._print_failed(message)
        elif message.task == "sync":
            self._syncing = False
        elif message.task == "status":
            self._reading_status = False
        if message.task != "print":
            log.warning("%s failed: %s", message.task, message.error)


def make_petrol_app(ctx: DeviceContext, sync_interval: float = 3.0, **options: Any) -> PetrolApp:
    """Build the petrol app. ``options``: ``tz``, ``cursor_blink``, ``status_interval``,
    ``printer`` (a Printer, not yet opened, or None)."""
    return PetrolApp(ctx, sync_interval, **options)


def run_petrol_app(ctx: DeviceContext, printer_spec: str | None = None, **options: Any) -> None:
    """Run the petrol app in this terminal until the attendant quits (Ctrl+Q).

    Raises DriverError (with ``code``) for a bad ``printer_spec`` before any window opens.
    """
    make_petrol_app(ctx, printer=build_printer(printer_spec), **options).run()
