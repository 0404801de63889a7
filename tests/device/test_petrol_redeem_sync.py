"""Petrol kiosks redeeming PINs offline against the REAL server (in-process): the sale is
ingested, its tickets reach a gate of the same event and are admitted once; a PIN
redeemed at two offline kiosks keeps both sales and raises exactly one conflict. Plus the
``fieldpass device redeem`` command on a synced kiosk home (no network needed)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from fieldpass.cli import cli
from fieldpass.device.context import open_device
from fieldpass.sync.checkin import ScanResult
from tests.device.test_petrol_sync import make_device, server  # noqa: F401 - a fixture
from tests.device.test_sync_real_server import setup_event

OIB = "69435151530"
EXPIRES = "2099-01-01T00:00:00Z"
ANA = {"full_name": "Ana Horvat", "date_of_birth": "1990-05-17", "nationality": "HR"}
ANA["document_number"] = OIB
JOHN = {"full_name": "John Smith", "date_of_birth": "1985-01-02", "nationality": "GB"}
JOHN["document_number"] = "AB1234567"


def create_pin(server, event_id: str, pin: str, holders: list[dict]) -> dict:
    return server.admin(
        "POST",
        f"/v1/events/{event_id}/pins",
        json={"quantity": len(holders), "holders": holders, "pin": pin, "expires_at": EXPIRES},
    )


def synced(*contexts) -> None:
    for ctx in contexts:
        report = ctx.sync.sync_once()
        assert report.error is None and report.online, report


@pytest.fixture
def petrol(server, tmp_path):
    event_id, gates = setup_event(server, tickets=2)
    server.admin(
        "POST", f"/v1/events/{event_id}/sectors", json={"name": "P", "rows": "A-B", "seats": "1-4"}
    )
    pin = create_pin(server, event_id, "12345", [ANA, JOHN])
    devices = {
        "kiosk": make_device(server, tmp_path, "kiosk-1", "petrol", event_id, debounce_ms=0),
        "other": make_device(server, tmp_path, "kiosk-2", "petrol", event_id, debounce_ms=0),
        "gate": make_device(
            server, tmp_path, "north-1", "gate", event_id, gates["North"], debounce_ms=0
        ),
    }
    for name, rows in (("kiosk", "A"), ("other", "B")):
        server.admin(
            "POST",
            f"/v1/events/{event_id}/seat-blocks",
            json={"device_id": devices[name][1].identity.device_id, "sector": "P", "rows": rows},
        )
    synced(*(ctx for _, ctx in devices.values()))
    yield event_id, pin, devices
    for _, ctx in devices.values():
        ctx.close()


def test_offline_sale_reaches_the_gate_and_is_admitted_once(server, petrol):
    event_id, pin, devices = petrol
    kiosk, gate = devices["kiosk"][1], devices["gate"][1]
    # offline: no sync between the redemption and the next sync
    sale = kiosk.petrol.redeem("12345", identity_verified=True, cash_cents=6000)
    assert [(t.holder, t.row, t.seat) for t in sale.tickets] == [
        ("Ana Horvat", "A", "1"),
        ("John Smith", "A", "2"),
    ]
    barcode = sale.tickets[0].barcode
    assert gate.gate.check_in(barcode).result is ScanResult.UNKNOWN  # not synced yet

    synced(kiosk)
    assert kiosk.store.status().unsynced == 0
    synced(gate)
    first = gate.gate.check_in(barcode)
    assert first.result is ScanResult.VALID
    assert (first.holder, first.sector, first.row, first.seat) == ("Ana Horvat", "P", "A", "1")
    assert gate.gate.check_in(barcode).result is ScanResult.ALREADY_USED
    assert gate.gate.check_in(sale.tickets[1].barcode).result is ScanResult.VALID

    # server: PIN used, seats sold, tickets VALID with holders, no conflict
    pins = server.admin("GET", f"/v1/events/{event_id}/pins?status=USED")["pins"]
    assert [p["id"] for p in pins] == [pin["id"]] and pins[0]["used_at"]
    sectors = {
        s["sector"]: s for s in server.admin("GET", f"/v1/events/{event_id}/sectors")["sectors"]
    }
    assert sectors["P"]["sold"] == 2
    found = server.admin("POST", f"/v1/events/{event_id}/tickets/search", json={"search": barcode})[
        "tickets"
    ]
    assert [(t["barcode"], t["status"], t["holder"]) for t in found] == [
        (barcode, "VALID", "Ana Horvat")
    ]
    assert server.admin("GET", f"/v1/conflicts?event_id={event_id}")["conflicts"] == []

    # the kiosk learns its seats are sold; the other kiosk learns the PIN is used
    other = devices["other"][1]
    synced(kiosk, other)
    seats = {
        (s.row, s.seat): s.status
        for s in kiosk.store.seats_of_block(kiosk.store.seat_blocks()[0][0])
    }
    assert seats[("A", "1")] == seats[("A", "2")] == "SOLD"
    used = other.store.pin("12345")
    assert (used.status, used.holders_sealed) == ("USED", None)
    with pytest.raises(Exception) as err:
        other.petrol.redeem("12345", identity_verified=True, card_ref="POS-9")
    assert getattr(err.value, "code", None) == "pin_used"


def test_a_pin_redeemed_at_two_offline_kiosks_keeps_both_sales_and_one_conflict(server, petrol):
    event_id, pin, devices = petrol
    kiosk, other, gate = (devices[n][1] for n in ("kiosk", "other", "gate"))
    first = kiosk.petrol.redeem("12345", identity_verified=True, cash_cents=6000)
    second = other.petrol.redeem("12345", identity_verified=True, card_ref="POS-77")
    synced(kiosk, other)  # both pushes accepted
    assert kiosk.store.status().unsynced == other.store.status().unsynced == 0
    synced(kiosk, other)  # pushing again changes nothing

    conflicts = server.admin("GET", f"/v1/conflicts?event_id={event_id}")["conflicts"]
    assert len(conflicts) == 1
    conflict = conflicts[0]
    assert conflict["kind"] == "pin_redeemed_twice" and conflict["subject"] == "12345"
    assert conflict["devices"] == [kiosk.identity.device_id, other.identity.device_id]
    assert conflict["details"]["first"]["barcodes"] == [t.barcode for t in first.tickets]
    assert conflict["details"]["second"]["barcodes"] == [t.barcode for t in second.tickets]

    synced(gate)  # no lost sale: all four tickets are admitted
    for ticket in (*first.tickets, *second.tickets):
        assert gate.gate.check_in(ticket.barcode).result is ScanResult.VALID
    sectors = server.admin("GET", f"/v1/events/{event_id}/sectors")["sectors"]
    assert {s["sector"]: s["sold"] for s in sectors}["P"] == 4


def run_cli(*args: str):
    return CliRunner().invoke(cli, list(args))


def test_device_redeem_command(server, petrol, tmp_path):
    event_id, _, devices = petrol
    home, kiosk = devices["kiosk"]
    create_pin(server, event_id, "54321", [ANA])
    create_pin(server, event_id, "11111", [ANA, JOHN, ANA])
    synced(kiosk)
    kiosk.close()
    root = str(home.root)

    result = run_cli(
        "device",
        "redeem",
        "54321",
        "--verify-identity",
        "--cash",
        "25.50",
        "--home",
        root,
        "--json",
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["pin"] == "54321" and out["seq"] == 1
    assert [(t["holder"], t["sector"], t["row"], t["seat"]) for t in out["tickets"]] == [
        ("Ana Horvat", "P", "A", "1")
    ]
    assert out["tickets"][0]["barcode"].startswith("P")

    def error(*args: str) -> str:
        result = run_cli("device", "redeem", *args, "--home", root, "--json")
        assert result.exit_code == 1, result.output
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
        return lines[0]

    assert "already redeemed" in error("54321", "--verify-identity", "--card", "POS-1")
    assert "not known" in error("99999", "--verify-identity", "--card", "POS-1")
    assert "--verify-identity" in error("12345", "--card", "POS-1")
    assert "exactly one of" in error("12345", "--verify-identity")
    assert "5 digits" in error("1234", "--verify-identity", "--card", "POS-1")
    assert "--cash must be" in error("12345", "--verify-identity", "--cash", "-5")
    assert "--cash must be" in error("12345", "--verify-identity", "--cash", "1e9")
    assert "more than 0" in error("12345", "--verify-identity", "--cash", "0")
    # three tickets take A/2-A/4, the rest of the block: nothing is left for PIN 12345
    ok = run_cli(
        "device",
        "redeem",
        "11111",
        "--verify-identity",
        "--card",
        "POS-2",
        "--home",
        root,
        "--json",
    )
    assert ok.exit_code == 0, ok.output
    assert "not enough seats" in error("12345", "--verify-identity", "--card", "POS-3")

    ctx = open_device(home)
    try:
        assert ctx.store.status().unsynced == 2  # two sales, nothing from the refusals
    finally:
        ctx.close()


def test_device_reprint_ticket_command(server, petrol, tmp_path):
    event_id, _, devices = petrol
    home, kiosk = devices["kiosk"]
    sale = kiosk.petrol.redeem("12345", identity_verified=True, card_ref="POS-1")
    kiosk.close()
    root = str(home.root)
    barcode = sale.tickets[0].barcode

    def error(*args: str) -> str:
        result = run_cli("device", "reprint-ticket", *args, "--home", root)
        assert result.exit_code != 0, result.output
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        return lines[0]

    assert "needs a reason" in error(barcode, "--reason", " ", "--document", "passport")
    assert "must be one of" in error(barcode, "--reason", "jam", "--document", "library")
    assert "not issued at this kiosk" in error(
        "PNOTHERE000000000", "--reason", "jam", "--document", "passport"
    )
    out_file = tmp_path / "copy.bin"
    result = run_cli(
        "device",
        "reprint-ticket",
        barcode,
        "--reason",
        "paper jam",
        "--document",
        "id_card",
        "--printer",
        f"file:{out_file}",
        "--home",
        root,
        "--json",
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out == {"barcode": barcode, "seq": 2, "printed": True}
    data = out_file.read_bytes()
    assert b"REPRINT" in data and barcode.encode() in data and b"Ana Horvat" in data
    ctx = open_device(home)
    try:
        events = ctx.store.events_after(ctx.identity.device_id, 0, 10)
        assert [e.kind for e in events] == ["petrol_sale", "petrol_reprint"]
        assert events[1].payload["reason"] == "paper jam"
    finally:
        ctx.close()


def test_the_sector_price_reaches_the_kiosk_and_the_sale(server, petrol, tmp_path):
    """The server's sector price and the event's VAT come down with the seat block; the
    kiosk's reservation and sale charge exactly that."""
    event_id, _, devices = petrol
    kiosk = devices["kiosk"][1]
    server.admin(
        "POST",
        f"/v1/events/{event_id}/sectors",
        json={"name": "Q", "rows": "A", "seats": "1-2", "price": "30.00"},
    )
    server.admin(
        "POST",
        f"/v1/events/{event_id}/seat-blocks",
        json={"device_id": kiosk.identity.device_id, "sector": "Q", "rows": "A"},
    )
    synced(kiosk)
    priced = [s for s in kiosk.petrol.free_seats() if s.sector == "Q"]
    assert [(s.seat, s.price_cents) for s in priced] == [("1", 3000), ("2", 3000)]
    reservation = kiosk.petrol.reserve("12345", seats=[("Q", "A", "1"), ("Q", "A", "2")])
    assert reservation.total_cents == 6000
    assert reservation.vat_cents == sum(s.vat_cents for s in priced)
    sale = kiosk.petrol.redeem(
        "12345", identity_verified=True, card_ref="POS-5", reservation_id=reservation.id
    )
    assert sale.payment["amount_cents"] == 6000
    synced(kiosk)
    assert kiosk.store.status().unsynced == 0
