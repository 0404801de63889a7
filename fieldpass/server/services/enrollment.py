"""Device enrollment, approval, revocation, certificates and device bearer tokens.

Enrollment is anonymous, so it is bounded: enrollments per source address per hour,
pending devices void after a day, and a pending device is found only by its exact code
(no organization sees another's, or anyone's, list of pending codes). A device proves its
key by signing a one-time server challenge; its bearer token is handed out once, sealed
to a one-time exchange key, and again only to a new proof of the key.
"""

from __future__ import annotations

import secrets
from typing import Any

import msgspec
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fieldpass.server import schema
from fieldpass.server.db import reading
from fieldpass.server.errors import ApiError, not_found
from fieldpass.server.services import changes, issuers, pins, raffles
from fieldpass.server.services.auth import new_token, token_hash
from fieldpass.server.services.common import audit, clean_text
from fieldpass.server.services.events import require_event
from fieldpass.sync import sealing, signing
from fieldpass.sync.answers import key_fingerprint
from fieldpass.sync.clock import to_iso
from fieldpass.sync.messages import (
    DeviceCertificate,
    DeviceSecrets,
    EnrollChallengeRequest,
    EnrollChallengeResponse,
    EnrollRequest,
    EnrollResponse,
    EnrollStatusRequest,
    EnrollStatusResponse,
    SealedSecrets,
    certificate_bytes,
    enroll_status_message,
    secrets_context,
)
from fieldpass.sync.versions import PROTOCOL_VERSION

#: No 0/O, 1/I/L, 2/Z, 5/S, 8/B: codes are read aloud and typed by hand.
CODE_ALPHABET = "ACDEFGHJKMNPQRTUVWXY34679"
_secrets_encoder = msgspec.json.Encoder()
#: Outstanding challenges kept per device (the app and a CLI may poll at once).
MAX_CHALLENGES = 5


def new_enroll_code() -> str:
    letters = "".join(secrets.choice(CODE_ALPHABET) for _ in range(6))
    return f"{letters[:3]}-{letters[3:]}"


def normalise_code(code: str) -> str:
    letters = "".join(ch for ch in code.upper() if ch.isalnum())
    return f"{letters[:3]}-{letters[3:]}" if len(letters) == 6 else code.strip().upper()


def check_protocol(protocol: int) -> None:
    if protocol != PROTOCOL_VERSION:
        raise ApiError(
            "upgrade_required",
            f"protocol {protocol} is not supported (server speaks {PROTOCOL_VERSION})",
        )


def enroll(
    engine: sa.Engine,
    request: EnrollRequest,
    *,
    now: int,
    new_id,
    source: str,
    signing_key: Ed25519PrivateKey,
    per_source_per_hour: int,
    pending_ttl_ms: int,
) -> EnrollResponse:
    check_protocol(request.protocol)
    name = clean_text(request.name, "name", max_length=100)
    try:
        signing.public_key_from_text(request.public_key)
    except signing.EncodingError as exc:
        raise ApiError("invalid", f"public_key: {exc}") from exc
    device_id = new_id()
    d = schema.devices
    with engine.begin() as conn:
        recent = conn.execute(
            sa.select(sa.func.count())
            .select_from(d)
            .where(d.c.enroll_source == source, d.c.enrolled_at > now - 3_600_000)
        ).scalar_one()
        if recent >= per_source_per_hour:
            raise ApiError(
                "rate_limited",
                f"too many enrollments from {source[:64]} in the last hour "
                f"(at most {per_source_per_hour}); try again later",
            )
        purge_expired_pending(conn, now - pending_ttl_ms)
        for _attempt in range(20):
            code = new_enroll_code()
            clash = conn.execute(
                sa.select(d.c.id).where(d.c.enroll_code == code, d.c.status == "pending")
            ).first()
            if clash is None:
                break
        else:
            raise ApiError("conflict", "could not allocate an enrollment code; try again")
        conn.execute(
            sa.insert(d).values(
                id=device_id,
                name=name,
                role=request.role,
                public_key=request.public_key,
                enroll_code=code,
                status="pending",
                enrolled_at=now,
                last_seen_at=now,
                enroll_source=source[:64],
            )
        )
        audit(conn, org_id=None, actor=device_id, action="device.enroll", subject=code, at=now)
    return EnrollResponse(
        device_id=device_id,
        code=code,
        status="pending",
        server_public_key=signing.public_key_text(signing_key),
        expires_at=now + pending_ttl_ms,
    )


def purge_expired_pending(conn: sa.Connection, enrolled_before: int) -> int:
    """Forget pending devices nobody approved in time (their codes are void)."""
    d = schema.devices
    expired = sa.select(d.c.id).where(d.c.status == "pending", d.c.enrolled_at < enrolled_before)
    conn.execute(
        sa.delete(schema.device_challenges).where(schema.device_challenges.c.device_id.in_(expired))
    )
    return conn.execute(
        sa.delete(d).where(d.c.status == "pending", d.c.enrolled_at < enrolled_before)
    ).rowcount


def issue_challenge(
    engine: sa.Engine, request: EnrollChallengeRequest, *, now: int, ttl_ms: int
) -> EnrollChallengeResponse:
    """A one-time challenge for ``request.device_id`` (stored as its hash)."""
    check_protocol(request.protocol)
    d, ch = schema.devices, schema.device_challenges
    challenge = secrets.token_urlsafe(24)
    with engine.begin() as conn:
        if conn.execute(sa.select(d.c.id).where(d.c.id == request.device_id)).first() is None:
            raise not_found("device (enrollments not approved within a day are void)")
        conn.execute(
            sa.delete(ch).where(ch.c.device_id == request.device_id, ch.c.expires_at < now)
        )
        kept = conn.execute(
            sa.select(ch.c.challenge_hash)
            .where(ch.c.device_id == request.device_id)
            .order_by(ch.c.expires_at.desc())
            .offset(MAX_CHALLENGES - 1)
        ).scalars()
        stale = list(kept)
        if stale:
            conn.execute(sa.delete(ch).where(ch.c.challenge_hash.in_(stale)))
        conn.execute(
            sa.insert(ch).values(
                challenge_hash=token_hash(challenge),
                device_id=request.device_id,
                expires_at=now + ttl_ms,
            )
        )
    return EnrollChallengeResponse(challenge=challenge, expires_at=now + ttl_ms)


def certificate_for(key: Ed25519PrivateKey, device: Any) -> str:
    """The server's signature over the canonical DeviceCertificate of ``device``."""
    certificate = DeviceCertificate(
        device_id=device.id,
        public_key=device.public_key,
        role=device.role,
        organization_id=device.organization_id,
        issued_at=device.approved_at,
    )
    return signing.sign(key, certificate_bytes(certificate))


def enroll_status(
    engine: sa.Engine,
    request: EnrollStatusRequest,
    *,
    now: int,
    signing_key: Ed25519PrivateKey,
    key: bytes | None = None,
) -> EnrollStatusResponse:
    """Answer a device's proof of its key (a one-time challenge, signed).

    While approved, the answer carries the assignment and the certificate; the bearer
    token (and, for a petrol kiosk, its holders key, derived from the server's key
    ``key``, see ``fieldpass.sync.sealing.device_key``) comes only in the first answer
    after approval or when the device asks for a new token, sealed to the device's
    one-time exchange key; the server keeps only the token's hash.
    """
    check_protocol(request.protocol)
    d = schema.devices
    with engine.begin() as conn:
        device = conn.execute(sa.select(d).where(d.c.id == request.device_id)).first()
        if device is None:
            raise not_found("device (enrollments not approved within a day are void)")
        message = enroll_status_message(
            request.device_id, request.challenge, request.exchange_key, request.reissue_token
        )
        if not signing.verify(
            signing.public_key_from_text(device.public_key), message, request.signature
        ):
            raise ApiError("bad_signature", "enrollment status signature does not verify")
        ch = schema.device_challenges
        consumed = conn.execute(
            sa.delete(ch).where(
                ch.c.challenge_hash == token_hash(request.challenge),
                ch.c.device_id == device.id,
                ch.c.expires_at >= now,
            )
        ).rowcount
        if consumed != 1:
            raise ApiError(
                "unauthorized",
                "unknown, used or expired challenge: ask for a new one (POST /v1/enroll/challenge)",
            )
        response: dict[str, Any] = {
            "status": device.status,
            "device_id": device.id,
            "role": device.role,
            "name": device.name,
            "organization_id": device.organization_id,
            "event_id": device.event_id,
            "gate_id": device.gate_id,
            "raffle_id": device.raffle_event_id,
        }
        values: dict[str, Any] = {"last_seen_at": now}
        if device.status == "approved":
            response.update(
                certificate=certificate_for(signing_key, device),
                server_public_key=signing.public_key_text(signing_key),
                certificate_issued_at=device.approved_at,
            )
            if device.token_issued_at is None or request.reissue_token:
                token = new_token()
                values.update(token_hash=token_hash(token), token_issued_at=now)
                holders_key = None
                if device.role == changes.PETROL_ROLE and key is not None:
                    holders_key = sealing.key_to_text(sealing.device_key(key, device.id))
                response["secrets"] = _seal_secrets(
                    request, DeviceSecrets(token=token, holders_key=holders_key)
                )
                audit(
                    conn,
                    org_id=device.organization_id,
                    actor=device.id,
                    action="device.token_reissued" if request.reissue_token else "device.token",
                    subject=device.id,
                    at=now,
                )
        conn.execute(sa.update(d).where(d.c.id == device.id).values(**values))
    return EnrollStatusResponse(**response)


def _seal_secrets(request: EnrollStatusRequest, secrets_: DeviceSecrets) -> SealedSecrets:
    try:
        ephemeral, sealed = sealing.seal_to_exchange_key(
            request.exchange_key,
            _secrets_encoder.encode(secrets_),
            secrets_context(request.device_id, request.challenge),
        )
    except sealing.SealError as exc:
        raise ApiError("invalid", f"exchange_key: {exc}") from None
    return SealedSecrets(ephemeral_key=ephemeral, sealed=sealed)


def device_view(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "role": row.role,
        "status": row.status,
        "code": row.enroll_code,
        "organization_id": row.organization_id,
        "event_id": row.event_id,
        "gate_id": row.gate_id,
        "raffle_id": row.raffle_event_id,
        "enrolled_at": to_iso(row.enrolled_at),
        "approved_at": to_iso(row.approved_at),
        "last_seen_at": to_iso(row.last_seen_at),
        "last_push_at": to_iso(row.last_push_at),
        "last_pull_at": to_iso(row.last_pull_at),
        "accepted_seq": row.accepted_seq,
        "unsynced_estimate": row.unsynced_estimate,
        "clock_offset_ms": row.clock_offset_ms,
        "round_trip_ms": row.round_trip_ms,
        "key_fingerprint": key_fingerprint(row.public_key),
        "issuer_number": row.issuer_number,
    }


def list_devices(engine: sa.Engine, org_id: str) -> list[dict[str, Any]]:
    """The organization's devices. Pending devices belong to nobody yet: an admin finds
    one only by its exact code (``find_pending``)."""
    d = schema.devices
    with reading(engine) as conn:
        rows = conn.execute(
            sa.select(d).where(d.c.organization_id == org_id).order_by(d.c.enrolled_at, d.c.id)
        ).all()
    return [device_view(row) for row in rows]


def _pending_by_code(conn: sa.Connection, code: str, *, now: int, ttl_ms: int, lock: bool = False):
    d = schema.devices
    query = sa.select(d).where(
        d.c.enroll_code == normalise_code(code),
        d.c.status == "pending",
        d.c.enrolled_at >= now - ttl_ms,
    )
    device = conn.execute(query.with_for_update() if lock else query).first()
    if device is None:
        raise not_found(
            f"pending device with code {normalise_code(code)[:16]!r} "
            "(codes are void a day after enrollment)"
        )
    return device


def find_pending(engine: sa.Engine, code: str, *, now: int, ttl_ms: int) -> dict[str, Any]:
    """The pending device with exactly this code, with its key fingerprint to compare
    with the one the device shows."""
    with reading(engine) as conn:
        device = _pending_by_code(conn, code, now=now, ttl_ms=ttl_ms)
    view = device_view(device)
    view["expires_at"] = to_iso(device.enrolled_at + ttl_ms)
    return view


class ApproveRequest(msgspec.Struct, forbid_unknown_fields=True):
    """``event_id`` for a gate or petrol device, ``raffle_id`` (and no event) for an RSU."""

    code: str
    event_id: str | None = None
    gate_id: str | None = None
    raffle_id: str | None = None


def approve(
    engine: sa.Engine,
    org_id: str,
    actor: str,
    body: ApproveRequest,
    *,
    now: int,
    pending_ttl_ms: int,
    key: bytes | None = None,
    signing_key: Ed25519PrivateKey | None = None,
) -> dict[str, Any]:
    """Assign a pending device to the organization and event.

    A petrol kiosk gets, in this same transaction, the event's ACTIVE PINs sealed for it
    (``pins.initial_pin_changes``; needs the server key ``key`` when there are any). Its
    seat blocks can only be allocated once it is approved and reach it as they are.
    """
    d = schema.devices
    with engine.begin() as conn:
        device = _pending_by_code(conn, body.code, now=now, ttl_ms=pending_ttl_ms, lock=True)
        if device.role == changes.RSU_ROLE:
            return _approve_rsu(conn, org_id, actor, device, body, now=now)
        if body.raffle_id is not None:
            raise ApiError(
                "invalid",
                f"device {device.name!r} is a {device.role}: give event_id, not raffle_id",
            )
        if body.event_id is None:
            raise ApiError(
                "invalid", f"device {device.name!r} is a {device.role}: event_id is required"
            )
        event = require_event(conn, org_id, body.event_id)
        if body.gate_id is not None:
            gate = conn.execute(
                sa.select(schema.gates.c.id).where(
                    schema.gates.c.id == body.gate_id, schema.gates.c.event_id == body.event_id
                )
            ).first()
            if gate is None:
                raise not_found(f"gate {body.gate_id[:40]!r} of this event")
        conn.execute(
            sa.update(d)
            .where(d.c.id == device.id)
            .values(
                status="approved",
                organization_id=org_id,
                event_id=body.event_id,
                gate_id=body.gate_id,
                approved_at=now,
            )
        )
        if device.role == changes.PETROL_ROLE:
            initial = pins.initial_pin_changes(
                conn, org_id, body.event_id, device.id, key=key, now=now
            )
            if signing_key is not None:  # the kiosk signs the tickets it issues offline
                initial.append(issuers.certify(conn, device, event, signing_key, now=now))
            changes.emit(conn, org_id, initial, now)
        audit(
            conn,
            org_id=org_id,
            actor=actor,
            action="device.approve",
            subject=device.id,
            at=now,
            details={"event_id": body.event_id, "gate_id": body.gate_id},
        )
        row = conn.execute(sa.select(d).where(d.c.id == device.id)).one()
    return device_view(row)


def _approve_rsu(
    conn: sa.Connection, org_id: str, actor: str, device: Any, body: ApproveRequest, *, now: int
) -> dict[str, Any]:
    """An RSU joins a raffle: its ``rsu`` row (next free terminal number) and first slice."""
    if body.event_id is not None or body.gate_id is not None:
        raise ApiError(
            "invalid", f"device {device.name!r} is an RSU: give raffle_id, not event_id/gate_id"
        )
    if body.raffle_id is None:
        raise ApiError("invalid", f"device {device.name!r} is an RSU: raffle_id is required")
    raffle = raffles.require_raffle(conn, org_id, body.raffle_id)
    if raffle.state in ("completed", "cancelled"):
        raise ApiError(
            "invalid_transition", f"raffle {raffle.name!r} is {raffle.state}: it takes no RSU"
        )
    d = schema.devices
    conn.execute(
        sa.update(d)
        .where(d.c.id == device.id)
        .values(
            status="approved",
            organization_id=org_id,
            raffle_event_id=raffle.id,
            approved_at=now,
        )
    )
    rsu = raffles.create_rsu(conn, org_id, actor, device, raffle.id, now=now)
    initial = raffles.raffle_slice(conn, raffle.id, changes.device_audience(device.id))
    changes.emit(conn, org_id, [*initial, raffles.rsu_change(raffle.id, rsu)], now)
    audit(
        conn,
        org_id=org_id,
        actor=actor,
        action="device.approve",
        subject=device.id,
        at=now,
        details={"raffle_id": raffle.id, "terminal_number": rsu.terminal_number},
    )
    return device_view(conn.execute(sa.select(d).where(d.c.id == device.id)).one())


def revoke(
    engine: sa.Engine, org_id: str, actor: str, device_id: str, *, now: int
) -> dict[str, Any]:
    d = schema.devices
    with engine.begin() as conn:
        device = conn.execute(
            sa.select(d).where(d.c.id == device_id, d.c.organization_id == org_id)
        ).first()
        if device is None:
            raise not_found(f"device {device_id[:40]!r}")
        conn.execute(
            sa.update(d).where(d.c.id == device_id).values(status="revoked", revoked_at=now)
        )
        changes.emit(conn, org_id, issuers.revoked(conn, device, now=now), now)
        audit(conn, org_id=org_id, actor=actor, action="device.revoke", subject=device_id, at=now)
        row = conn.execute(sa.select(d).where(d.c.id == device_id)).one()
    return device_view(row)


def device_for_token(engine: sa.Engine, token: str) -> Any:
    """The device row behind a bearer token; 401 unknown, 403 revoked or not approved."""
    d = schema.devices
    with reading(engine) as conn:
        row = conn.execute(sa.select(d).where(d.c.token_hash == token_hash(token))).first()
    if row is None:
        raise ApiError("unauthorized", "unknown device token")
    if row.status == "revoked":
        raise ApiError("device_revoked", "this device has been revoked")
    if row.status != "approved" or (row.event_id is None and row.raffle_event_id is None):
        raise ApiError("forbidden", "this device is not approved")
    return row
