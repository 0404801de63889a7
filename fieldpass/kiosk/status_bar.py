"""The status bar every petrol and RSU screen carries: the sync line and the role's totals."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Footer, Static


class DeviceStatusBar(Vertical):
    """Shows what the app last read (its ``status_shown``); filled on mount, then by the app.

    Styled in global.tcss.
    """

    def compose(self) -> ComposeResult:
        yield Static("", id="status-bar", markup=False)
        yield Static("", id="totals-line", markup=False)

    def on_mount(self) -> None:
        shown = getattr(self.app, "status_shown", None)
        if shown is not None:
            self.show(*shown)

    def show(self, status_text: str, online: bool, totals_text: str) -> None:
        bar = self.query_one("#status-bar", Static)
        bar.update(status_text)
        bar.set_class(online, "-online")
        bar.set_class(not online, "-offline")
        self.query_one("#totals-line", Static).update(totals_text)


def status_footer() -> ComposeResult:
    """The bottom of every petrol and RSU screen: the message line (hidden while empty),
    the status bar and the key footer."""
    yield Static("", id="message-line", markup=False)
    yield DeviceStatusBar()
    yield Footer()
