"""The petrol screens' own widgets: the reservation countdown."""

from __future__ import annotations

from textual.widgets import Static


def present_countdown(remaining_ms: int | None) -> str:
    """The reservation's time left as the attendant reads it."""
    if remaining_ms is None:
        return ""
    if remaining_ms <= 0:
        return "Reservation expired: the seats are released"
    seconds = (remaining_ms + 999) // 1000
    return f"Seats reserved for {seconds // 60}:{seconds % 60:02d} more"


class ReservationCountdown(Static):
    """Time left on the current reservation; the app refreshes it every second (styled in
    global.tcss)."""

    def __init__(self) -> None:
        super().__init__("", id="countdown-line", markup=False)

    def on_mount(self) -> None:
        remaining = getattr(self.app, "reservation_remaining_ms", None)
        self.show(remaining() if callable(remaining) else None)

    def show(self, remaining_ms: int | None) -> None:
        self.update(present_countdown(remaining_ms))
        self.set_class(remaining_ms is not None and remaining_ms < 60_000, "-urgent")
