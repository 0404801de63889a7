"""Show a receipt as it will print and ask Print / Cancel (or Reprint / Close after a failure).

The dialog sits over the gate screen while the gate keeps working: codes from serial and
camera scanners are decided underneath, and a keyboard-wedge scanner's keystrokes, which
land here instead of in the code field, are handed to the app as a scan rather than
being taken for the Enter that confirms printing.
"""

from __future__ import annotations

from typing import ClassVar

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from fieldpass.drivers.scanners.keyboard import KeystrokeBurst
from fieldpass.kiosk.messages import CodeScanned


class ReceiptPreviewScreen(ModalScreen[bool]):
    """Dismisses with True to print (Enter), False to leave it (Escape)."""

    CSS_PATH = "receipt_preview.tcss"
    AUTO_FOCUS = "#receipt-scroll"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "confirm", "Print", id="receipt-confirm"),
        Binding("escape", "cancel", "Cancel", id="receipt-cancel"),
    ]

    def __init__(
        self,
        preview: str,
        *,
        title: str = "Shift report — check it, then print",
        problem: str = "",
        confirm_label: str = "Print",
        cancel_label: str = "Cancel",
    ) -> None:
        super().__init__()
        self.preview = preview
        self._title = title
        self._problem = problem
        self._confirm_label = confirm_label
        self._cancel_label = cancel_label
        self._typed: list[str] = []
        self._burst = KeystrokeBurst()

    def compose(self) -> ComposeResult:
        with Vertical(id="receipt-dialog"):
            yield Static(self._title, id="receipt-title", markup=False)
            problem = Static(self._problem, id="receipt-problem", markup=False)
            problem.set_class(bool(self._problem), "-visible")
            yield problem
            with VerticalScroll(id="receipt-scroll"):
                yield Static(self.preview.rstrip("\n"), id="receipt-text", markup=False)
            with Horizontal(id="receipt-buttons"):
                yield Button(
                    f"{self._confirm_label} (Enter)", id="confirm-button", variant="primary"
                )
                yield Button(f"{self._cancel_label} (Esc)", id="cancel-button")
            yield Static("Scanning goes on while this is open.", id="receipt-hint")

    def on_mount(self) -> None:
        # Enter always means the confirm action, whichever button the mouse touched last.
        for button in self.query(Button):
            button.can_focus = False

    def on_key(self, event: events.Key) -> None:
        """Keys a wedge scanner types here become a scan, so its Enter does not print."""
        if event.is_printable and event.character:
            self._typed.append(event.character)
            self._burst.key(event.time)
        elif event.key == "enter" and self._typed:
            code, source = "".join(self._typed), self._burst.finish()
            self._typed.clear()
            if code.strip():
                self.app.post_message(CodeScanned(code, source.value))
        else:
            return
        event.stop()
        event.prevent_default()

    @on(Button.Pressed, "#confirm-button")
    def confirm_pressed(self) -> None:
        self.action_confirm()

    @on(Button.Pressed, "#cancel-button")
    def cancel_pressed(self) -> None:
        self.action_cancel()

    def action_confirm(self) -> None:
        self.dismiss(True)

    def action_cancel(self) -> None:
        self.dismiss(False)

    @property
    def title_text(self) -> str:
        return str(self.query_one("#receipt-title", Static).render())

    @property
    def problem_text(self) -> str:
        return str(self.query_one("#receipt-problem", Static).render())
