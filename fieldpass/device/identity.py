"""The device's identity and assignment (device.json) and its private key (device.key)."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fieldpass.device.errors import DeviceError
from fieldpass.device.home import DeviceHome
from fieldpass.sync import sealing, signing

STATUSES = ("pending", "approved", "revoked")


@dataclass
class DeviceIdentity:
    """What the server told this device about itself, plus where the server is."""

    device_id: str
    name: str
    role: str
    server_url: str
    status: str = "pending"  # pending | approved | revoked
    token: str | None = None
    organization_id: str | None = None
    event_id: str | None = None
    gate_id: str | None = None
    certificate: str | None = None  # the server's signature over this DeviceCertificate
    certificate_issued_at: int | None = None
    server_public_key: str | None = None
    code: str | None = None  # enrollment code the admin approves
    public_key: str | None = None
    raffle_id: str | None = None  # an RSU's raffle (from the approval)
    #: how the server key was pinned: "pin" (fingerprint given at enrollment) or "first-use"
    server_key_source: str | None = None
    server_ca: bool = False  # TLS: trust only the CA file kept in the home (server-ca.pem)
    #: the store this identity belongs to (also in the store's meta): a missing, emptied or
    #: swapped store is refused instead of silently starting over
    store_id: str | None = None
    #: the highest outbox seq known at the last sync: a store found behind it was rolled back
    last_outbox_seq: int = 0

    @classmethod
    def load(cls, path: Path) -> DeviceIdentity:
        """Read device.json; DeviceError ``not_enrolled`` / ``bad_identity``."""
        try:
            raw = path.read_text(encoding="utf-8")
        except FileNotFoundError as exc:
            raise DeviceError(
                "not_enrolled", "this device is not enrolled (run: fieldpass device enroll)"
            ) from exc
        try:
            data: Any = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise DeviceError("bad_identity", f"{path} is not valid JSON") from exc
        if not isinstance(data, dict):
            raise DeviceError("bad_identity", f"{path} is not a JSON object")
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        missing = [n for n in ("device_id", "name", "role", "server_url") if n not in values]
        if missing:
            raise DeviceError("bad_identity", f"{path} lacks {', '.join(missing)}")
        identity = cls(**values)
        if identity.status not in STATUSES:
            raise DeviceError("bad_identity", f"{path} has unknown status {identity.status!r}")
        return identity

    def save(self, path: Path) -> None:
        """Atomic write (temp file, fsync, rename): a crash leaves the old or the new file."""
        atomic_write(path, json.dumps(asdict(self), indent=2, sort_keys=True).encode(), 0o600)


def atomic_write(path: Path, data: bytes, mode: int) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.chmod(tmp, mode)
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def save_key(path: Path, key: Ed25519PrivateKey) -> None:
    """Write the private key readable by the owner only (0600)."""
    atomic_write(path, (signing.private_key_to_text(key) + "\n").encode("ascii"), 0o600)


def load_key(path: Path) -> Ed25519PrivateKey:
    try:
        text = path.read_text(encoding="ascii").strip()
    except FileNotFoundError as exc:
        raise DeviceError("not_enrolled", f"device key {path} is missing") from exc
    except UnicodeDecodeError as exc:
        raise DeviceError("bad_key", f"device key {path} is not a key file") from exc
    try:
        return signing.private_key_from_text(text)
    except (signing.EncodingError, ValueError) as exc:
        raise DeviceError("bad_key", f"device key {path} is not a valid Ed25519 key") from exc


def save_holders_key(path: Path, key: bytes) -> None:
    """Write the key opening PIN holders sealed for this device (owner-only, 0600).

    It lives in its own file next to device.key, never in the store: a copied store file
    holds ciphertext only.
    """
    atomic_write(path, (sealing.key_to_text(key) + "\n").encode("ascii"), 0o600)


def load_holders_key(path: Path) -> bytes:
    """The holders key; DeviceError ``no_holders_key`` / ``bad_key``."""
    try:
        text = path.read_text(encoding="ascii")
    except FileNotFoundError as exc:
        raise DeviceError(
            "no_holders_key",
            f"holders key {path} is missing (run: fieldpass device sync once the device "
            "is approved as a petrol kiosk)",
        ) from exc
    except UnicodeDecodeError as exc:
        raise DeviceError("bad_key", f"holders key {path} is not a key file") from exc
    try:
        return sealing.key_from_text(text)
    except sealing.SealError as exc:
        raise DeviceError("bad_key", f"holders key {path} is not a valid key") from exc


def remember_store(
    home: DeviceHome, *, store_id: str | None = None, last_outbox_seq: int | None = None
) -> None:
    """Record in device.json which store this device owns and how far its outbox reached
    (re-read first: another process may have changed the file, e.g. a new token)."""
    identity = DeviceIdentity.load(home.identity_path)
    changed = replace(
        identity,
        store_id=identity.store_id if store_id is None else store_id,
        last_outbox_seq=max(identity.last_outbox_seq, last_outbox_seq or 0)
        if store_id is None
        else (last_outbox_seq or 0),
    )
    if changed != identity:
        changed.save(home.identity_path)
