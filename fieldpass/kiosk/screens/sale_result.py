"""A completed sale: the issued tickets, what the printer did, Reprint after a failure."""

from __future__ import annotations

from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Static

from fieldpass.kiosk.petrol_messages import ReprintRequested
from fieldpass.kiosk.screens.kiosk_screen import KioskScreen
from fieldpass.kiosk.status_bar import status_footer


def ticket_line(ticket: Any) -> str:
    return (
        f"{ticket.holder} · sector {ticket.sector} row {ticket.row} seat {ticket.seat}"
        f" · {ticket.barcode}"
    )


class SaleResultScreen(KioskScreen[None]):
    """The sale is already committed here: Esc/Enter only closes the screen."""

    CSS_PATH = "sale_result.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f5", "reprint", "Reprint", id="sale-reprint"),
        Binding("enter", "done", "Next customer", id="sale-done"),
        Binding("escape", "done", "Next customer", show=False, id="sale-done-esc"),
    ]

    def __init__(self, sale: Any, payment_text: str) -> None:
        super().__init__()
        self.sale = sale  # fieldpass.device.petrol.PetrolSale
        self._payment_text = payment_text
        self.can_reprint = False

    def compose(self) -> ComposeResult:
        sale = self.sale
        yield Static(
            f"SOLD — PIN {sale.pin}: {len(sale.tickets)} ticket(s) · sale {sale.seq}/{sale.pin}",
            id="sale-title",
            markup=False,
        )
        yield Static(self._payment_text, id="payment-line", markup=False)
        with VerticalScroll(id="ticket-list"):
            for index, ticket in enumerate(sale.tickets):
                yield Static(ticket_line(ticket), id=f"ticket-{index}", markup=False)
        yield Static("", id="print-line", markup=False)
        with Horizontal(id="sale-buttons"):
            yield Button("Reprint (F5)", id="reprint-button", disabled=True)
            yield Button("Next customer (Enter)", id="done-button", variant="primary")
        yield from status_footer()

    def on_mount(self) -> None:
        for button in self.query(Button):
            button.can_focus = False

    def show_print(self, text: str, *, failed: bool = False) -> None:
        line = self.query_one("#print-line", Static)
        line.update(text)
        line.set_class(failed, "-failed")
        self.can_reprint = failed
        self.query_one("#reprint-button", Button).disabled = not failed

    def action_reprint(self) -> None:
        if self.can_reprint:
            self.show_print("Reprinting…")
            self.app.post_message(ReprintRequested(self.sale.seq))

    @on(Button.Pressed, "#reprint-button")
    def reprint_pressed(self) -> None:
        self.action_reprint()

    @on(Button.Pressed, "#done-button")
    def done_pressed(self) -> None:
        self.action_done()

    def action_done(self) -> None:
        self.dismiss(None)

    @property
    def ticket_lines(self) -> list[str]:
        return [str(s.render()) for s in self.query("#ticket-list Static").results(Static)]
