"""What every full kiosk screen shares: the one-line message and reading a line's text;
and what every step the operator can back out of shares."""

from __future__ import annotations

from typing import TypeVar

from textual import on
from textual.screen import Screen
from textual.widgets import Button, Static

_Result = TypeVar("_Result")


class KioskScreen(Screen[_Result]):
    """A device screen; one that shows messages composes a ``#message-line`` Static
    (styled in global.tcss: hidden while empty)."""

    def show_message(self, text: str) -> None:
        line = self.query_one("#message-line", Static)
        line.update(text)
        line.set_class(bool(text), "-visible")

    def text_of(self, selector: str) -> str:
        """The plain text a Static shows (for tests and accessibility tooling)."""
        return str(self.query_one(selector, Static).render())


class BackableScreen(KioskScreen[_Result]):
    """A step the operator leaves with Esc (the screen binds it to ``cancel``) or the
    ``#back-button``: it dismisses with None, nothing chosen."""

    @on(Button.Pressed, "#back-button")
    def back_pressed(self) -> None:
        self.action_cancel()

    def action_cancel(self) -> None:
        self.dismiss(None)
