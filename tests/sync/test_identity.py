"""Holders' identity: the OIB check digit (ISO 7064 MOD 11,10) and the holder format."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fieldpass.sync.identity import (
    Holder,
    HolderError,
    make_holder,
    oib_check_digit,
    oib_is_valid,
    parse_holder,
)

#: Published example OIBs (valid check digits).
KNOWN_VALID = ["69435151530", "94577403194", "00000000001"]

first_ten = st.text(alphabet="0123456789", min_size=10, max_size=10)


def with_check_digit(digits: str) -> str:
    return digits + str(oib_check_digit(digits))


@pytest.mark.parametrize("oib", KNOWN_VALID)
def test_known_oibs_are_valid(oib):
    assert oib_is_valid(oib)


@given(first_ten)
def test_an_oib_with_its_computed_check_digit_is_valid(digits):
    assert oib_is_valid(with_check_digit(digits))


@given(first_ten, st.integers(0, 10), st.integers(1, 9))
def test_any_single_digit_change_invalidates(digits, position, delta):
    oib = with_check_digit(digits)
    changed = str((int(oib[position]) + delta) % 10)
    mutated = oib[:position] + changed + oib[position + 1 :]
    assert not oib_is_valid(mutated)


@given(first_ten)
def test_exactly_one_check_digit_fits(digits):
    assert [d for d in "0123456789" if oib_is_valid(digits + d)] == [str(oib_check_digit(digits))]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "6943515153",
        "694351515300",
        "6943515153a",
        " 69435151530",
        "٦٩٤٣٥١٥١٥٣٠",
        None,
        69435151530,
    ],
)
def test_malformed_oibs_are_invalid(text):
    assert not oib_is_valid(text)


@given(st.text(max_size=15))
def test_oib_is_valid_never_raises(text):
    assert oib_is_valid(text) in (True, False)


def test_parse_holder_with_oib():
    holder = parse_holder(" Ana  Horvat ;1990-05-17;hr;69435151530")
    assert holder == Holder("Ana Horvat", date(1990, 5, 17), "HR", "OIB", "69435151530")
    assert Holder.from_dict(holder.to_dict()) == holder


def test_parse_holder_with_passport():
    holder = parse_holder("John Smith;1985-01-02;GB;ab 123 4567")
    assert holder.document_type == "PASSPORT" and holder.document_number == "AB1234567"
    # 11 digits but not Croatian: a passport number, no OIB check
    foreign = parse_holder("Hans Muster;1970-03-04;DE;12345678901")
    assert foreign.document_type == "PASSPORT"
    # a Croatian passport (9 digits) is not an OIB either
    assert parse_holder("Ivo Ivić;2000-02-29;HR;123456789").document_type == "PASSPORT"


@pytest.mark.parametrize(
    ("line", "field", "words"),
    [
        ("Ana Horvat;1990-05-17;HR;69435151531", "document", "invalid OIB"),
        ("Ana Horvat;1990-05-17;HR", "holder", "4 parts"),
        ("Ana;Horvat;1990-05-17;HR;69435151530", "holder", "4 parts"),
        (";1990-05-17;HR;69435151530", "name", "required"),
        ("1234;1990-05-17;HR;69435151530", "name", "no letters"),
        ("Ana\x00;1990-05-17;HR;69435151530", "name", "control"),
        ("Ana;17.05.1990;HR;69435151530", "date_of_birth", "YYYY-MM-DD"),
        ("Ana;1990-02-30;HR;69435151530", "date_of_birth", "no such date"),
        ("Ana;1899-12-31;HR;69435151530", "date_of_birth", "before 1900"),
        ("Ana;2030-01-01;HR;69435151530", "date_of_birth", "future"),
        ("Ana;1990-05-17;Croatia;69435151530", "nationality", "2-letter"),
        ("Ana;1990-05-17;HR;", "document", "required"),
        ("Ana;1990-05-17;GB;AB-12", "document", "passport"),
        ("Ana;1990-05-17;GB;ÄÖ12345", "document", "passport"),
    ],
)
def test_bad_holders_are_refused_naming_the_field(line, field, words):
    with pytest.raises(HolderError) as caught:
        parse_holder(line, today=date(2026, 5, 28))
    assert caught.value.field == field
    assert words in caught.value.message
    assert caught.value.code == "invalid_holder"


@given(st.text(max_size=80))
def test_parse_holder_only_ever_raises_holder_error(text):
    try:
        holder = parse_holder(text, today=date(2026, 5, 28))
    except HolderError:
        return
    assert holder.document_type in ("OIB", "PASSPORT")
    if holder.document_type == "OIB":
        assert oib_is_valid(holder.document_number)


@given(first_ten)
def test_every_valid_oib_parses_as_oib(digits):
    oib = with_check_digit(digits)
    holder = make_holder("Marko Marić", "1999-12-31", "HR", oib)
    assert (holder.document_type, holder.document_number) == ("OIB", oib)


def test_masked_holder_hides_identifiers():
    masked = parse_holder("Ana Horvat;1990-05-17;HR;69435151530").masked()
    assert masked["full_name"] == "Ana Horvat"
    assert "1990" not in masked["date_of_birth"]
    assert masked["document_number"] == "********530"
