"""Tickets a device issues offline, and the server's certificate of the issuing device.

A petrol kiosk sells often with no connection; its plain barcodes reach the gates only
after the kiosk pushed and the gates pulled. So the kiosk also signs every ticket it
issues with its own device key, and the server, which approved the kiosk, certifies that
key for the event (``IssuerCertificate``: device, key, event, validity, a short issuer
number). Gates pull the certificates of their event, so a gate that never heard of the
sale verifies the ticket offline: the kiosk's signature, the server's certificate of the
kiosk, the event. A revoked kiosk's certificate comes down as a tombstone.

The code stays small enough for a QR on 58 mm paper: msgpack of a positional array,
base64url, and an Ed25519 signature over those bytes:

    FP2.<base64url(msgpack [issuer, barcode, sector, row, seat, holder, issued_s])>.<sig>
"""

from __future__ import annotations

from dataclasses import dataclass

import msgspec
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from fieldpass.sync import signing

ISSUED_PREFIX = "FP2."
#: A device-issued ticket names at most this much of its holder (the QR stays small).
MAX_HOLDER_IN_CODE = 40


class IssuedTicket(msgspec.Struct, array_like=True, forbid_unknown_fields=True):
    """What a kiosk-issued code carries (positional, so the code stays short)."""

    i: int  # issuer number (IssuerCertificate.issuer_number)
    b: str  # barcode (the ticket's identity, also printed as text)
    s: str  # sector
    r: str  # row
    n: str  # seat
    h: str  # holder name (cut to MAX_HOLDER_IN_CODE)
    t: int  # issued at, epoch seconds (server-corrected kiosk clock)


class IssuerCertificate(msgspec.Struct, forbid_unknown_fields=True):
    """The server's statement that ``public_key`` may issue tickets for ``event_id``."""

    device_id: str
    issuer_number: int
    public_key: str
    event_id: str
    valid_from: int  # epoch ms
    valid_until: int  # epoch ms
    issued_at: int  # epoch ms


_canonical = msgspec.json.Encoder(order="sorted")
_packer = msgspec.msgpack.Encoder()
_unpacker = msgspec.msgpack.Decoder(IssuedTicket)


def certificate_bytes(certificate: IssuerCertificate) -> bytes:
    """The canonical bytes the server signs."""
    return _canonical.encode(certificate)


def sign_certificate(server_key: Ed25519PrivateKey, certificate: IssuerCertificate) -> str:
    return signing.sign(server_key, certificate_bytes(certificate))


def certificate_verifies(
    server_key: Ed25519PublicKey, certificate: IssuerCertificate, signature: str
) -> bool:
    return signing.verify(server_key, certificate_bytes(certificate), signature)


def encode_issued_ticket(key: Ed25519PrivateKey, ticket: IssuedTicket) -> str:
    body = signing.b64e(_packer.encode(ticket))
    return f"{ISSUED_PREFIX}{body}.{signing.sign(key, body.encode('ascii'))}"


@dataclass(frozen=True)
class IssuedCode:
    """A decoded (not yet verified) device-issued code."""

    ticket: IssuedTicket
    body: str  # the signed text
    signature: str

    def verifies(self, public_key: Ed25519PublicKey) -> bool:
        return signing.verify(public_key, self.body.encode("ascii"), self.signature)


def decode_issued(code: str) -> IssuedCode | None:
    """The parts of an ``FP2.`` code, or None when it is not one well-formed."""
    parts = code[len(ISSUED_PREFIX) :].split(".")
    if not code.startswith(ISSUED_PREFIX) or len(parts) != 2 or not all(parts):
        return None
    body, signature = parts
    try:
        ticket = _unpacker.decode(signing.b64d(body))
    except (msgspec.DecodeError, msgspec.ValidationError, signing.EncodingError):
        return None
    return IssuedCode(ticket, body, signature)
