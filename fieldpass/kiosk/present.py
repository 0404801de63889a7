"""What the gate screen shows for an outcome, the counters and the sync status.

Pure functions of values (time zone passed in), so wording and colours are tested
without a terminal.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any, Literal

from fieldpass.sync.checkin import ScanMode, ScanResult

Tone = Literal["idle", "ok", "bad", "error"]

#: Longest piece of a scanned code shown on screen (enormous reads are cut).
MAX_SHOWN_CODE = 32

MODE_LABELS: dict[ScanMode, str] = {
    ScanMode.ENTRY: "ENTRY",
    ScanMode.EXIT: "EXIT",
    ScanMode.CHECK: "CHECK ONLY",
}


@dataclass(frozen=True)
class ResultView:
    """The result panel's content for one scan (or the idle prompt)."""

    tone: Tone
    title: str
    reason: str = ""
    holder: str = ""
    place: str = ""
    first_entry: str = ""
    meta: str = ""


IDLE_VIEW = ResultView("idle", "READY", "scan a ticket or type its code and press Enter")


def format_clock(ms: int | None, tz: tzinfo | None) -> str:
    """Epoch ms as HH:MM:SS in ``tz`` (None: the device's local time)."""
    if ms is None:
        return "--:--:--"
    return datetime.fromtimestamp(ms / 1000, tz=tz).strftime("%H:%M:%S")


def shown_code(code: str) -> str:
    """A code cut to a screen-safe length, with control characters made visible."""
    printable = "".join(ch if ch.isprintable() else "?" for ch in code)
    if len(printable) <= MAX_SHOWN_CODE:
        return printable
    return f"{printable[:MAX_SHOWN_CODE]}… ({len(code)} chars)"


def present_outcome(outcome: Any, tz: tzinfo | None, source: str = "") -> ResultView:
    """The panel for a ScanOutcome: green for the results that admit, red for the rest."""
    result = ScanResult(outcome.result)
    mode = ScanMode(outcome.mode)
    title = result.value.replace("_", " ")
    reason = outcome.reason or ""
    if result is ScanResult.VALID and mode is ScanMode.CHECK:
        reason = "check only: valid, nobody admitted"
    first_entry = ""
    if result is ScanResult.ALREADY_USED or (
        outcome.first_entry_at is not None and result is not ScanResult.VALID
    ):
        gate = outcome.first_entry_gate or "unknown gate"
        first_entry = f"first entry {format_clock(outcome.first_entry_at, tz)} at {gate}"
    place = ", ".join(
        f"{label} {value}"
        for label, value in (
            ("Sector", outcome.sector),
            ("Row", outcome.row),
            ("Seat", outcome.seat),
        )
        if value
    )
    meta_parts = [f"code {shown_code(outcome.barcode or outcome.code)}", MODE_LABELS[mode]]
    if source:
        meta_parts.append(source)
    if outcome.repeated:
        title = f"{title} (REPEAT)"
        meta_parts.append("repeat read: already recorded")
    return ResultView(
        tone="ok" if result.admits else "bad",
        title=title,
        reason=reason,
        holder=outcome.holder or "",
        place=place,
        first_entry=first_entry,
        meta=" · ".join(meta_parts),
    )


def present_scan_error(code: str, error: str) -> ResultView:
    """A scan the device failed to decide: never shown as a ticket result."""
    return ResultView(
        "error",
        "SCAN FAILED",
        "not recorded: scan again or call support",
        meta=f"code {shown_code(code)} · {error}",
    )


def present_counters(counters: Any) -> str:
    return (
        f"Admitted {counters.admitted}   Rejected {counters.rejected}   "
        f"Inside now {counters.inside_now}   Scans {counters.scans}"
    )


def present_status(status: Any, tz: tzinfo | None, scanner: str) -> str:
    """The always-visible sync line: online state, unsynced count, last good sync."""
    online = "ONLINE" if status.online else "OFFLINE"
    last = "never" if status.last_sync_at is None else format_clock(status.last_sync_at, tz)
    return f"{online} │ unsynced {status.unsynced} │ last sync {last} │ scanner {scanner}"


def present_header(event_name: str | None, gate_name: str | None) -> str:
    return f"{event_name or 'no event yet'} — {gate_name or 'no gate assigned'}"


def present_mode(mode: ScanMode) -> str:
    return f"MODE: {MODE_LABELS[mode]}   [F2 Entry · F3 Exit · F4 Check · F5 Search]"
