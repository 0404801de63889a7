"""The PIN's holders: the attendant checks each one's identity document before payment."""

from __future__ import annotations

from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Button, Checkbox, Footer, Static

from fieldpass.kiosk.petrol_widgets import PetrolStatusBar
from fieldpass.kiosk.screens.payment import PaymentChoice, PaymentScreen


class HoldersScreen(Screen["PaymentChoice | None"]):
    """Dismisses with the payment chosen on the next screen, or None (Esc: back to the PIN).

    Keys 1-9 toggle a holder's confirmation; Continue (F9) stays disabled until every
    holder is confirmed.
    """

    CSS_PATH = "holders.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f9", "continue", "Continue to payment", id="holders-continue"),
        Binding("escape", "cancel", "Back", id="holders-cancel"),
        *(
            Binding(str(n), f"toggle({n - 1})", f"Holder {n}", show=False, id=f"holder-{n}")
            for n in range(1, 10)
        ),
    ]

    def __init__(self, view: Any) -> None:
        super().__init__()
        self.view = view  # fieldpass.kiosk.petrol.PinView

    def compose(self) -> ComposeResult:
        view = self.view
        yield Static(
            f"PIN {view.pin} — {view.quantity} ticket(s)", id="holders-title", markup=False
        )
        yield Static("Check each holder's identity document, then confirm them (keys 1-9)")
        with Vertical(id="holders-list"):
            for index, holder in enumerate(view.holders):
                yield Checkbox(
                    f"{index + 1}. {holder.name} — {holder.document}",
                    id=f"holder-check-{index}",
                )
        with Horizontal(id="holders-buttons"):
            yield Button("Continue (F9)", id="continue-button", variant="primary", disabled=True)
            yield Button("Back (Esc)", id="back-button")
        yield Static("", id="message-line", markup=False)
        yield PetrolStatusBar()
        yield Footer()

    def on_mount(self) -> None:
        for button in self.query(Button):
            button.can_focus = False

    @property
    def all_confirmed(self) -> bool:
        return all(box.value for box in self.query(Checkbox))

    def action_toggle(self, index: int) -> None:
        boxes = list(self.query(Checkbox))
        if 0 <= index < len(boxes):
            boxes[index].toggle()

    @on(Checkbox.Changed)
    def holder_changed(self) -> None:
        self.query_one("#continue-button", Button).disabled = not self.all_confirmed

    @on(Button.Pressed, "#continue-button")
    def continue_pressed(self) -> None:
        self.action_continue()

    @on(Button.Pressed, "#back-button")
    def back_pressed(self) -> None:
        self.action_cancel()

    def action_continue(self) -> None:
        if not self.all_confirmed:
            self.show_message("Confirm every holder's identity document first")
            return
        self.show_message("")
        self.app.push_screen(PaymentScreen(self.view), self._payment_chosen)

    def _payment_chosen(self, choice: PaymentChoice | None) -> None:
        if choice is not None:
            self.dismiss(choice)

    def action_cancel(self) -> None:
        self.dismiss(None)

    def show_message(self, text: str) -> None:
        line = self.query_one("#message-line", Static)
        line.update(text)
        line.set_class(bool(text), "-visible")
