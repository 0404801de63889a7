"""Reservations at a petrol kiosk: seats held for a PIN until the sale or expiry, each step
one transaction with its outbox event; reprints logged first; holder data purged after
the match."""

from __future__ import annotations

import sqlite3

import pytest

from fieldpass.device.errors import DeviceError
from fieldpass.device.petrol import (
    DEFAULT_RESERVATION_MINUTES,
    HOLDER_DATA_GRACE_MS,
    vat_part_cents,
    vat_percent_or_default,
)
from fieldpass.device.store import CLOCK_OFFSET_MS
from fieldpass.sync.events import GENESIS_HASH, verify_chain
from fieldpass.sync.messages import Change
from fieldpass.sync.payloads import validate_payload

from .conftest import EVENT_ID, T0
from .test_petrol_redeem import DEVICE, Kiosk

MINUTE = 60_000


@pytest.fixture
def kiosk(tmp_path):
    k = Kiosk(tmp_path)
    k.pin("pin-1", "12345")
    k.pin("pin-2", "22222")
    k.block("blk-1", {"A": ["1", "2", "3", "4"]}, price_cents=2500, vat_percent="25.00")
    yield k
    k.store.close()


def kinds(kiosk) -> list[str]:
    return [e.kind for e in kiosk.store.pending_events(100, DEVICE)]


def free(kiosk) -> list[tuple[str, str]]:
    return [(s.row, s.seat) for s in kiosk.service.free_seats()]


def test_vat_helpers():
    assert vat_part_cents(2500, "25.00") == 500
    assert vat_part_cents(1000, "13.00") == 115  # 115.04 rounds to 115
    assert vat_part_cents(0, "25.00") == 0
    assert vat_percent_or_default("13") == "13.00"
    assert vat_percent_or_default("abc") == vat_percent_or_default("-1") == "25.00"


def test_reservation_holds_seats_then_the_sale_completes_it(kiosk):
    reservation = kiosk.service.reserve("12345")
    assert [s.key for s in reservation.seats] == [("P", "A", "1"), ("P", "A", "2")]
    assert reservation.total_cents == 5000 and reservation.vat_cents == 1000
    assert reservation.expires_at == T0 + DEFAULT_RESERVATION_MINUTES * MINUTE
    # nobody else is offered the held seats
    assert free(kiosk) == [("A", "3"), ("A", "4")]
    other = kiosk.service.reserve("22222")
    assert [s.key[1:] for s in other.seats] == [("A", "3"), ("A", "4")]
    with pytest.raises(DeviceError) as err:
        kiosk.service.redeem("12345", identity_verified=True, cash_cents=5000)
    assert err.value.code == "pin_reserved"  # only through its reservation
    sale = kiosk.service.redeem(
        "12345",
        identity_verified=True,
        cash_cents=6000,
        reservation_id=reservation.id,
        documents=["id_card", "passport"],
    )
    assert [(t.row, t.seat) for t in sale.tickets] == [("A", "1"), ("A", "2")]
    assert sale.payment == {"method": "cash", "amount_cents": 5000, "tendered_cents": 6000}
    assert sale.change_cents == 1000 and sale.reservation_id == reservation.id
    assert kiosk.service.reservation(reservation.id).status == "SOLD"
    events = kiosk.store.pending_events(100, DEVICE)
    assert [e.kind for e in events] == ["petrol_reservation", "petrol_reservation", "petrol_sale"]
    assert [e.seq for e in events] == [1, 2, 3]
    verify_chain(
        events, device_id=DEVICE, public_key=kiosk.key.public_key(), first_prev_hash=GENESIS_HASH
    )
    held = validate_payload("petrol_reservation", events[0].payload)
    assert held.reservation_id == reservation.id and held.expires_at == reservation.expires_at
    sold = validate_payload("petrol_sale", events[2].payload)
    assert sold.reservation_id == reservation.id and sold.documents == ["id_card", "passport"]
    with pytest.raises(DeviceError) as err:  # a completed reservation cannot sell again
        kiosk.service.redeem(
            "12345", identity_verified=True, cash_cents=6000, reservation_id=reservation.id
        )
    assert err.value.code == "pin_used"


def test_expiry_frees_the_seats_and_the_expired_reservation_cannot_sell(kiosk):
    kiosk.service.set_reservation_minutes(2)
    reservation = kiosk.service.reserve("12345")
    kiosk.clock.advance(2 * MINUTE - 1)
    assert kiosk.service.expire_reservations() == []
    kiosk.clock.advance(1)
    assert kiosk.service.expire_reservations() == [reservation.id]
    assert free(kiosk) == [("A", "1"), ("A", "2"), ("A", "3"), ("A", "4")]
    assert kinds(kiosk) == ["petrol_reservation", "petrol_reservation_end"]
    end = validate_payload(
        "petrol_reservation_end", kiosk.store.pending_events(9, DEVICE)[1].payload
    )
    assert end.outcome == "expired" and end.reservation_id == reservation.id
    with pytest.raises(DeviceError) as err:
        kiosk.service.redeem(
            "12345", identity_verified=True, card_ref="POS-1", reservation_id=reservation.id
        )
    assert err.value.code == "reservation_expired"
    assert kinds(kiosk) == ["petrol_reservation", "petrol_reservation_end"]  # nothing sold


def test_a_sale_attempt_after_expiry_expires_the_reservation_first(kiosk):
    reservation = kiosk.service.reserve("12345")
    kiosk.clock.advance(DEFAULT_RESERVATION_MINUTES * MINUTE)
    with pytest.raises(DeviceError) as err:  # no timer ran: redeem itself expires it
        kiosk.service.redeem(
            "12345", identity_verified=True, card_ref="POS-1", reservation_id=reservation.id
        )
    assert err.value.code == "reservation_expired"
    assert kinds(kiosk) == ["petrol_reservation", "petrol_reservation_end"]
    # the PIN is still valid: a new reservation gets the seats back
    again = kiosk.service.reserve("12345")
    assert [s.key[1:] for s in again.seats] == [("A", "1"), ("A", "2")]


def test_an_expired_pin_cannot_be_sold_through_its_reservation_clock_skew_considered(kiosk):
    kiosk.pin("pin-4", "44444", expires_at=T0 + 2 * MINUTE)
    reservation = kiosk.service.reserve("44444")
    # the device clock runs 3 minutes slow: by server time the PIN has expired already,
    # while the reservation (device time) still runs
    kiosk.store.set_meta(**{CLOCK_OFFSET_MS: 3 * MINUTE})
    with pytest.raises(DeviceError) as err:
        kiosk.service.redeem(
            "44444", identity_verified=True, card_ref="POS-1", reservation_id=reservation.id
        )
    assert err.value.code == "pin_expired"
    with pytest.raises(DeviceError) as err:
        kiosk.service.reserve("22222", seats=[("P", "A", "1"), ("P", "A", "2")])
    assert err.value.code == "seat_taken"  # still held until the reservation ends
    assert kiosk.service.cancel_reservation(reservation.id, "PIN expired") is True
    assert kiosk.service.cancel_reservation(reservation.id, "again") is False
    assert kinds(kiosk) == ["petrol_reservation", "petrol_reservation_end"]


def test_two_reservations_never_take_one_seat(kiosk):
    first = kiosk.service.reserve("12345", seats=[("P", "A", "2"), ("P", "A", "3")])
    with pytest.raises(DeviceError) as err:
        kiosk.service.reserve("22222", seats=[("P", "A", "3"), ("P", "A", "4")])
    assert err.value.code == "seat_taken"
    # the best free seats skip held ones; A/1 and A/4 are not adjacent but are what is left
    second = kiosk.service.reserve("22222")
    assert sorted(s.key[2] for s in second.seats) == ["1", "4"]
    assert not {s.key for s in first.seats} & {s.key for s in second.seats}
    # the database refuses a second hold of a seat even if the check were bypassed
    with pytest.raises(sqlite3.IntegrityError), kiosk.store.transaction() as conn:
        conn.execute(
            'INSERT INTO petrol_seat_holds (event_id, sector, "row", seat, reservation_id)'
            " VALUES (?, 'P', 'A', '2', 'x')",
            (EVENT_ID,),
        )


@pytest.mark.parametrize(
    ("seats", "code"),
    [
        ([("P", "A", "1")], "invalid_seats"),
        ([("P", "A", "1"), ("P", "A", "1")], "invalid_seats"),
        ([("P", "A", "1"), ("P", "Z", "9")], "seat_taken"),
    ],
)
def test_bad_seat_choices_change_nothing(kiosk, seats, code):
    with pytest.raises(DeviceError) as err:
        kiosk.service.reserve("12345", seats=seats)
    assert err.value.code == code
    assert kinds(kiosk) == [] and kiosk.service.active_reservations() == []


def test_changing_seats_ends_the_old_reservation_and_keeps_its_expiry(kiosk):
    first = kiosk.service.reserve("12345")
    kiosk.clock.advance(MINUTE)
    changed = kiosk.service.change_seats(first.id, [("P", "A", "2"), ("P", "A", "4")])
    assert changed.id != first.id and changed.expires_at == first.expires_at
    assert [s.key[2] for s in changed.seats] == ["2", "4"]
    assert free(kiosk) == [("A", "1"), ("A", "3")]
    assert kiosk.service.reservation(first.id).status == "CANCELLED"
    assert kinds(kiosk) == ["petrol_reservation", "petrol_reservation_end", "petrol_reservation"]
    sale = kiosk.service.redeem(
        "12345", identity_verified=True, card_ref="POS-9", reservation_id=changed.id
    )
    assert sale.payment == {"method": "card", "amount_cents": 5000, "reference": "POS-9"}
    assert [t.seat for t in sale.tickets] == ["2", "4"]


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"cash_cents": 4999}, "invalid_payment"),  # less than the total
        ({"cash_cents": 0}, "invalid_payment"),
        ({"card_ref": "POS-1", "documents": ["id_card"]}, "invalid_document"),
        ({"card_ref": "POS-1", "documents": ["id_card", "library card"]}, "invalid_document"),
    ],
)
def test_short_cash_and_bad_documents_change_nothing(kiosk, kwargs, code):
    reservation = kiosk.service.reserve("12345")
    with pytest.raises(DeviceError) as err:
        kiosk.service.redeem(
            "12345", identity_verified=True, reservation_id=reservation.id, **kwargs
        )
    assert err.value.code == code
    assert kinds(kiosk) == ["petrol_reservation"]
    assert kiosk.service.reservation(reservation.id).status == "ACTIVE"


def test_reprint_is_logged_first_and_needs_reason_and_document(kiosk):
    sale = kiosk.service.redeem("12345", identity_verified=True, card_ref="POS-1")
    barcode = sale.tickets[1].barcode
    for kwargs, code in [
        ({"reason": " ", "document_type": "passport"}, "invalid_reason"),
        ({"reason": "jam", "document_type": "library"}, "invalid_document"),
    ]:
        with pytest.raises(DeviceError) as err:
            kiosk.service.record_reprint(barcode, identity_verified=True, **kwargs)
        assert err.value.code == code
    with pytest.raises(DeviceError) as err:
        kiosk.service.record_reprint(
            barcode, reason="jam", identity_verified=False, document_type="passport"
        )
    assert err.value.code == "identity_not_verified"
    with pytest.raises(DeviceError) as err:
        kiosk.service.record_reprint(
            "PNOTISSUEDHERE123", reason="jam", identity_verified=True, document_type="passport"
        )
    assert err.value.code == "unknown_ticket"
    assert kinds(kiosk) == ["petrol_sale"]
    copy = kiosk.service.record_reprint(
        barcode, reason="paper  jam", identity_verified=True, document_type="passport"
    )
    assert copy.ticket.holder == "John Smith" and copy.ticket.price_cents == 2500
    assert copy.sale_seq == sale.seq and copy.pin == "12345" and copy.reason == "paper jam"
    event = kiosk.store.pending_events(10, DEVICE)[-1]
    assert event.kind == "petrol_reprint" and event.seq == copy.seq
    logged = validate_payload("petrol_reprint", event.payload)
    assert logged.barcode == barcode and logged.document_type == "passport"


def test_holder_data_is_purged_a_day_after_the_match(kiosk):
    kiosk.store.apply_changes(
        [
            Change(
                seq=99,
                entity="event",
                key=EVENT_ID,
                op="upsert",
                data={"id": EVENT_ID, "name": "Cup", "starts_at": T0, "ends_at": T0 + 7_200_000},
            )
        ],
        "c",
        "e",
    )
    sale = kiosk.service.redeem("12345", identity_verified=True, card_ref="POS-1")
    purge_at = T0 + 7_200_000 + HOLDER_DATA_GRACE_MS
    assert kiosk.service.purge_holder_data(purge_at - 1).events == []
    assert kiosk.store.pin("22222").holders_sealed is not None
    report = kiosk.service.purge_holder_data(purge_at)
    assert report.events == [EVENT_ID] and report.pins == 2 and report.tickets == 2
    conn = kiosk.store.conn
    assert (
        conn.execute(
            "SELECT COUNT(*) FROM petrol_pins WHERE holders_sealed IS NOT NULL"
        ).fetchone()[0]
        == 0
    )
    rows = conn.execute('SELECT barcode, "row", seat, holder FROM petrol_tickets ORDER BY seat')
    assert [r[:3] for r in rows] == [(t.barcode, t.row, t.seat) for t in sale.tickets]
    assert (
        conn.execute("SELECT COUNT(*) FROM petrol_tickets WHERE holder IS NOT NULL").fetchone()[0]
        == 0
    )
    assert conn.execute("SELECT COUNT(*) FROM petrol_sales").fetchone()[0] == 1
    with pytest.raises(DeviceError) as err:
        kiosk.service.look_up("22222")
    assert err.value.code == "no_holders"
    with pytest.raises(DeviceError) as err:
        kiosk.service.record_reprint(
            sale.tickets[0].barcode, reason="x", identity_verified=True, document_type="id_card"
        )
    assert err.value.code == "holder_data_purged"
    assert kiosk.service.purge_holder_data(purge_at).pins == 0  # nothing left to purge


def test_a_store_with_earlier_petrol_sales_migrates(tmp_path):
    """The reservation/price migration runs on a store that already sold tickets: old
    tickets keep their seats and barcodes, priced 0, with no holder name to reprint."""
    from fieldpass.device.store import MIGRATIONS, Store, _split_sql

    path = tmp_path / "old.sqlite"
    conn = sqlite3.connect(path, isolation_level=None)
    before = next(n for n, m in enumerate(MIGRATIONS) if "TABLE petrol_reservations" in m)
    for migration in MIGRATIONS[:before]:
        for statement in _split_sql(migration):
            conn.execute(statement)
    conn.execute(f"PRAGMA user_version = {before}")
    conn.execute(
        "INSERT INTO petrol_sales (seq, pin_id, pin, event_id, payment_method, amount_cents,"
        " sold_at) VALUES (1, 'pin-0', '11111', ?, 'card', 0, ?)",
        (EVENT_ID, T0),
    )
    conn.execute(
        'INSERT INTO petrol_tickets (barcode, seq, event_id, sector, "row", seat)'
        " VALUES ('POLD0000000000000', 1, ?, 'P', 'A', '9')",
        (EVENT_ID,),
    )
    conn.close()
    store = Store.open(path)
    try:
        assert store.schema_version() == len(MIGRATIONS)
        row = store.conn.execute(
            "SELECT price_cents, holder FROM petrol_tickets WHERE barcode = 'POLD0000000000000'"
        ).fetchone()
        assert row == (0, None)
        assert store.conn.execute("SELECT COUNT(*) FROM petrol_reservations").fetchone()[0] == 0
    finally:
        store.close()


def test_a_block_without_a_usable_price_sells_at_the_unpriced_default(tmp_path):
    k = Kiosk(tmp_path)
    try:
        k.pin("pin-1", "12345", quantity=1)
        k.block("blk-1", {"A": ["1"]})  # a server that does not price seats yet
        k.block("blk-2", {"B": ["1"]}, price_cents=-100, vat_percent="lots")
        seats = {s.key: s for s in k.service.free_seats()}
        assert seats[("P", "A", "1")].price_cents == 0
        assert (seats[("P", "B", "1")].price_cents, seats[("P", "B", "1")].vat_percent) == (
            0,
            "25.00",
        )
        sale = k.service.redeem("12345", identity_verified=True, cash_cents=100)
        assert sale.total_cents == 0 and sale.change_cents == 100
    finally:
        k.store.close()
