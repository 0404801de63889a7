"""Enrollment: make the device key, register it, and poll until an admin approves."""

from __future__ import annotations

from dataclasses import replace

import httpx
import msgspec

from fieldpass.device import sync_client
from fieldpass.device.errors import DeviceError
from fieldpass.device.home import DeviceHome
from fieldpass.device.identity import DeviceIdentity, load_key, save_holders_key, save_key
from fieldpass.sync import messages, sealing, signing
from fieldpass.sync.clock import Clock, system_clock
from fieldpass.sync.messages import (
    EnrollRequest,
    EnrollResponse,
    EnrollStatusRequest,
    EnrollStatusResponse,
)
from fieldpass.sync.versions import PROTOCOL_VERSION, SCHEMA_VERSION

ROLES = ("gate", "rsu", "petrol")


def _post(http: httpx.Client | None, url: str, body: bytes, timeout: float) -> httpx.Response:
    client = http if http is not None else httpx.Client(timeout=timeout)
    try:
        return client.post(
            url, content=body, headers={"Content-Type": "application/json"}, timeout=timeout
        )
    except httpx.HTTPError as exc:
        raise DeviceError("offline", f"server unreachable: {exc}") from exc
    finally:
        if http is None:
            client.close()


def enroll(
    home: DeviceHome,
    server_url: str,
    role: str,
    name: str,
    http: httpx.Client | None = None,
    clock: Clock = system_clock,
    timeout: float = 10.0,
) -> DeviceIdentity:
    """Create the key (0600, reused if a previous attempt left one), POST /v1/enroll and
    save the identity as pending with the code the admin approves."""
    if role not in ROLES:
        raise DeviceError("invalid", f"role must be one of {', '.join(ROLES)}")
    if not name.strip():
        raise DeviceError("invalid", "name must not be empty")
    if not server_url.startswith(("http://", "https://")):
        raise DeviceError("invalid", "server URL must start with http:// or https://")
    if home.identity_path.exists():
        raise DeviceError(
            "already_enrolled", f"{home.root} already holds an enrolled device (use another --home)"
        )
    home.ensure()
    if home.key_path.exists():
        key = load_key(home.key_path)
    else:
        key = signing.generate_private_key()
        save_key(home.key_path, key)
    public = signing.public_key_text(key)
    request = EnrollRequest(
        protocol=PROTOCOL_VERSION,
        schema=SCHEMA_VERSION,
        role=role,  # type: ignore[arg-type]
        name=name.strip(),
        public_key=public,
    )
    base = server_url.rstrip("/")
    response = _post(http, base + "/v1/enroll", messages.encode(request), timeout)
    if response.status_code not in (200, 201):
        problem = sync_client._problem(response)
        raise DeviceError("server_error", f"enrollment refused: {problem.code}: {problem.message}")
    try:
        answer = messages.decode(EnrollResponse, response.content)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise DeviceError("bad_response", f"bad enrollment answer: {exc}") from exc
    identity = DeviceIdentity(
        device_id=answer.device_id,
        name=name.strip(),
        role=role,
        server_url=base,
        status="pending",
        code=answer.code,
        public_key=public,
    )
    identity.save(home.identity_path)
    return identity


def refresh_enrollment(
    home: DeviceHome,
    http: httpx.Client | None = None,
    clock: Clock = system_clock,
    timeout: float = 10.0,
) -> DeviceIdentity:
    """POST /v1/enroll/status (signed); store token and assignment when approved."""
    identity = DeviceIdentity.load(home.identity_path)
    key = load_key(home.key_path)
    at = clock()
    request = EnrollStatusRequest(
        protocol=PROTOCOL_VERSION,
        schema=SCHEMA_VERSION,
        device_id=identity.device_id,
        at=at,
        signature=signing.sign(key, f"enroll-status:{identity.device_id}:{at}".encode("ascii")),
    )
    response = _post(
        http,
        sync_client.server_url(identity, "/v1/enroll/status"),
        messages.encode(request),
        timeout,
    )
    if response.status_code == 403:
        problem = sync_client._problem(response)
        if problem.code == "device_revoked":
            updated = replace(identity, status="revoked", token=None)
            updated.save(home.identity_path)
            return updated
    if response.status_code != 200:
        problem = sync_client._problem(response)
        raise DeviceError(
            "server_error", f"enrollment status refused: {problem.code}: {problem.message}"
        )
    try:
        answer = messages.decode(EnrollStatusResponse, response.content)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise DeviceError("bad_response", f"bad enrollment status answer: {exc}") from exc
    if answer.status == "approved":
        if answer.holders_key:
            try:
                holders_key = sealing.key_from_text(answer.holders_key)
            except sealing.SealError as exc:
                raise DeviceError(
                    "bad_response", f"bad holders key from the server: {exc}"
                ) from exc
            save_holders_key(home.holders_key_path, holders_key)
        updated = replace(
            identity,
            status="approved",
            token=answer.token or identity.token,
            organization_id=answer.organization_id,
            event_id=answer.event_id,
            gate_id=answer.gate_id,
            raffle_id=answer.raffle_id,
            certificate=answer.certificate,
            server_public_key=answer.server_public_key,
            role=answer.role,
            name=answer.name,
        )
    elif answer.status == "revoked":
        updated = replace(identity, status="revoked", token=None)
    else:
        updated = replace(identity, status="pending")
    updated.save(home.identity_path)
    return updated
