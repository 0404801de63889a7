"""Open everything one device needs (identity, key, store, services) in one call.

The store is checked before anything uses it: the identity records which store it owns
and how far that store's outbox reached, so a store that is missing, emptied, swapped,
rolled back or damaged is refused with what to do (``fieldpass device recover``) instead
of being silently started over, which would answer UNKNOWN at the gate and fork the
device's chain at its next sync.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fieldpass.device.errors import DeviceError
from fieldpass.device.gate import GateService
from fieldpass.device.home import DeviceHome
from fieldpass.device.identity import (
    DeviceIdentity,
    load_holders_key,
    load_key,
    remember_store,
)
from fieldpass.device.petrol import PetrolService
from fieldpass.device.raffle import RaffleService
from fieldpass.device.store import STORE_ID, Store
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
    store = open_store(home, identity, clock)
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


RECOVER_HINT = "run `fieldpass device recover` (it rebuilds the store from the server)"


def open_store(home: DeviceHome, identity: DeviceIdentity, clock: Clock = system_clock) -> Store:
    """The device's store, after checking it is this identity's, whole and not rolled back."""
    path = home.store_path
    if identity.store_id is not None and (not path.exists() or path.stat().st_size == 0):
        raise DeviceError(
            "store_missing",
            f"the store {path} is missing or empty although this device kept one (its outbox "
            f"reached seq {identity.last_outbox_seq}): {RECOVER_HINT}",
        )
    store = Store.open(path, clock)
    try:
        problems = store.quick_check()
        if problems != "ok":
            raise DeviceError(
                "store_damaged", f"the store {path} is damaged ({problems}): {RECOVER_HINT}"
            )
        store_id = store.get_meta(STORE_ID)
        if identity.store_id is None:
            if store_id is None:
                store_id = uuid.uuid4().hex
                store.set_meta(**{STORE_ID: store_id})
            remember_store(home, store_id=store_id, last_outbox_seq=store.last_seq())
        elif store_id != identity.store_id:
            raise DeviceError(
                "store_mismatch", f"the store {path} is not this device's store: {RECOVER_HINT}"
            )
        elif store.last_seq() < identity.last_outbox_seq:
            raise DeviceError(
                "store_rolled_back",
                f"the store {path} ends at outbox seq {store.last_seq()} but this device had "
                f"made {identity.last_outbox_seq} events (an old copy?): {RECOVER_HINT}",
            )
    except BaseException:
        store.close()
        raise
    return store
