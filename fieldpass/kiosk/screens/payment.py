"""Payment: cash (amount due and tendered, change shown) or card (POS reference)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Button, Footer, Input, Static

from fieldpass.kiosk.petrol import cash_change
from fieldpass.kiosk.petrol_widgets import PetrolStatusBar

Method = Literal["cash", "card"]


@dataclass(frozen=True)
class PaymentChoice:
    """What ``PetrolService.redeem`` is called with (cash_cents is the amount due)."""

    method: Method
    cash_cents: int | None = None
    card_ref: str | None = None
    change_text: str = ""


class PaymentScreen(Screen[PaymentChoice | None]):
    """F2 cash, F3 card, F9 confirm the sale; Esc goes back to the holders."""

    CSS_PATH = "payment.tcss"
    AUTO_FOCUS = "#due-input"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f2", "method('cash')", "Cash", id="pay-cash"),
        Binding("f3", "method('card')", "Card", id="pay-card"),
        Binding("f9", "confirm", "Confirm sale", id="pay-confirm"),
        Binding("escape", "cancel", "Back", id="pay-cancel"),
    ]

    def __init__(self, view: Any) -> None:
        super().__init__()
        self.view = view
        self.method: Method = "cash"

    def compose(self) -> ComposeResult:
        yield Static(
            f"PIN {self.view.pin} — {self.view.quantity} ticket(s) — payment",
            id="payment-title",
            markup=False,
        )
        yield Static("", id="method-line", markup=False)
        with Vertical(id="cash-fields"):
            yield Static("Amount due")
            yield Input(placeholder="e.g. 50.00", id="due-input", restrict=r"[0-9.]*")
            yield Static("Amount tendered")
            yield Input(placeholder="e.g. 100", id="tendered-input", restrict=r"[0-9.]*")
            yield Static("", id="change-line", markup=False)
        with Vertical(id="card-fields"):
            yield Static("POS reference (from the card terminal's slip)")
            yield Input(placeholder="POS reference", id="card-ref-input", max_length=64)
        with Horizontal(id="payment-buttons"):
            yield Button("Confirm sale (F9)", id="confirm-button", variant="primary")
            yield Button("Back (Esc)", id="back-button")
        yield Static("", id="message-line", markup=False)
        yield PetrolStatusBar()
        yield Footer()

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
        self.query_one("#due-input" if method == "cash" else "#card-ref-input", Input).focus()
        self._update_change()

    @on(Input.Changed)
    def _update_change(self) -> None:
        text, _ = cash_change(self._value("#due-input"), self._value("#tendered-input"))
        self.query_one("#change-line", Static).update(text)

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.input.id == "due-input":
            self.query_one("#tendered-input", Input).focus()
        else:
            self.action_confirm()

    def _value(self, selector: str) -> str:
        return self.query_one(selector, Input).value

    def action_confirm(self) -> None:
        if self.method == "cash":
            text, due = cash_change(self._value("#due-input"), self._value("#tendered-input"))
            if due is None:
                self.show_message(f"Cash not accepted: {text.lower()}")
                return
            self.dismiss(PaymentChoice("cash", cash_cents=due, change_text=text))
            return
        reference = self._value("#card-ref-input").strip()
        if not reference or not reference.isprintable():
            self.show_message("A card payment needs the POS reference from the card terminal")
            return
        self.dismiss(PaymentChoice("card", card_ref=reference))

    @on(Button.Pressed, "#confirm-button")
    def confirm_pressed(self) -> None:
        self.action_confirm()

    @on(Button.Pressed, "#back-button")
    def back_pressed(self) -> None:
        self.action_cancel()

    def action_cancel(self) -> None:
        self.dismiss(None)

    def show_message(self, text: str) -> None:
        line = self.query_one("#message-line", Static)
        line.update(text)
        line.set_class(bool(text), "-visible")

    def text_of(self, selector: str) -> str:
        return str(self.query_one(selector, Static).render())
