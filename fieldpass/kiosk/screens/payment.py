"""Payment of the reserved seats' total (VAT included): cash tendered with the change
shown, or card with the POS reference; the countdown of the reservation stays visible."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Static

from fieldpass.kiosk.petrol import cash_change, format_cents
from fieldpass.kiosk.petrol_widgets import ReservationCountdown
from fieldpass.kiosk.screens.kiosk_screen import BackableScreen
from fieldpass.kiosk.status_bar import status_footer

Method = Literal["cash", "card"]


@dataclass(frozen=True)
class PaymentChoice:
    """What ``PetrolService.redeem`` is called with: the cash tendered, or the card's POS
    reference (a card pays the total)."""

    method: Method
    cash_cents: int | None = None
    card_ref: str | None = None


class PaymentScreen(BackableScreen[PaymentChoice | None]):
    """F2 cash, F3 card, F9 confirm the sale; Esc goes back to the seats."""

    CSS_PATH = "payment.tcss"
    AUTO_FOCUS = "#tendered-input"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f2", "method('cash')", "Cash", id="pay-cash"),
        Binding("f3", "method('card')", "Card", id="pay-card"),
        Binding("f9", "confirm", "Confirm sale", id="pay-confirm"),
        Binding("escape", "cancel", "Back", id="pay-cancel"),
    ]

    def __init__(self, view: Any, reservation: Any) -> None:
        super().__init__()
        self.view = view
        self.reservation = reservation  # fieldpass.device.petrol.Reservation
        self.total_cents = int(reservation.total_cents)
        self.method: Method = "cash"

    def compose(self) -> ComposeResult:
        reservation = self.reservation
        yield Static(
            f"PIN {self.view.pin} — {self.view.quantity} ticket(s) — payment",
            id="payment-title",
            markup=False,
        )
        yield ReservationCountdown()
        yield Static(
            f"Total {format_cents(self.total_cents)} "
            f"(VAT {format_cents(reservation.vat_cents)} included)",
            id="total-line",
            markup=False,
        )
        yield Static("", id="method-line", markup=False)
        with Vertical(id="cash-fields"):
            yield Static("Cash tendered")
            yield Input(placeholder="e.g. 100", id="tendered-input", restrict=r"[0-9.]*")
            yield Static("", id="change-line", markup=False)
        with Vertical(id="card-fields"):
            yield Static(
                f"Charge {format_cents(self.total_cents)} on the card terminal, then enter "
                "the POS reference from its slip"
            )
            yield Input(placeholder="POS reference", id="card-ref-input", max_length=64)
        with Horizontal(id="payment-buttons"):
            yield Button("Confirm sale (F9)", id="confirm-button", variant="primary")
            yield Button("Back (Esc)", id="back-button")
        yield from status_footer()

    def on_mount(self) -> None:
        for button in self.query(Button):
            button.can_focus = False
        self.action_method("cash")

    def action_method(self, method: Method) -> None:
        self.method = method
        self.query_one("#cash-fields").display = method == "cash"
        self.query_one("#card-fields").display = method == "card"
        other = "F3 card" if method == "cash" else "F2 cash"
        self.query_one("#method-line", Static).update(f"Paying by {method.upper()} ({other})")
        self.query_one("#tendered-input" if method == "cash" else "#card-ref-input", Input).focus()
        self._update_change()

    @on(Input.Changed)
    def _update_change(self) -> None:
        text, _ = cash_change(self.total_cents, self._value("#tendered-input"))
        self.query_one("#change-line", Static).update(text)

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_confirm()

    def _value(self, selector: str) -> str:
        return self.query_one(selector, Input).value

    def action_confirm(self) -> None:
        if self.method == "cash":
            text, tendered = cash_change(self.total_cents, self._value("#tendered-input"))
            if tendered is None:
                self.show_message(f"Cash not accepted: {text.lower()}")
                return
            self.dismiss(PaymentChoice("cash", cash_cents=tendered))
            return
        reference = self._value("#card-ref-input").strip()
        if not reference or not reference.isprintable():
            self.show_message("A card payment needs the POS reference from the card terminal")
            return
        self.dismiss(PaymentChoice("card", card_ref=reference))

    @on(Button.Pressed, "#confirm-button")
    def confirm_pressed(self) -> None:
        self.action_confirm()
