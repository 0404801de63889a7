"""Void a whole raffle order: the validation number (scanned or typed) and a reason; F9
first shows the order, F9 again voids it. Its numbers are never sold again."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Static

from fieldpass.device.raffle import MAX_REASON
from fieldpass.kiosk.rsu_messages import VoidLookupRequested
from fieldpass.kiosk.screens.kiosk_screen import BackableScreen
from fieldpass.kiosk.screens.rsu_sale import present_numbers, present_payment
from fieldpass.kiosk.status_bar import status_footer
from fieldpass.sync.validation_numbers import format_validation_number


@dataclass(frozen=True)
class VoidRequest:
    """What ``RaffleService.void`` is called with."""

    validation_number: str
    reason: str


class RsuVoidScreen(BackableScreen["VoidRequest | None"]):
    """Dismisses with the confirmed VoidRequest, or None (Esc)."""

    CSS_PATH = "rsu_void.tcss"
    AUTO_FOCUS = "#validation-input"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f9", "submit", "Show order / void it", id="void-submit"),
        Binding("escape", "cancel", "Back", id="void-cancel"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.order: Any = None  # the RaffleReceipt shown, waiting for the second F9
        self.looking_up = False

    def compose(self) -> ComposeResult:
        yield Static("Void a whole order", id="void-title")
        with Vertical(id="void-fields"):
            yield Static("Validation number (scan or type it)")
            yield Input(
                placeholder="0000-0000-0000-0000-0000", id="validation-input", max_length=40
            )
            yield Static("Reason for the void")
            yield Input(
                placeholder="e.g. customer changed their mind",
                id="reason-input",
                max_length=MAX_REASON,
            )
            yield Static("", id="order-details", markup=False)
        with Horizontal(id="void-buttons"):
            yield Button("Show order (F9)", id="submit-button", variant="error")
            yield Button("Back (Esc)", id="back-button")
        yield from status_footer()

    def on_mount(self) -> None:
        for button in self.query(Button):
            button.can_focus = False

    @on(Input.Changed, "#validation-input")
    def _validation_changed(self) -> None:
        if self.order is not None:
            self.order = None
            self.query_one("#order-details", Static).update("")
            self.query_one("#submit-button", Button).label = "Show order (F9)"

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.input.id == "reason-input":
            self.action_submit()
        else:
            self.focus_next()

    def action_submit(self) -> None:
        if self.looking_up:
            return
        validation = self.query_one("#validation-input", Input).value.strip()
        reason = " ".join(self.query_one("#reason-input", Input).value.split())
        if not validation:
            self.show_message("Scan or type the validation number of the order to void")
        elif not reason:
            self.show_message("A void needs a reason")
        elif self.order is None:
            self.looking_up = True
            self.show_message("Looking up the order…")
            self.app.post_message(VoidLookupRequested(validation))
        else:
            self.dismiss(VoidRequest(self.order.validation_number, reason))

    def show_order(self, receipt: Any, error: str = "") -> None:
        """The order found for the validation number typed (or why there is none)."""
        self.looking_up = False
        if receipt is None:
            self.show_message(f"Nothing to void: {error}")
            return
        details = self.query_one("#order-details", Static)
        details.update(
            f"Order {format_validation_number(receipt.validation_number)}\n"
            f"{present_payment(receipt)}\n"
            f"Numbers ({len(receipt.draw_numbers)}): {present_numbers(receipt.draw_numbers)}"
        )
        if receipt.voided:
            self.show_message(f"This order is already voided ({receipt.void_reason})")
            return
        self.order = receipt
        self.query_one("#submit-button", Button).label = "VOID this order (F9)"
        self.show_message("Check the order, then F9 voids all of it (cannot be undone)")

    @on(Button.Pressed, "#submit-button")
    def submit_pressed(self) -> None:
        self.action_submit()
