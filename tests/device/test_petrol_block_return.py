"""Taking a seat block back from a petrol kiosk that sells offline, against the REAL
server (in-process): the kiosk that pulls the return stops selling from the block at
once, cancels the reservation holding its seats and queues ``seat_block_released`` in
the transaction of that pull page; the server frees only what the kiosk did not sell, so
two kiosks never sell one seat. A revoked kiosk forgets its customers' data."""

from __future__ import annotations

import json
from datetime import UTC

import msgspec
import pytest

from fieldpass.device.context import open_device
from fieldpass.device.errors import DeviceError
from fieldpass.device.identity import DeviceIdentity
from fieldpass.device.petrol import BLOCK_RETURNED_REASON
from fieldpass.device.store import CURSOR, Store
from fieldpass.kiosk.petrol_app import make_petrol_app
from fieldpass.sync.checkin import ScanResult
from tests.device.test_petrol_redeem_sync import (  # noqa: F401 - fixtures
    ANA,
    JOHN,
    create_pin,
    petrol,
    server,
    synced,
)
from tests.kiosk.helpers import wait_workers


def _block_id(kiosk) -> str:
    (block,) = kiosk.store.seat_blocks()
    return block[0]


def _return(server, block_id: str, **kwargs) -> dict:
    return server.admin("POST", f"/v1/seat-blocks/{block_id}/return", **kwargs)


def _server_block(server, event_id: str, block_id: str) -> dict:
    blocks = server.admin("GET", f"/v1/events/{event_id}/seat-blocks")["blocks"]
    return next(b for b in blocks if b["id"] == block_id)


def _outbox(kiosk) -> list[tuple[str, dict]]:
    return [
        (kind, json.loads(payload))
        for kind, payload in kiosk.store.conn.execute(
            "SELECT kind, payload FROM outbox ORDER BY seq"
        )
    ]


def _state(kiosk) -> tuple:
    """What the pull page and the release change together on the kiosk."""
    conn = kiosk.store.conn
    return (
        kiosk.store.get_meta(CURSOR),
        [row[5] for row in kiosk.store.seat_blocks()],
        conn.execute("SELECT status FROM petrol_reservations ORDER BY seq").fetchall(),
        conn.execute("SELECT COUNT(*) FROM petrol_seat_holds").fetchone()[0],
        conn.execute("SELECT block_id, seats FROM petrol_block_releases").fetchall(),
        kiosk.store.last_seq(),
    )


def test_pulling_the_return_stops_sales_cancels_the_reservation_and_queues_the_release(
    server, petrol, monkeypatch
):
    event_id, _pin, devices = petrol
    kiosk = devices["kiosk"][1]
    create_pin(server, event_id, "54321", [ANA])
    sale = kiosk.petrol.redeem("12345", identity_verified=True, cash_cents=6000)
    assert [(t.row, t.seat) for t in sale.tickets] == [("A", "1"), ("A", "2")]
    synced(kiosk)  # the sale is on the server, and the PIN 54321 on the kiosk
    held = kiosk.petrol.reserve("54321")
    assert [(s.row, s.seat) for s in held.seats] == [("A", "3")]
    block_id = _block_id(kiosk)
    assert _return(server, block_id)["status"] == "RETURNING"

    # a crash inside the page's transaction leaves the kiosk exactly as before the pull
    before = _state(kiosk)
    real_append = Store.append_event

    def crash_on_release(self, conn, key, **fields):
        if fields["kind"] == "seat_block_released":
            raise RuntimeError("power cut")
        return real_append(self, conn, key, **fields)

    monkeypatch.setattr(Store, "append_event", crash_on_release)
    with pytest.raises(RuntimeError, match="power cut"):
        kiosk.sync.pull()
    assert _state(kiosk) == before
    assert [(s.row, s.seat) for s in kiosk.petrol.free_seats()] == [("A", "4")]
    monkeypatch.setattr(Store, "append_event", real_append)

    kiosk.sync.pull()  # no push: the kiosk is offline for the server's part
    cursor, statuses, reservations, holds, releases, last_seq = _state(kiosk)
    assert cursor != before[0] and statuses == ["RETURNING"]
    assert reservations == [("CANCELLED",)] and holds == 0
    assert releases == [(block_id, 2)]
    assert last_seq == before[-1] + 2
    events = _outbox(kiosk)[-2:]
    assert events[0] == (
        "petrol_reservation_end",
        {
            "reservation_id": held.id,
            "pin_id": held.pin_id,
            "outcome": "cancelled",
            "ended_at": events[0][1]["ended_at"],
            "reason": BLOCK_RETURNED_REASON,
        },
    )
    kind, payload = events[1]
    assert kind == "seat_block_released" and payload["block_id"] == block_id
    assert [(s["row"], s["seat"]) for s in payload["seats"]] == [("A", "3"), ("A", "4")]

    # nothing of the block sells any more, and a second pull releases nothing twice
    assert kiosk.petrol.free_seats() == []
    with pytest.raises(DeviceError) as ended:
        kiosk.petrol.redeem(
            "54321", identity_verified=True, cash_cents=3000, reservation_id=held.id
        )
    assert ended.value.code == "reservation_ended"
    with pytest.raises(DeviceError) as none_left:
        kiosk.petrol.reserve("54321")
    assert none_left.value.code == "no_seats"
    kiosk.sync.pull()
    assert kiosk.store.last_seq() == last_seq

    # the next sync hands the release over and takes the server's answer in one go
    synced(kiosk)
    assert kiosk.store.status().unsynced == 0
    assert kiosk.store.seat_blocks()[0][5] == "RETURNED"
    assert [(s.row, s.seat, s.status) for s in kiosk.store.seats_of_block(block_id)] == [
        ("A", "1", "SOLD"),
        ("A", "2", "SOLD"),
    ]
    view = _server_block(server, event_id, block_id)
    assert (view["status"], view["sold"], view["returned"]) == ("RETURNED", 2, 2)
    assert server.admin("GET", f"/v1/conflicts?event_id={event_id}")["conflicts"] == []


def test_an_offline_sale_then_a_return_never_gives_one_seat_to_two_kiosks(server, petrol):
    event_id, _pin, devices = petrol
    kiosk, other, gate = (devices[name][1] for name in ("kiosk", "other", "gate"))
    other_id = other.identity.device_id
    block_id = _block_id(kiosk)

    # kiosk A is offline and sells A/1 and A/2 of its block; the server does not know
    sale = kiosk.petrol.redeem("12345", identity_verified=True, cash_cents=6000)
    assert [(t.row, t.seat) for t in sale.tickets] == [("A", "1"), ("A", "2")]
    assert _return(server, block_id)["status"] == "RETURNING"
    # the admin tries to hand row A to kiosk B: refused, A still holds every seat
    refused = server.admin(
        "POST",
        f"/v1/events/{event_id}/seat-blocks",
        expect=(409,),
        json={"device_id": other_id, "sector": "P", "rows": "A"},
    )
    assert refused["code"] == "seat_conflict"
    assert {s["held_by"] for s in refused["seats"]} == {block_id}

    # A syncs: the sale first, then the release of A/3 and A/4
    synced(kiosk)
    kinds = [kind for kind, _ in _outbox(kiosk)]
    assert kinds.index("petrol_sale") < kinds.index("seat_block_released")
    view = _server_block(server, event_id, block_id)
    assert (view["status"], view["sold"], view["returned"]) == ("RETURNED", 2, 2)

    # now B gets only the seats A did not sell
    clash = server.admin(
        "POST",
        f"/v1/events/{event_id}/seat-blocks",
        expect=(409,),
        json={"device_id": other_id, "sector": "P", "rows": "A"},
    )
    assert {s["seat"] for s in clash["seats"]} == {"P/A/1", "P/A/2"}
    assert {s["reason"] for s in clash["seats"]} == {"sold by block", "has ticket"}
    server.admin(
        "POST",
        f"/v1/events/{event_id}/seat-blocks",
        json={"device_id": other_id, "sector": "P", "rows": "A", "seats": "3-4"},
    )
    synced(other)
    offered = {(s.row, s.seat) for s in other.petrol.free_seats()}
    assert {seat for seat in offered if seat[0] == "A"} == {("A", "3"), ("A", "4")}

    # B sells from what it got; A can sell nothing; every ticket enters once, no conflict
    create_pin(server, event_id, "54321", [ANA, JOHN])
    synced(other)
    resold = other.petrol.redeem("54321", identity_verified=True, card_ref="POS-1", documents=None)
    sold_seats = {(t.row, t.seat) for t in resold.tickets}
    assert sold_seats.isdisjoint({("A", "1"), ("A", "2")})
    assert kiosk.petrol.free_seats() == []
    synced(other, gate)
    for ticket in (*sale.tickets, *resold.tickets):
        assert gate.gate.check_in(ticket.barcode).result is ScanResult.VALID
    assert server.admin("GET", f"/v1/conflicts?event_id={event_id}")["conflicts"] == []
    sectors = server.admin("GET", f"/v1/events/{event_id}/sectors")["sectors"]
    assert {s["sector"]: s["sold"] for s in sectors}["P"] == 4


def test_a_revoked_kiosk_deletes_its_holders_key_and_holder_data_but_keeps_its_sales(
    server, petrol
):
    event_id, _pin, devices = petrol
    home, kiosk = devices["kiosk"]
    sale = kiosk.petrol.redeem("12345", identity_verified=True, cash_cents=6000)
    create_pin(server, event_id, "54321", [ANA])
    synced(kiosk)
    unsynced = kiosk.petrol.record_reprint(
        sale.tickets[0].barcode,
        reason="paper jam",
        identity_verified=True,
        document_type="passport",
    )
    assert home.holders_key_path.exists()
    assert kiosk.store.pin("54321").holders_sealed
    outbox_before = _outbox(kiosk)

    server.admin("POST", f"/v1/devices/{kiosk.identity.device_id}/revoke")
    report = kiosk.sync.sync_once()
    assert report.revoked and not report.pushed
    assert report.error == (
        "device revoked by the server: holder data and the holders key were deleted from this kiosk"
    )
    assert not home.holders_key_path.exists()
    conn = kiosk.store.conn
    assert conn.execute(
        "SELECT COUNT(*) FROM petrol_pins WHERE holders_sealed IS NOT NULL"
    ).fetchone() == (0,)
    assert (
        conn.execute("SELECT COUNT(*) FROM petrol_tickets WHERE holder IS NOT NULL").fetchone()[0]
        == 0
    )
    # sales, tickets and the outbox (with the reprint never pushed) stay
    assert conn.execute("SELECT COUNT(*) FROM petrol_sales").fetchone() == (1,)
    assert conn.execute("SELECT COUNT(*) FROM petrol_tickets").fetchone() == (2,)
    assert _outbox(kiosk) == outbox_before and kiosk.store.status().unsynced == 1
    assert kiosk.store.last_seq() == unsynced.seq
    # the sealed holders of the unsold PIN cannot be opened any more: no key, no data
    assert kiosk.store.pin("54321").holders_sealed is None
    stored = msgspec.json.decode(home.identity_path.read_bytes())
    assert (stored["status"], stored["token"]) == ("revoked", None)
    assert DeviceIdentity.load(home.identity_path).status == "revoked"
    with pytest.raises(DeviceError) as reopened:
        open_device(home)
    assert reopened.value.code == "revoked"
    with pytest.raises(DeviceError) as lookup:
        kiosk.petrol.look_up("54321")
    assert lookup.value.code == "no_holders"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_the_kiosk_app_says_the_device_was_revoked(server, petrol):
    _event_id, _pin, devices = petrol
    home, kiosk = devices["kiosk"]
    app = make_petrol_app(kiosk, sync_interval=3600, tz=UTC, cursor_blink=False)
    async with app.run_test() as pilot:
        await wait_workers(app)
        await pilot.pause()
        server.admin("POST", f"/v1/devices/{kiosk.identity.device_id}/revoke")
        app.start_sync()
        for _ in range(4):
            await wait_workers(app)
            await pilot.pause()
        shown = app.pin_screen.text_of("#message-line")
        assert "This kiosk was revoked by the server" in shown
        assert not home.holders_key_path.exists() and kiosk.petrol.holders_key is None
        await pilot.press(*"12345", "enter")
        for _ in range(4):
            await wait_workers(app)
            await pilot.pause()
        assert "no holders key" in app.pin_screen.text_of("#message-line")
