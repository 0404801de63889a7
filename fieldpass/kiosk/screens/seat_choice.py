"""The reserved seats: proposed from the kiosk's block, changeable, held until the
countdown runs out; the attendant continues to payment from here."""

from __future__ import annotations

from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widgets import Button, SelectionList, Static

from fieldpass.kiosk.petrol import format_cents
from fieldpass.kiosk.petrol_messages import SeatsChangeRequested
from fieldpass.kiosk.petrol_widgets import ReservationCountdown
from fieldpass.kiosk.screens.kiosk_screen import BackableScreen
from fieldpass.kiosk.screens.payment import PaymentChoice, PaymentScreen
from fieldpass.kiosk.status_bar import status_footer


def seat_value(seat: Any) -> str:
    return f"{seat.sector}|{seat.row}|{seat.seat}"


def seat_text(seat: Any) -> str:
    return f"sector {seat.sector} row {seat.row} seat {seat.seat}"


def present_reservation(reservation: Any) -> str:
    seats = ", ".join(f"{s.sector}/{s.row}/{s.seat}" for s in reservation.seats)
    return (
        f"Reserved: {seats} · total {format_cents(reservation.total_cents)}"
        f" (VAT {format_cents(reservation.vat_cents)} included)"
    )


class SeatChoiceScreen(BackableScreen["PaymentChoice | None"]):
    """Dismisses with the payment chosen on the next screen, or None (Esc: the
    reservation is cancelled and the seats go back).

    Space toggles a seat in the list; F4 applies a changed selection (exactly the PIN's
    quantity); F9 continues to payment with the reserved seats.
    """

    CSS_PATH = "seat_choice.tcss"
    AUTO_FOCUS = "#seat-list"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f4", "apply", "Apply seat change", id="seats-apply"),
        Binding("f9", "continue", "Continue to payment", id="seats-continue"),
        Binding("escape", "cancel", "Cancel reservation", id="seats-cancel"),
    ]

    def __init__(self, view: Any, reservation: Any, free_seats: list[Any]) -> None:
        super().__init__()
        self.view = view  # fieldpass.kiosk.petrol.PinView
        self.reservation = reservation  # fieldpass.device.petrol.Reservation
        self.free_seats = free_seats
        self.changing = False

    def compose(self) -> ComposeResult:
        yield Static(
            f"PIN {self.view.pin} — {self.view.quantity} ticket(s) — seats",
            id="seats-title",
            markup=False,
        )
        yield ReservationCountdown()
        yield Static(present_reservation(self.reservation), id="reserved-line", markup=False)
        yield Static(
            f"Free seats of this kiosk's block: tick exactly {self.view.quantity}, then F4",
            id="seat-hint",
        )
        yield SelectionList[str](id="seat-list")
        with Horizontal(id="seat-buttons"):
            yield Button("Payment (F9)", id="continue-button", variant="primary")
            yield Button("Apply change (F4)", id="apply-button")
            yield Button("Cancel (Esc)", id="back-button")
        yield from status_footer()

    def on_mount(self) -> None:
        for button in self.query(Button):
            button.can_focus = False
        self._fill()

    def _fill(self) -> None:
        reserved = {seat_value(s) for s in self.reservation.seats}
        listing = self.query_one("#seat-list", SelectionList)
        listing.clear_options()
        listing.add_options(
            [
                (
                    f"{seat_text(s)} — {format_cents(s.price_cents)}",
                    seat_value(s),
                    seat_value(s) in reserved,
                )
                for s in self.free_seats
            ]
        )

    def show_reservation(self, reservation: Any, free_seats: list[Any]) -> None:
        """The app changed the seats: show the new reservation."""
        self.reservation = reservation
        self.free_seats = free_seats
        self.changing = False
        self.query_one("#reserved-line", Static).update(present_reservation(reservation))
        self._fill()
        self.show_message("Seats changed")

    def change_refused(self, text: str) -> None:
        self.changing = False
        self._fill()
        self.show_message(text)

    @property
    def selected(self) -> list[tuple[str, str, str]]:
        values = self.query_one("#seat-list", SelectionList).selected
        return [tuple(value.split("|", 2)) for value in values]  # type: ignore[misc]

    def _selection_changed(self) -> bool:
        return set(self.selected) != {s.key for s in self.reservation.seats}

    def action_apply(self) -> None:
        if self.changing:
            return
        chosen = self.selected
        if len(chosen) != self.view.quantity:
            self.show_message(
                f"Tick exactly {self.view.quantity} seat(s) ({len(chosen)} ticked now)"
            )
            return
        if not self._selection_changed():
            self.show_message("These are the reserved seats already")
            return
        self.changing = True
        self.show_message("Changing the seats…")
        self.app.post_message(SeatsChangeRequested(self.reservation.id, chosen))

    def action_continue(self) -> None:
        if self.changing:
            return
        if self._selection_changed():
            self.show_message("Apply the seat change first (F4), or tick the reserved seats")
            return
        self.show_message("")
        self.app.push_screen(PaymentScreen(self.view, self.reservation), self._payment_chosen)

    def _payment_chosen(self, choice: PaymentChoice | None) -> None:
        if choice is not None:
            self.dismiss(choice)

    @on(Button.Pressed, "#continue-button")
    def continue_pressed(self) -> None:
        self.action_continue()

    @on(Button.Pressed, "#apply-button")
    def apply_pressed(self) -> None:
        self.action_apply()
