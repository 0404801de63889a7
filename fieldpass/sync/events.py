"""Outbox events: canonical encoding, the per-device hash chain and signatures.

Every effect a device has is one event. Events of a device form a chain: ``seq`` runs
1, 2, 3… without gaps, each event's ``prev_hash`` is the previous event's ``hash``, and
``hash`` is SHA-256 over the canonical encoding of the event's content. The signature
is Ed25519 over the hash bytes, so a verified signature on the last event of a batch
covers every earlier event through the chain.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

import msgspec
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from fieldpass.sync import signing
from fieldpass.sync.bounds import EpochMs, Int64

GENESIS_HASH = "0" * 64

#: Bounds every server and device enforce on a single event.
MAX_PAYLOAD_BYTES = 16_384
MAX_KIND_LENGTH = 40
MAX_SIGNATURE_LENGTH = 128  # an Ed25519 signature is 86 base64url characters
_HEX_HASH = re.compile(r"[0-9a-f]{64}")


class Event(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One signed outbox event as it travels on the wire."""

    device_id: str
    seq: Int64  # 1, 2, 3... (``check_event_shape`` refuses seq <= 0 as invalid_event)
    kind: str
    device_time: EpochMs  # device clock
    payload: dict[str, Any]
    prev_hash: str
    hash: str
    signature: str


_canonical = msgspec.json.Encoder(order="sorted")


def canonical_bytes(
    device_id: str, seq: int, kind: str, device_time: int, payload: dict[str, Any], prev_hash: str
) -> bytes:
    """The exact bytes that are hashed: sorted-key compact JSON of the event's content."""
    return _canonical.encode(
        {
            "device_id": device_id,
            "seq": seq,
            "kind": kind,
            "device_time": device_time,
            "payload": payload,
            "prev_hash": prev_hash,
        }
    )


def event_hash(
    device_id: str, seq: int, kind: str, device_time: int, payload: dict[str, Any], prev_hash: str
) -> str:
    return hashlib.sha256(
        canonical_bytes(device_id, seq, kind, device_time, payload, prev_hash)
    ).hexdigest()


def build_event(
    key: Ed25519PrivateKey,
    *,
    device_id: str,
    seq: int,
    kind: str,
    device_time: int,
    payload: dict[str, Any],
    prev_hash: str,
) -> Event:
    """Create the next signed event of a device's chain."""
    digest = event_hash(device_id, seq, kind, device_time, payload, prev_hash)
    return Event(
        device_id=device_id,
        seq=seq,
        kind=kind,
        device_time=device_time,
        payload=payload,
        prev_hash=prev_hash,
        hash=digest,
        signature=signing.sign(key, bytes.fromhex(digest)),
    )


@dataclass(frozen=True)
class ChainError(Exception):
    """An event batch that does not form a valid chain. ``code`` is machine-readable."""

    code: str  # bad_hash | broken_chain | wrong_device | gap | bad_signature | invalid_event
    seq: int
    message: str

    def __str__(self) -> str:
        return f"{self.code} at seq {self.seq}: {self.message}"


def check_event_shape(event: Event) -> None:
    """Reject events whose fields are out of protocol bounds."""
    if event.seq < 1:
        raise ChainError("invalid_event", event.seq, "seq starts at 1")
    if not event.kind or len(event.kind) > MAX_KIND_LENGTH:
        raise ChainError(
            "invalid_event", event.seq, f"kind is empty or longer than {MAX_KIND_LENGTH} characters"
        )
    if len(_canonical.encode(event.payload)) > MAX_PAYLOAD_BYTES:
        raise ChainError("invalid_event", event.seq, "payload too large")
    if not _HEX_HASH.fullmatch(event.prev_hash) or not _HEX_HASH.fullmatch(event.hash):
        raise ChainError("invalid_event", event.seq, "hashes are 64 lowercase hex characters")
    if not 0 < len(event.signature) <= MAX_SIGNATURE_LENGTH or not event.signature.isascii():
        raise ChainError("invalid_event", event.seq, "signature is empty, too long or not ASCII")


def verify_chain(
    events: list[Event],
    *,
    device_id: str,
    public_key: Ed25519PublicKey,
    first_prev_hash: str | None,
) -> None:
    """Check a batch: one device, consecutive seq, each hash recomputed, links intact,
    and the signature of the last event (which covers the rest through the chain).

    ``first_prev_hash`` is the hash the server holds for ``events[0].seq - 1``
    (GENESIS_HASH for seq 1), or None when that event is unknown (then the first link
    cannot be checked here and the caller decides).
    """
    previous: Event | None = None
    for event in events:
        check_event_shape(event)
        if event.device_id != device_id:
            raise ChainError("wrong_device", event.seq, "event belongs to another device")
        if previous is not None:
            if event.seq != previous.seq + 1:
                raise ChainError("gap", event.seq, f"expected seq {previous.seq + 1}")
            if event.prev_hash != previous.hash:
                raise ChainError("broken_chain", event.seq, "prev_hash does not match")
        elif first_prev_hash is not None and event.prev_hash != first_prev_hash:
            raise ChainError("broken_chain", event.seq, "prev_hash does not match the server's")
        recomputed = event_hash(
            event.device_id,
            event.seq,
            event.kind,
            event.device_time,
            event.payload,
            event.prev_hash,
        )
        if recomputed != event.hash:
            raise ChainError("bad_hash", event.seq, "hash does not match the content")
        previous = event
    if previous is not None and not signing.verify(
        public_key, bytes.fromhex(previous.hash), previous.signature
    ):
        raise ChainError("bad_signature", previous.seq, "signature does not verify")


def verify_event_signature(event: Event, public_key: Ed25519PublicKey) -> bool:
    """Audit helper: each event carries its own signature too."""
    return signing.verify(public_key, bytes.fromhex(event.hash), event.signature)
