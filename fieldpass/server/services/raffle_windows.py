"""When a raffle was selling: the periods it was ``active``, from its transition log.

An RSU that is offline does not learn that sales closed or were suspended until it
pulls, and may go on selling. Such a sale is still stored (the customer paid and holds
a receipt), but its numbers must not enter the draw (GLI-31: nothing sold after the
close takes part). Ingest therefore compares each sale's server-corrected time with the
periods in which the raffle was active and with its sales window.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import msgspec
import sqlalchemy as sa

from fieldpass.server import schema
from fieldpass.sync.clock import to_iso

#: (start, end) in epoch ms; end None = still active.
Window = tuple[int, int | None]


def active_windows(transitions: Iterable[tuple[int, str, str]]) -> list[Window]:
    """The periods between each move into ``active`` and the next move out of it, from
    ``(at, from_state, to_state)`` moves in any order. Pure."""
    windows: list[Window] = []
    start: int | None = None
    for at, from_state, to_state in sorted(transitions, key=lambda move: move[0]):
        if to_state == "active" and start is None:
            start = at
        elif from_state == "active" and to_state != "active" and start is not None:
            windows.append((start, at))
            start = None
    if start is not None:
        windows.append((start, None))
    return windows


def sale_time_problem(
    at: int, windows: list[Window], sales_start: int | None, sales_end: int | None
) -> str | None:
    """Why a sale at corrected time ``at`` may not take part in the draw, or None. Pure."""
    if sales_start is not None and at < sales_start:
        return f"sold at {to_iso(at)}, before sales opened at {to_iso(sales_start)}"
    if sales_end is not None and at >= sales_end:
        return f"sold at {to_iso(at)}, after sales ended at {to_iso(sales_end)}"
    for start, end in windows:
        if start <= at and (end is None or at < end):
            return None
    closed = [end for _, end in windows if end is not None and end <= at]
    if closed:
        return (
            f"sold at {to_iso(at)}, after the raffle stopped selling at {to_iso(max(closed))} "
            "(sales closed or suspended)"
        )
    return f"sold at {to_iso(at)}, while the raffle was not active"


def load_windows(conn: sa.Connection, raffle_id: str) -> list[Window]:
    """The raffle's active periods from its ``transition`` exception rows."""
    x = schema.raffle_exceptions
    moves: list[tuple[int, str, str]] = []
    for at, details in conn.execute(
        sa.select(x.c.at, x.c.details).where(
            x.c.raffle_event_id == raffle_id, x.c.kind == "transition"
        )
    ):
        info: dict[str, Any] = msgspec.json.decode(details) if details else {}
        moves.append((at, str(info.get("from", "")), str(info.get("to", ""))))
    return active_windows(moves)
