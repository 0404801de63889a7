"""Keyboard-wedge scanners: the scanner types the code and Enter like a keyboard.

In the app the code input widget *is* the reader, so this scanner has nothing to open;
``KeystrokeBurst`` tells a scanner's burst of keys from a person typing, so the screen can
say how a code was entered.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from fieldpass.drivers.scanners.base import OnCode, OnError, Scanner

#: Scanners send keys a few ms apart; people rarely manage under ~50 ms between keys.
SCANNER_MAX_GAP_S = 0.030
#: Shorter reads are too few keys to tell a burst from a fast typist.
SCANNER_MIN_KEYS = 4


class EntrySource(StrEnum):
    """How a code reached the input."""

    SCANNER = "scanner"
    MANUAL = "manual"


@dataclass
class KeystrokeBurst:
    """Classifies the keystrokes of one code from their arrival times (seconds, any origin).

    Pure: the caller passes the times (e.g. Textual's ``event.time``), so it is testable
    without a clock.
    """

    max_gap: float = SCANNER_MAX_GAP_S
    min_keys: int = SCANNER_MIN_KEYS
    _times: list[float] = field(default_factory=list, repr=False)

    def key(self, at: float) -> None:
        """Record one printable keystroke at time ``at``."""
        if self._times and at < self._times[-1]:
            # A clock stepping back cannot be a burst; start counting again.
            self._times.clear()
        self._times.append(at)

    @property
    def keys(self) -> int:
        return len(self._times)

    def largest_gap(self) -> float | None:
        """The longest pause between two keys so far, or None with fewer than two keys."""
        if len(self._times) < 2:
            return None
        return max(b - a for a, b in zip(self._times, self._times[1:], strict=False))

    def classify(self) -> EntrySource:
        """SCANNER when enough keys all came within ``max_gap`` of each other."""
        gap = self.largest_gap()
        if len(self._times) >= self.min_keys and gap is not None and gap < self.max_gap:
            return EntrySource.SCANNER
        return EntrySource.MANUAL

    def finish(self) -> EntrySource:
        """Classify the code just submitted and start afresh for the next one."""
        source = self.classify()
        self.reset()
        return source

    def reset(self) -> None:
        self._times.clear()


class KeyboardWedgeScanner(Scanner):
    """The scanner is a keyboard: codes arrive through the app's code input, not on_code."""

    spec = "keyboard"
    feeds_input = True

    def __init__(self, on_code: OnCode, on_error: OnError | None = None) -> None:
        super().__init__(on_code, on_error)

    def open(self) -> None:
        self._opened = True

    def close(self) -> None:
        self._opened = False
