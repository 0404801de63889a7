"""The petrol screens' shared status bar: sync line and today's totals."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static


class PetrolStatusBar(Vertical):
    """Shows what the app last read; every petrol screen has one, filled on mount."""

    DEFAULT_CSS = """
    PetrolStatusBar { height: 2; }
    PetrolStatusBar > Static { height: 1; padding: 0 1; }
    PetrolStatusBar #status-bar.-offline { background: $warning-darken-3; }
    PetrolStatusBar #status-bar.-online { background: $success-darken-3; }
    PetrolStatusBar #totals-line { background: $boost; text-style: bold; }
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
