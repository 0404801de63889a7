"""The petrol kiosk's first screen: the attendant types the customer's 5-digit PIN."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, Static

from fieldpass.kiosk.petrol_messages import PinEntered
from fieldpass.kiosk.screens.kiosk_screen import KioskScreen
from fieldpass.kiosk.status_bar import status_footer
from fieldpass.sync.pins import PIN_LENGTH, is_pin


class PinEntryScreen(KioskScreen[None]):
    """Only digits can be typed, at most five; Enter submits a complete PIN."""

    CSS_PATH = "pin_entry.tcss"
    AUTO_FOCUS = "#pin-input"

    def __init__(self, header: str, *, cursor_blink: bool = True) -> None:
        super().__init__()
        self._header = header
        self._cursor_blink = cursor_blink

    def compose(self) -> ComposeResult:
        yield Static(self._header, id="header-line", markup=False)
        with Vertical(id="pin-panel"):
            yield Static("Enter the customer's PIN (5 digits), then Enter", id="pin-prompt")
            pin_input = Input(
                placeholder="•" * PIN_LENGTH,
                id="pin-input",
                restrict=r"[0-9]*",
                max_length=PIN_LENGTH,
            )
            pin_input.cursor_blink = self._cursor_blink
            yield pin_input
        yield from status_footer()

    def on_screen_resume(self) -> None:
        self.query_one("#pin-input", Input).focus()

    @on(Input.Submitted, "#pin-input")
    def pin_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        pin = event.value.strip()
        if not is_pin(pin):
            self.show_message(f"A PIN is exactly {PIN_LENGTH} digits (typed {len(pin)})")
            return
        self.show_message(f"Looking up PIN {pin}…")
        self.app.post_message(PinEntered(pin))

    def reset(self) -> None:
        self.query_one("#pin-input", Input).clear()

    def show_header(self, header: str) -> None:
        self.query_one("#header-line", Static).update(header)

    @property
    def pin_value(self) -> str:
        return self.query_one("#pin-input", Input).value
