"""Wire messages of the device <-> server protocol (msgspec Structs, JSON on the wire).

Endpoints (all JSON; device calls carry ``Authorization: Bearer <device token>``
except enrollment; every request body carries ``protocol`` and ``schema``):

POST /v1/enroll                 EnrollRequest          -> EnrollResponse          (201)
POST /v1/enroll/challenge       EnrollChallengeRequest -> EnrollChallengeResponse (200)
POST /v1/enroll/status          EnrollStatusRequest    -> EnrollStatusResponse    (200)
POST /v1/sync/push              PushRequest            -> PushResponse            (200)
GET  /v1/sync/pull?cursor=C&limit=N&protocol=P&schema=S
                                                       -> PullResponse            (200)
GET  /v1/sync/events?after=N&limit=M&protocol=P        -> OwnEventsResponse       (200)
Errors everywhere: a Problem body with the HTTP status given by ``PROBLEM_STATUS``.

Every answer to a request carrying a nonce is signed with the server's key
(``fieldpass.sync.answers``); devices always send one and refuse any answer that does not
verify against the key they pinned at enrollment.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from fieldpass.sync.bounds import Count, EpochMs, Int32
from fieldpass.sync.events import Event

Role = Literal["gate", "rsu", "petrol"]


class Message(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=False):
    """Base of every request/response: unknown fields are an error, not silently dropped."""


class Problem(Message):
    """Every error answer. ``code`` is machine-readable; ``message`` is for people."""

    code: str
    message: str
    expected_seq: int | None = None  # for ``gap``: the seq the server expects next
    seq: int | None = None  # the seq the problem is about (fork, bad_hash, ...)


#: HTTP status for each problem code (the server maps, the client interprets).
PROBLEM_STATUS: dict[str, int] = {
    "invalid": 400,
    "bad_json": 400,
    "bad_hash": 400,
    "broken_chain": 400,
    "invalid_event": 400,
    "unauthorized": 401,
    "bad_signature": 401,
    "device_revoked": 403,
    "forbidden": 403,
    "not_found": 404,
    "gap": 409,
    "fork": 409,
    "conflict": 409,
    "wrong_device": 403,
    "too_large": 413,
    "upgrade_required": 426,
    "rate_limited": 429,
    "request_timeout": 408,  # the request body did not arrive in time
    # petrol PINs and seat blocks (admin API)
    "invalid_pin": 400,
    "invalid_holder": 400,
    "invalid_transition": 409,
    "pin_taken": 409,
    "pin_space_full": 409,
    "seat_conflict": 409,
    "device_not_usable": 409,
    # raffles (admin API)
    "range_taken": 409,
    "reconciliation_blocked": 409,
    "not_drawn": 409,
    "nothing_to_claim": 409,
    "already_claimed": 409,
    "claim_expired": 409,
    "key_missing": 503,
    "key_mismatch": 500,
}


class EnrollRequest(Message):
    protocol: Int32
    schema: Int32
    role: Role
    name: str
    public_key: str  # Ed25519 raw public key, base64url


class EnrollResponse(Message):
    device_id: str
    code: str  # short code an admin types to approve, e.g. "K7Q-4MX"
    status: Literal["pending"]
    #: the key that signed this answer and signs every later one: the device pins it
    server_public_key: str
    expires_at: int  # the code is void if not approved by then (server clock, epoch ms)


class EnrollChallengeRequest(Message):
    """Ask for a one-time challenge to prove possession of the device key."""

    protocol: Int32
    schema: Int32
    device_id: str


class EnrollChallengeResponse(Message):
    challenge: str
    expires_at: int  # server clock, epoch ms


class EnrollStatusRequest(Message):
    """Poll for approval: the device signs ``enroll_status_message(...)`` with its key.

    The challenge is single-use, so a replayed request is refused. ``exchange_key`` is a
    one-time X25519 public key: the secrets of the answer (token, holders key) are sealed
    to it, so reading the network does not reveal them. The token is handed out once,
    unless ``reissue_token`` asks for a new one (a device that lost its token proves its
    key again; the old token stops working).
    """

    protocol: Int32
    schema: Int32
    device_id: str
    challenge: str
    exchange_key: str
    signature: str
    reissue_token: bool = False


def enroll_status_message(
    device_id: str, challenge: str, exchange_key: str, reissue_token: bool
) -> bytes:
    """The bytes a device signs to poll its enrollment status."""
    flag = "1" if reissue_token else "0"
    return f"enroll-status:v2:{device_id}:{challenge}:{exchange_key}:{flag}".encode("ascii")


class DeviceSecrets(Message):
    """Sealed in an enrollment status answer (``fieldpass.sync.sealing.seal_to_exchange_key``)."""

    token: str  # the device's bearer token
    #: petrol devices: the base64url key (fieldpass.sync.sealing.device_key) that opens
    #: the PIN holders sealed for this device; kept in a 0600 file, not the store
    holders_key: str | None = None


class SealedSecrets(Message):
    ephemeral_key: str  # the server's one-time X25519 public key
    sealed: str  # DeviceSecrets, JSON, sealed with the shared secret


def secrets_context(device_id: str, challenge: str) -> bytes:
    """Associated data binding sealed secrets to one device and one challenge."""
    return f"fieldpass:device-secrets:{device_id}:{challenge}".encode("ascii")


class EnrollStatusResponse(Message):
    status: Literal["pending", "approved", "revoked"]
    device_id: str
    role: Role
    name: str
    organization_id: str | None = None
    event_id: str | None = None
    gate_id: str | None = None
    raffle_id: str | None = None  # an RSU's raffle
    certificate: str | None = None  # server signature over the canonical DeviceCertificate
    server_public_key: str | None = None
    certificate_issued_at: int | None = None
    #: only in the answer that issues a token (the first after approval, or a reissue)
    secrets: SealedSecrets | None = None


class DeviceCertificate(Message):
    """What the server signs when approving a device (canonical sorted JSON of these fields)."""

    device_id: str
    public_key: str
    role: Role
    organization_id: str
    issued_at: int


_canonical = msgspec.json.Encoder(order="sorted")


def certificate_bytes(certificate: DeviceCertificate) -> bytes:
    """The canonical bytes the server signs for a device certificate."""
    return _canonical.encode(certificate)


class ClockSample(Message):
    """Timestamps of the previous request/response exchange, for NTP-style offset estimation."""

    t0: EpochMs  # device sent (device clock)
    t1: EpochMs  # server received (server clock)
    t2: EpochMs  # server replied (server clock)
    t3: EpochMs  # device received (device clock)


class PushRequest(Message):
    protocol: Int32
    schema: Int32
    device_id: str
    sent_at: EpochMs  # device clock
    events: list[Event]
    clock: ClockSample | None = None
    unsynced: Count = 0  # events still waiting on the device after this batch


class PushResponse(Message):
    accepted_seq: int  # highest seq the server holds for this device
    received_at: int  # server clock when the request arrived (t1)
    responded_at: int  # server clock when the answer was made (t2)
    applied: int  # events newly applied by this request
    duplicates: int  # events already held, acknowledged without applying again
    conflicts: int  # conflicts raised by this request


Op = Literal["upsert", "tombstone"]


class Change(Message):
    """One row of a device's slice. Tombstones carry deletes and revocations."""

    seq: int
    entity: str  # event | gate | ticket | admission | device | petrol_pin | seat_block | seat
    key: str
    op: Op
    data: dict[str, Any]


class PullResponse(Message):
    epoch: str
    cursor: str  # opaque to the device: pass back as ``cursor``
    changes: list[Change]
    more: bool
    server_time: int


class OwnEventsResponse(Message):
    """The events the server holds from the calling device (for ``device recover``)."""

    epoch: str
    accepted_seq: int  # the highest seq the server holds for this device
    events: list[Event]  # seq > after, in seq order
    more: bool


#: Request bounds shared by both sides.
MAX_PUSH_EVENTS = 500
MAX_BODY_BYTES = 2 * 1024 * 1024
MAX_PULL_LIMIT = 10_000
DEFAULT_PULL_LIMIT = 5_000


def make_cursor(epoch: str, seq: int) -> str:
    return f"{epoch}:{seq}"


def parse_cursor(cursor: str | None) -> tuple[str | None, int]:
    """(epoch, seq) from a cursor; an empty cursor is (None, 0). Raises ValueError."""
    if not cursor:
        return None, 0
    epoch, sep, seq_text = cursor.rpartition(":")
    if not sep or not epoch or not seq_text.isdigit():
        raise ValueError("malformed cursor")
    return epoch, int(seq_text)


_decoders: dict[type, msgspec.json.Decoder] = {}


def decode(message_type: type[msgspec.Struct], data: bytes) -> Any:
    """Decode and validate JSON into ``message_type``; raises msgspec.ValidationError/DecodeError."""
    decoder = _decoders.get(message_type)
    if decoder is None:
        decoder = _decoders[message_type] = msgspec.json.Decoder(message_type)
    try:
        return decoder.decode(data)
    except UnicodeDecodeError as exc:  # msgspec checks UTF-8 only as it builds each str
        raise msgspec.DecodeError(f"a JSON string is not valid UTF-8: {exc.reason}") from None


def encode(message: Any) -> bytes:
    return msgspec.json.encode(message)
