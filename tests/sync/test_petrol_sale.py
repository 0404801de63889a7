"""Petrol sale rules: offline ticket barcodes, seat choice (property-based) and the
``petrol_sale`` payload schema."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fieldpass.sync.codes import parse_code
from fieldpass.sync.payloads import PayloadError, PetrolSalePayload, validate_payload
from fieldpass.sync.petrol import choose_seats, ticket_barcode
from fieldpass.sync.seating import seat_sort_key
from fieldpass.sync.versions import EVENT_KINDS


def test_barcodes_are_plain_unique_and_random():
    codes = {ticket_barcode() for _ in range(2000)}
    assert len(codes) == 2000
    for code in list(codes)[:50]:
        assert parse_code(code).barcode == code and parse_code(code).signed is None
        assert len(code) == 17 and code.startswith("P")
    assert ticket_barcode(bytes(10)) == "P" + "A" * 16
    with pytest.raises(ValueError):
        ticket_barcode(b"short")


def test_adjacent_seats_first_lowest_first():
    seats = [("P", "A", n) for n in ("1", "3", "4", "5")] + [("P", "B", "1"), ("P", "B", "2")]
    assert choose_seats(seats, 1) == [("P", "A", "1")]
    assert choose_seats(seats, 2) == [("P", "A", "3"), ("P", "A", "4")]
    assert choose_seats(seats, 3) == [("P", "A", "3"), ("P", "A", "4"), ("P", "A", "5")]
    # no run of 4 in one row: the lowest four seats
    assert choose_seats(seats, 4) == [("P", "A", n) for n in ("1", "3", "4", "5")]
    assert choose_seats(seats, 7) is None
    # seat 10 follows 9 (numbers, not text); rows do not join across
    assert choose_seats([("P", "A", "10"), ("P", "A", "9"), ("P", "B", "1")], 2) == [
        ("P", "A", "9"),
        ("P", "A", "10"),
    ]
    assert choose_seats([("P", "A", "9"), ("P", "B", "10")], 2) == [
        ("P", "A", "9"),
        ("P", "B", "10"),
    ]


seat_sets = st.sets(
    st.tuples(
        st.sampled_from(["P", "Q"]),
        st.sampled_from(["A", "B", "C", "1", "2"]),
        st.integers(1, 30).map(str),
    ),
    max_size=40,
)


def _key(seat):
    return (seat[0], *seat_sort_key(seat[1], seat[2]))


@given(seat_sets, st.integers(1, 10))
def test_choice_properties(available, quantity):
    chosen = choose_seats(available, quantity)
    if len(available) < quantity:
        assert chosen is None
        return
    assert chosen is not None and len(chosen) == quantity
    assert len(set(chosen)) == quantity and set(chosen) <= available
    runs = []  # every block of `quantity` adjacent seats in one row
    for seat in sorted(available, key=_key):
        sector, row, number = seat
        block = [(sector, row, str(int(number) + i)) for i in range(quantity)]
        if all(s in available for s in block):
            runs.append(block)
    if runs:
        # adjacent in one row, and the lowest such block
        assert chosen == min(runs, key=lambda block: _key(block[0]))
    else:
        assert chosen == sorted(available, key=_key)[:quantity]


def _payload(**changes):
    payload = {
        "pin_id": "pin-1",
        "pin": "12345",
        "event_id": "ev-1",
        "seats": [{"sector": "P", "row": "A", "seat": "1"}],
        "tickets": [
            {
                "barcode": "P" + "A" * 16,
                "holder_name": "Ana Horvat",
                "sector": "P",
                "row": "A",
                "seat": "1",
            }
        ],
        "identity_verified": True,
        "payment": {"method": "card", "amount_cents": 0, "reference": "POS-1"},
        "sold_at": 1,
    }
    payload.update(changes)
    return payload


def test_petrol_sale_is_a_known_kind_with_a_valid_payload():
    assert "petrol_sale" in EVENT_KINDS
    assert isinstance(validate_payload("petrol_sale", _payload()), PetrolSalePayload)
    cash = {"method": "cash", "amount_cents": 2500, "tendered_cents": 3000}
    assert validate_payload("petrol_sale", _payload(payment=cash)).payment.tendered_cents == 3000


TICKET = {"barcode": "P" + "A" * 16, "holder_name": "Ana", "sector": "P", "row": "A", "seat": "1"}


@pytest.mark.parametrize(
    "changes",
    [
        {"identity_verified": False},
        {"identity_verified": "yes"},
        {"pin": "1234"},
        {"pin": "12a45"},
        {"seats": []},
        {"tickets": []},
        {"tickets": [{**TICKET, "seat": "2"}]},  # a ticket for a seat not sold
        {"tickets": [{**TICKET, "barcode": "bad code!"}]},
        {"tickets": [{**TICKET, "barcode": "FP1.abc.def"}]},
        {"tickets": [{**TICKET, "holder_name": ""}]},
        {
            "seats": [{"sector": "P", "row": "A", "seat": "1"}] * 2,
            "tickets": [TICKET, {**TICKET, "barcode": "P" + "B" * 16}],
        },
        {
            "seats": [
                {"sector": "P", "row": "A", "seat": "1"},
                {"sector": "P", "row": "A", "seat": "2"},
            ],
            "tickets": [TICKET, {**TICKET, "seat": "2"}],  # one barcode twice
        },
        {"payment": {"method": "card", "amount_cents": 0}},
        {"payment": {"method": "cheque", "amount_cents": 0}},
        {"payment": {"method": "cash", "amount_cents": -1}},
        {"payment": {"method": "cash", "amount_cents": 10**9}},
        {"payment": {"method": "cash", "amount_cents": 500, "tendered_cents": 100}},
        {"payment": {"method": "cash", "amount_cents": 500, "reference": "x"}},
        {"extra": 1},
        {"sold_at": -1},
    ],
)
def test_bad_petrol_sale_payloads_are_refused(changes):
    with pytest.raises(PayloadError):
        validate_payload("petrol_sale", _payload(**changes))
