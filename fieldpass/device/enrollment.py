"""Enrollment: make the device key, register it, pin the server key, and prove the key to
collect the assignment and the bearer token once an admin approves.

The server key is pinned at enrollment: the fingerprint given with ``--pin`` (copied from
the server by the installer), or, without one, the key that signed the enrollment answer
(trust on first use; the fingerprint is shown so installer and admin can compare). From
then on the device acts only on answers that key signed (``server_link``).
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import httpx
import msgspec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from fieldpass.device.errors import DeviceError
from fieldpass.device.home import DeviceHome
from fieldpass.device.identity import DeviceIdentity, load_key, save_holders_key, save_key
from fieldpass.device.server_link import ServerLink, answer_verifies, problem_of
from fieldpass.sync import answers, messages, sealing, signing
from fieldpass.sync.clock import Clock, system_clock
from fieldpass.sync.messages import (
    DeviceCertificate,
    DeviceSecrets,
    EnrollChallengeRequest,
    EnrollChallengeResponse,
    EnrollRequest,
    EnrollResponse,
    EnrollStatusRequest,
    EnrollStatusResponse,
    certificate_bytes,
    enroll_status_message,
    secrets_context,
)
from fieldpass.sync.versions import PROTOCOL_VERSION, SCHEMA_VERSION

ROLES = ("gate", "rsu", "petrol")
_JSON = {"Content-Type": "application/json"}


def link_for(
    home: DeviceHome,
    identity: DeviceIdentity,
    http: httpx.Client | None = None,
    timeout: float = 10.0,
) -> ServerLink:
    """The link to this device's server with its pinned key (and CA, if one was given)."""
    return ServerLink(
        identity.server_url,
        identity.server_public_key,
        http=http,
        timeout=timeout,
        ca_file=home.ca_path if identity.server_ca else None,
    )


def _decode(message_type: type, response: httpx.Response, what: str):
    try:
        return messages.decode(message_type, response.content)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise DeviceError("bad_response", f"bad {what} answer: {exc}") from exc


def enroll(
    home: DeviceHome,
    server_url: str,
    role: str,
    name: str,
    http: httpx.Client | None = None,
    clock: Clock = system_clock,
    timeout: float = 10.0,
    pin: str | None = None,
    ca_file: Path | None = None,
) -> DeviceIdentity:
    """Create the key (0600, reused if a previous attempt left one), POST /v1/enroll, pin
    the server key and save the identity as pending with the code the admin approves."""
    if role not in ROLES:
        raise DeviceError("invalid", f"role must be one of {', '.join(ROLES)}")
    if not name.strip():
        raise DeviceError("invalid", "name must not be empty")
    if not server_url.startswith(("http://", "https://")):
        raise DeviceError("invalid", "server URL must start with http:// or https://")
    if ca_file is not None and not server_url.startswith("https://"):
        raise DeviceError("invalid", "--ca is for an https:// server URL")
    pinned = None
    if pin is not None:
        try:
            pinned = answers.parse_fingerprint(pin)
        except ValueError as exc:
            raise DeviceError("invalid", f"--pin: {exc}") from None
    if home.identity_path.exists():
        raise DeviceError(
            "already_enrolled", f"{home.root} already holds an enrolled device (use another --home)"
        )
    home.ensure()
    if ca_file is not None:
        try:
            shutil.copyfile(ca_file, home.ca_path)
        except OSError as exc:
            raise DeviceError("bad_ca", f"cannot read the CA file {ca_file}: {exc}") from None
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
    link = ServerLink(
        base, None, http=http, timeout=timeout, ca_file=home.ca_path if ca_file else None
    )
    try:
        response = link.send("POST", "/v1/enroll", content=messages.encode(request), headers=_JSON)
    finally:
        link.close()
    if response.status_code not in (200, 201):
        problem = problem_of(response)
        raise DeviceError("server_error", f"enrollment refused: {problem.code}: {problem.message}")
    answer = _decode(EnrollResponse, response, "enrollment")
    if not answer_verifies(response, answer.server_public_key):
        raise DeviceError(
            "unverified_answer", "the enrollment answer is not signed by the key it names: refused"
        )
    fingerprint = answers.key_fingerprint(answer.server_public_key)
    if pinned is not None and fingerprint != pinned:
        raise DeviceError(
            "key_mismatch",
            f"the server answered with key {fingerprint}, not the pinned {pinned}: refused "
            "(a machine in the middle, or the wrong server)",
        )
    identity = DeviceIdentity(
        device_id=answer.device_id,
        name=name.strip(),
        role=role,
        server_url=base,
        status="pending",
        code=answer.code,
        public_key=public,
        server_public_key=answer.server_public_key,
        server_key_source="pin" if pinned else "first-use",
        server_ca=ca_file is not None,
    )
    identity.save(home.identity_path)
    return identity


def refresh_enrollment(
    home: DeviceHome,
    http: httpx.Client | None = None,
    clock: Clock = system_clock,
    timeout: float = 10.0,
    reissue_token: bool = False,
) -> DeviceIdentity:
    """Prove the key (a signed one-time challenge) and record what the server says: the
    assignment once approved, the token when one is handed out (sealed to a one-time
    exchange key), or revocation. A device that is approved but holds no token (lost,
    or refused as unknown) asks for a new one; the old one stops working."""
    identity = DeviceIdentity.load(home.identity_path)
    key = load_key(home.key_path)
    link = link_for(home, identity, http, timeout)
    try:
        answer, exchange, challenge = _prove_key(link, identity, key, reissue_token)
    finally:
        link.close()
    if answer.status == "revoked":
        updated = replace(identity, status="revoked", token=None)
    elif answer.status == "pending":
        updated = replace(identity, status="pending")
    else:
        _check_certificate(identity, answer)
        token = identity.token
        if answer.secrets is not None:
            secrets = _open_secrets(answer, exchange, identity.device_id, challenge)
            token = secrets.token
            if secrets.holders_key:
                try:
                    holders_key = sealing.key_from_text(secrets.holders_key)
                except sealing.SealError as exc:
                    raise DeviceError(
                        "bad_response", f"bad holders key from the server: {exc}"
                    ) from exc
                save_holders_key(home.holders_key_path, holders_key)
        if token is None and not reissue_token:
            # approved, but the token was handed out before and this device lacks it
            return refresh_enrollment(home, http, clock, timeout, reissue_token=True)
        updated = replace(
            identity,
            status="approved",
            token=token,
            organization_id=answer.organization_id,
            event_id=answer.event_id,
            gate_id=answer.gate_id,
            raffle_id=answer.raffle_id,
            certificate=answer.certificate,
            certificate_issued_at=answer.certificate_issued_at,
            role=answer.role,
            name=answer.name,
        )
    updated.save(home.identity_path)
    return updated


def _prove_key(
    link: ServerLink, identity: DeviceIdentity, key: Ed25519PrivateKey, reissue_token: bool
) -> tuple[EnrollStatusResponse, X25519PrivateKey, str]:
    request = EnrollChallengeRequest(
        protocol=PROTOCOL_VERSION, schema=SCHEMA_VERSION, device_id=identity.device_id
    )
    response = link.request(
        "POST", "/v1/enroll/challenge", content=messages.encode(request), headers=_JSON
    )
    _raise_refusal(response, "enrollment challenge")
    challenge = _decode(EnrollChallengeResponse, response, "enrollment challenge").challenge
    exchange = sealing.new_exchange_key()
    exchange_public = sealing.exchange_public_text(exchange)
    status_request = EnrollStatusRequest(
        protocol=PROTOCOL_VERSION,
        schema=SCHEMA_VERSION,
        device_id=identity.device_id,
        challenge=challenge,
        exchange_key=exchange_public,
        reissue_token=reissue_token,
        signature=signing.sign(
            key,
            enroll_status_message(identity.device_id, challenge, exchange_public, reissue_token),
        ),
    )
    response = link.request(
        "POST", "/v1/enroll/status", content=messages.encode(status_request), headers=_JSON
    )
    if response.status_code == 403 and problem_of(response).code == "device_revoked":
        return (
            EnrollStatusResponse(
                status="revoked",
                device_id=identity.device_id,
                role=identity.role,  # type: ignore[arg-type]
                name=identity.name,
            ),
            exchange,
            challenge,
        )
    _raise_refusal(response, "enrollment status")
    return _decode(EnrollStatusResponse, response, "enrollment status"), exchange, challenge


def _raise_refusal(response: httpx.Response, what: str) -> None:
    if response.status_code == 200:
        return
    problem = problem_of(response)
    if response.status_code == 404:
        raise DeviceError(
            "enrollment_void",
            f"the server no longer knows this device ({problem.message}): enroll it again",
        )
    raise DeviceError("server_error", f"{what} refused: {problem.code}: {problem.message}")


def _check_certificate(identity: DeviceIdentity, answer: EnrollStatusResponse) -> None:
    """The approval is the pinned server's certificate of this device's own key."""
    if answer.server_public_key != identity.server_public_key:
        raise DeviceError(
            "key_mismatch", "the approval names a server key other than the pinned one: refused"
        )
    if (
        answer.certificate is None
        or answer.organization_id is None
        or answer.certificate_issued_at is None
        or identity.public_key is None
    ):
        raise DeviceError("bad_response", "the approval carries no certificate: refused")
    certificate = DeviceCertificate(
        device_id=identity.device_id,
        public_key=identity.public_key,
        role=answer.role,
        organization_id=answer.organization_id,
        issued_at=answer.certificate_issued_at,
    )
    server_key = signing.public_key_from_text(identity.server_public_key)
    if not signing.verify(server_key, certificate_bytes(certificate), answer.certificate):
        raise DeviceError(
            "bad_certificate", "the server's certificate of this device does not verify: refused"
        )


def _open_secrets(
    answer: EnrollStatusResponse, exchange: X25519PrivateKey, device_id: str, challenge: str
) -> DeviceSecrets:
    if answer.secrets is None:
        raise DeviceError("bad_response", "the approval carries no token: refused")
    try:
        raw = sealing.open_from_exchange(
            exchange,
            answer.secrets.ephemeral_key,
            answer.secrets.sealed,
            secrets_context(device_id, challenge),
        )
        return messages.decode(DeviceSecrets, raw)
    except (sealing.SealError, msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise DeviceError("bad_response", f"the sealed token does not open: {exc}") from None
