"""Wire messages refuse what they do not define; cursors and clock maths are exact."""

from __future__ import annotations

import msgspec
import pytest

from fieldpass.sync.clock import estimate_offset, from_iso, to_iso
from fieldpass.sync.messages import PushRequest, decode, encode, make_cursor, parse_cursor
from fieldpass.sync.payloads import PayloadError, validate_payload


def test_unknown_field_and_wrong_type_are_refused():
    good = {"protocol": 1, "schema": 1, "device_id": "d", "sent_at": 1, "events": []}
    assert decode(PushRequest, encode(good)).device_id == "d"
    with pytest.raises(msgspec.ValidationError, match="surprise"):
        decode(PushRequest, encode({**good, "surprise": 1}))
    with pytest.raises(msgspec.ValidationError, match="sent_at"):
        decode(PushRequest, encode({**good, "sent_at": "yesterday"}))
    with pytest.raises(msgspec.DecodeError):
        decode(PushRequest, b"{not json")


def test_cursor_round_trip_and_malformed_cursor():
    assert parse_cursor(make_cursor("ep-1", 42)) == ("ep-1", 42)
    assert parse_cursor("") == (None, 0)
    for bad in ("nonsense", "ep:", ":5", "ep:-1", "ep:1e3"):
        with pytest.raises(ValueError):
            parse_cursor(bad)


def test_ntp_offset_for_a_device_clock_five_seconds_slow():
    # device is 5 s behind; 100 ms each way; server takes 10 ms
    t0 = 1_000_000
    t1 = t0 + 5_000 + 100
    t2 = t1 + 10
    t3 = t0 + 100 + 10 + 100
    offset, rtt = estimate_offset(t0, t1, t2, t3)
    assert offset == 5_000 and rtt == 200


def test_iso_round_trip_and_naive_means_utc():
    assert from_iso(to_iso(1_700_000_000_123)) == 1_700_000_000_123
    assert from_iso("2026-11-25T18:00:00") == from_iso("2026-11-25T18:00:00Z")


def test_payload_validation_names_the_problem():
    with pytest.raises(PayloadError, match="unknown event kind"):
        validate_payload("teleport", {})
    with pytest.raises(PayloadError, match="result"):
        validate_payload(
            "scan",
            {"event_id": "e", "mode": "entry", "result": "MAYBE", "code": "x", "code_length": 1},
        )
