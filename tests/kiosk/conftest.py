"""A real gate device (identity, key, SQLite store, GateService, SyncClient) for kiosk tests.

Pulled data is seeded through ``Store.apply_changes``; the server URL is unreachable, so
every app under test is offline. The clock is manual: tests move it explicitly.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fieldpass.device.context import DeviceContext, open_device
from fieldpass.device.home import DeviceHome
from fieldpass.device.identity import DeviceIdentity, save_key
from fieldpass.sync.messages import Change, make_cursor

EVENT_ID = "ev-derby"
GATE_ID = "gate-north"
OTHER_GATE_ID = "gate-south"
DEVICE_ID = "dev-gate-1"
EPOCH = "epoch-1"
#: 2026-05-01 18:00:00 UTC
START_MS = int(datetime(2026, 5, 1, 18, 0, 0, tzinfo=UTC).timestamp() * 1000)
#: When another gate admitted T-0009 (18:00:00 minus 15 min 3 s, i.e. 17:44:57 UTC).
OTHER_GATE_ENTRY_MS = START_MS - 903_000
UNREACHABLE = "http://127.0.0.1:9"

TICKETS = [
    # barcode, sector, row, seat, holder
    ("T-0001", "A", "3", "12", "Ana Horvat"),
    ("T-0002", "A", "3", "13", "Ivan Kovač"),
    ("T-0003", "B", "1", "1", "Marko Babić"),
    ("T-0004", "C", "7", "2", "Petra Novak"),  # sector C: not served by the north gate
    ("T-0009", "B", "2", "5", "Luka Marić"),  # already inside, admitted at the south gate
]


@dataclass
class ManualClock:
    """Epoch-ms clock that only moves when a test says so (deterministic, thread-safe reads)."""

    now: int = START_MS

    def __call__(self) -> int:
        return self.now

    def advance(self, ms: int) -> None:
        self.now += ms


def seed_changes() -> list[Change]:
    changes = [
        Change(
            seq=1,
            entity="event",
            key=EVENT_ID,
            op="upsert",
            data={
                "id": EVENT_ID,
                "organization_id": "org-1",
                "name": "Derby Night",
                "venue": "Stadion Maksimir",
                "starts_at": START_MS + 3_600_000,
                "ends_at": START_MS + 4 * 3_600_000,
                "valid_from": None,
                "valid_until": None,
                "ticket_public_key": None,
                "status": "active",
            },
        ),
        Change(
            seq=2,
            entity="gate",
            key=GATE_ID,
            op="upsert",
            data={"id": GATE_ID, "event_id": EVENT_ID, "name": "North Gate", "sectors": ["A", "B"]},
        ),
    ]
    seq = 3
    for barcode, sector, row, seat, holder in TICKETS:
        changes.append(
            Change(
                seq=seq,
                entity="ticket",
                key=barcode,
                op="upsert",
                data={
                    "barcode": barcode,
                    "event_id": EVENT_ID,
                    "sector": sector,
                    "row": row,
                    "seat": seat,
                    "holder": holder,
                    "status": "VALID",
                    "status_reason": "",
                },
            )
        )
        seq += 1
    changes.append(
        Change(
            seq=seq,
            entity="ticket",
            key="T-0666",
            op="tombstone",
            data={
                "barcode": "T-0666",
                "event_id": EVENT_ID,
                "status": "REFUNDED",
                "status_reason": "refunded",
            },
        )
    )
    changes.append(
        Change(
            seq=seq + 1,
            entity="admission",
            key="dev-gate-2:1",
            op="upsert",
            data={
                "barcode": "T-0009",
                "event_id": EVENT_ID,
                "direction": "in",
                "at": OTHER_GATE_ENTRY_MS,
                "device_id": "dev-gate-2",
                "gate_id": OTHER_GATE_ID,
                "gate_name": "South Gate",
            },
        )
    )
    return changes


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def device(tmp_path, clock) -> Iterator[DeviceContext]:
    """An approved, offline gate device with the seeded event in its store."""
    home = DeviceHome.resolve(tmp_path / "home")
    home.ensure()
    DeviceIdentity(
        device_id=DEVICE_ID,
        name="north-1",
        role="gate",
        server_url=UNREACHABLE,
        status="approved",
        token="test-token",
        organization_id="org-1",
        event_id=EVENT_ID,
        gate_id=GATE_ID,
    ).save(home.identity_path)
    save_key(home.key_path, Ed25519PrivateKey.generate())
    ctx = open_device(home, clock=clock)
    changes = seed_changes()
    ctx.store.apply_changes(changes, make_cursor(EPOCH, changes[-1].seq), EPOCH)
    ctx.sync.timeout = 2.0
    try:
        yield ctx
    finally:
        ctx.close()


@pytest.fixture
def anyio_backend() -> str:
    """Pilot tests run on asyncio through anyio's pytest plugin (no extra package needed)."""
    return "asyncio"
