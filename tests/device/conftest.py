"""Fixtures for device-core tests: a fake clock, a seeded store and a gate service."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fieldpass.device.gate import GateService
from fieldpass.device.identity import DeviceIdentity
from fieldpass.device.store import Store
from fieldpass.sync import signing
from fieldpass.sync.messages import Change

T0 = 1_800_000_000_000  # a fixed "now", epoch ms
EVENT_ID = "ev-1"
OTHER_EVENT_ID = "ev-2"


class FakeClock:
    """Injectable clock returning epoch ms; tests move it explicitly."""

    def __init__(self, now: int = T0) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now

    def advance(self, ms: int) -> None:
        self.now += ms


def ticket_change(
    seq: int,
    barcode: str,
    *,
    event_id: str = EVENT_ID,
    sector: str = "A",
    holder: str = "",
    status: str = "VALID",
) -> Change:
    return Change(
        seq=seq,
        entity="ticket",
        key=barcode,
        op="upsert",
        data={
            "barcode": barcode,
            "event_id": event_id,
            "sector": sector,
            "row": "3",
            "seat": str(seq),
            "holder": holder or f"Holder {barcode}",
            "status": status,
            "status_reason": "",
        },
    )


def tombstone(seq: int, barcode: str, status: str = "REFUNDED", reason: str = "refunded") -> Change:
    return Change(
        seq=seq,
        entity="ticket",
        key=barcode,
        op="tombstone",
        data={"barcode": barcode, "event_id": EVENT_ID, "status": status, "status_reason": reason},
    )


def admission_change(
    seq: int,
    key: str,
    barcode: str,
    direction: str,
    at: int,
    gate_name: str = "South",
    device_id: str = "dev-other",
) -> Change:
    return Change(
        seq=seq,
        entity="admission",
        key=key,
        op="upsert",
        data={
            "barcode": barcode,
            "event_id": EVENT_ID,
            "direction": direction,
            "at": at,
            "device_id": device_id,
            "gate_id": "gate-south",
            "gate_name": gate_name,
        },
    )


@dataclass
class Seeded:
    store: Store
    clock: FakeClock
    device_key: Ed25519PrivateKey
    ticket_key: Ed25519PrivateKey
    other_ticket_key: Ed25519PrivateKey
    identity: DeviceIdentity

    def gate(self, *, gate_id: str | None = "gate-north", debounce_ms: int = 2000) -> GateService:
        identity = DeviceIdentity(**{**self.identity.__dict__, "gate_id": gate_id})
        return GateService(self.store, identity, self.device_key, self.clock, debounce_ms)


def seed_changes(ticket_key: Ed25519PrivateKey) -> list[Change]:
    changes = [
        Change(
            seq=1,
            entity="event",
            key=EVENT_ID,
            op="upsert",
            data={
                "id": EVENT_ID,
                "organization_id": "org-1",
                "name": "Cup final",
                "venue": "Maksimir",
                "starts_at": T0 + 3_600_000,
                "ends_at": T0 + 10_800_000,
                "valid_from": T0 - 3_600_000,
                "valid_until": T0 + 10_800_000,
                "ticket_public_key": signing.public_key_text(ticket_key),
                "status": "ACTIVE",
            },
        ),
        Change(
            seq=2,
            entity="gate",
            key="gate-north",
            op="upsert",
            data={"id": "gate-north", "event_id": EVENT_ID, "name": "North", "sectors": None},
        ),
        Change(
            seq=3,
            entity="gate",
            key="gate-west",
            op="upsert",
            data={"id": "gate-west", "event_id": EVENT_ID, "name": "West", "sectors": ["W"]},
        ),
    ]
    changes += [ticket_change(10 + i, f"TKT{i:05d}", holder=f"Ana Horvat {i}") for i in range(50)]
    changes.append(ticket_change(100, "OTHER00001", event_id=OTHER_EVENT_ID))
    changes.append(ticket_change(101, "BRUNO00001", holder="Bruno Kovač"))
    return changes


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def seeded(tmp_path, clock) -> Seeded:
    store = Store.open(tmp_path / "store.sqlite", clock)
    ticket_key = signing.generate_private_key()
    store.apply_changes(seed_changes(ticket_key), "epoch-1:101", "epoch-1")
    device_key = signing.generate_private_key()
    identity = DeviceIdentity(
        device_id="dev-1",
        name="North 1",
        role="gate",
        server_url="http://testserver",
        status="approved",
        token="tok",
        organization_id="org-1",
        event_id=EVENT_ID,
        gate_id="gate-north",
    )
    yield Seeded(store, clock, device_key, ticket_key, signing.generate_private_key(), identity)
    store.close()
