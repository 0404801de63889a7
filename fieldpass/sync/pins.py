"""Petrol PIN rules both the server and the kiosk apply: format, status, transitions.

A PIN is five ASCII digits. Its stored status moves ACTIVE -> USED | EXPIRED | CANCELLED
and never back; a PIN still stored ACTIVE whose ``expires_at`` has passed *is* EXPIRED
(:func:`effective_status`), whether or not anything has rewritten the stored value yet.
"""

from __future__ import annotations

import secrets
from typing import Literal

PinStatus = Literal["ACTIVE", "USED", "EXPIRED", "CANCELLED"]

PIN_LENGTH = 5
PIN_STATUSES: tuple[PinStatus, ...] = ("ACTIVE", "USED", "EXPIRED", "CANCELLED")
MIN_QUANTITY = 1
MAX_QUANTITY = 10
#: Allowed moves of the stored status; everything else is refused.
TRANSITIONS: dict[str, frozenset[str]] = {
    "ACTIVE": frozenset({"USED", "EXPIRED", "CANCELLED"}),
    "USED": frozenset(),
    "EXPIRED": frozenset(),
    "CANCELLED": frozenset(),
}


class PinRuleError(ValueError):
    """A refused PIN operation with a machine-readable ``code``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def is_pin(text: str) -> bool:
    """Exactly five ASCII digits (no spaces, no other Unicode digits)."""
    return isinstance(text, str) and len(text) == PIN_LENGTH and text.isascii() and text.isdigit()


def check_pin(text: str) -> str:
    """The PIN if well formed, else a ``invalid_pin`` :class:`PinRuleError`."""
    if not is_pin(text):
        raise PinRuleError(
            "invalid_pin", f"a PIN is exactly {PIN_LENGTH} digits, got {text[:20]!r}"
        )
    return text


def generate_pin() -> str:
    """A uniformly random PIN from the operating system's CSPRNG."""
    return f"{secrets.randbelow(10**PIN_LENGTH):0{PIN_LENGTH}d}"


def check_quantity(quantity: int) -> int:
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        raise PinRuleError("invalid", "quantity must be a whole number")
    if not MIN_QUANTITY <= quantity <= MAX_QUANTITY:
        raise PinRuleError(
            "invalid", f"quantity must be {MIN_QUANTITY} to {MAX_QUANTITY}, got {quantity}"
        )
    return quantity


def effective_status(status: str, expires_at: int, now: int) -> str:
    """The status to report and act on: an ACTIVE PIN past ``expires_at`` is EXPIRED."""
    if status == "ACTIVE" and expires_at <= now:
        return "EXPIRED"
    return status


def check_transition(current: str, target: str) -> None:
    """Refuse a move the state machine does not allow (``invalid_transition``)."""
    if target not in TRANSITIONS.get(current, frozenset()):
        raise PinRuleError(
            "invalid_transition",
            f"a PIN that is {current} cannot become {target}"
            + ("" if current == "ACTIVE" else f" (only an ACTIVE PIN can; this one is {current})"),
        )
