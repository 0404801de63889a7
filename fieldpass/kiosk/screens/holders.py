"""The PIN's holders: the attendant checks each one's identity document and records its
type before seats are reserved; the sale cannot continue without a type for everyone."""

from __future__ import annotations

from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Select, Static

from fieldpass.device.petrol import DOCUMENT_TYPES
from fieldpass.kiosk.screens.kiosk_screen import BackableScreen
from fieldpass.kiosk.status_bar import status_footer

_CODES = list(DOCUMENT_TYPES)


class HoldersScreen(BackableScreen["list[str] | None"]):
    """Dismisses with the document type checked per holder (codes of ``DOCUMENT_TYPES``,
    in holder order), or None (Esc: back to the PIN).

    Keys 1-9 step holder N's document type through the list (ID card, passport, ...,
    none); Continue (F9) stays disabled until every holder has one.
    """

    CSS_PATH = "holders.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f9", "continue", "Reserve seats", id="holders-continue"),
        Binding("escape", "cancel", "Back", id="holders-cancel"),
        *(
            Binding(str(n), f"step({n - 1})", f"Holder {n}", show=False, id=f"holder-{n}")
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
        yield Static(
            "Check each holder's identity document and choose its type (keys 1-9 step "
            "through the types)"
        )
        options = [(label, code) for code, label in DOCUMENT_TYPES.items()]
        with Vertical(id="holders-list"):
            for index, holder in enumerate(view.holders):
                with Horizontal(classes="holder-row"):
                    yield Static(
                        f"{index + 1}. {holder.name} — {holder.document}",
                        classes="holder-name",
                        markup=False,
                    )
                    yield Select(
                        options,
                        prompt="document checked?",
                        id=f"holder-document-{index}",
                        type_to_search=False,
                        compact=True,
                    )
        with Horizontal(id="holders-buttons"):
            yield Button(
                "Reserve seats (F9)", id="continue-button", variant="primary", disabled=True
            )
            yield Button("Back (Esc)", id="back-button")
        yield from status_footer()

    def on_mount(self) -> None:
        for button in self.query(Button):
            button.can_focus = False

    @property
    def documents(self) -> list[str | None]:
        """The chosen document type per holder (None: not chosen yet)."""
        return [
            value if isinstance(value := select.value, str) else None
            for select in self.query(Select).results(Select)
        ]

    @property
    def all_confirmed(self) -> bool:
        return all(self.documents)

    def action_step(self, index: int) -> None:
        selects = list(self.query(Select).results(Select))
        if not 0 <= index < len(selects):
            return
        select = selects[index]
        current = select.value
        position = _CODES.index(current) + 1 if isinstance(current, str) else 0
        if position < len(_CODES):
            select.value = _CODES[position]
        else:
            select.clear()

    @on(Select.Changed)
    def holder_changed(self) -> None:
        self.query_one("#continue-button", Button).disabled = not self.all_confirmed
        if self.all_confirmed:
            self.show_message("")

    @on(Button.Pressed, "#continue-button")
    def continue_pressed(self) -> None:
        self.action_continue()

    def action_continue(self) -> None:
        documents = self.documents
        missing = [str(n + 1) for n, code in enumerate(documents) if code is None]
        if missing:
            self.show_message(
                f"Check and choose the identity document of holder(s) {', '.join(missing)} first"
            )
            return
        self.dismiss([code for code in documents if code is not None])
