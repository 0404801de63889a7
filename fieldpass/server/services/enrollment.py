"""Device enrollment, approval, revocation, certificates and device bearer tokens."""

from __future__ import annotations

import secrets
from typing import Any

import msgspec
import sqlalchemy as sa

from fieldpass.server import schema
from fieldpass.server.db import reading, server_signing_key
from fieldpass.server.errors import ApiError, not_found
from fieldpass.server.services import changes, pins, raffles
from fieldpass.server.services.auth import new_token, token_hash
from fieldpass.server.services.common import audit, clean_text
from fieldpass.server.services.events import require_event
from fieldpass.sync import sealing, signing
from fieldpass.sync.clock import to_iso
from fieldpass.sync.messages import (
    DeviceCertificate,
    EnrollRequest,
    EnrollResponse,
    EnrollStatusRequest,
    EnrollStatusResponse,
)
from fieldpass.sync.versions import PROTOCOL_VERSION

#: No 0/O, 1/I/L, 2/Z, 5/S, 8/B: codes are read aloud and typed by hand.
CODE_ALPHABET = "ACDEFGHJKMNPQRTUVWXY34679"
_canonical = msgspec.json.Encoder(order="sorted")


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


def enroll(engine: sa.Engine, request: EnrollRequest, *, now: int, new_id) -> EnrollResponse:
    check_protocol(request.protocol)
    name = clean_text(request.name, "name", max_length=100)
    try:
        signing.public_key_from_text(request.public_key)
    except signing.EncodingError as exc:
        raise ApiError("invalid", f"public_key: {exc}") from exc
    device_id = new_id()
    d = schema.devices
    with engine.begin() as conn:
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
            )
        )
        audit(conn, org_id=None, actor=device_id, action="device.enroll", subject=code, at=now)
    return EnrollResponse(device_id=device_id, code=code, status="pending")


def certificate_for(conn: sa.Connection, device: Any) -> tuple[str, str]:
    """(signature over the canonical DeviceCertificate, server public key)."""
    key = server_signing_key(conn)
    certificate = DeviceCertificate(
        device_id=device.id,
        public_key=device.public_key,
        role=device.role,
        organization_id=device.organization_id,
        issued_at=device.approved_at,
    )
    return signing.sign(key, _canonical.encode(certificate)), signing.public_key_text(key)


def enroll_status(
    engine: sa.Engine,
    request: EnrollStatusRequest,
    *,
    now: int,
    max_skew_ms: int,
    key: bytes | None = None,
) -> EnrollStatusResponse:
    """Answer a device's poll; while approved, issue a fresh token and keep only its hash.

    An approved petrol kiosk also gets its holders key (derived from the server's key
    ``key``, see ``fieldpass.sync.sealing.device_key``): the same answer already carries
    the bearer token that lets it pull the sealed holders, so the key needs no more
    protection than the token (TLS in production), and the server stores nothing new.
    """
    check_protocol(request.protocol)
    d = schema.devices
    with engine.begin() as conn:
        device = conn.execute(sa.select(d).where(d.c.id == request.device_id)).first()
        if device is None:
            raise not_found("device")
        if abs(request.at - now) > max_skew_ms:
            raise ApiError(
                "unauthorized", "the device clock is more than 10 minutes from the server's"
            )
        message = f"enroll-status:{request.device_id}:{request.at}".encode("ascii")
        if not signing.verify(
            signing.public_key_from_text(device.public_key), message, request.signature
        ):
            raise ApiError("bad_signature", "enrollment status signature does not verify")
        response = {
            "status": device.status,
            "device_id": device.id,
            "role": device.role,
            "name": device.name,
            "organization_id": device.organization_id,
            "event_id": device.event_id,
            "gate_id": device.gate_id,
            "raffle_id": device.raffle_event_id,
        }
        if device.status == "approved":
            token = new_token()
            conn.execute(
                sa.update(d)
                .where(d.c.id == device.id)
                .values(token_hash=token_hash(token), last_seen_at=now)
            )
            certificate, server_key = certificate_for(conn, device)
            response.update(token=token, certificate=certificate, server_public_key=server_key)
            if device.role == changes.PETROL_ROLE and key is not None:
                response["holders_key"] = sealing.key_to_text(sealing.device_key(key, device.id))
        else:
            conn.execute(sa.update(d).where(d.c.id == device.id).values(last_seen_at=now))
    return EnrollStatusResponse(**response)


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
    }


def list_devices(engine: sa.Engine, org_id: str) -> list[dict[str, Any]]:
    """The organization's devices, plus pending ones (unowned until an admin approves)."""
    d = schema.devices
    with reading(engine) as conn:
        rows = conn.execute(
            sa.select(d)
            .where(sa.or_(d.c.organization_id == org_id, d.c.status == "pending"))
            .order_by(d.c.enrolled_at, d.c.id)
        ).all()
    return [device_view(row) for row in rows]


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
    key: bytes | None = None,
) -> dict[str, Any]:
    """Assign a pending device to the organization and event.

    A petrol kiosk gets, in this same transaction, the event's ACTIVE PINs sealed for it
    (``pins.initial_pin_changes``; needs the server key ``key`` when there are any). Its
    seat blocks can only be allocated once it is approved and reach it as they are.
    """
    code = normalise_code(body.code)
    d = schema.devices
    with engine.begin() as conn:
        device = conn.execute(
            sa.select(d).where(d.c.enroll_code == code, d.c.status == "pending").with_for_update()
        ).first()
        if device is None:
            raise not_found(f"pending device with code {code[:16]!r}")
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
        require_event(conn, org_id, body.event_id)
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
