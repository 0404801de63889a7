"""The petrol kiosk app: PIN entry, holders' identity documents, seats reserved (with a
countdown; changeable), payment of the real price, tickets printed; emergency reprint (F7).

Threading (CONVENTIONS 2): the PIN look-up, the sale, sync, status reads and printing run
in Textual thread workers that only post messages; the handlers own all state and never
touch the database, the network or the printer themselves.
"""

from __future__ import annotations

import logging
from datetime import tzinfo
from typing import Any, ClassVar

from textual import work
from textual.binding import Binding, BindingType
from textual.message import Message

from fieldpass.device.context import DeviceContext
from fieldpass.device.petrol import MatchInfo
from fieldpass.drivers.printers import Document, Printer
from fieldpass.kiosk.device_app import NO_PRINTER_TEXT, DeviceApp, build_printer
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
    ReprintLogged,
    ReprintPrinted,
    ReprintRequested,
    ReservationMade,
    ReservationsExpired,
    SaleCommitted,
    SeatsChangeRequested,
    TicketPrinted,
)
from fieldpass.kiosk.petrol_widgets import ReservationCountdown
from fieldpass.kiosk.screens.holders import HoldersScreen
from fieldpass.kiosk.screens.payment import PaymentChoice
from fieldpass.kiosk.screens.pin_entry import PinEntryScreen
from fieldpass.kiosk.screens.reprint import ReprintRequest, ReprintScreen
from fieldpass.kiosk.screens.sale_result import SaleResultScreen
from fieldpass.kiosk.screens.seat_choice import SeatChoiceScreen
from fieldpass.kiosk.tickets import sale_reference, ticket_document

log = logging.getLogger(__name__)

DAY_MS = 86_400_000


class PetrolApp(DeviceApp):
    """The petrol-station kiosk: PIN, holders, seats with a countdown, payment, tickets."""

    TITLE = "Fieldpass petrol"
    #: Tickets print in a batch whose progress the sale's result screen shows.
    SHOWS_PRINTER = False
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+q", "quit", "Quit", id="quit", priority=True),
        Binding("f7", "reprint_ticket", "Reprint a ticket", id="reprint-ticket"),
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
        countdown_interval: float = 1.0,
    ) -> None:
        super().__init__(
            ctx, sync_interval, tz=tz, status_interval=status_interval, printer=printer
        )
        self.countdown_interval = countdown_interval
        self._totals_text = ""  # today's totals, the status bar's second line
        self.sale: Any = None  # the last committed PetrolSale
        self.printed: set[int] = set()  # indexes of the last sale's tickets handed over
        self._documents: list[Document] = []
        self._looking_up = False
        self._selling = False
        self.reservation: Any = None  # the Reservation the attendant is completing
        self._reserving = False
        self._expiring = False
        self._reprinting = False
        self._reprint_logged: Any = None  # the ReprintTicket logged by the running reprint
        self._match_info = self._read_match()
        self._match = self._match_info.name
        self._pin_screen = PinEntryScreen(self._header(), cursor_blink=cursor_blink)

    @property
    def home_screen(self) -> PinEntryScreen:
        return self._pin_screen

    pin_screen = home_screen

    def _read_match(self) -> MatchInfo:
        """The match's name and kick-off from the store (construction and workers only)."""
        return self.ctx.petrol.match_info()

    def _header(self) -> str:
        return f"{self._match or 'no match yet'} — petrol kiosk"

    def start_role(self) -> None:
        self.set_interval(self.countdown_interval, self.check_reservation, name="countdown-timer")
        self._start_up()

    @work(thread=True, group="startup", exit_on_error=False, description="start-up")
    def _start_up(self) -> None:
        """No attendant is completing a reservation left by a previous run: release its
        seats; delete holder data of matches that are over."""
        self.ctx.petrol.cancel_open_reservations("kiosk restarted")
        self.ctx.petrol.purge_holder_data()

    # -- PIN look-up -------------------------------------------------------------------------

    def on_pin_entered(self, message: PinEntered) -> None:
        if self._looking_up or self._reserving or self._selling:
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
        self.push_screen(HoldersScreen(view), lambda documents: self._holders_done(view, documents))

    # -- reservation and seats -----------------------------------------------------------------

    def _holders_done(self, view: Any, documents: list[str] | None) -> None:
        if documents is None:
            self.pin_screen.show_message(f"PIN {view.pin}: cancelled, nothing sold")
            self.pin_screen.reset()
            return
        self._reserving = True
        self.pin_screen.show_message(f"Reserving seats for PIN {view.pin}…")
        self._reserve(view, documents)

    @work(thread=True, group="reserve", exit_on_error=False, description="reserve seats")
    def _reserve(self, view: Any, documents: list[str]) -> None:
        reservation = self.ctx.petrol.reserve(view.pin)
        free = self.ctx.petrol.free_seats(reservation.id)
        self.post_message(ReservationMade(view, documents, reservation, free))
        self.post_status()

    def on_reservation_made(self, message: ReservationMade) -> None:
        if message.changed:
            if self.reservation is None:
                return  # it ended (expired) while the change was being made
            self.reservation = message.reservation
            for screen in self.screen_stack:
                if isinstance(screen, SeatChoiceScreen):
                    screen.show_reservation(message.reservation, message.free_seats)
            self.check_reservation()
            return
        self._reserving = False
        self.reservation = message.reservation
        self.pin_screen.show_message("")
        view, documents = message.view, message.documents
        self.push_screen(
            SeatChoiceScreen(view, message.reservation, message.free_seats),
            lambda choice: self._seats_done(view, documents, choice),
        )

    def on_seats_change_requested(self, message: SeatsChangeRequested) -> None:
        self._change_seats(message.reservation_id, message.seats)

    @work(thread=True, group="seats", exit_on_error=False, description="change seats")
    def _change_seats(self, reservation_id: str, seats: list[tuple[str, str, str]]) -> None:
        reservation = self.ctx.petrol.change_seats(reservation_id, seats)
        free = self.ctx.petrol.free_seats(reservation.id)
        self.post_message(ReservationMade(None, [], reservation, free, changed=True))
        self.post_status()

    def _seats_done(self, view: Any, documents: list[str], choice: PaymentChoice | None) -> None:
        reservation = self.reservation
        if choice is None or reservation is None:
            self.reservation = None
            if reservation is not None:
                self._cancel_reservation(reservation.id, "cancelled by the attendant")
            self.pin_screen.show_message(
                f"PIN {view.pin}: cancelled, nothing sold — the seats are released"
            )
            self.pin_screen.reset()
            return
        self._selling = True
        self.pin_screen.show_message(f"Selling PIN {view.pin}…")
        self._redeem(view.pin, choice, reservation.id, documents)

    @work(thread=True, group="cancel", exit_on_error=False, description="cancel reservation")
    def _cancel_reservation(self, reservation_id: str, reason: str) -> None:
        self.ctx.petrol.cancel_reservation(reservation_id, reason)
        self.post_status()

    def reservation_remaining_ms(self) -> int | None:
        """Time left on the current reservation by the device clock (None: none)."""
        if self.reservation is None:
            return None
        return self.reservation.remaining_ms(self.ctx.petrol.clock())

    def check_reservation(self) -> None:
        """Refresh the countdown; when it ran out, expire the reservation (in a worker)."""
        remaining = self.reservation_remaining_ms()
        for screen in self.screen_stack:
            for countdown in screen.query(ReservationCountdown):
                countdown.show(remaining)
        if remaining == 0 and not self._expiring and not self._selling:
            self._expiring = True
            self._expire()

    @work(thread=True, group="expire", exit_on_error=False, description="expire reservations")
    def _expire(self) -> None:
        self.post_message(ReservationsExpired(self.ctx.petrol.expire_reservations()))
        self.post_status()

    def on_reservations_expired(self, message: ReservationsExpired) -> None:
        self._expiring = False
        reservation = self.reservation
        if reservation is None or self._selling:
            return
        ended = reservation.id in message.ids  # or a sync round expired it just before
        if not ended and reservation.remaining_ms(self.ctx.petrol.clock()) > 0:
            return
        self.reservation = None
        while self.screen is not self.pin_screen and len(self.screen_stack) > 1:
            self.pop_screen()
        minutes = max((reservation.expires_at - reservation.reserved_at) // 60_000, 1)
        self.pin_screen.reset()
        self.pin_screen.show_message(
            f"PIN {reservation.pin}: the reservation expired (not completed within "
            f"{minutes} min); its seats were released and nothing was sold — enter the PIN "
            "again to restart"
        )

    # -- the sale ------------------------------------------------------------------------------

    @work(thread=True, group="sale", exit_on_error=False, description="sale")
    def _redeem(
        self, pin: str, choice: PaymentChoice, reservation_id: str, documents: list[str]
    ) -> None:
        sale = self.ctx.petrol.redeem(
            pin,
            identity_verified=True,
            cash_cents=choice.cash_cents,
            card_ref=choice.card_ref,
            reservation_id=reservation_id,
            documents=documents,
        )
        self.post_message(SaleCommitted(sale))
        self.post_status()

    def on_sale_committed(self, message: SaleCommitted) -> None:
        self._selling = False
        self.reservation = None
        sale = message.sale
        self.sale = sale
        self.printed = set()
        while self.screen is not self.pin_screen and len(self.screen_stack) > 1:
            self.pop_screen()
        self.pin_screen.reset()
        self.pin_screen.show_message(f"PIN {sale.pin} sold: {len(sale.tickets)} ticket(s)")
        payment = sale.payment
        total = f"Total {format_cents(sale.total_cents)} (VAT {format_cents(sale.vat_cents)})"
        if payment["method"] == "cash":
            text = f"{total} · cash {format_cents(payment['tendered_cents'])}"
            text += f" · change {format_cents(sale.change_cents)}"
        else:
            text = f"{total} · paid by card · POS reference {payment['reference']}"
        result = SaleResultScreen(sale, text)
        self.push_screen(result)
        reference = sale_reference(sale.seq, sale.pin)
        self._documents = [
            ticket_document(
                ticket,
                match=self._match,
                reference=reference,
                kickoff_ms=self._match_info.kickoff_ms,
                tz=self.tz,
            )
            for ticket in sale.tickets
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
                screen.show_print(NO_PRINTER_TEXT)
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
        with self.printer_session(printer):
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

    def print_failed(self, message: WorkerFailed) -> None:
        left = len(self._documents) - len(self.printed)
        screen = self._result_screen()
        if screen is not None:
            screen.show_print(
                f"{left} ticket(s) NOT printed [{message.code or 'print_failed'}]: "
                f"{message.error} — the sale is kept; F5 reprints",
                failed=True,
            )

    # -- emergency reprint ---------------------------------------------------------------------

    def action_reprint_ticket(self) -> None:
        if self.screen is not self.pin_screen or self._reprinting:
            return
        self.push_screen(ReprintScreen(), self._reprint_requested)

    def _reprint_requested(self, request: ReprintRequest | None) -> None:
        if request is None:
            return
        if self.printer is None:
            self.pin_screen.show_message(NO_PRINTER_TEXT + ": nothing reprinted or logged")
            return
        self._reprinting = True
        self._reprint_logged = None
        self.pin_screen.show_message(f"Reprinting ticket {request.barcode}…")
        self._reprint(request)

    @work(thread=True, group="reprint", exit_on_error=False, description="reprint a ticket")
    def _reprint(self, request: ReprintRequest) -> None:
        copy = self.ctx.petrol.record_reprint(
            request.barcode,
            reason=request.reason,
            identity_verified=True,
            document_type=request.document_type,
        )
        self.post_message(ReprintLogged(copy))  # logged before a single byte prints
        document = ticket_document(
            copy.ticket,
            match=self._match,
            reference=sale_reference(copy.sale_seq, copy.pin),
            kickoff_ms=self._match_info.kickoff_ms,
            tz=self.tz,
            reprint=True,
        )
        printer = self.printer
        if printer is None:
            return
        with self.printer_session(printer):
            printer.print_document(document)
        self.post_message(ReprintPrinted(copy.ticket.barcode))
        self.post_status()

    def on_reprint_logged(self, message: ReprintLogged) -> None:
        self._reprint_logged = message.copy

    def on_reprint_printed(self, message: ReprintPrinted) -> None:
        self._reprinting = False
        self.pin_screen.show_message(f"Ticket {message.barcode} reprinted (marked REPRINT)")

    # -- background sync and status ---------------------------------------------------------

    def after_sync(self, report: Any) -> None:
        if report.revoked:  # the sync wiped the holder data: no sale can open a PIN now
            self.ctx.petrol.holders_key = None
            self.call_from_thread(
                self.pin_screen.show_message,
                "This kiosk was revoked by the server: holder data deleted, no more sales. "
                "Call the event office.",
            )
        self.ctx.petrol.expire_reservations()
        self.ctx.petrol.purge_holder_data()

    def status_message(self, *, synced: bool = False, report: Any = None) -> Message:
        """Status and today's totals (worker threads only)."""
        since = day_start_ms(self.ctx.petrol.clock(), self.tz)
        totals = self.ctx.store.petrol_totals(since, since + DAY_MS)
        status = self.ctx.store.status()
        match = self._read_match()
        return PetrolStatusRead(status, totals, synced, match.name, match.kickoff_ms)

    def on_petrol_status_read(self, message: PetrolStatusRead) -> None:
        self.status_arrived(synced=message.synced)
        if message.synced:
            if message.match and message.match != self._match:
                self._match = message.match
                self.pin_screen.show_header(self._header())
            if message.match:
                self._match_info = MatchInfo(message.match, message.kickoff_ms, None)
        self._totals_text = present_totals(message.totals)
        self.show_device_status(message.status)

    def totals_text(self) -> str:
        return self._totals_text

    # -- the one place background failures become visible ------------------------------------

    def failure_text(self, task: str, error: BaseException | None) -> str:
        return present_sale_error(error)

    def task_failed(self, message: WorkerFailed) -> None:
        if message.task == "lookup":
            self._looking_up = False
            self.pin_screen.show_message(message.error)
        elif message.task == "reserve":
            self._reserving = False
            self.pin_screen.reset()
            self.pin_screen.show_message(f"No seats reserved, nothing sold: {message.error}")
        elif message.task == "seats":
            for screen in self.screen_stack:
                if isinstance(screen, SeatChoiceScreen):
                    screen.change_refused(f"Seats not changed: {message.error}")
        elif message.task == "sale":
            self._selling = False
            reservation, self.reservation = self.reservation, None
            if reservation is not None:  # its seats go back at once, not at expiry
                self._cancel_reservation(reservation.id, "sale refused")
            self.pin_screen.reset()
            self.pin_screen.show_message(f"NOT sold: {message.error}")
        elif message.task == "reprint":
            self._reprinting = False
            if self._reprint_logged is None:
                self.pin_screen.show_message(f"Reprint refused, nothing logged: {message.error}")
            else:
                self.pin_screen.show_message(
                    f"Reprint logged but NOT printed: {message.error} — F7 to try again"
                )
        elif message.task == "expire":
            self._expiring = False


def make_petrol_app(ctx: DeviceContext, sync_interval: float = 3.0, **options: Any) -> PetrolApp:
    """Build the petrol app. ``options``: ``tz``, ``cursor_blink``, ``status_interval``,
    ``printer`` (a Printer, not yet opened, or None), ``countdown_interval`` (seconds)."""
    return PetrolApp(ctx, sync_interval, **options)


def run_petrol_app(ctx: DeviceContext, printer_spec: str | None = None, **options: Any) -> None:
    """Run the petrol app in this terminal until the attendant quits (Ctrl+Q).

    Raises DriverError (with ``code``) for a bad ``printer_spec`` before any window opens.
    """
    make_petrol_app(ctx, printer=build_printer(printer_spec), **options).run()
