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


def present_countdown(remaining_ms: int | None) -> str:
    """The reservation's time left as the attendant reads it."""
    if remaining_ms is None:
        return ""
    if remaining_ms <= 0:
        return "Reservation expired: the seats are released"
    seconds = (remaining_ms + 999) // 1000
    return f"Seats reserved for {seconds // 60}:{seconds % 60:02d} more"


class ReservationCountdown(Static):
    """Time left on the current reservation; the app refreshes it every second."""

    DEFAULT_CSS = """
    ReservationCountdown { height: 1; padding: 0 1; background: $warning-darken-2;
        text-style: bold; }
    ReservationCountdown.-urgent { background: $error-darken-1; }
    """

    def __init__(self) -> None:
        super().__init__("", id="countdown-line", markup=False)

    def on_mount(self) -> None:
        remaining = getattr(self.app, "reservation_remaining_ms", None)
        self.show(remaining() if callable(remaining) else None)

    def show(self, remaining_ms: int | None) -> None:
        self.update(present_countdown(remaining_ms))
        self.set_class(remaining_ms is not None and remaining_ms < 60_000, "-urgent")
