"""PIN rules, seat ranges and sealing: pure rules the server and the kiosk share."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fieldpass.sync import sealing
from fieldpass.sync.pins import (
    PinRuleError,
    check_pin,
    check_quantity,
    check_transition,
    effective_status,
    generate_pin,
    is_pin,
)
from fieldpass.sync.seating import RangeError, parse_labels


def test_generated_pins_are_five_digits_and_vary():
    pins = {generate_pin() for _ in range(200)}
    assert all(is_pin(p) for p in pins)
    assert len(pins) > 150


@pytest.mark.parametrize("text", ["1234", "123456", "12a45", " 12345", "１２３４５", "", "12 45"])
def test_malformed_pins(text):
    assert not is_pin(text)
    with pytest.raises(PinRuleError) as caught:
        check_pin(text)
    assert caught.value.code == "invalid_pin"


@pytest.mark.parametrize("quantity", [0, 11, -1, True, 2.0])
def test_quantity_bounds(quantity):
    with pytest.raises(PinRuleError):
        check_quantity(quantity)
    assert check_quantity(10) == 10 and check_quantity(1) == 1


def test_effective_status_reports_expiry_without_a_write():
    assert effective_status("ACTIVE", 1000, 999) == "ACTIVE"
    assert effective_status("ACTIVE", 1000, 1000) == "EXPIRED"
    assert effective_status("USED", 1000, 5000) == "USED"
    assert effective_status("CANCELLED", 1000, 5000) == "CANCELLED"


@pytest.mark.parametrize("target", ["USED", "EXPIRED", "CANCELLED"])
def test_only_active_pins_move(target):
    check_transition("ACTIVE", target)
    for current in ("USED", "EXPIRED", "CANCELLED"):
        with pytest.raises(PinRuleError) as caught:
            check_transition(current, target)
        assert caught.value.code == "invalid_transition"
    with pytest.raises(PinRuleError):
        check_transition("ACTIVE", "ACTIVE")


def test_ranges():
    assert parse_labels("A-C") == ["A", "B", "C"]
    assert parse_labels("a-c, F") == ["A", "B", "C", "F"]
    assert parse_labels("1-3,07", what="seats", letters=False) == ["1", "2", "3", "7"]
    assert len(parse_labels("A-Z")) == 26 and len(parse_labels("1-30", letters=False)) == 30


@pytest.mark.parametrize(
    ("text", "letters", "words"),
    [
        ("C-A", True, "backwards"),
        ("A-3", True, "not a range"),
        ("A-C", False, "numbers 1-999"),
        ("0-5", False, "1 to 999"),
        ("1-1000", False, "not a range"),
        ("A-C,B", True, "given twice"),
        ("", True, "give a range"),
        ("AA-AB", True, "not a range"),
    ],
)
def test_bad_ranges(text, letters, words):
    with pytest.raises(RangeError) as caught:
        parse_labels(text, letters=letters)
    assert words in str(caught.value)


@given(st.text(max_size=30))
def test_parse_labels_only_raises_range_error(text):
    try:
        labels = parse_labels(text)
    except RangeError:
        return
    assert labels and len(labels) == len(set(labels))


def test_sealing_round_trip_and_binding():
    key = sealing.generate_key()
    sealed = sealing.seal(key, b"Ana Horvat 69435151530", b"row-1")
    assert "Ana" not in sealed and "69435151530" not in sealed
    assert sealing.unseal(key, sealed, b"row-1") == b"Ana Horvat 69435151530"
    with pytest.raises(sealing.SealError) as other_row:
        sealing.unseal(key, sealed, b"row-2")
    assert other_row.value.code == "damaged"
    with pytest.raises(sealing.SealError) as other_key:
        sealing.unseal(sealing.generate_key(), sealed, b"row-1")
    assert other_key.value.code == "wrong_key"
    middle = len(sealed) - 10  # inside the ciphertext
    tampered = sealed[:middle] + ("A" if sealed[middle] != "A" else "B") + sealed[middle + 1 :]
    with pytest.raises(sealing.SealError):
        sealing.unseal(key, tampered, b"row-1")
    # a changed padding bit in the last character decodes to the same bytes: refused too
    last = sealed.rstrip("=")
    index = len(last) - 1
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    same_bytes = alphabet[alphabet.index(last[index]) ^ 1]
    if len(sealed) != len(last):  # padded: the last character has unused low bits
        with pytest.raises(sealing.SealError, match="canonical"):
            sealing.unseal(key, last[:index] + same_bytes + sealed[len(last) :], b"row-1")
    assert sealing.key_from_text(sealing.key_to_text(key)) == key
    with pytest.raises(sealing.SealError):
        sealing.key_from_text("c2hvcnQ=")
