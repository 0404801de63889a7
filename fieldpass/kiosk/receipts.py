"""What the gate prints: the end-of-shift report, built as a printer Document.

Pure functions of values (clock reading and time zone passed in), so the layout is tested
without a printer or a terminal; the same Document becomes the on-screen preview
(``render_text``) and the ESC/POS bytes, so the preview is what prints.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any

from fieldpass.drivers.printers import (
    QR,
    Cut,
    Document,
    Feed,
    Heading,
    KeyValue,
    Rule,
    Text,
)


@dataclass(frozen=True)
class ReportDevice:
    """Who prints the report: the device's id (also the QR) and the name admins gave it."""

    device_id: str
    name: str


def format_stamp(ms: int | None, tz: tzinfo | None) -> str:
    """Epoch ms as ``YYYY-MM-DD HH:MM:SS ZONE`` in ``tz`` (None: the device's local zone)."""
    if ms is None:
        return "never"
    moment = datetime.fromtimestamp(ms / 1000, tz=UTC).astimezone(tz)
    return moment.strftime("%Y-%m-%d %H:%M:%S %Z").strip()


def _connection(online: bool | None) -> str:
    if online is None:
        return "not tried yet"
    return "online" if online else "offline"


def shift_report_document(
    info: Any,
    counters: Any,
    status: Any,
    now: int,
    tz: tzinfo | None,
    *,
    device: ReportDevice,
) -> Document:
    """The end-of-shift report of one gate device.

    ``info`` is a GateInfo, ``counters`` GateCounters, ``status`` DeviceStatus, ``now``
    the device clock in epoch ms. No operator name: the report is the device's.
    """
    event_name = (info.event_name if info else "") or "no event yet"
    gate_name = (info.gate_name if info else "") or "no gate assigned"
    unsynced = int(status.unsynced)
    sync_lines: list[Any] = [
        KeyValue("Last sync", format_stamp(status.last_sync_at, tz)),
        KeyValue("Connection", _connection(status.online)),
        KeyValue("Not yet synced", str(unsynced), bold=unsynced > 0),
    ]
    if unsynced:
        sync_lines.append(
            Text(
                f"{unsynced} record(s) are only on this device: keep it powered and let it "
                "sync before packing it away.",
                bold=True,
            )
        )
    else:
        sync_lines.append(Text("Nothing recorded here is waiting to be synced."))
    return Document.of(
        Heading("SHIFT REPORT"),
        Text(event_name, bold=True, align="center"),
        Text(gate_name, align="center"),
        Rule("="),
        KeyValue("Device", device.name or device.device_id),
        KeyValue("Printed", format_stamp(now, tz)),
        Rule(),
        KeyValue("Admitted", str(counters.admitted), bold=True),
        KeyValue("Rejected", str(counters.rejected), bold=True),
        KeyValue("Inside now", str(counters.inside_now), bold=True),
        KeyValue("Scans", str(counters.scans), bold=True),
        Rule(),
        sync_lines,
        Rule(),
        QR(device.device_id),
        Text(f"device {device.device_id}", align="center"),
        Feed(1),
        Cut(),
    )
