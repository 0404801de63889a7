"""Find a ticket by its holder's name and scan it (for a ticket the scanner cannot read)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from fieldpass.drivers.scanners.keyboard import SCANNER_MAX_GAP_S, EntrySource, KeystrokeBurst
from fieldpass.kiosk.messages import CodeScanned
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


class SearchInput(Input):
    """The query field; remembers the trailing run of keys that came as one fast burst.

    A wedge scanner keeps typing wherever the focus is: its code lands after whatever the
    supervisor typed, and its Enter would pick the highlighted ticket. The burst tells the
    scanned code apart so it becomes a scan of its own.
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.burst = KeystrokeBurst()
        self._burst_chars: list[str] = []
        self._last_key_at: float | None = None

    def on_key(self, event: events.Key) -> None:
        if not (event.is_printable and event.character):
            if event.key != "enter":
                self.forget_burst()
            return
        if self._last_key_at is not None and event.time - self._last_key_at >= SCANNER_MAX_GAP_S:
            self.forget_burst()  # a pause: whatever came before was typed by a person
        self._last_key_at = event.time
        self.burst.key(event.time)
        self._burst_chars.append(event.character)

    def take_scanned_code(self) -> str | None:
        """The code a scanner typed just now (and remove it from the query), else None."""
        chars = "".join(self._burst_chars)
        scanned = self.burst.classify() is EntrySource.SCANNER and self.value.endswith(chars)
        self.forget_burst()
        if not scanned:
            return None
        self.value = self.value[: len(self.value) - len(chars)]
        return chars

    def forget_burst(self) -> None:
        self.burst.reset()
        self._burst_chars.clear()
        self._last_key_at = None


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
            yield SearchInput(placeholder="holder name (or barcode)", id="search-input")
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
        scanned = self.query_one(SearchInput).take_scanned_code()
        if scanned is not None:
            # A ticket scanned while searching is a scan like any other; the search stays.
            self.app.post_message(CodeScanned(scanned, EntrySource.SCANNER.value))
            return
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
