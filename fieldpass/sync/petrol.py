"""Petrol sale rules both sides agree on: ticket barcodes made offline and seat choice.

Pure: randomness comes from the OS CSPRNG (``secrets``) unless the caller passes bytes,
and seat choice is a plain function over seat labels.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Iterable, Sequence

from fieldpass.sync.seating import seat_sort_key

#: A petrol ticket barcode: "P" + base32 (no padding) of 10 random bytes = 17 characters.
#: 80 random bits: unique across offline kiosks without coordination and unguessable, and
#: within the plain-barcode rules of ``fieldpass.sync.codes`` so gates accept it.
BARCODE_PREFIX = "P"
BARCODE_RANDOM_BYTES = 10

Seat = tuple[str, str, str]  # (sector, row, seat)


def ticket_barcode(random_bytes: bytes | None = None) -> str:
    raw = secrets.token_bytes(BARCODE_RANDOM_BYTES) if random_bytes is None else random_bytes
    if len(raw) != BARCODE_RANDOM_BYTES:
        raise ValueError(f"a petrol barcode takes {BARCODE_RANDOM_BYTES} random bytes")
    return BARCODE_PREFIX + base64.b32encode(raw).decode("ascii").rstrip("=")


def _order(seat: Seat) -> tuple:
    sector, row, number = seat
    return (sector, *seat_sort_key(row, number))


def _adjacent(previous: Seat, seat: Seat) -> bool:
    return (
        previous[0] == seat[0]
        and previous[1] == seat[1]
        and previous[2].isdigit()
        and seat[2].isdigit()
        and int(seat[2]) == int(previous[2]) + 1
    )


def choose_seats(available: Iterable[Seat], quantity: int) -> list[Seat] | None:
    """The seats to sell for ``quantity`` tickets, or None if fewer are available.

    Adjacent seats in one row come first: the first run of consecutive seat numbers long
    enough, in natural order (sector, row, seat), lowest seats of that run. Without such a
    run, the lowest seats in natural order.
    """
    if quantity < 1:
        raise ValueError("quantity must be at least 1")
    seats: Sequence[Seat] = sorted(set(available), key=_order)
    if len(seats) < quantity:
        return None
    run: list[Seat] = []
    for seat in seats:
        run = [*run, seat] if run and _adjacent(run[-1], seat) else [seat]
        if len(run) == quantity:
            return run
    return list(seats[:quantity])
