"""``fieldpass admin raffle`` (set-up to close of sales) and ``admin device approve
--raffle`` against a real gunicorn; the RSU enrolls with ``fieldpass device enroll --role
rsu``.

Reuses the live-server fixture of test_admin_cli (one server for this module).
"""

from __future__ import annotations

import re

from click.testing import CliRunner

from fieldpass.cli import cli
from tests.cli.test_admin_cli import (  # noqa: F401 (admin and live are fixtures)
    admin,
    as_json,
    fails,
    live,
    ok,
    run,
)


def _raffle(max_tickets: int = 1000, name: str = "CLI raffle") -> str:
    created = as_json(
        "admin", "raffle", "create", "--name", name, "--max-tickets", str(max_tickets),
        "--sales-end", "2030-06-30T20:00:00Z", "--claim-by", "2030-09-30T00:00:00Z",
        "--licence", "CG-2030-1", "--jackpot-seed", "50000",
    )  # fmt: skip
    assert created["state"] == "created" and created["licence_number"] == "CG-2030-1"
    return created["id"]


def _rsu(url: str, home: str, raffle_id: str, name: str = "RSU 1") -> str:
    enrolled = as_json(
        "device", "enroll", "--server", url, "--role", "rsu", "--name", name, "--home", home
    )
    approved = as_json("admin", "device", "approve", enrolled["code"], "--raffle", raffle_id)
    assert (approved["role"], approved["status"], approved["raffle_id"]) == (
        "rsu",
        "approved",
        raffle_id,
    )
    assert approved["event_id"] is None
    return enrolled["device_id"]


def test_raffle_set_up_to_close_of_sales(admin, tmp_path):  # noqa: F811
    raffle_id = _raffle()
    one = as_json(
        "admin", "raffle", "package", "add", raffle_id, "--name", "1 for 5", "--tickets", "1",
        "--price", "500",
    )  # fmt: skip
    assert (one["ticket_count"], one["price_cents"]) == (1, 500)
    text = ok(
        "admin", "raffle", "package", "add", raffle_id, "--name", "3 for 10", "--tickets", "3",
        "--price", "1000",
    ).stdout  # fmt: skip
    assert "3 tickets for 10.00" in text
    fixed = as_json(
        "admin", "raffle", "prize", "add", raffle_id, "--name", "Bike", "--position", "2",
        "--fixed", "30000", "--winners", "2",
    )  # fmt: skip
    assert (fixed["prize_type"], fixed["value_cents"], fixed["winner_count"]) == ("fixed", 30000, 2)
    pot = as_json(
        "admin", "raffle", "prize", "add", raffle_id, "--name", "Half the pot", "--position", "1",
        "--percent", "50",
    )  # fmt: skip
    assert pot["percentage"] == "50.00"
    assert [p["position"] for p in as_json("admin", "raffle", "prize", "list", raffle_id)] == [1, 2]
    assert len(as_json("admin", "raffle", "package", "list", raffle_id)) == 2

    configured = ok("admin", "raffle", "configure", raffle_id).stdout
    assert re.search(r"is configured: 1000 tickets generated in \d+\.\ds", configured), configured

    rsu = _rsu(admin, str(tmp_path / "rsu1"), raffle_id)
    allocation = as_json(
        "admin", "raffle", "allocate", raffle_id, "--device", rsu, "--start", "1", "--end", "100"
    )
    assert (allocation["size"], allocation["unsold"], allocation["is_active"]) == (100, 100, True)
    overlap = fails(
        "admin", "raffle", "allocate", raffle_id, "--device", rsu, "--start", "90", "--end", "120"
    )
    assert "not available" in overlap
    second = as_json(
        "admin", "raffle", "allocate", raffle_id, "--device", rsu, "--start", "101", "--end", "150"
    )
    returned = ok("admin", "raffle", "deallocate", raffle_id, second["id"]).stdout
    assert "50 unsold numbers are available again" in returned
    listed = as_json("admin", "raffle", "allocations", raffle_id)
    assert [(a["start_number"], a["is_active"]) for a in listed] == [(1, True), (101, False)]
    table_text = ok("admin", "raffle", "allocations", raffle_id).stdout
    assert "RSU 1" in table_text.splitlines()[2]

    shown = ok("admin", "raffle", "show", raffle_id).stdout
    assert ": configured, 1000 tickets (900 available, 100 allocated, 0 sold)" in shown
    assert "licence: CG-2030-1" in shown and "jackpot seed: 500.00" in shown
    assert "3 for 10" in shown and "Half the pot" in shown and "50.00%" in shown
    no_seed = fails("admin", "raffle", "close", raffle_id)
    assert "is configured" in no_seed
    commitment = ok("admin", "raffle", "commit-seed", raffle_id).stdout.strip()
    assert re.fullmatch(r"[0-9a-f]{64}", commitment), commitment
    active = as_json("admin", "raffle", "activate", raffle_id)
    assert active["state"] == "active" and active["seed_commitment"] == commitment
    frozen = fails(
        "admin", "raffle", "package", "add", raffle_id, "--name", "10 for 20", "--tickets", "10",
        "--price", "2000",
    )  # fmt: skip
    assert "frozen" in frozen
    suspended = ok("admin", "raffle", "suspend", raffle_id, "--reason", "rain").stdout
    assert "suspended" in suspended
    assert as_json("admin", "raffle", "resume", raffle_id)["state"] == "active"
    assert as_json("admin", "raffle", "close", raffle_id)["state"] == "sales_closed"
    shown = as_json("admin", "raffle", "show", raffle_id)
    assert shown["counts"]["allocated"] == 100 and shown["counts"]["available"] == 900
    assert [r["id"] for r in as_json("admin", "raffle", "list")].count(raffle_id) == 1
    assert raffle_id in ok("admin", "raffle", "list").stdout
    cancelled = as_json("admin", "raffle", "cancel", raffle_id, "--reason", "test over")
    assert (cancelled["state"], cancelled["cancellation_reason"]) == ("cancelled", "test over")


def test_bad_input_and_illegal_moves_fail_with_one_line(admin):  # noqa: F811
    raffle_id = _raffle(max_tickets=50, name="Errors")
    both = fails(
        "admin", "raffle", "prize", "add", raffle_id, "--name", "X", "--position", "1",
        "--fixed", "5", "--percent", "5",
    )  # fmt: skip
    assert "exactly one of --fixed" in both
    neither = fails("admin", "raffle", "prize", "add", raffle_id, "--name", "X", "--position", "1")
    assert "exactly one of --fixed" in neither
    for percent in ("0", "100.5", "1.234", "lots"):
        error = fails(
            "admin", "raffle", "prize", "add", raffle_id, "--name", "X", "--position", "1",
            "--percent", percent,
        )  # fmt: skip
        assert "--percent" in error, error
    assert "is created" in fails("admin", "raffle", "activate", raffle_id)
    assert "is created" in fails("admin", "raffle", "commit-seed", raffle_id)
    assert "--reason must not be empty" in fails(
        "admin", "raffle", "suspend", raffle_id, "--reason", " "
    )
    assert "--sales-end" in fails(
        "admin", "raffle", "create", "--name", "R", "--max-tickets", "5", "--sales-end", "soon"
    )
    assert "not found" in fails("admin", "raffle", "show", "no-such-raffle")
    assert "after --end" in fails(
        "admin", "raffle", "allocate", raffle_id, "--device", "d", "--start", "9", "--end", "2"
    )
    usage = run("admin", "raffle", "create", "--name", "R", "--max-tickets", "1000001")
    assert usage.exit_code == 2 and "1000001" in usage.output
    assert "exactly one of --event" in fails("admin", "device", "approve", "AAA-AAA")
    assert "exactly one of --event" in fails(
        "admin", "device", "approve", "AAA-AAA", "--event", "e", "--raffle", raffle_id
    )
    assert "not found" in fails("admin", "device", "approve", "AAA-AAA", "--raffle", raffle_id)


def test_every_raffle_command_has_help():
    commands = (
        "create", "list", "show", "configure", "allocate", "deallocate", "allocations",
        "activate", "commit-seed", "close", "suspend", "resume", "cancel",
    )  # fmt: skip
    for command in (*commands, "package add", "prize add"):
        result = CliRunner().invoke(cli, ["admin", "raffle", *command.split(), "--help"])
        assert result.exit_code == 0, result.output
        assert "Usage:" in result.output
