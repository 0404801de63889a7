"""``fieldpass device sell / void / reprint / close / status`` on an RSU home whose store
holds a pulled raffle slice (real SQLite file; the close syncs with the fake server)."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from click.testing import CliRunner

from fieldpass.cli import cli, device_cmds
from fieldpass.device.context import open_device
from fieldpass.device.home import DeviceHome
from fieldpass.device.identity import DeviceIdentity, save_key
from fieldpass.device.store import Store
from fieldpass.sync import signing
from fieldpass.sync.messages import Change

from .fake_server import FakeServer
from .raffle_fixtures import PACKAGES, RAFFLE_ID, raffle_data, rsu_identity

DEVICE_ID = "rsu-cli"


def slice_changes() -> list[Change]:
    """The raffle (no time window: the CLI runs on the real clock), packages, this RSU
    (terminal 7) and one allocation 1..20."""
    rows = [
        ("raffle", RAFFLE_ID, raffle_data(sales_start=None, sales_end=None)),
        ("rsu", DEVICE_ID, {"id": DEVICE_ID, "name": "Stand 7", "terminal_number": 7}),
        ("raffle_allocation", "a1", {"id": "a1", "start_number": 1, "end_number": 20}),
    ]
    for pid, (name, tickets, price) in PACKAGES.items():
        rows.append(
            (
                "raffle_package",
                pid,
                {"id": pid, "name": name, "ticket_count": tickets, "price_cents": price},
            )
        )
    return [
        Change(seq=i + 1, entity=e, key=k, op="upsert", data=d) for i, (e, k, d) in enumerate(rows)
    ]


@pytest.fixture
def home(tmp_path) -> DeviceHome:
    home = DeviceHome.resolve(tmp_path / "rsu")
    home.ensure()
    key = signing.generate_private_key()
    save_key(home.key_path, key)
    rsu_identity(DEVICE_ID).save(home.identity_path)
    store = Store.open(home.store_path)
    store.apply_changes(slice_changes(), "epoch-1:7", "epoch-1")
    store.close()
    return home


def fake_server_for(home: DeviceHome) -> FakeServer:
    """An in-memory server that knows this RSU's key, pinned in its identity."""
    server = FakeServer(device_id=DEVICE_ID, approved=True, token="tok")
    server.public_key = signing.public_key_text(
        signing.private_key_from_text(home.key_path.read_text().strip())
    )
    identity = DeviceIdentity.load(home.identity_path)
    replace(identity, server_public_key=server.server_public_key).save(home.identity_path)
    return server


def run(*args: str):
    return CliRunner().invoke(cli, ["device", *args], catch_exceptions=False)


def sell(home: DeviceHome, *args: str):
    return run("sell", *args, "--home", str(home.root), "--json")


def test_sell_by_package_name_with_cash_and_change(home):
    result = sell(home, "--package", "3 FOR 10", "--cash", "20.00", "--customer", "Ana")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["draw_numbers"] == [1, 2, 3]
    assert (data["price_cents"], data["change_cents"], data["seq"]) == (1000, 1000, 1)
    assert data["validation_number"].startswith("0007") and len(data["validation_number"]) == 20
    assert data["order_id"] and data["print_error"] is None
    card = json.loads(sell(home, "--package", "1 for 5", "--card", "POS-1").output)
    assert (card["draw_numbers"], card["change_cents"]) == ([4], None)


def test_sell_refusals_are_one_line_and_change_nothing(home):
    cases = [
        (("--package", "3 for 10"), "error: pay with exactly one of --cash AMOUNT or --card REF"),
        (("--package", "3 for 10", "--cash", "9.99"), "error: cash tendered 9.99 is less than"),
        (("--package", "2 for 1", "--cash", "5"), "error: no package named '2 for 1'"),
        (("--package", "10 for 20", "--cash", "1,5"), "error: --cash must be an amount"),
    ]
    for args, message in cases:
        result = sell(home, *args)
        assert result.exit_code == 1 and result.stderr.startswith(message), result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
    for _ in range(2):
        assert sell(home, "--package", "10 for 20", "--card", "c").exit_code == 0
    result = sell(home, "--package", "1 for 5", "--card", "c")
    assert result.exit_code == 1
    assert result.stderr.strip() == "error: no numbers left in this RSU's allocations"
    status = json.loads(run("status", "--home", str(home.root), "--json").output)
    assert (status["orders"], status["raffle_tickets"], status["remaining"]) == (2, 20, 0)
    assert (status["unsynced"], status["can_sell"]) == (2, False)


def test_void_then_status_totals(home):
    sold = json.loads(sell(home, "--package", "3 for 10", "--cash", "10").output)
    formatted = "-".join(sold["validation_number"][i : i + 4] for i in range(0, 20, 4))
    result = run("void", formatted, "--reason", "wrong package", "--home", str(home.root), "--json")
    assert result.exit_code == 0, result.output
    voided = json.loads(result.output)
    assert (voided["voided"], voided["reason"], voided["seq"]) == (True, "wrong package", 2)
    again = run("void", sold["validation_number"], "--reason", "x", "--home", str(home.root))
    assert again.exit_code == 1 and "already voided" in again.stderr
    no_reason = run("void", sold["validation_number"], "--reason", " ", "--home", str(home.root))
    assert no_reason.exit_code == 1 and no_reason.stderr.strip() == "error: a reason is required"
    nxt = json.loads(sell(home, "--package", "1 for 5", "--cash", "5").output)
    assert nxt["draw_numbers"] == [4]  # voided numbers are never sold again
    status = json.loads(run("status", "--home", str(home.root), "--json").output)
    assert (status["orders"], status["voided_orders"], status["cash_cents"]) == (1, 1, 500)
    assert (status["raffle"], status["closed"], status["can_sell"]) == ("Club raffle", False, True)


def test_close_offline_records_the_close_and_says_nothing_was_uploaded(home):
    sell(home, "--package", "1 for 5", "--cash", "5")
    result = run("close", "--home", str(home.root), "--json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert (data["orders"], data["seq"], data["uploaded"], data["unsynced"]) == (1, 2, False, 2)
    assert result.stderr.startswith("error: NOT uploaded: 2 event(s) have not reached the server")
    refused = sell(home, "--package", "1 for 5", "--cash", "5")
    assert refused.exit_code == 1 and "closed on this RSU" in refused.stderr
    status = json.loads(run("status", "--home", str(home.root), "--json").output)
    assert (status["closed"], status["can_sell"]) == (True, False)


def test_close_online_uploads_every_sale_and_the_close(home, monkeypatch):
    sell(home, "--package", "3 for 10", "--card", "c")
    sell(home, "--package", "1 for 5", "--card", "c")
    server = fake_server_for(home)
    http = server.client()
    monkeypatch.setattr(
        device_cmds, "open_device", lambda home, **kw: open_device(home, http=http, **kw)
    )
    result = run("close", "--home", str(home.root))
    assert result.exit_code == 0, result.stderr
    assert "raffle raffle-1 closed on this RSU: 2 order(s), close event seq 3" in result.output
    assert "every sale and the close have reached the server" in result.output
    kinds = [server.events[s].kind for s in sorted(server.events)]
    assert kinds == ["raffle_sale", "raffle_sale", "device_close"]
    assert server.events[3].payload == {
        "orders": 2,
        "raffle_id": RAFFLE_ID,
        "reason": "raffle sales closed",
    }
    again = run("close", "--home", str(home.root), "--json")
    assert json.loads(again.output)["already_closed"] is True and len(server.events) == 3


def test_sync_of_an_rsu_says_how_many_numbers_are_left(home, monkeypatch):
    sell(home, "--package", "3 for 10", "--card", "c")
    server = fake_server_for(home)
    http = server.client()
    monkeypatch.setattr(
        device_cmds, "open_device", lambda home, **kw: open_device(home, http=http, **kw)
    )
    result = run("sync", "--home", str(home.root))
    assert result.exit_code == 0, result.stderr
    assert "0 unsynced, 17 raffle numbers left to sell" in result.output


def test_a_gate_cannot_sell(home):
    identity = rsu_identity(DEVICE_ID)
    identity.role = "gate"
    identity.save(home.identity_path)
    result = sell(home, "--package", "1 for 5", "--cash", "5")
    assert result.exit_code == 1 and result.stderr.strip() == (
        f"error: device {DEVICE_ID} is a gate, not an RSU"
    )


def test_sell_prints_the_receipt_and_a_failed_print_keeps_the_sale(home, tmp_path):
    pytest.importorskip("fieldpass.kiosk.raffle_receipt")
    out = tmp_path / "receipt.bin"
    printed = sell(home, "--package", "1 for 5", "--cash", "5", "--printer", f"file:{out}")
    assert printed.exit_code == 0, printed.stderr
    number = json.loads(printed.output)["validation_number"]
    assert out.stat().st_size > 0
    failed = sell(home, "--package", "1 for 5", "--cash", "5", "--printer", "network:127.0.0.1:9")
    assert failed.exit_code == 1
    data = json.loads(failed.stdout)
    assert data["draw_numbers"] == [2] and data["print_error"]
    assert "the sale is valid, reprint with: fieldpass device reprint" in failed.stderr
    reprint = run("reprint", number, "--reason", "jam", "--home", str(home.root), "--json")
    assert reprint.exit_code == 0, reprint.stderr
    assert json.loads(reprint.stdout)["copy_number"] == 2


def test_enroll_as_rsu_keeps_the_raffle_and_pulls_its_slice(tmp_path):
    from fieldpass.device.enrollment import enroll, refresh_enrollment

    server = FakeServer(device_id=DEVICE_ID, role="rsu", raffle_id=RAFFLE_ID)
    http = server.client()
    home = DeviceHome.resolve(tmp_path / "new-rsu")
    identity = enroll(home, "http://testserver", "rsu", "Stand 7", http=http)
    assert (identity.role, identity.status, identity.raffle_id) == ("rsu", "pending", None)
    server.approved = True
    identity = refresh_enrollment(home, http=http)
    assert (identity.status, identity.raffle_id, identity.event_id) == (
        "approved",
        RAFFLE_ID,
        None,
    )
    server.changes = slice_changes()
    with open_device(home, http=http) as ctx:
        assert ctx.sync.sync_once().error is None
        assert ctx.store.get_meta("assignment") == f"//raffle:{RAFFLE_ID}"
        status = ctx.raffle.status()
        assert (status.raffle_name, status.remaining, status.can_sell) == ("Club raffle", 20, True)
        sale = ctx.raffle.sell("pkg-3", card_reference="POS-3")
        assert sale.receipt.validation_number.startswith("0007")
        report = ctx.sync.sync_once()
        assert (report.error, report.pushed, ctx.store.status().unsynced) == (None, 1, 0)
    assert server.events[1].payload["draw_numbers"] == [1, 2, 3]
