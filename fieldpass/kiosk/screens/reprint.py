"""Emergency reprint of one issued ticket: barcode, a reason, the holder's identity
checked again with its document type. The app logs the reprint, then prints a copy
marked REPRINT."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Checkbox, Input, Select, Static

from fieldpass.device.petrol import DOCUMENT_TYPES, MAX_REASON_LENGTH
from fieldpass.kiosk.screens.kiosk_screen import BackableScreen
from fieldpass.kiosk.status_bar import status_footer


@dataclass(frozen=True)
class ReprintRequest:
    """What ``PetrolService.record_reprint`` is called with."""

    barcode: str
    reason: str
    document_type: str


class ReprintScreen(BackableScreen["ReprintRequest | None"]):
    """F9 asks for the reprint once every field is filled; Esc goes back."""

    CSS_PATH = "reprint.tcss"
    AUTO_FOCUS = "#barcode-input"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f9", "submit", "Log and reprint", id="reprint-submit"),
        Binding("escape", "cancel", "Back", id="reprint-cancel"),
    ]

    def compose(self) -> ComposeResult:
        yield Static("Emergency reprint of an issued ticket", id="reprint-title")
        with Vertical(id="reprint-fields"):
            yield Static("Ticket barcode (scan or type it)")
            yield Input(placeholder="P…", id="barcode-input", max_length=64)
            yield Static("Reason for the reprint")
            yield Input(
                placeholder="e.g. paper jam, ticket lost",
                id="reason-input",
                max_length=MAX_REASON_LENGTH,
            )
            yield Static("Identity document checked again")
            yield Select(
                [(label, code) for code, label in DOCUMENT_TYPES.items()],
                prompt="document type",
                id="document-select",
                type_to_search=False,
            )
            yield Checkbox(
                "I checked the holder's identity against the ticket", id="identity-check"
            )
        with Horizontal(id="reprint-buttons"):
            yield Button("Log and reprint (F9)", id="submit-button", variant="primary")
            yield Button("Back (Esc)", id="back-button")
        yield from status_footer()

    def on_mount(self) -> None:
        for button in self.query(Button):
            button.can_focus = False

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.focus_next()

    def action_submit(self) -> None:
        barcode = self.query_one("#barcode-input", Input).value.strip()
        reason = " ".join(self.query_one("#reason-input", Input).value.split())
        document = self.query_one("#document-select", Select).value
        if not barcode:
            self.show_message("Scan or type the barcode of the ticket to reprint")
        elif not reason:
            self.show_message("A reprint needs a reason")
        elif not isinstance(document, str):
            self.show_message("Choose the identity document you checked")
        elif not self.query_one("#identity-check", Checkbox).value:
            self.show_message("Confirm you checked the holder's identity")
        else:
            self.dismiss(ReprintRequest(barcode, reason, document))

    @on(Button.Pressed, "#submit-button")
    def submit_pressed(self) -> None:
        self.action_submit()
