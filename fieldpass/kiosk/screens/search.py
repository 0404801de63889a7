"""Find a ticket by its holder's name and scan it (for a ticket the scanner cannot read)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from fieldpass.sync.checkin import TicketView

#: Searches the device's tickets by holder name (GateService.search_holder).
HolderSearch = Callable[[str, int], list[TicketView]]


@dataclass
class HoldersFound(Message):
    """A holder search finished; ``query`` tells stale answers from the current one."""

    query: str
    tickets: list[TicketView]


def ticket_label(ticket: TicketView) -> str:
    place = " ".join(
        f"{label} {value}"
        for label, value in (("sec", ticket.sector), ("row", ticket.row), ("seat", ticket.seat))
        if value
    )
    status = "" if ticket.status.upper() == "VALID" else f"  [{ticket.status}]"
    return f"{ticket.holder or '(no name)'}  ·  {place or 'no seat'}  ·  {ticket.barcode}{status}"


class SearchScreen(ModalScreen[str | None]):
    """Dismisses with the chosen ticket's barcode, or None when cancelled."""

    CSS_PATH = "search.tcss"
    AUTO_FOCUS = "#search-input"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="search-cancel"),
        Binding("down", "focus_results", "Results", show=False, id="search-results"),
    ]

    def __init__(self, search: HolderSearch, limit: int = 20) -> None:
        super().__init__()
        self._search = search
        self._limit = limit
        self._tickets: list[TicketView] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="search-dialog"):
            yield Static("Find ticket by holder name", id="search-title")
            yield Input(placeholder="holder name (or barcode)", id="search-input")
            yield OptionList(id="search-results")
            yield Static("Enter: scan the selected ticket · Esc: back", id="search-hint")

    @on(Input.Changed, "#search-input")
    def query_changed(self, event: Input.Changed) -> None:
        self._find(event.value)

    @work(thread=True, group="search", exclusive=True, exit_on_error=False)
    def _find(self, query: str) -> None:
        # A newer query makes this answer stale; dropping it is right (unlike scans).
        tickets = self._search(query, self._limit) if query.strip() else []
        self.post_message(HoldersFound(query, tickets))

    def on_holders_found(self, message: HoldersFound) -> None:
        if message.query != self.query_one("#search-input", Input).value:
            return
        self._tickets = message.tickets
        results = self.query_one("#search-results", OptionList)
        results.clear_options()
        results.add_options(Option(ticket_label(t), id=t.barcode) for t in message.tickets)
        if message.tickets:
            results.highlighted = 0

    @on(Input.Submitted, "#search-input")
    def choose_highlighted(self, event: Input.Submitted) -> None:
        event.stop()
        results = self.query_one("#search-results", OptionList)
        if results.highlighted is not None and self._tickets:
            self.dismiss(self._tickets[results.highlighted].barcode)

    @on(OptionList.OptionSelected, "#search-results")
    def choose_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_focus_results(self) -> None:
        self.query_one("#search-results", OptionList).focus()

    def action_cancel(self) -> None:
        self.dismiss(None)
