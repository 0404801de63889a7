"""A real gate device (identity, key, SQLite store, GateService, SyncClient) for kiosk tests.

Pulled data is seeded through ``Store.apply_changes``; the server URL is unreachable, so
every app under test is offline. The clock is manual: tests move it explicitly.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import msgspec
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


PETROL_DEVICE_ID = "dev-petrol-1"
PETROL_HOLDERS = [
    {
        "full_name": "Ana Horvat",
        "date_of_birth": "1990-05-17",
        "nationality": "HR",
        "document_type": "OIB",
        "document_number": "69435151530",
    },
    {
        "full_name": "John Smith",
        "date_of_birth": "1985-01-02",
        "nationality": "GB",
        "document_type": "PASSPORT",
        "document_number": "AB1234567",
    },
]
#: What each seat of the petrol kiosk's block costs, VAT (25 %) included.
SEAT_PRICE_CENTS = 2125
#: PIN values seeded on the petrol device: (id, pin, quantity, stored status, expires_at)
PETROL_PINS = [
    ("pin-1", "12345", 2, "ACTIVE", START_MS + 3_600_000),
    ("pin-2", "22222", 1, "ACTIVE", START_MS + 3_600_000),
    ("pin-used", "33333", 1, "USED", START_MS + 3_600_000),
    ("pin-expired", "44444", 1, "ACTIVE", START_MS - 1),
    ("pin-cancelled", "55555", 1, "CANCELLED", START_MS + 3_600_000),
]


def petrol_changes(holders_key: bytes) -> list[Change]:
    """The event, the kiosk's PINs (holders sealed for it) and a seat block P/A 1-6."""
    from fieldpass.sync import sealing

    changes = [c for c in seed_changes() if c.entity == "event"]
    seq = len(changes)

    def add(entity: str, key: str, data: dict) -> None:
        nonlocal seq
        seq += 1
        changes.append(Change(seq=seq, entity=entity, key=key, op="upsert", data=data))

    for pin_id, pin, quantity, status, expires_at in PETROL_PINS:
        sealed = sealing.seal_for_device(
            holders_key,
            PETROL_DEVICE_ID,
            pin_id,
            msgspec.json.encode(PETROL_HOLDERS[:quantity]),
        )
        add(
            "petrol_pin",
            pin_id,
            {
                "id": pin_id,
                "pin": pin,
                "event_id": EVENT_ID,
                "quantity": quantity,
                "status": status,
                "expires_at": expires_at,
                "holders": sealed,
            },
        )
    add(
        "seat_block",
        "blk-1",
        {
            "id": "blk-1",
            "event_id": EVENT_ID,
            "sector": "P",
            "status": "ACTIVE",
            "price_cents": SEAT_PRICE_CENTS,
            "vat_percent": "25.00",
        },
    )
    for number in range(1, 7):
        seat_id = f"blk-1-A-{number}"
        add(
            "seat",
            seat_id,
            {
                "id": seat_id,
                "event_id": EVENT_ID,
                "block_id": "blk-1",
                "sector": "P",
                "row": "A",
                "seat": str(number),
                "status": "ALLOCATED",
            },
        )
    return changes


@pytest.fixture
def petrol_device(tmp_path, clock) -> Iterator[DeviceContext]:
    """An approved, offline petrol kiosk with PINs, holders key and a seat block."""
    from fieldpass.device.identity import save_holders_key
    from fieldpass.sync import sealing

    home = DeviceHome.resolve(tmp_path / "petrol-home")
    home.ensure()
    DeviceIdentity(
        device_id=PETROL_DEVICE_ID,
        name="petrol-1",
        role="petrol",
        server_url=UNREACHABLE,
        status="approved",
        token="test-token",
        organization_id="org-1",
        event_id=EVENT_ID,
    ).save(home.identity_path)
    save_key(home.key_path, Ed25519PrivateKey.generate())
    holders_key = sealing.generate_key()
    save_holders_key(home.holders_key_path, holders_key)
    ctx = open_device(home, clock=clock)
    changes = petrol_changes(holders_key)
    ctx.store.apply_changes(changes, make_cursor(EPOCH, changes[-1].seq), EPOCH)
    ctx.sync.timeout = 2.0
    try:
        yield ctx
    finally:
        ctx.close()
