"""The raffle end to end: real gunicorn, real ``fieldpass`` admin and RSU processes.

Two RSUs sell offline from disjoint ranges and void some orders; after sync the server's
tickets and counters match exactly what they did; each RSU closes; the admin closes,
reconciles, confirms, draws with a beacon and exports; verify-draw recomputes the export
and rejects an altered one; the winner is looked up and claims once. A sale reported
outside the RSU's allocation, or of a number already sold, is stored and raised as a
conflict, never applied silently nor dropped.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import msgspec
import pytest

from fieldpass.sync.draw import DrawRecord, record_checksum
from tests.e2e.raffle_e2e import (
    AdminApi,
    device_orders,
    ingested,
    outbox_count,
    server_orders,
    server_tickets,
    setup_with_api,
    setup_with_cli,
)

pytestmark = pytest.mark.e2e


def sell(cli, home: Path, package: str, pay: tuple[str, str]) -> dict:
    return cli.json("device", "sell", "--package", package, pay[0], pay[1], "--home", str(home))


def one_line_error(result) -> str:
    assert result.returncode != 0 and "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_two_offline_rsus_sell_void_reconcile_draw_verify_and_claim(cli, server, tmp_path):
    north, south = tmp_path / "north", tmp_path / "south"
    raffle = setup_with_cli(cli, server, [north, south], [(1, 40), (41, 80)])
    status = cli.json("device", "status", "--home", str(north))
    assert (status["raffle_state"], status["remaining"], status["can_sell"]) == ("active", 40, True)

    server.stop()  # no network: both RSUs sell alone
    sales = {
        "north": [
            sell(cli, north, "3 for 10", ("--cash", "20")),
            sell(cli, north, "1 for 5", ("--card", "POS-1")),
            sell(cli, north, "3 for 10", ("--cash", "10")),
        ],
        "south": [
            sell(cli, south, "3 for 10", ("--card", "POS-2")),
            sell(cli, south, "1 for 5", ("--cash", "5")),
            sell(cli, south, "3 for 10", ("--cash", "10")),
        ],
    }
    assert [s["draw_numbers"] for s in sales["north"]] == [[1, 2, 3], [4], [5, 6, 7]]
    assert [s["draw_numbers"] for s in sales["south"]] == [[41, 42, 43], [44], [45, 46, 47]]
    assert sales["north"][0]["change_cents"] == 1000
    voided = {
        "north": cli.json(
            "device",
            "void",
            sales["north"][1]["validation_number"],
            "--reason",
            "customer changed mind",
            "--home",
            str(north),
        ),  # fmt: skip
        "south": cli.json(
            "device",
            "void",
            sales["south"][0]["validation_number"],
            "--reason",
            "wrong package",
            "--home",
            str(south),
        ),  # fmt: skip
    }
    assert voided["south"]["draw_numbers"] == [41, 42, 43]
    one_line_error(cli.run("device", "sync", "--home", str(north), check=False))

    # Offline, the two RSUs never produced the same draw or validation number.
    all_sales = sales["north"] + sales["south"]
    numbers = [n for s in all_sales for n in s["draw_numbers"]]
    validations = [s["validation_number"] for s in all_sales]
    assert len(numbers) == len(set(numbers)) and len(validations) == len(set(validations))
    terminals = {name: {s["validation_number"][:4] for s in sales[name]} for name in sales}
    assert len(terminals["north"]) == len(terminals["south"]) == 1
    assert terminals["north"] != terminals["south"]

    server.start()
    for home in (north, south):
        synced = cli.json("device", "sync", "--home", str(home))
        assert (synced["error"], synced["unsynced"]) == (None, 0)
        assert ingested(server, raffle.rsus[home.name]) == (outbox_count(home),) * 2

    # The server's tickets are exactly what the RSUs sold and voided.
    void_ids = {voided[name]["order_id"] for name in voided}
    expected = {
        n: ("voided" if s["order_id"] in void_ids else "sold", s["order_id"])
        for s in all_sales
        for n in s["draw_numbers"]
    }
    assert server_tickets(server, raffle.id) == expected
    for name, home in (("north", north), ("south", south)):
        stored = server_orders(server, raffle.rsus[name])
        local = device_orders(home)
        assert set(stored) == set(local)
        for order_id, order in local.items():
            status = "refunded" if order.voided else "completed"
            assert stored[order_id] == (order.validation_number, status)
    view = cli.json("admin", "raffle", "show", raffle.id)
    assert (view["counts"]["sold"], view["counts"]["voided"]) == (10, 4)
    assert cli.json("admin", "conflicts", "list", "--event", raffle.id) == []

    for home in (north, south):
        closed = cli.json("device", "close", "--home", str(home))
        assert (closed["orders"], closed["uploaded"], closed["unsynced"]) == (3, True, 0)
        refused = cli.run("device", "sell", "--package", "1 for 5", "--cash", "5", "--home",
                          str(home), check=False)  # fmt: skip
        assert "closed" in one_line_error(refused)
    cli.run("admin", "raffle", "close", raffle.id)

    reconciliation = cli.json("admin", "raffle", "reconcile", raffle.id)
    assert reconciliation["state"] == "reconciling" and reconciliation["can_confirm"]
    rsus = {v["rsu_id"]: v for v in reconciliation["rsus"]}
    got = {
        name: {
            key: rsus[raffle.rsus[name]][key]
            for key in (
                "allocated",
                "sold",
                "voided",
                "unsold",
                "orders",
                "voided_orders",
                "cash_cents",
                "card_cents",
                "complete",
                "close_seq",
                "accepted_seq",
            )
        }  # fmt: skip
        for name in ("north", "south")
    }
    assert got["north"] == {
        "allocated": 40, "sold": 6, "voided": 1, "unsold": 33, "orders": 3, "voided_orders": 1,
        "cash_cents": 2000, "card_cents": 0, "complete": True,
        "close_seq": outbox_count(north), "accepted_seq": outbox_count(north),
    }  # fmt: skip
    assert got["south"] == {
        "allocated": 40, "sold": 4, "voided": 3, "unsold": 33, "orders": 3, "voided_orders": 1,
        "cash_cents": 1500, "card_cents": 0, "complete": True,
        "close_seq": outbox_count(south), "accepted_seq": outbox_count(south),
    }  # fmt: skip
    for name in ("north", "south"):  # the service layer's counters, per allocation
        (allocation,) = rsus[raffle.rsus[name]]["allocations"]
        assert (allocation["tickets_sold"], allocation["tickets_voided"]) == (
            got[name]["sold"],
            got[name]["voided"],
        )
    totals = reconciliation["totals"]
    assert (totals["sold"], totals["voided"], totals["revenue_cents"]) == (10, 4, 3500)

    confirmed = cli.json("admin", "raffle", "confirm", raffle.id)
    assert confirmed["state"] == "drawing_ready" and confirmed["confirmed_by"]
    drawn = cli.json("admin", "raffle", "draw", raffle.id, "--beacon", "BTC-871234")
    sold = {n for n, (state, _) in expected.items() if state == "sold"}
    winners = drawn["winners"]
    assert [w["position"] for w in winners] == [1, 2, 2]
    assert len({w["draw_number"] for w in winners}) == 3
    assert {w["draw_number"] for w in winners} <= sold  # never a voided or unsold number
    assert winners[0]["prize_value_cents"] == 3500 // 2  # 50 % of the revenue
    assert drawn["beacon"] == "BTC-871234" and drawn["sold_count"] == 10
    assert hashlib.sha256(bytes.fromhex(drawn["seed"])).hexdigest() == drawn["commitment"]

    by_rsu = cli.json("admin", "raffle", "report", raffle.id, "sales-by-rsu")
    rows = {row[2]: dict(zip(by_rsu["columns"], row, strict=True)) for row in by_rsu["rows"]}
    for name in ("north", "south"):
        row = rows[raffle.rsus[name]]
        assert (row["orders"], row["voided_orders"], row["tickets_sold"]) == (
            3, 1, got[name]["sold"],
        )  # fmt: skip
        assert (row["tickets_voided"], row["cash_cents"]) == (
            got[name]["voided"], got[name]["cash_cents"],
        )  # fmt: skip
    voided_csv = tmp_path / "voided.csv"
    cli.run("admin", "raffle", "report", raffle.id, "voided", "--csv", str(voided_csv))
    lines = voided_csv.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("draw_number,validation_number,")
    assert [int(line.split(",")[0]) for line in lines[1:]] == [4, 41, 42, 43]

    export = tmp_path / "draw.json"
    cli.run("admin", "raffle", "export-draw", raffle.id, str(export))
    verified = cli.json("admin", "raffle", "verify-draw", str(export))
    assert verified["verified"] and verified["checksum"] == drawn["checksum"]
    assert [w["draw_number"] for w in verified["winners"]] == [w["draw_number"] for w in winners]

    # One winner changed to another sold number: refused, with or without a fixed checksum.
    record = json.loads(export.read_bytes())
    other = min(sold - {w["draw_number"] for w in winners})
    record["winners"][1]["draw_number"] = other
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(record), encoding="utf-8")
    assert "does not verify" in one_line_error(
        cli.run("admin", "raffle", "verify-draw", str(forged), check=False)
    )
    record["checksum"] = record_checksum(msgspec.convert(record, DrawRecord))  # a forger
    forged.write_text(json.dumps(record), encoding="utf-8")
    refused = cli.run("admin", "raffle", "verify-draw", str(forged), "--json", check=False)
    assert refused.returncode == 1
    problems = json.loads(refused.stdout)["problems"]
    assert problems and not any("checksum" in p for p in problems), problems

    validation = winners[0]["validation_number"]
    won = sorted(w["draw_number"] for w in winners if w["validation_number"] == validation)
    looked_up = cli.json("admin", "raffle", "lookup", validation)
    assert sorted(p["draw_number"] for p in looked_up["prizes"]) == won  # one order, all prizes
    assert {p["claim_status"] for p in looked_up["prizes"]} == {"unclaimed"}
    assert set(won) <= {t["draw_number"] for t in looked_up["tickets"]}
    claimed = cli.json("admin", "raffle", "claim", validation)
    assert sorted(p["draw_number"] for p in claimed["claimed"]) == won
    again = cli.run("admin", "raffle", "claim", validation, check=False)
    assert "already claimed" in one_line_error(again)
    after = cli.json("admin", "raffle", "lookup", validation)
    assert {p["claim_status"] for p in after["prizes"]} == {"claimed"}
    voided_order = cli.json("admin", "raffle", "lookup", voided["south"]["validation_number"])
    assert voided_order["payment_status"] == "refunded" and voided_order["prizes"] == []
    assert {t["state"] for t in voided_order["tickets"]} == {"voided"}


def test_sales_outside_the_allocation_and_sold_twice_become_conflicts(cli, server, tmp_path):
    """North sells offline from 1-30; the admin, not knowing, takes 1-30 back and gives it
    to South, which sells 1-3 and syncs first. North's sales of 1-3 (sold twice) and 4-6
    (now South's) are stored with their orders and raised, not applied nor dropped."""
    north, south = tmp_path / "north", tmp_path / "south"
    raffle = setup_with_api(cli, server, [north, south], [(1, 30), (31, 60)])
    first = sell(cli, north, "3 for 10", ("--cash", "10"))
    second = sell(cli, north, "3 for 10", ("--card", "POS-9"))
    assert (first["draw_numbers"], second["draw_numbers"]) == ([1, 2, 3], [4, 5, 6])

    api = AdminApi(server)
    try:
        base = f"/v1/raffles/{raffle.id}/allocations"
        returned = api.call("POST", f"{base}/{raffle.allocations['1-30']}/deallocate")
        assert returned["returned"] == 30  # the server has not heard of North's sales
        body = {"device_id": raffle.rsus["south"], "start": 1, "end": 30}
        api.call("POST", base, json=body)
    finally:
        api.close()
    cli.run("device", "sync", "--home", str(south))  # pulls 1-30
    south_sale = sell(cli, south, "3 for 10", ("--cash", "10"))
    assert south_sale["draw_numbers"] == [1, 2, 3]
    cli.run("device", "sync", "--home", str(south))
    cli.run("device", "sync", "--home", str(north))

    north_id, south_id = raffle.rsus["north"], raffle.rsus["south"]
    assert ingested(server, north_id) == (outbox_count(north),) * 2  # every event stored
    stored = server_orders(server, north_id)
    assert {v for v, _ in stored.values()} == {first["validation_number"],
                                              second["validation_number"]}  # fmt: skip
    tickets = server_tickets(server, raffle.id)
    assert tickets == {n: ("sold", south_sale["order_id"]) for n in (1, 2, 3)}  # not North's

    conflicts = cli.json("admin", "conflicts", "list", "--event", raffle.id)
    by_kind = {c["kind"]: c for c in conflicts}
    assert sorted(by_kind) == ["raffle_number_sold_twice", "raffle_out_of_range"], conflicts
    twice = by_kind["raffle_number_sold_twice"]
    assert twice["subject"] == first["validation_number"]
    assert set(twice["devices"]) == {north_id, south_id}
    assert [n["draw_number"] for n in twice["details"]["numbers"]] == [1, 2, 3]
    assert {n["first_validation_number"] for n in twice["details"]["numbers"]} == {
        south_sale["validation_number"]
    }
    outside = by_kind["raffle_out_of_range"]
    assert outside["subject"] == second["validation_number"] and outside["devices"] == [north_id]
    assert [n["draw_number"] for n in outside["details"]["numbers"]] == [4, 5, 6]

    for sale in (first, second):  # the customer's order is on record, its numbers are not
        order = cli.json("admin", "raffle", "lookup", sale["validation_number"])
        assert order["tickets"] == [] and order["not_applied"] == sale["draw_numbers"]

    # Syncing again stores nothing twice and raises nothing new.
    cli.run("device", "sync", "--home", str(north))
    assert len(cli.json("admin", "conflicts", "list", "--event", raffle.id)) == 2
    assert ingested(server, north_id) == (outbox_count(north),) * 2

    # Open conflicts (and South's missing close) block the confirmation but an override.
    cli.run("device", "close", "--home", str(north))
    cli.run("admin", "raffle", "close", raffle.id)
    view = cli.json("admin", "raffle", "reconcile", raffle.id)
    blockers = {b["rsu_id"]: " ".join(b["blockers"]) for b in view["blocking"]}
    assert not view["can_confirm"] and set(blockers) == {north_id, south_id}
    assert "open conflict" in blockers[north_id] and "no close event" in blockers[south_id]
    refused = cli.run("admin", "raffle", "confirm", raffle.id, check=False)
    assert "cannot be reconciled" in one_line_error(refused)
    confirmed = cli.json("admin", "raffle", "confirm", raffle.id, "--override-reason",
                         "South's unit lost; conflicts refunded at the stand")  # fmt: skip
    assert confirmed["state"] == "drawing_ready"
    corruption = cli.json("admin", "raffle", "report", raffle.id, "rsu-corruption")
    rows = [dict(zip(corruption["columns"], row, strict=True)) for row in corruption["rows"]]
    assert {row["rsu_id"] for row in rows} == {north_id, south_id}
    assert {row["reason"] for row in rows} == {"South's unit lost; conflicts refunded at the stand"}


def test_a_sale_made_after_the_admin_closed_sales_is_raised_not_applied_silently(
    cli, server, tmp_path
):
    """An RSU that has not heard of the close (offline) sells after it: the sale is kept
    (the customer paid) but must not enter the draw unnoticed — it is raised."""
    home = tmp_path / "stand"
    raffle = setup_with_api(cli, server, [home], [(1, 30)])
    before = sell(cli, home, "1 for 5", ("--cash", "5"))
    api = AdminApi(server)
    try:
        assert api.call("POST", f"/v1/raffles/{raffle.id}/close")["state"] == "sales_closed"
    finally:
        api.close()
    late = sell(cli, home, "1 for 5", ("--cash", "5"))  # the RSU still believes it is active
    cli.run("device", "sync", "--home", str(home))
    assert ingested(server, raffle.rsus["stand"]) == (outbox_count(home),) * 2
    assert server_tickets(server, raffle.id)[1] == ("sold", before["order_id"])
    conflicts = cli.json("admin", "conflicts", "list", "--event", raffle.id)
    assert [c["subject"] for c in conflicts] == [late["validation_number"]], (
        f"a sale made after sales closed was applied silently: {server_tickets(server, raffle.id)}"
    )
