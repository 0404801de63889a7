"""``fieldpass admin event create --vat-percent --layout``, ``sector add --price``,
``report petrol``, ``conflicts resolve --refund-sale`` and ``integration-token`` against a
real gunicorn (the live-server fixture of test_admin_cli, one server for this module)."""

from __future__ import annotations

import time

import httpx
from click.testing import CliRunner

from fieldpass.cli import cli
from tests.cli.test_admin_cli import (  # noqa: F401 (admin and live are fixtures)
    admin,
    as_json,
    fails,
    live,
    ok,
)
from tests.cli.test_petrol_cli import ANA, match  # noqa: F401 (match is a fixture)

OIB = "69435151530"


def _starts() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(time.time() + 86400))


def test_event_with_vat_and_a_venue_layout(admin, tmp_path):  # noqa: F811
    layout = tmp_path / "venue.csv"
    layout.write_text("sector,rows,seats,price\nNorth,A-C,1-10,25.00\nSouth,1-2,1-5\n")
    event = as_json(
        "admin", "event", "create", "--name", "Layout match", "--starts", _starts(),
        "--vat-percent", "13", "--layout", str(layout),
    )  # fmt: skip
    assert event["vat_percent"] == "13.00" and event["layout"]["seats"] == 40
    sectors = as_json("admin", "sector", "list", "--event", event["id"])
    assert {s["sector"]: s["seats"] for s in sectors} == {"North": 30, "South": 10}
    text = ok(
        "admin", "event", "create", "--name", "Text match", "--starts", _starts(),
        "--layout", str(layout),
    ).stdout  # fmt: skip
    assert "VAT 25.00 %" in text and "layout: 2 sectors, 40 seats" in text


def test_a_bad_layout_names_its_lines_and_creates_nothing(admin, tmp_path):  # noqa: F811
    before = len(as_json("admin", "event", "list"))
    bad = tmp_path / "bad.csv"
    bad.write_text("North,A-?,1-10\nSouth,1-2,1-5,free\n")
    run = CliRunner().invoke(
        cli,
        ["admin", "event", "create", "--name", "Bad", "--starts", _starts(), "--layout", str(bad)],
    )
    assert run.exit_code == 1 and "Traceback" not in run.output
    assert "nothing was imported" in run.stderr and "price" in run.stderr
    assert run.stderr.strip().splitlines()[-1].startswith("error: 2 invalid row(s)")
    assert len(as_json("admin", "event", "list")) == before
    assert "no such file" in fails(
        "admin", "event", "create", "--name", "X", "--starts", _starts(), "--layout", "nope.csv"
    )
    assert "VAT percent" in fails(
        "admin", "event", "create", "--name", "X", "--starts", _starts(), "--vat-percent", "abc"
    )


def test_sector_add_with_price_and_category(admin, match):  # noqa: F811
    added = as_json(
        "admin", "sector", "add", "--event", match, "--name", "A", "--rows", "A-B",
        "--seats", "1-5", "--price", "25.00",
    )  # fmt: skip
    assert (added["price_category"], added["price"]) == ("25.00", "25.00")
    text = ok(
        "admin", "sector", "add", "--event", match, "--name", "B", "--rows", "A",
        "--seats", "1-5", "--price", "40", "--category", "VIP",
    ).stdout  # fmt: skip
    assert "price 40.00" in text
    error = fails(
        "admin", "sector", "add", "--event", match, "--name", "C", "--rows", "A",
        "--seats", "1-5", "--price", "lots",
    )  # fmt: skip
    assert "price must be an amount like 25.00" in error


def test_petrol_report_of_an_event_without_sales(admin, match):  # noqa: F811
    report = as_json("admin", "report", "petrol", "--event", match)
    assert report["total"] == {"sales": 0, "tickets": 0, "amount_cents": 0}
    assert report["open_double_redemptions"] == []
    text = ok("admin", "report", "petrol", "--event", match).stdout
    assert "Petrol sales of event Petrol match" in text and "cash to collect 0.00" in text
    assert "not found" in fails("admin", "report", "petrol", "--event", "no-such-event")


def test_refund_of_an_unknown_conflict_fails_clearly(admin):  # noqa: F811
    error = fails("admin", "conflicts", "resolve", "999999", "--refund-sale", "1", "--note", "x")
    assert "conflict 999999" in error


def test_integration_token_create_use_list_revoke(admin, match):  # noqa: F811
    created = as_json("admin", "integration-token", "create", "--name", "app backend")
    token = created["token"]
    headers = {"Authorization": f"Bearer {token}"}
    holder = dict(
        zip(
            ("full_name", "date_of_birth", "nationality", "document_number"),
            ANA.split(";"),
            strict=True,
        )
    )
    body = {"event_id": match, "quantity": 1, "holders": [holder]}
    made = httpx.post(f"{admin}/v1/integration/pins", json=body, headers=headers, timeout=10)
    assert made.status_code == 201, made.text
    status = httpx.get(f"{admin}/v1/integration/pins/{made.json()['id']}", headers=headers)
    assert status.json()["status"] == "ACTIVE"
    listed = as_json("admin", "integration-token", "list")
    assert [t["name"] for t in listed] == ["app backend"] and "token" not in listed[0]
    assert token not in ok("admin", "integration-token", "list").stdout
    assert "revoked" in ok("admin", "integration-token", "revoke", created["id"]).stdout
    again = httpx.post(f"{admin}/v1/integration/pins", json=body, headers=headers, timeout=10)
    assert again.status_code == 401
    assert "already revoked" in fails("admin", "integration-token", "revoke", created["id"])
