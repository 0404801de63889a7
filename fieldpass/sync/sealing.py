"""Encryption at rest of personal data: AES-256-GCM with associated data.

A sealed value is text: ``v1.<key id>.<base64url(nonce || ciphertext+tag)>``. The key id
(8 hex digits of SHA-256 of the key) tells "wrong key" apart from "damaged data". The
associated data binds a ciphertext to the row it belongs to, so it cannot be copied to
another row and still open. Keys live outside the database (the server's key file, the
device's key file); this module never touches files.

PIN holders travel to a petrol kiosk sealed for that device only: the server derives a
per-device key from its own key (HKDF-SHA256, ``device_key``), hands it to the device
once the device is approved (in the enrollment status answer, next to the bearer token),
and re-seals each PIN's holders under it with associated data naming the device and the
PIN (``seal_for_device``). The pulled change carries ciphertext only; the device keeps it
as is and opens it with the key file next to its device key (``open_for_device``).
"""

from __future__ import annotations

import base64
import hashlib
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

KEY_BYTES = 32
NONCE_BYTES = 12
VERSION = "v1"


class SealError(ValueError):
    """A value that cannot be opened: ``code`` is wrong_key, damaged or invalid_key."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def generate_key() -> bytes:
    return AESGCM.generate_key(bit_length=KEY_BYTES * 8)


def check_key(key: bytes) -> bytes:
    if not isinstance(key, bytes) or len(key) != KEY_BYTES:
        raise SealError("invalid_key", f"an encryption key is {KEY_BYTES} bytes")
    return key


def key_id(key: bytes) -> str:
    return hashlib.sha256(check_key(key)).hexdigest()[:8]


def key_to_text(key: bytes) -> str:
    return base64.urlsafe_b64encode(check_key(key)).decode("ascii")


def key_from_text(text: str) -> bytes:
    try:
        key = base64.urlsafe_b64decode(text.strip().encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        raise SealError("invalid_key", "the key is not base64url text") from None
    return check_key(key)


def seal(key: bytes, plaintext: bytes, associated_data: bytes) -> str:
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(check_key(key)).encrypt(nonce, plaintext, associated_data)
    body = base64.urlsafe_b64encode(nonce + sealed).decode("ascii")
    return f"{VERSION}.{key_id(key)}.{body}"


def unseal(key: bytes, text: str, associated_data: bytes) -> bytes:
    version, _, rest = text.partition(".")
    kid, _, body = rest.partition(".")
    if version != VERSION or not kid or not body:
        raise SealError("damaged", "not a sealed value")
    if kid != key_id(key):
        raise SealError("wrong_key", f"sealed with key {kid}, not with the loaded key")
    try:
        raw = base64.urlsafe_b64decode(body.encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        raise SealError("damaged", "sealed value is not base64url") from None
    if base64.urlsafe_b64encode(raw).decode("ascii") != body:
        # base64 ignores the unused bits of its last character: one sealed value has
        # exactly one text, so an altered text never opens as if it were the original
        raise SealError("damaged", "sealed value is not canonical base64url")
    if len(raw) < NONCE_BYTES + 16:
        raise SealError("damaged", "sealed value is too short")
    try:
        return AESGCM(key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], associated_data)
    except InvalidTag:
        raise SealError("damaged", "sealed value fails authentication") from None


# -- holders sealed for one device -------------------------------------------------------


def device_key(master: bytes, device_id: str) -> bytes:
    """The key sealing PIN holders for ``device_id``, derived from the server's key."""
    return HKDF(
        algorithm=hashes.SHA256(),
        length=KEY_BYTES,
        salt=None,
        info=f"fieldpass:device-holders:v1:{device_id}".encode(),
    ).derive(check_key(master))


def device_holders_ad(device_id: str, pin_id: str) -> bytes:
    """Associated data of a PIN's holders sealed for one device."""
    return f"fieldpass:device-holders:{device_id}:{pin_id}".encode()


def seal_for_device(key: bytes, device_id: str, pin_id: str, plaintext: bytes) -> str:
    return seal(key, plaintext, device_holders_ad(device_id, pin_id))


def open_for_device(key: bytes, device_id: str, pin_id: str, sealed: str) -> bytes:
    """The holders JSON of one PIN sealed for ``device_id``; SealError if it does not open."""
    return unseal(check_key(key), sealed, device_holders_ad(device_id, pin_id))


# -- secrets sealed to a one-time exchange key ---------------------------------------------


def new_exchange_key() -> X25519PrivateKey:
    """A one-time X25519 key a device sends (public half) to receive secrets sealed to it."""
    return X25519PrivateKey.generate()


def exchange_public_text(key: X25519PrivateKey) -> str:
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.urlsafe_b64encode(raw).decode("ascii")


def _exchange_public(text: str) -> X25519PublicKey:
    try:
        raw = base64.urlsafe_b64decode(text.strip().encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        raise SealError("invalid_key", "the exchange key is not base64url text") from None
    if len(raw) != 32:
        raise SealError("invalid_key", "an X25519 exchange key is 32 bytes")
    return X25519PublicKey.from_public_bytes(raw)


def _exchange_secret(shared: bytes, context: bytes) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(),
        length=KEY_BYTES,
        salt=None,
        info=b"fieldpass:exchange:v1:" + context,
    ).derive(shared)


def seal_to_exchange_key(peer_public: str, plaintext: bytes, context: bytes) -> tuple[str, str]:
    """(ephemeral public key, sealed text): only the holder of ``peer_public``'s private
    half opens it, so secrets survive a network that can read every byte (plain HTTP)."""
    peer = _exchange_public(peer_public)
    ephemeral = X25519PrivateKey.generate()
    secret = _exchange_secret(ephemeral.exchange(peer), context)
    return exchange_public_text(ephemeral), seal(secret, plaintext, context)


def open_from_exchange(
    key: X25519PrivateKey, ephemeral_public: str, sealed: str, context: bytes
) -> bytes:
    secret = _exchange_secret(key.exchange(_exchange_public(ephemeral_public)), context)
    return unseal(secret, sealed, context)
