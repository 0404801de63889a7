"""Seat labels: row and seat ranges as people type them ("A-C", "1-20", "A-C,F", "1-5,9").

Rows are single letters (A-Z) or numbers (1-999); seats are numbers (1-999). Shared by
the admin CLI (checks before sending), the server (builds the seats) and, later, the
kiosk (orders seats for proposals). Pure.
"""

from __future__ import annotations

import string

MAX_NUMBER = 999
MAX_LABELS = 1000


class RangeError(ValueError):
    """A range that cannot be read; the message says why."""


def _letters(start: str, end: str) -> list[str]:
    first, last = string.ascii_uppercase.index(start), string.ascii_uppercase.index(end)
    if first > last:
        raise RangeError(f"range {start}-{end} runs backwards")
    return list(string.ascii_uppercase[first : last + 1])


def _numbers(start: str, end: str) -> list[str]:
    first, last = int(start), int(end)
    if not (1 <= first <= MAX_NUMBER and 1 <= last <= MAX_NUMBER):
        raise RangeError(f"numbers must be 1 to {MAX_NUMBER}, got {start}-{end}")
    if first > last:
        raise RangeError(f"range {start}-{end} runs backwards")
    return [str(n) for n in range(first, last + 1)]


def _kind(label: str) -> str:
    if len(label) == 1 and label in string.ascii_uppercase:
        return "letter"
    if label.isascii() and label.isdigit() and len(label) <= 3:
        return "number"
    return "bad"


def parse_labels(text: str, *, what: str = "rows", letters: bool = True) -> list[str]:
    """Expand ``"A-C,F"`` / ``"1-20"`` into labels, in order, without duplicates.

    Numbers are returned without leading zeros. ``letters=False`` (seats) accepts numbers
    only. Raises :class:`RangeError` with a message naming ``what``.
    """
    if not isinstance(text, str) or not text.strip():
        raise RangeError(f"{what}: give a range such as {'A-C' if letters else '1-20'}")
    labels: list[str] = []
    for part in text.split(","):
        piece = part.strip().upper()
        start, dash, end = piece.partition("-")
        start, end = start.strip(), (end.strip() if dash else start.strip())
        kinds = {_kind(start), _kind(end)}
        try:
            if kinds == {"letter"} and letters:
                labels.extend(_letters(start, end))
            elif kinds == {"number"}:
                labels.extend(_numbers(start, end))
            else:
                allowed = "letters A-Z or numbers 1-999" if letters else "numbers 1-999"
                raise RangeError(f"{piece[:20]!r} is not a range of {allowed}")
        except RangeError as exc:
            raise RangeError(f"{what}: {exc}") from None
        if len(labels) > MAX_LABELS:
            raise RangeError(f"{what}: more than {MAX_LABELS} labels")
    seen: set[str] = set()
    ordered = []
    for label in labels:
        if label in seen:
            raise RangeError(f"{what}: {label} is given twice")
        seen.add(label)
        ordered.append(label)
    return ordered


def seat_sort_key(row: str, seat: str) -> tuple[int, int, str, int, str]:
    """Natural order of seats: rows by letter or number, seats by number."""
    row_key = (0, int(row), "") if row.isdigit() else (1, 0, row)
    seat_number = int(seat) if seat.isdigit() else 0
    return (*row_key, seat_number, seat)


def seat_label(sector: str, row: str, seat: str) -> str:
    """How a seat is named in messages: ``A/3/12`` (sector/row/seat)."""
    return f"{sector}/{row}/{seat}"
