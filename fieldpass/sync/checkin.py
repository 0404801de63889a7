"""Gate check-in rules: may this ticket pass this gate now? One place, both sides import it.

The device decides every scan with ``decide`` from its local store; the server runs the
same function over its merged view at ingest to find what offline gates got wrong
(double entries). Pure: all inputs are values, time is passed in.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ScanResult(StrEnum):
    VALID = "VALID"
    VALID_EXIT = "VALID_EXIT"
    ALREADY_USED = "ALREADY_USED"
    UNKNOWN = "UNKNOWN"
    WRONG_EVENT = "WRONG_EVENT"
    REVOKED = "REVOKED"
    WRONG_GATE = "WRONG_GATE"
    NOT_VALID_NOW = "NOT_VALID_NOW"
    INVALID = "INVALID"

    @property
    def admits(self) -> bool:
        """True for results that let the holder pass (entry or exit)."""
        return self in (ScanResult.VALID, ScanResult.VALID_EXIT)


class ScanMode(StrEnum):
    ENTRY = "entry"
    EXIT = "exit"
    CHECK = "check"  # decide as for entry, record the scan, admit nobody


#: Ticket statuses that keep a ticket out (the rest are admissible).
REVOKED_STATUSES = frozenset({"CANCELLED", "REFUNDED", "REVOKED", "BLACKLISTED", "VOIDED"})


@dataclass(frozen=True)
class TicketView:
    """What a gate knows of one ticket."""

    barcode: str
    event_id: str
    sector: str = ""
    row: str = ""
    seat: str = ""
    holder: str = ""
    status: str = "VALID"
    status_reason: str = ""


@dataclass(frozen=True)
class Presence:
    """Movement history of a ticket as far as this side knows it (times in epoch ms)."""

    inside: bool = False
    first_entry_at: int | None = None
    first_entry_gate: str | None = None  # gate name, for the staff screen
    first_entry_device: str | None = None


@dataclass(frozen=True)
class GateContext:
    """The gate a decision is made at."""

    event_id: str
    gate_id: str | None = None
    sectors: frozenset[str] | None = None  # None: this gate serves every sector
    valid_from: int | None = None  # entry window, epoch ms
    valid_until: int | None = None


@dataclass(frozen=True)
class Decision:
    result: ScanResult
    reason: str
    admits_entry: bool = False  # the scan moves the holder inside
    admits_exit: bool = False  # the scan moves the holder outside


def decide(
    ticket: TicketView | None,
    presence: Presence,
    gate: GateContext,
    mode: ScanMode,
    now: int,
    *,
    ticket_valid_from: int | None = None,
    ticket_valid_until: int | None = None,
) -> Decision:
    """Resolve one scan of a well-formed code to exactly one result.

    Order matters and is part of the protocol: identity (unknown, wrong event), then
    revocation, then place (gate), then time window, then use.
    """
    if ticket is None:
        return Decision(ScanResult.UNKNOWN, "no ticket with this code")
    if ticket.event_id != gate.event_id:
        return Decision(ScanResult.WRONG_EVENT, "ticket is for another event")
    if ticket.status.upper() in REVOKED_STATUSES:
        reason = ticket.status_reason or ticket.status.lower()
        return Decision(ScanResult.REVOKED, f"ticket {reason}")
    if gate.sectors is not None and ticket.sector not in gate.sectors:
        return Decision(ScanResult.WRONG_GATE, f"sector {ticket.sector or '?'} is not served here")
    if mode is ScanMode.EXIT:
        return Decision(ScanResult.VALID_EXIT, "exit", admits_exit=True)
    starts = _latest(gate.valid_from, ticket_valid_from)
    ends = _earliest(gate.valid_until, ticket_valid_until)
    if (starts is not None and now < starts) or (ends is not None and now > ends):
        return Decision(ScanResult.NOT_VALID_NOW, "outside the ticket's validity window")
    if presence.inside:
        return Decision(ScanResult.ALREADY_USED, "ticket already entered")
    return Decision(ScanResult.VALID, "entry", admits_entry=mode is ScanMode.ENTRY)


def _latest(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else max(a, b)


def _earliest(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else min(a, b)
