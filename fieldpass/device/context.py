"""Open everything one device needs (identity, key, store, services) in one call."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fieldpass.device.errors import DeviceError
from fieldpass.device.gate import GateService
from fieldpass.device.home import DeviceHome
from fieldpass.device.identity import DeviceIdentity, load_holders_key, load_key
from fieldpass.device.petrol import PetrolService
from fieldpass.device.raffle import RaffleService
from fieldpass.device.store import Store
from fieldpass.device.sync_client import SyncClient
from fieldpass.sync.clock import Clock, system_clock


@dataclass
class DeviceContext:
    home: DeviceHome
    identity: DeviceIdentity
    key: Ed25519PrivateKey
    store: Store
    gate: GateService
    sync: SyncClient
    petrol: PetrolService
    raffle: RaffleService

    def close(self) -> None:
        self.sync.close()
        self.store.close()

    def __enter__(self) -> DeviceContext:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_device(
    home: DeviceHome,
    *,
    require_approved: bool = True,
    http: httpx.Client | None = None,
    clock: Clock = system_clock,
    debounce_ms: int = 2000,
) -> DeviceContext:
    """Load identity and key, open the store; DeviceError ``not_enrolled`` / ``not_approved``
    / ``revoked`` with a message that says what to do."""
    identity = DeviceIdentity.load(home.identity_path)
    if require_approved and identity.status != "approved":
        if identity.status == "revoked":
            raise DeviceError("revoked", f"device {identity.device_id} has been revoked")
        raise DeviceError(
            "not_approved",
            f"device {identity.device_id} is waiting for approval (code {identity.code}); "
            "ask an admin to approve it, then run: fieldpass device sync",
        )
    key = load_key(home.key_path)
    store = Store.open(home.store_path, clock)
    store.device_id = identity.device_id
    if identity.status == "approved":
        store.ensure_assignment(identity.event_id, identity.gate_id, identity.raffle_id)
    gate = GateService(store, identity, key, clock, debounce_ms)
    sync = SyncClient(store, identity, key, http=http, clock=clock)
    holders_key = None
    if identity.role == "petrol" and home.holders_key_path.exists():
        try:
            holders_key = load_holders_key(home.holders_key_path)
        except DeviceError as exc:
            store.close()
            raise exc
    petrol = PetrolService(store, identity, key, clock, holders_key=holders_key)
    raffle = RaffleService(store, identity, key, clock)
    return DeviceContext(home, identity, key, store, gate, sync, petrol, raffle)
