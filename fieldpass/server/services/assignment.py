"""Whether a pushed event stays inside its device's assignment (event, gate, raffle).

A device acts for its organization only through what an admin approved it for. An event
naming another event (of another organization, or another event of the same one), another
gate or another raffle is kept in the device's chain (nothing is lost and the chain stays
intact) but never applied, and raises one ``wrong_assignment`` conflict for the device's
own organization (DESIGN.md Security: the server acts only on what a device can prove).
"""

from __future__ import annotations

from typing import Any

from fieldpass.server.services.common import dumps
from fieldpass.sync.conflicts import ConflictKind
from fieldpass.sync.events import Event
from fieldpass.sync.payloads import Payload


def assignment_problem(device: Any, payload: Payload) -> str | None:
    """Why ``payload`` names something ``device`` is not assigned to, or None. Pure."""
    event_id = getattr(payload, "event_id", None)
    if event_id is not None and event_id != device.event_id:
        return f"event {event_id[:40]!r} is not this device's event"
    gate_id = getattr(payload, "gate_id", None)
    if gate_id is not None and gate_id != device.gate_id:
        return f"gate {gate_id[:40]!r} is not this device's gate"
    raffle_id = getattr(payload, "raffle_id", None)
    if raffle_id is not None and raffle_id != device.raffle_event_id:
        return f"raffle {raffle_id[:40]!r} is not this device's raffle"
    return None


def wrong_assignment_row(device: Any, event: Event, problem: str, now: int) -> dict[str, Any]:
    """The conflict row for one refused event, filed under the device's own assignment."""
    return {
        "kind": ConflictKind.WRONG_ASSIGNMENT.value,
        "organization_id": device.organization_id,
        "event_id": device.event_id or device.raffle_event_id,
        "subject": device.id,
        "devices": dumps([device.id]),
        "details": dumps(
            {"device_id": device.id, "seq": event.seq, "kind": event.kind, "problem": problem}
        ),
        "dedup_key": f"wrong_assignment:{device.id}:{event.seq}",
        "created_at": now,
    }
