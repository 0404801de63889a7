"""An RSU against the REAL server app in-process: enrolled with ``--role rsu``, approved
for a raffle, it pulls the raffle, packages, its terminal number and allocations, sells
offline, pushes its events, and stops selling from a range the admin deallocates."""

from __future__ import annotations

import pytest

from fieldpass.device.context import open_device
from fieldpass.device.enrollment import enroll, refresh_enrollment
from fieldpass.device.errors import DeviceError
from fieldpass.device.home import DeviceHome
from fieldpass.server.config import ServerConfig
from fieldpass.sync import sealing
from fieldpass.sync.validation_numbers import terminal_of
from tests.device.test_sync_real_server import Server


@pytest.fixture
def server(tmp_path):
    srv = Server(tmp_path, ServerConfig(pii_key=sealing.generate_key()))  # seals the seed
    yield srv
    srv.close()


def setup_raffle(server: Server) -> str:
    raffle = server.admin(
        "POST",
        "/v1/raffles",
        json={"name": "Spring Raffle", "max_tickets": 200, "sales_end": "2099-01-01T00:00:00Z"},
    )
    raffle_id = raffle["id"]
    for name, tickets, price in (("1 for 5", 1, 500), ("3 for 10", 3, 1000)):
        server.admin(
            "POST",
            f"/v1/raffles/{raffle_id}/packages",
            json={"name": name, "tickets": tickets, "price_cents": price},
        )
    server.admin(
        "POST",
        f"/v1/raffles/{raffle_id}/prizes",
        json={"name": "Hamper", "position": 1, "fixed_cents": 10_000},
    )
    server.admin("POST", f"/v1/raffles/{raffle_id}/configure")
    return raffle_id


def enroll_rsu(server: Server, tmp_path, name: str, raffle_id: str):
    home = DeviceHome.resolve(tmp_path / name)
    http = server.device_http()
    identity = enroll(home, "http://testserver", "rsu", name, http=http)
    server.admin(
        "POST", "/v1/devices/approve", json={"code": identity.code, "raffle_id": raffle_id}
    )
    identity = refresh_enrollment(home, http=http)
    assert (identity.status, identity.raffle_id) == ("approved", raffle_id)
    return open_device(home, http=http)


def test_rsu_pulls_sells_offline_and_pushes(server, tmp_path):
    raffle_id = setup_raffle(server)
    one = enroll_rsu(server, tmp_path, "stand-1", raffle_id)
    two = enroll_rsu(server, tmp_path, "stand-2", raffle_id)
    try:
        server.admin(
            "POST",
            f"/v1/raffles/{raffle_id}/allocations",
            json={"device_id": one.identity.device_id, "start": 1, "end": 4},
        )
        second = server.admin(
            "POST",
            f"/v1/raffles/{raffle_id}/allocations",
            json={"device_id": one.identity.device_id, "start": 10, "end": 19},
        )
        server.admin(
            "POST",
            f"/v1/raffles/{raffle_id}/allocations",
            json={"device_id": two.identity.device_id, "start": 20, "end": 29},
        )
        server.admin("POST", f"/v1/raffles/{raffle_id}/commit-seed")
        server.admin("POST", f"/v1/raffles/{raffle_id}/activate")
        for ctx in (one, two):
            assert ctx.sync.sync_once().error is None
        status = one.raffle.status()
        assert (status.raffle_name, status.state, status.remaining) == (
            "Spring Raffle",
            "active",
            14,
        )
        assert status.can_sell, status.cannot_sell_reason
        assert [p.name for p in status.packages] == ["1 for 5", "3 for 10"]
        three = next(p for p in status.packages if p.name == "3 for 10")
        # offline: both sell, lowest first; stand 1 spans its two ranges
        sales = [one.raffle.sell(three.id, cash_tendered_cents=1000) for _ in range(2)]
        assert [s.receipt.draw_numbers for s in sales] == [[1, 2, 3], [4, 10, 11]]
        other = two.raffle.sell(three.id, card_reference="POS-1")
        assert other.receipt.draw_numbers == [20, 21, 22]
        two.raffle.void(other.receipt.validation_number, "wrong package")
        terminals = {terminal_of(s.receipt.validation_number) for s in [*sales, other]}
        assert len(terminals) == 2  # each RSU its own terminal number
        for ctx in (one, two):
            report = ctx.sync.sync_once()
            assert report.error is None and ctx.store.status().unsynced == 0, report
        counts = server.admin("GET", f"/v1/raffles/{raffle_id}")["counts"]
        assert (counts["sold"], counts["voided"]) == (6, 3)
        # the admin takes back stand 1's second range: it stops selling from it at once
        server.admin("POST", f"/v1/raffles/{raffle_id}/allocations/{second['id']}/deallocate")
        assert one.sync.sync_once().error is None
        status = one.raffle.status()
        assert (status.remaining, status.cannot_sell_code) == (0, "sold_out")
        with pytest.raises(DeviceError) as err:
            one.raffle.sell(three.id, cash_tendered_cents=1000)
        assert err.value.code == "sold_out"
        # closing: the close event reaches the server with the orders sold here
        closing = one.raffle.close()
        assert (closing.orders, one.sync.sync_once().error) == (2, None)
        assert one.store.status().unsynced == 0
    finally:
        one.close()
        two.close()
