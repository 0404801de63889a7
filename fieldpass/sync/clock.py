"""Time helpers: the protocol carries instants as integer milliseconds since the Unix epoch (UTC)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

#: An injectable clock returning epoch milliseconds.
Clock = Callable[[], int]


def system_clock() -> int:
    """Milliseconds since the epoch from the system clock."""
    return time.time_ns() // 1_000_000


def to_iso(ms: int | None) -> str | None:
    """Render epoch milliseconds as an ISO 8601 UTC string (None stays None)."""
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="milliseconds")


def from_iso(text: str) -> int:
    """Parse ISO 8601 (naive means UTC) into epoch milliseconds; raises ValueError."""
    parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp() * 1000)


def estimate_offset(t0: int, t1: int, t2: int, t3: int) -> tuple[int, int]:
    """NTP-style (offset, round_trip) in ms from one request/response exchange.

    t0: device sent, t1: server received, t2: server replied, t3: device received.
    offset is server clock minus device clock: corrected = device_time + offset.
    """
    offset = ((t1 - t0) + (t2 - t3)) // 2
    round_trip = (t3 - t0) - (t2 - t1)
    return offset, max(round_trip, 0)
