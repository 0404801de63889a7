"""Gates of one event share their admissions over the LAN while the server is out of reach.

Stadium gates nearly always still share a LAN when the uplink is gone, so each gate sends
its own admitting scans to its peers within about a second: a ticket admitted at gate A
is ALREADY_USED at gate B before either has synced. What travels is self-authenticating:
the sender's own signed, hash-chained scan events (exactly what it pushes to the server),
with the server's certificate of the sender's key. A receiver accepts them only if the
certificate verifies against the server key it pinned, names a gate of its organization,
every event recomputes to its hash and carries the sender's signature, and the scan is
for the receiver's event. Nothing is forwarded to the server: each device still pushes
only its own events, so the server receives every event exactly once, from its maker.

    POST /peer/v1/admissions   PeerBatch -> PeerAck
"""

from __future__ import annotations

from typing import Literal

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from fieldpass.sync import signing
from fieldpass.sync.bounds import Int32, Int64
from fieldpass.sync.events import Event, event_hash, verify_event_signature
from fieldpass.sync.messages import DeviceCertificate, Message, certificate_bytes

PEER_PATH = "/peer/v1/admissions"
PEER_PROTOCOL = 1
#: At most this many events per batch (and the body stays well under MAX_PEER_BODY).
MAX_PEER_EVENTS = 200
MAX_PEER_BODY = 1024 * 1024


class PeerCredential(Message):
    """The server's certificate of the sending device (``DeviceCertificate`` + signature)."""

    device_id: str
    public_key: str
    role: Literal["gate", "rsu", "petrol"]
    organization_id: str
    issued_at: Int64
    signature: str

    def certificate(self) -> DeviceCertificate:
        return DeviceCertificate(
            device_id=self.device_id,
            public_key=self.public_key,
            role=self.role,
            organization_id=self.organization_id,
            issued_at=self.issued_at,
        )


class PeerBatch(Message):
    protocol: Int32
    sender: PeerCredential
    #: the sender's estimate of (server clock - its clock): receivers order its scans by
    #: corrected time like the server does
    clock_offset_ms: Int64
    events: list[Event]


class PeerAck(Message):
    accepted: int  # admissions new to the receiver
    known: int  # events the receiver already held


class PeerRefusal(ValueError):
    """A batch (or an event in it) that must not be believed; the reason in one line."""


def check_sender(
    credential: PeerCredential, server_key: Ed25519PublicKey, organization_id: str
) -> Ed25519PublicKey:
    """The sender's public key, once its certificate is the server's and names a gate of
    ``organization_id``; PeerRefusal otherwise."""
    if not signing.verify(
        server_key, certificate_bytes(credential.certificate()), credential.signature
    ):
        raise PeerRefusal("the sender's certificate is not the server's")
    if credential.role != "gate" or credential.organization_id != organization_id:
        raise PeerRefusal("the sender is not a gate of this organization")
    try:
        return signing.public_key_from_text(credential.public_key)
    except (signing.EncodingError, ValueError):
        raise PeerRefusal("the sender's certificate holds no usable key") from None


def check_event(event: Event, sender_id: str, key: Ed25519PublicKey) -> None:
    """PeerRefusal unless ``event`` is the sender's own and unaltered (hash and signature)."""
    if event.device_id != sender_id:
        raise PeerRefusal(f"event {event.seq} belongs to another device")
    digest = event_hash(
        event.device_id, event.seq, event.kind, event.device_time, event.payload, event.prev_hash
    )
    if digest != event.hash or not verify_event_signature(event, key):
        raise PeerRefusal(f"event {event.seq} is not as its device signed it")
