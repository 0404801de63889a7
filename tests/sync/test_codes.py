"""Scanner reads: plain barcodes, signed tickets, and everything that is not a ticket."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fieldpass.sync import signing
from fieldpass.sync.codes import (
    InvalidCode,
    SignedTicket,
    UnknownSigner,
    encode_signed_ticket,
    parse_code,
)

EVENT_KEY = signing.generate_private_key()
KEYS = {"ev-1": EVENT_KEY.public_key()}


def test_plain_barcode_is_accepted_and_trimmed():
    assert parse_code("  HNS-000123\r\n").barcode == "HNS-000123"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "empty code"),
        ("   ", "empty code"),
        ("A" * 65, "too long for a ticket barcode"),
        ("X" * 5000, "code too long"),
        ("ŽIVIO-123", "characters no ticket barcode uses"),
        ("abc\x00def", "characters no ticket barcode uses"),
        ("'; DROP TABLE tickets; --", "not a ticket barcode"),
        ("ab", "not a ticket barcode"),
    ],
)
def test_malformed_reads_are_invalid_with_a_specific_reason(raw, reason):
    with pytest.raises(InvalidCode) as err:
        parse_code(raw)
    assert reason in str(err.value)


def test_signed_ticket_round_trips_and_verifies_offline():
    ticket = SignedTicket(
        b="SIG-0001", e="ev-1", s="A", r="3", n="14", h="Ana Horvat", vf=1000, vt=2000
    )
    parsed = parse_code(encode_signed_ticket(EVENT_KEY, ticket), KEYS)
    assert parsed.barcode == "SIG-0001"
    assert parsed.signed == ticket


def test_signed_ticket_with_a_forged_signature_is_invalid():
    code = encode_signed_ticket(signing.generate_private_key(), SignedTicket(b="SIG-1", e="ev-1"))
    with pytest.raises(InvalidCode) as err:
        parse_code(code, KEYS)
    assert "signature" in str(err.value)


def test_signed_ticket_of_an_event_we_do_not_serve_names_its_event():
    other = signing.generate_private_key()
    code = encode_signed_ticket(other, SignedTicket(b="SIG-2", e="ev-9"))
    with pytest.raises(UnknownSigner) as err:
        parse_code(code, KEYS)
    assert err.value.ticket is not None and err.value.ticket.e == "ev-9"


def test_tampered_signed_payload_is_invalid():
    code = encode_signed_ticket(EVENT_KEY, SignedTicket(b="SIG-3", e="ev-1", h="Ana"))
    prefix, body, sig = code.split(".")
    forged = signing.b64e(signing.b64d(body).replace(b"Ana", b"Ivo"))
    with pytest.raises(InvalidCode):
        parse_code(f"{prefix}.{forged}.{sig}", KEYS)


@given(st.text(max_size=300))
def test_no_input_raises_anything_but_invalid_code(raw):
    try:
        parsed = parse_code(raw, KEYS)
    except InvalidCode:
        return
    assert parsed.barcode == raw.strip()


@given(st.binary(max_size=200))
def test_garbage_after_the_signed_prefix_is_invalid(blob):
    with pytest.raises(InvalidCode):
        parse_code("FP1." + signing.b64e(blob) + "." + signing.b64e(blob[:10]), KEYS)
