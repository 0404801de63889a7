"""``fieldpass demo --no-app``: the README's first command, without the terminal UI: two
gates, a raffle sale unit and a petrol kiosk, each approved and synced by the real commands."""

from __future__ import annotations

import json
import sqlite3

import httpx
import pytest


def test_demo_sets_up_gates_a_raffle_sale_unit_and_a_petrol_kiosk(cli, tmp_path):
    root = tmp_path / "demo"
    result = cli.run("demo", "--dir", str(root), "--tickets", "60", "--no-app", timeout=240)
    out = result.stdout
    assert "8/8 ready" in out
    sample = next(
        line.split()[0]
        for line in out.splitlines()
        if line.strip().endswith(")") and "valid (" in line
    )
    assert f"sample scan of {sample}: VALID" in out
    # Both gates hold the match's tickets, and the sample entry reached the server.
    for gate in ("gate-north", "gate-south"):
        status = json.loads(
            cli.run("device", "status", "--home", str(root / gate), "--json").stdout
        )
        assert status["tickets"] == 60 and status["status"] == "approved"
    with sqlite3.connect(root / "server.sqlite") as db:
        entered = db.execute(
            "select count(*) from tickets where first_entry_at is not null"
        ).fetchone()[0]
    assert entered == 1
    # The demo's server is stopped when the demo ends.
    console = next(line for line in out.splitlines() if line.startswith("Admin console: "))
    url = console.split()[2].removesuffix("/console")
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/v1/health", timeout=2)
    # The raffle sale unit is approved, synced and can sell from its allocated range.
    rsu = json.loads(cli.run("device", "status", "--home", str(root / "rsu"), "--json").stdout)
    assert rsu["status"] == "approved" and rsu["role"] == "rsu"
    assert rsu["last_pull_at"] and rsu["unsynced"] == 0
    assert rsu["raffle_state"] == "active" and rsu["can_sell"] is True
    assert rsu["allocated"] == rsu["remaining"] == 2000
    with sqlite3.connect(root / "server.sqlite") as db:
        raffle_state, packages, prizes, commitment = db.execute(
            "select r.state,"
            " (select count(*) from raffle_ticket_package p where p.raffle_event_id = r.id),"
            " (select count(*) from prize z where z.raffle_event_id = r.id),"
            " (select seed_commitment from draw d where d.raffle_event_id = r.id)"
            " from raffle_event r"
        ).fetchone()
    assert (raffle_state, packages, prizes) == ("active", 3, 2) and commitment
    # ...and `device sell` on it works offline (the demo's server has stopped).
    sale = json.loads(
        cli.run(
            "device",
            "sell",
            "--home",
            str(root / "rsu"),
            "--package",
            "3 for 10.00",
            "--cash",
            "10",
            "--json",
        ).stdout
    )
    assert sale["draw_numbers"] == [1, 2, 3] and len(sale["validation_number"]) == 20
    rsu = json.loads(cli.run("device", "status", "--home", str(root / "rsu"), "--json").stdout)
    assert (rsu["orders"], rsu["remaining"], rsu["unsynced"]) == (1, 1997, 1)
    # The petrol kiosk is approved for the match and holds its seat block and the PINs shown.
    kiosk = json.loads(cli.run("device", "status", "--home", str(root / "petrol"), "--json").stdout)
    assert kiosk["status"] == "approved" and kiosk["role"] == "petrol"
    assert kiosk["last_pull_at"] and kiosk["unsynced"] == 0
    with sqlite3.connect(root / "server.sqlite") as db:
        assert [kiosk["event_id"]] == [row[0] for row in db.execute("select id from events")]
    shown = out.split("PINs to try:")[1].split("without the UI")[0].split()
    pins = sorted(word for word in shown if word.isdigit() and len(word) == 5)
    assert len(pins) == 3
    with sqlite3.connect(root / "petrol" / "store.sqlite") as store:
        held = sorted(row[0] for row in store.execute("select pin from petrol_pins"))
        seats = store.execute("select count(*) from seats").fetchone()[0]
    assert held == pins and seats == 24
