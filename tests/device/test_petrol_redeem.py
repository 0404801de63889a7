"""PetrolService.redeem: the PIN rules, identity, payment, seat choice from the kiosk's
own block, and one transaction for the outbox event and every local effect."""

from __future__ import annotations

import sqlite3

import msgspec
import pytest

from fieldpass.device.errors import DeviceError
from fieldpass.device.identity import DeviceIdentity
from fieldpass.device.petrol import PetrolService
from fieldpass.device.store import CLOCK_OFFSET_MS, Store
from fieldpass.sync import sealing, signing
from fieldpass.sync.codes import parse_code
from fieldpass.sync.events import GENESIS_HASH, verify_chain
from fieldpass.sync.messages import Change
from fieldpass.sync.payloads import validate_payload

from .conftest import EVENT_ID, OTHER_EVENT_ID, T0, FakeClock

DEVICE = "kiosk-1"
HOLDERS = [
    {
        "full_name": "Ana Horvat",
        "date_of_birth": "1990-05-17",
        "nationality": "HR",
        "document_type": "OIB",
        "document_number": "69435151530",
    },
    {
        "full_name": "John Smith",
        "date_of_birth": "1985-01-02",
        "nationality": "GB",
        "document_type": "PASSPORT",
        "document_number": "AB1234567",
    },
]


class Kiosk:
    def __init__(self, tmp_path) -> None:
        self.clock = FakeClock()
        self.store = Store.open(tmp_path / "store.sqlite", self.clock)
        self.key = signing.generate_private_key()
        self.holders_key = sealing.generate_key()
        self.identity = DeviceIdentity(
            device_id=DEVICE,
            name="kiosk",
            role="petrol",
            server_url="http://x",
            status="approved",
            event_id=EVENT_ID,
        )
        self.service = PetrolService(
            self.store, self.identity, self.key, self.clock, holders_key=self.holders_key
        )
        self.seq = 0

    def change(self, entity: str, key: str, data: dict, op: str = "upsert") -> Change:
        self.seq += 1
        return Change(seq=self.seq, entity=entity, key=key, op=op, data=data)

    def pin(self, pin_id: str, pin: str, *, quantity: int = 2, status: str = "ACTIVE", **kw):
        holders = HOLDERS[:quantity]
        data = {
            "id": pin_id,
            "pin": pin,
            "event_id": kw.get("event_id", EVENT_ID),
            "quantity": quantity,
            "status": status,
            "expires_at": kw.get("expires_at", T0 + 3_600_000),
            "holders": sealing.seal_for_device(
                self.holders_key, DEVICE, pin_id, msgspec.json.encode(holders)
            ),
        }
        self.store.apply_changes([self.change("petrol_pin", pin_id, data)], "c", "e")

    def block(
        self,
        block_id: str,
        row_seats: dict[str, list[str]],
        sector: str = "P",
        *,
        price_cents: int | None = None,
        vat_percent: str | None = None,
    ):
        data = {"id": block_id, "event_id": EVENT_ID, "sector": sector, "status": "ACTIVE"}
        if price_cents is not None:
            data |= {"price_cents": price_cents, "vat_percent": vat_percent or "25.00"}
        changes = [self.change("seat_block", block_id, data)]
        for row, numbers in row_seats.items():
            for number in numbers:
                seat_id = f"{block_id}-{row}-{number}"
                data = {"id": seat_id, "event_id": EVENT_ID, "block_id": block_id}
                data |= {"sector": sector, "row": row, "seat": number, "status": "ALLOCATED"}
                changes.append(self.change("seat", seat_id, data))
        self.store.apply_changes(changes, "c", "e")

    def counts(self) -> tuple[int, int, int, int]:
        conn = self.store.conn
        return (
            conn.execute("SELECT COUNT(*) FROM outbox").fetchone()[0],
            conn.execute("SELECT COUNT(*) FROM petrol_sales").fetchone()[0],
            conn.execute("SELECT COUNT(*) FROM seats WHERE status = 'SOLD'").fetchone()[0],
            conn.execute("SELECT COUNT(*) FROM petrol_pins WHERE status = 'USED'").fetchone()[0],
        )


@pytest.fixture
def kiosk(tmp_path):
    k = Kiosk(tmp_path)
    k.pin("pin-1", "12345")
    k.block("blk-1", {"A": ["1", "2", "4", "5", "6"], "B": ["1", "2"]}, price_cents=2500)
    yield k
    k.store.close()


def test_redeem_issues_tickets_marks_pin_and_seats_and_appends_one_event(kiosk):
    sale = kiosk.service.redeem("12345", identity_verified=True, cash_cents=5000)
    assert sale.seq == 1 and sale.pin == "12345" and sale.pin_id == "pin-1"
    assert [(t.holder, t.sector, t.row, t.seat) for t in sale.tickets] == [
        ("Ana Horvat", "P", "A", "1"),
        ("John Smith", "P", "A", "2"),
    ]
    for ticket in sale.tickets:  # gates accept them as plain barcodes
        assert parse_code(ticket.barcode).barcode == ticket.barcode
        assert ticket.barcode.startswith("P") and len(ticket.barcode) == 17
    assert kiosk.counts() == (1, 1, 2, 1)
    event = kiosk.store.pending_events(10, DEVICE)[0]
    assert event.kind == "petrol_sale"
    payload = validate_payload("petrol_sale", event.payload)  # what the server will check
    assert payload.identity_verified is True and payload.pin_id == "pin-1"
    assert payload.payment.method == "cash" and payload.payment.amount_cents == 5000
    assert payload.payment.tendered_cents == 5000 and sale.change_cents == 0
    assert [t.price_cents for t in sale.tickets] == [2500, 2500]
    assert sale.vat_cents == 2 * 500  # 25 % VAT included in 25.00 is 5.00
    assert [t.barcode for t in payload.tickets] == [t.barcode for t in sale.tickets]
    verify_chain(
        [event],
        device_id=DEVICE,
        public_key=kiosk.key.public_key(),
        first_prev_hash=GENESIS_HASH,
    )
    # a used PIN is refused, locally, even before any sync
    with pytest.raises(DeviceError) as err:
        kiosk.service.redeem("12345", identity_verified=True, cash_cents=5000)
    assert err.value.code == "pin_used"


def test_next_sale_takes_the_next_adjacent_seats_never_a_sold_one(kiosk):
    kiosk.pin("pin-2", "22222")
    kiosk.pin("pin-3", "33333")
    kiosk.service.redeem("12345", identity_verified=True, card_ref="POS-1")
    second = kiosk.service.redeem("22222", identity_verified=True, card_ref="POS-2")
    # A/4-A/5 are the first adjacent pair left (A/1, A/2 sold; A/4 follows a gap)
    assert [(t.row, t.seat) for t in second.tickets] == [("A", "4"), ("A", "5")]
    third = kiosk.service.redeem("33333", identity_verified=True, card_ref="POS-3")
    assert [(t.row, t.seat) for t in third.tickets] == [("B", "1"), ("B", "2")]
    barcodes = [t.barcode for s in (second, third) for t in s.tickets]
    assert len(set(barcodes)) == 4
    # a re-pull saying a sold seat is ALLOCATED again does not make it sellable here
    data = {"id": "blk-1-A-1", "event_id": EVENT_ID, "block_id": "blk-1", "sector": "P"}
    data |= {"row": "A", "seat": "1", "status": "ALLOCATED"}
    kiosk.store.apply_changes([kiosk.change("seat", "blk-1-A-1", data)], "c", "e")
    assert ("A", "1") not in {(s.row, s.seat) for s in kiosk.store.sellable_seats(EVENT_ID)}


@pytest.mark.parametrize(
    ("pin", "setup", "code"),
    [
        ("99999", {}, "unknown_pin"),
        ("1234", {}, "invalid_pin"),
        ("12a45", {}, "invalid_pin"),
        ("44444", {"status": "CANCELLED"}, "pin_cancelled"),
        ("44444", {"status": "USED"}, "pin_used"),
        ("44444", {"status": "EXPIRED"}, "pin_expired"),
        ("44444", {"expires_at": T0 - 1}, "pin_expired"),  # stored ACTIVE, past expiry
        ("44444", {"event_id": OTHER_EVENT_ID}, "wrong_event"),
    ],
)
def test_refused_pins_change_nothing(kiosk, pin, setup, code):
    kiosk.pin("pin-4", "44444", **setup)
    before = kiosk.counts()
    with pytest.raises(DeviceError) as err:
        kiosk.service.redeem(pin, identity_verified=True, cash_cents=100)
    assert err.value.code == code
    assert kiosk.counts() == before and before[:3] == (0, 0, 0)


def test_expiry_uses_the_last_known_clock_offset(kiosk):
    kiosk.pin("pin-4", "44444", expires_at=T0 + 60_000)
    # the device clock is 2 minutes slow: by server time the PIN expired a minute ago
    kiosk.store.set_meta(**{CLOCK_OFFSET_MS: 120_000})
    with pytest.raises(DeviceError) as err:
        kiosk.service.redeem("44444", identity_verified=True, cash_cents=100)
    assert err.value.code == "pin_expired"
    kiosk.store.set_meta(**{CLOCK_OFFSET_MS: 0})
    assert kiosk.service.redeem("44444", identity_verified=True, cash_cents=5000).seq == 1


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"identity_verified": False, "cash_cents": 100}, "identity_not_verified"),
        ({"identity_verified": True}, "invalid_payment"),
        ({"identity_verified": True, "cash_cents": 100, "card_ref": "X"}, "invalid_payment"),
        ({"identity_verified": True, "cash_cents": -5}, "invalid_payment"),
        ({"identity_verified": True, "cash_cents": 0}, "invalid_payment"),
        ({"identity_verified": True, "cash_cents": 10**12}, "invalid_payment"),
        ({"identity_verified": True, "card_ref": "  "}, "invalid_payment"),
        ({"identity_verified": True, "card_ref": "\x00bad"}, "invalid_payment"),
    ],
)
def test_identity_and_payment_are_required(kiosk, kwargs, code):
    with pytest.raises(DeviceError) as err:
        kiosk.service.redeem("12345", **kwargs)
    assert err.value.code == code
    assert kiosk.counts() == (0, 0, 0, 0)


def test_no_seats_left_refuses_and_changes_nothing(tmp_path):
    k = Kiosk(tmp_path)
    try:
        k.pin("pin-1", "12345", quantity=2)
        k.block("blk-1", {"A": ["1"]})
        with pytest.raises(DeviceError) as err:
            k.service.redeem("12345", identity_verified=True, cash_cents=100)
        assert err.value.code == "no_seats"
        assert k.counts() == (0, 0, 0, 0)
        assert k.store.pin("12345").status == "ACTIVE"
    finally:
        k.store.close()


def test_a_failure_inside_the_transaction_leaves_nothing(kiosk, monkeypatch):
    """The outbox event and the local effects commit together or not at all: the last
    insert of the sale fails (barcode already recorded), after the outbox append and the
    PIN and seat updates ran."""
    barcodes = iter(["P" + "A" * 16, "P" + "B" * 16])
    monkeypatch.setattr("fieldpass.device.petrol.ticket_barcode", lambda: next(barcodes))
    kiosk.store.conn.execute(
        'INSERT INTO petrol_tickets (barcode, seq, event_id, sector, "row", seat)'
        " VALUES (?, 99, ?, 'Z', '9', '9')",
        ("P" + "B" * 16, EVENT_ID),
    )
    with pytest.raises(sqlite3.IntegrityError):
        kiosk.service.redeem("12345", identity_verified=True, cash_cents=5000)
    assert kiosk.counts() == (0, 0, 0, 0)
    assert kiosk.store.pin("12345").status == "ACTIVE"


def test_without_holders_key_nothing_is_sold(kiosk):
    kiosk.service.holders_key = None
    with pytest.raises(DeviceError) as err:
        kiosk.service.redeem("12345", identity_verified=True, cash_cents=100)
    assert err.value.code == "no_holders_key"
    assert kiosk.counts() == (0, 0, 0, 0)
