"""Barcode codecs: plain ticket barcodes and signed tickets that validate offline.

A signed ticket carries its own data and an Ed25519 signature by the event's ticket
key, so a gate accepts it even when it was issued after the gate's last sync:

    FP1.<base64url(JSON payload)>.<base64url(signature over the payload text)>

A device-issued ticket (``FP2.``, see ``fieldpass.sync.issued``) is signed by the kiosk
that sold it, whose key the server certified for the event.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import msgspec
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from fieldpass.sync import signing
from fieldpass.sync.issued import ISSUED_PREFIX, IssuedTicket, decode_issued

SIGNED_PREFIX = "FP1."
MAX_PLAIN_LENGTH = 64
MAX_CODE_LENGTH = 1024  # anything longer from a scanner is rejected unread
_PLAIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:/+=-]{2,63}")


class SignedTicket(msgspec.Struct, forbid_unknown_fields=True):
    """The data inside a signed ticket code (short keys keep the QR small)."""

    b: str  # barcode (ticket identity)
    e: str  # event id
    s: str = ""  # sector
    r: str = ""  # row
    n: str = ""  # seat
    h: str = ""  # holder name
    vf: int | None = None  # valid from, epoch ms
    vt: int | None = None  # valid until, epoch ms


@dataclass(frozen=True)
class Issuer:
    """What a gate knows of a certified issuing device (from its IssuerCertificate)."""

    number: int
    device_id: str
    public_key: Ed25519PublicKey
    event_id: str
    valid_from: int
    valid_until: int
    revoked_at: int | None = None


@dataclass(frozen=True)
class ParsedCode:
    """A scanner read that is well-formed. ``signed`` is set for signed-ticket codes,
    ``issued`` (with its ``issuer``) for device-issued ones."""

    barcode: str
    signed: SignedTicket | None = None
    issued: IssuedTicket | None = None
    issuer: Issuer | None = None


@dataclass(frozen=True)
class InvalidCode(Exception):
    """A read that cannot be a ticket; ``reason`` says why in one line."""

    reason: str

    def __str__(self) -> str:
        return self.reason


_encoder = msgspec.json.Encoder(order="sorted")
_decoder = msgspec.json.Decoder(SignedTicket)


def encode_signed_ticket(key: Ed25519PrivateKey, ticket: SignedTicket) -> str:
    body = signing.b64e(_encoder.encode(ticket))
    return f"{SIGNED_PREFIX}{body}.{signing.sign(key, body.encode('ascii'))}"


def parse_code(
    raw: str,
    ticket_keys: dict[str, Ed25519PublicKey] | None = None,
    issuers: dict[int, Issuer] | None = None,
) -> ParsedCode:
    """Validate a scanner read. Plain barcodes are checked for shape; signed codes are
    decoded and their signature checked against ``ticket_keys`` (event id -> key), and
    device-issued codes against ``issuers`` (issuer number -> certified issuer).

    Raises InvalidCode with a specific reason (UnknownSigner, UnknownIssuer and
    RevokedIssuer are kinds of it); never anything else.
    """
    if len(raw) > MAX_CODE_LENGTH:
        raise InvalidCode(f"code too long ({len(raw)} characters)")
    code = raw.strip()
    if not code:
        raise InvalidCode("empty code")
    if code.startswith(SIGNED_PREFIX):
        signed = _parse_signed(code, ticket_keys or {})
        return ParsedCode(barcode=signed.b, signed=signed)
    if code.startswith(ISSUED_PREFIX):
        return _parse_issued(code, issuers or {})
    if not code.isascii() or not code.isprintable():
        raise InvalidCode("code has characters no ticket barcode uses")
    if len(code) > MAX_PLAIN_LENGTH:
        raise InvalidCode(f"code too long for a ticket barcode ({len(code)} characters)")
    if not _PLAIN.fullmatch(code):
        raise InvalidCode("not a ticket barcode")
    return ParsedCode(barcode=code)


def _parse_signed(code: str, ticket_keys: dict[str, Ed25519PublicKey]) -> SignedTicket:
    parts = code[len(SIGNED_PREFIX) :].split(".")
    if len(parts) != 2 or not all(parts):
        raise InvalidCode("malformed signed ticket")
    body, signature = parts
    try:
        ticket = _decoder.decode(signing.b64d(body))
    except (msgspec.DecodeError, msgspec.ValidationError, signing.EncodingError) as exc:
        raise InvalidCode("malformed signed ticket") from exc
    if not _PLAIN.fullmatch(ticket.b):
        raise InvalidCode("signed ticket has a malformed barcode")
    key = ticket_keys.get(ticket.e)
    if key is None:
        # Unknown event key: either another event's ticket or one we cannot check.
        raise UnknownSigner(ticket)
    if not signing.verify(key, body.encode("ascii"), signature):
        raise InvalidCode("signature does not verify")
    return ticket


@dataclass(frozen=True)
class UnknownSigner(InvalidCode):
    """A well-formed signed ticket for an event whose key this device does not hold."""

    ticket: SignedTicket | None = None

    def __init__(self, ticket: SignedTicket) -> None:
        object.__setattr__(self, "reason", "signed by an event this gate does not serve")
        object.__setattr__(self, "ticket", ticket)


def _parse_issued(code: str, issuers: dict[int, Issuer]) -> ParsedCode:
    decoded = decode_issued(code)
    if decoded is None:
        raise InvalidCode("malformed device-issued ticket")
    ticket = decoded.ticket
    if not _PLAIN.fullmatch(ticket.b):
        raise InvalidCode("device-issued ticket has a malformed barcode")
    issuer = issuers.get(ticket.i)
    if issuer is None:
        raise UnknownIssuer(ticket)
    if not decoded.verifies(issuer.public_key):
        raise InvalidCode("signature of the issuing device does not verify")
    if issuer.revoked_at is not None:
        raise RevokedIssuer(ticket, issuer)
    return ParsedCode(barcode=ticket.b, issued=ticket, issuer=issuer)


@dataclass(frozen=True)
class UnknownIssuer(InvalidCode):
    """A well-formed device-issued ticket from an issuer this device holds no certificate
    of (another event's kiosk, or one approved after this gate's last sync)."""

    ticket: IssuedTicket | None = None

    def __init__(self, ticket: IssuedTicket) -> None:
        object.__setattr__(
            self, "reason", f"issued by kiosk {ticket.i}, which this gate does not know (sync it)"
        )
        object.__setattr__(self, "ticket", ticket)


@dataclass(frozen=True)
class RevokedIssuer(InvalidCode):
    """A device-issued ticket whose issuing device the server has revoked."""

    ticket: IssuedTicket | None = None
    issuer: Issuer | None = None

    def __init__(self, ticket: IssuedTicket, issuer: Issuer) -> None:
        object.__setattr__(self, "reason", f"the issuing kiosk {issuer.number} was revoked")
        object.__setattr__(self, "ticket", ticket)
        object.__setattr__(self, "issuer", issuer)
