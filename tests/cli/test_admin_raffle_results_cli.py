"""``fieldpass admin raffle`` after sales (reconcile, confirm, draw, export-draw, lookup,
claim, report) against a real gunicorn, with a real RSU selling through ``fieldpass
device sell/void/close``.

Reuses the live-server fixture of test_admin_cli (one server for this module).
"""

from __future__ import annotations

import csv
import json

from click.testing import CliRunner

from fieldpass.cli import cli
from fieldpass.sync.draw import verify_record
from fieldpass.sync.validation_numbers import format_validation_number
from tests.cli.test_admin_cli import (  # noqa: F401 (admin and live are fixtures)
    admin,
    as_json,
    fails,
    live,
    ok,
    run,
)


def device(*args: str):
    result = CliRunner().invoke(cli, ["device", *args])
    assert "Traceback" not in result.output
    return result


def device_json(*args: str) -> dict:
    result = device(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _set_up(url: str, tmp_path, name: str, rsu_name: str = "Stand 1") -> tuple[str, str]:
    """A raffle with two packages and two prizes, one RSU holding 1-50, seed, active."""
    raffle_id = as_json("admin", "raffle", "create", "--name", name, "--max-tickets", "200")["id"]
    for package, tickets, price in (("1 for 5", "1", "500"), ("3 for 10", "3", "1000")):
        ok("admin", "raffle", "package", "add", raffle_id, "--name", package,
           "--tickets", tickets, "--price", price)  # fmt: skip
    ok("admin", "raffle", "prize", "add", raffle_id, "--name", "Pot", "--position", "1",
       "--percent", "50")  # fmt: skip
    ok("admin", "raffle", "prize", "add", raffle_id, "--name", "Hamper", "--position", "2",
       "--fixed", "2000")  # fmt: skip
    ok("admin", "raffle", "configure", raffle_id)
    home = str(tmp_path / "rsu")
    enrolled = device_json("enroll", "--server", url, "--role", "rsu", "--name", rsu_name,
                           "--home", home)  # fmt: skip
    ok("admin", "device", "approve", enrolled["code"], "--raffle", raffle_id)
    ok("admin", "raffle", "allocate", raffle_id, "--device", enrolled["device_id"],
       "--start", "1", "--end", "50")  # fmt: skip
    ok("admin", "raffle", "commit-seed", raffle_id)
    ok("admin", "raffle", "activate", raffle_id)
    synced = device("sync", "--home", home)
    assert synced.exit_code == 0, synced.output
    return raffle_id, home


def test_reconcile_confirm_draw_export_lookup_claim_and_reports(admin, tmp_path):  # noqa: F811
    raffle_id, home = _set_up(admin, tmp_path, "Results raffle")
    sales = [
        device_json("sell", "--package", "3 for 10", "--cash", "10", "--home", home),
        device_json("sell", "--package", "1 for 5", "--card", "POS-9", "--home", home),
        device_json("sell", "--package", "3 for 10", "--cash", "20", "--home", home),
    ]
    voided = device("void", sales[2]["validation_number"], "--reason", "wrong package",
                    "--home", home)  # fmt: skip
    assert voided.exit_code == 0, voided.output

    # before the RSU closes: the view says what blocks confirmation
    ok("admin", "raffle", "close", raffle_id)
    text = ok("admin", "raffle", "reconcile", raffle_id).stdout
    assert "BLOCKS CONFIRMATION" in text and "Stand 1: no close event" in text
    refused = fails("admin", "raffle", "confirm", raffle_id)
    assert "cannot be reconciled" in refused and "override" in refused
    assert "must not be empty" in fails(
        "admin", "raffle", "confirm", raffle_id, "--override-reason", " "
    )
    assert "only a reconciled raffle" in fails("admin", "raffle", "draw", raffle_id)

    closed = device("close", "--home", home)
    assert closed.exit_code == 0, closed.output
    view = as_json("admin", "raffle", "reconcile", raffle_id)
    (rsu,) = view["rsus"]
    assert (rsu["sold"], rsu["voided"], rsu["unsold"], rsu["orders"]) == (4, 3, 43, 3)
    assert (rsu["cash_cents"], rsu["card_cents"], rsu["complete"]) == (1000, 500, True)
    assert view["state"] == "reconciling" and view["can_confirm"]
    text = ok("admin", "raffle", "reconcile", raffle_id).stdout
    assert "nothing blocks confirmation" in text and "Stand 1" in text
    assert "confirmed" in ok("admin", "raffle", "confirm", raffle_id).stdout

    drawn = as_json("admin", "raffle", "draw", raffle_id, "--beacon", "block 123")
    assert drawn["beacon"] == "block 123" and drawn["sold_count"] == 4
    assert drawn["revenue_cents"] == 1500
    sold_numbers = {n for s in sales[:2] for n in s["draw_numbers"]}
    assert {w["draw_number"] for w in drawn["winners"]} <= sold_numbers
    pot = drawn["winners"][0]
    assert pot["prize_value_cents"] == 750

    export = tmp_path / "draw.json"
    assert (
        "wrote the draw record"
        in ok("admin", "raffle", "export-draw", raffle_id, str(export)).stdout
    )
    data = export.read_bytes()
    assert verify_record(data) == [] and json.loads(data)["checksum"] == drawn["checksum"]
    assert ok("admin", "raffle", "verify-draw", str(export)).exit_code == 0

    typed = format_validation_number(pot["validation_number"])
    order = as_json("admin", "raffle", "lookup", typed)
    assert order["prizes"][0]["claim_status"] == "unclaimed"
    text = ok("admin", "raffle", "lookup", typed).stdout
    assert "PRIZE 1 'Pot'" in text and typed in text
    claimed = ok("admin", "raffle", "claim", typed).stdout
    assert "claimed prize 1 'Pot' (7.50)" in claimed
    assert "already claimed" in fails("admin", "raffle", "claim", typed)
    winners = {w["validation_number"] for w in drawn["winners"]}
    loser = next((s for s in sales[:2] if s["validation_number"] not in winners), None)
    if loser is not None:
        assert "won no prize" in fails("admin", "raffle", "claim", loser["validation_number"])
    assert "check digit" in fails("admin", "raffle", "lookup", "0001-0000-0000-0000-0000")

    drawing = ok("admin", "raffle", "report", raffle_id, "drawing").stdout
    assert drawn["checksum"] in drawing and "claimed" in drawing
    bearer = as_json("admin", "raffle", "report", raffle_id, "bearer")
    assert sorted(row[0] for row in bearer["rows"]) == sorted(sold_numbers)
    out = tmp_path / "voided.csv"
    wrote = ok("admin", "raffle", "report", raffle_id, "voided", "--csv", str(out)).stdout
    assert "wrote 3 row(s)" in wrote
    with out.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [int(r["draw_number"]) for r in rows] == sales[2]["draw_numbers"]
    assert rows[0]["reason"] == "wrong package"
    for kind in ("exceptions", "sales-by-rsu", "rsu-events", "rsu-corruption"):
        assert ok("admin", "raffle", "report", raffle_id, kind).stdout.startswith(kind)
    sales_text = ok("admin", "raffle", "report", raffle_id, "sales-by-rsu").stdout
    assert "Stand 1" in sales_text and "10.00" in sales_text


def test_override_is_reported_in_corruption_report(admin, tmp_path):  # noqa: F811
    raffle_id, home = _set_up(admin, tmp_path, "Override raffle")
    device_json("sell", "--package", "1 for 5", "--cash", "5", "--home", home)
    synced = device("sync", "--home", home)
    assert synced.exit_code == 0, synced.output
    ok("admin", "raffle", "close", raffle_id)
    confirmed = ok(
        "admin", "raffle", "confirm", raffle_id, "--override-reason", "unit lost in the rain"
    ).stdout
    assert "overridden RSUs: Stand 1" in confirmed
    report = as_json("admin", "raffle", "report", raffle_id, "rsu-corruption")
    (row,) = [dict(zip(report["columns"], r, strict=True)) for r in report["rows"]]
    assert row["rsu"] == "Stand 1" and row["reason"] == "unit lost in the rain"
    assert row["cash_cents"] == 500 and "no close event" in row["missing"]


def test_bad_input_fails_before_any_request(tmp_path):
    for args in (
        ("admin", "--url", "http://127.0.0.1:9", "raffle", "lookup", "12-34"),
        ("admin", "--url", "http://127.0.0.1:9", "raffle", "claim", "abc"),
    ):
        result = run(*args)
        assert result.exit_code == 1
        assert result.stderr.strip().startswith("error: VALIDATION:"), result.stderr
    usage = run("admin", "raffle", "report", "r", "everything")
    assert usage.exit_code == 2 and "everything" in usage.output


def test_every_results_command_has_help():
    for command in ("reconcile", "confirm", "draw", "export-draw", "lookup", "claim", "report"):
        result = CliRunner().invoke(cli, ["admin", "raffle", command, "--help"])
        assert result.exit_code == 0, result.output
        assert "Usage:" in result.output


def test_report_csv_neutralises_formulas_in_device_names(admin, tmp_path):  # noqa: F811
    """Issue 9 point 11: a device named =HYPERLINK(...) was written raw into the CSV."""
    formula = '=HYPERLINK("http://example.invalid/x","click")'
    raffle_id, home = _set_up(admin, tmp_path, "Formula raffle", rsu_name=formula)
    device_json("sell", "--package", "1 for 5", "--cash", "5", "--home", home)
    out = tmp_path / "sales.csv"
    ok("admin", "raffle", "report", raffle_id, "sales-by-rsu", "--csv", str(out))
    text = out.read_text(encoding="utf-8")
    with out.open(newline="") as handle:
        cells = [value for row in csv.reader(handle) for value in row]
    assert "'" + formula in cells, text
    assert formula not in [c for c in cells if not c.startswith("'")]
