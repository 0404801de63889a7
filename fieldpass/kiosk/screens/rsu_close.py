"""Close sales on this RSU: shows what is not yet uploaded, then F9 syncs, records the
close (device_close with the raffle), syncs again and says whether everything reached
the server. After it the RSU sells nothing more in this raffle."""

from __future__ import annotations

from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Static

from fieldpass.kiosk.rsu_messages import CloseRequested
from fieldpass.kiosk.screens.kiosk_screen import KioskScreen
from fieldpass.kiosk.screens.rsu_sale import present_raffle_totals
from fieldpass.kiosk.status_bar import status_footer


def present_upload(unsynced: int) -> str:
    if unsynced == 0:
        return "Every sale recorded here is uploaded to the server"
    return f"{unsynced} event(s) recorded here are NOT yet uploaded to the server"


def present_closed(message: Any) -> str:
    """The outcome of the close (a SalesClosed message) in the seller's words."""
    closing = message.closing
    verb = "were already closed" if closing.already else "are now closed"
    text = f"Sales {verb} on this RSU: {closing.orders} order(s). It sells no more in this raffle."
    if message.unsynced == 0 and message.error is None:
        return f"{text} Every sale and the close reached the server."
    error = f" ({message.error})" if message.error else ""
    return (
        f"{text} NOT uploaded yet: {message.unsynced} event(s){error} — keep the RSU on and "
        "let it sync when online."
    )


class RsuCloseScreen(KioskScreen[None]):
    """F9 asks the app to close; Esc goes back (also after the close)."""

    CSS_PATH = "rsu_close.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f9", "close_sales", "Close sales", id="close-submit"),
        Binding("escape", "back", "Back", id="close-back"),
    ]

    def __init__(self, raffle_name: str, unsynced: int | None, totals: Any) -> None:
        super().__init__()
        self._raffle_name = raffle_name
        self._unsynced = unsynced
        self._totals = totals
        self.closing = False
        self.closed = False

    def compose(self) -> ComposeResult:
        yield Static(f"Close sales of {self._raffle_name} on this RSU", id="close-title")
        with Vertical(id="close-body"):
            yield Static("", id="upload-line", markup=False)
            yield Static("", id="close-totals", markup=False)
            yield Static(
                "F9 uploads what is waiting, records the close and uploads it. This cannot be "
                "undone: the RSU sells nothing more in this raffle.",
                id="close-warning",
            )
            yield Static("", id="close-result", markup=False)
        with Horizontal(id="close-buttons"):
            yield Button("Close sales (F9)", id="close-button", variant="error")
            yield Button("Back (Esc)", id="back-button")
        yield from status_footer()

    def on_mount(self) -> None:
        for button in self.query(Button):
            button.can_focus = False
        self.show_state(self._unsynced, self._totals)

    def show_state(self, unsynced: int | None, totals: Any) -> None:
        """Refreshed by the app with every status read while the screen is open."""
        if unsynced is not None:
            self.query_one("#upload-line", Static).update(present_upload(unsynced))
        if totals is not None:
            self.query_one("#close-totals", Static).update(present_raffle_totals(totals))

    def action_close_sales(self) -> None:
        if self.closing or self.closed:
            return
        self.closing = True
        self.query_one("#close-button", Button).disabled = True
        self.query_one("#close-result", Static).update("Closing: syncing with the server…")
        self.app.post_message(CloseRequested())

    def show_closed(self, text: str) -> None:
        self.closing = False
        self.closed = True
        result = self.query_one("#close-result", Static)
        result.update(text)
        result.set_class(True, "-done")

    def close_failed(self, text: str) -> None:
        self.closing = False
        self.query_one("#close-button", Button).disabled = False
        self.query_one("#close-result", Static).update(f"NOT closed: {text}")

    @on(Button.Pressed, "#close-button")
    def close_pressed(self) -> None:
        self.action_close_sales()

    @on(Button.Pressed, "#back-button")
    def back_pressed(self) -> None:
        self.action_back()

    def action_back(self) -> None:
        if not self.closing:
            self.dismiss(None)
