"""Signed server answers: a device acts only on what its pinned server key signed.

The network between devices and the server is hostile, so every answer the server gives
a device is signed with the server's Ed25519 key, and bound to the exact request it
answers: the device sends a fresh random nonce with each request, and the server signs
the SHA-256 of

    fieldpass-answer:v1 \\n nonce \\n METHOD target \\n request-body digest \\n status \\n body

where ``target`` is the request's path and raw query string as sent, and the request-body
digest is the SHA-256 (hex) of the body the server read, or ``-`` when it answered
before reading the body (an early refusal). A proxy can therefore neither forge an
answer, nor replay an old one (the nonce), nor answer a request it altered (the target
and body digest), nor pass one route's answer off as another's.

The device pins the server's key when it enrolls: from ``--pin`` (a fingerprint an
installer copies from the server) or, failing that, on first use, showing the
fingerprint so installer and admin can compare.
"""

from __future__ import annotations

import hashlib
import re
import secrets

from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from fieldpass.sync import signing

NONCE_HEADER = "X-Fieldpass-Nonce"
SIGNATURE_HEADER = "X-Fieldpass-Signature"
#: A nonce is opaque printable text of at most this many characters.
MAX_NONCE_LENGTH = 64
#: The request-body digest of an answer given before the body was read.
UNREAD_BODY = "-"
_PREFIX = b"fieldpass-answer:v1\n"
_NONCE = re.compile(r"[A-Za-z0-9_\-]{16,64}")
_FINGERPRINT = re.compile(r"sha256:[0-9a-f]{64}")


def new_nonce() -> str:
    return secrets.token_urlsafe(24)


def is_valid_nonce(nonce: str) -> bool:
    return bool(_NONCE.fullmatch(nonce))


def body_digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def answer_digest(
    nonce: str, method: str, target: str, request_digest: str, status: int, body: bytes
) -> bytes:
    """The 32 bytes the server signs for one answer (see the module docstring)."""
    head = f"{nonce}\n{method.upper()} {target}\n{request_digest}\n{status}\n".encode()
    hasher = hashlib.sha256(_PREFIX)
    hasher.update(head)
    hasher.update(body)
    return hasher.digest()


def sign_answer(
    key: Ed25519PrivateKey,
    *,
    nonce: str,
    method: str,
    target: str,
    request_digest: str,
    status: int,
    body: bytes,
) -> str:
    return signing.sign(key, answer_digest(nonce, method, target, request_digest, status, body))


def verify_answer(
    public_key: Ed25519PublicKey,
    signature: str,
    *,
    nonce: str,
    method: str,
    target: str,
    request_body: bytes,
    status: int,
    body: bytes,
) -> bool:
    """True when ``signature`` is the server's over this answer to this request.

    An error answer may have been given before the server read the request body; it is
    then signed with the ``-`` digest, which only a refusal may use.
    """
    digest = answer_digest(nonce, method, target, body_digest(request_body), status, body)
    if signing.verify(public_key, digest, signature):
        return True
    if status < 400:
        return False
    early = answer_digest(nonce, method, target, UNREAD_BODY, status, body)
    return signing.verify(public_key, early, signature)


def key_fingerprint(public_key_text: str) -> str:
    """``sha256:<hex>`` of a raw Ed25519 public key: what people compare and pin."""
    return "sha256:" + hashlib.sha256(signing.b64d(public_key_text)).hexdigest()


def parse_fingerprint(text: str) -> str:
    """A fingerprint as typed (case, spaces and colons between groups tolerated); raises
    ValueError unless it is a whole ``sha256:`` + 64 hex digit fingerprint."""
    compact = text.strip().lower()
    if compact.startswith("sha256:"):
        compact = compact[len("sha256:") :]
    compact = re.sub(r"[\s:]", "", compact)
    candidate = "sha256:" + compact
    if not _FINGERPRINT.fullmatch(candidate):
        raise ValueError("a key fingerprint is sha256: followed by 64 hexadecimal digits")
    return candidate


def short_fingerprint(fingerprint: str) -> str:
    """The first 16 hex digits in groups of four, for screens: ``sha256:1a2b 3c4d …``."""
    digits = fingerprint.removeprefix("sha256:")[:16]
    return "sha256:" + " ".join(digits[i : i + 4] for i in range(0, 16, 4))
