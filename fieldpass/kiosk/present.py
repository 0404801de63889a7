"""What the gate screen shows for an outcome, the counters and the sync status.

Pure functions of values (time zone passed in), so wording and colours are tested
without a terminal.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any, Literal

from fieldpass.drivers.printers.base import PrinterStatus
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


#: What the status bar says after a sync that failed for a reason staff must report.
SYNC_TROUBLE = {
    "unverified_answer": "SERVER ANSWER REFUSED (not signed by the server)",
    "store_damaged": "STORE DAMAGED: run fieldpass device recover",
    "fork": "OUTBOX FORK: call support",
    "device_revoked": "DEVICE REVOKED",
}


def present_status(
    status: Any,
    tz: tzinfo | None,
    scanner: str,
    printer: str | None = None,
    peers: tuple[int, int] | None = None,
) -> str:
    """The always-visible sync line: online state, unsynced count, last good sync.

    ``scanner`` is left out when empty (the petrol kiosk has none); ``printer`` (from
    ``present_printer``) is appended only when a printer is configured; ``peers`` (reachable,
    known) only when the gate exchanges admissions over the LAN.
    """
    online = "ONLINE" if status.online else "OFFLINE"
    trouble = SYNC_TROUBLE.get(getattr(status, "last_error_code", None) or "")
    if trouble:
        online = f"{online} │ {trouble}"
    last = "never" if status.last_sync_at is None else format_clock(status.last_sync_at, tz)
    line = f"{online} │ unsynced {status.unsynced} │ last sync {last}"
    if peers is not None:
        line += f" │ LAN peers {peers[0]}/{peers[1]}"
    if scanner:
        line += f" │ scanner {scanner}"
    return f"{line} │ {printer}" if printer else line


def present_header(event_name: str | None, gate_name: str | None) -> str:
    return f"{event_name or 'no event yet'} — {gate_name or 'no gate assigned'}"


def present_mode(mode: ScanMode) -> str:
    return f"MODE: {MODE_LABELS[mode]}   [F2 Entry · F3 Exit · F4 Check · F5 Search]"


#: Printer states after which a job that was handed over cannot have printed (or may not).
UNCONFIRMED = frozenset({PrinterStatus.PAPER_OUT, PrinterStatus.COVER_OPEN, PrinterStatus.OFFLINE})

_STATUS_WORDS: dict[PrinterStatus, str] = {
    PrinterStatus.OK: "ok",
    PrinterStatus.PAPER_LOW: "PAPER LOW",
    PrinterStatus.PAPER_OUT: "PAPER OUT",
    PrinterStatus.COVER_OPEN: "COVER OPEN",
    PrinterStatus.OFFLINE: "OFFLINE",
    PrinterStatus.UNKNOWN: "status unknown",
}


def present_printer(state: PrinterStatus | None, *, printing: bool = False) -> str:
    """The printer's part of the status bar: problems in capitals, a print in progress."""
    if printing:
        return "printer printing…"
    if state is None:
        return "printer connecting…"
    return f"printer {_STATUS_WORDS[state]}"


def printer_needs_attention(state: PrinterStatus | None) -> bool:
    """Whether the status bar should draw attention to the printer."""
    return state in UNCONFIRMED or state is PrinterStatus.PAPER_LOW


def print_outcome_text(state: PrinterStatus, bytes_sent: int, notes: tuple[str, ...] = ()) -> str:
    """The message line after a job was handed to the printer, by what it says afterwards."""
    if state in UNCONFIRMED:
        text = (
            f"Shift report NOT confirmed: the printer reports {_STATUS_WORDS[state].lower()} — "
            "check the printout; F6 prints it again"
        )
    elif state is PrinterStatus.PAPER_LOW:
        text = "Shift report printed — paper is low, change the roll soon"
    elif state is PrinterStatus.OK:
        text = "Shift report printed"
    else:
        text = (
            f"Shift report sent to the printer ({bytes_sent} bytes); "
            "this printer cannot confirm it printed"
        )
    if notes:
        text += f" (note: {notes[0]})"
    return text


def print_failure_text(code: str | None, error: str) -> str:
    """The message line for a print that failed: what happened, and that nothing is lost."""
    return f"Shift report NOT printed [{code or 'print_failed'}]: {error} — F6 prints it again"


_PROBLEM_HINTS: dict[PrinterStatus, str] = {
    PrinterStatus.PAPER_LOW: "Printer: paper low — have a new roll ready",
    PrinterStatus.PAPER_OUT: "Printer: paper out — load a new roll",
    PrinterStatus.COVER_OPEN: "Printer: cover open — close it",
    PrinterStatus.OFFLINE: "Printer offline — check its power and cable",
}


def present_printer_change(
    state: PrinterStatus, previous: PrinterStatus | None, detail: str = ""
) -> str:
    """The message line when the printer's state changes ('' when there is nothing to say)."""
    if state in _PROBLEM_HINTS:
        hint = _PROBLEM_HINTS[state]
        return f"{hint} ({detail})" if detail else hint
    if state is PrinterStatus.OK and previous in _PROBLEM_HINTS:
        return "Printer ok again"
    return ""


def one_line_error(error: BaseException | None) -> str:
    """An exception as one short line for staff screens (never a traceback)."""
    if error is None:
        return "unknown error"
    lines = str(error).strip().splitlines()
    first = lines[0] if lines else ""
    if isinstance(getattr(error, "code", None), str) and first:
        return first[:120]  # an expected failure with a code already says what happened
    return f"{type(error).__name__}: {first}"[:120] if first else type(error).__name__
