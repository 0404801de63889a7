"""``fieldpass admin pins|sector|seats|event deeplink`` against a real gunicorn, and the
key file ``fieldpass server init`` creates for PIN holder data.

Reuses the live-server fixture of test_admin_cli (one server for this module).
"""

from __future__ import annotations

import json
import stat
import time
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from fieldpass.cli import cli
from fieldpass.sync import signing
from fieldpass.sync.versions import PROTOCOL_VERSION, SCHEMA_VERSION
from tests.cli.test_admin_cli import (  # noqa: F401 (admin and live are fixtures)
    admin,
    as_json,
    fails,
    free_port,
    live,
    ok,
)

OIB = "69435151530"
ANA = f"Ana Horvat;1990-05-17;HR;{OIB}"
JOHN = "John Smith;1985-01-02;GB;AB1234567"


@pytest.fixture
def match(admin: str) -> str:  # noqa: F811
    """An event starting tomorrow (a PIN expires at kick-off by default)."""
    starts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(time.time() + 86400))
    return as_json("admin", "event", "create", "--name", "Petrol match", "--starts", starts)["id"]


def petrol_kiosk(url: str, event_id: str, name: str = "kiosk-1") -> str:
    """Enroll a petrol device over HTTP and approve it with the CLI; its id."""
    enrolled = httpx.post(
        f"{url}/v1/enroll",
        json={
            "protocol": PROTOCOL_VERSION,
            "schema": SCHEMA_VERSION,
            "role": "petrol",
            "name": name,
            "public_key": signing.public_key_text(signing.generate_private_key()),
        },
        timeout=10,
    ).json()
    approved = as_json("admin", "device", "approve", enrolled["code"], "--event", event_id)
    assert approved["role"] == "petrol"
    return enrolled["device_id"]


def test_pins_create_list_cancel(admin, match):  # noqa: F811
    created = as_json(
        "admin", "pins", "create", "--event", match, "--quantity", "2",
        "--holder", ANA, "--holder", JOHN,
    )  # fmt: skip
    pin = created["pin"]
    assert len(pin) == 5 and pin.isdigit() and created["status"] == "ACTIVE"
    listed = as_json("admin", "pins", "list", "--event", match)
    assert [p["pin"] for p in listed] == [pin]
    assert listed[0]["holders"][0]["document_number"] == OIB
    assert listed[0]["holders"][1]["document_type"] == "PASSPORT"
    text = ok("admin", "pins", "list", "--event", match).stdout
    assert pin in text and "Ana Horvat; John Smith" in text
    human = ok(
        "admin", "pins", "create", "--event", match, "--quantity", "1", "--holder", JOHN,
        "--pin", "24680",
    ).stdout  # fmt: skip
    assert human.startswith("PIN 24680 for 1 ticket(s) (John Smith)")
    taken = fails(
        "admin", "pins", "create", "--event", match, "--quantity", "1", "--holder", JOHN,
        "--pin", "24680",
    )  # fmt: skip
    assert "24680 is already active" in taken
    assert "is now CANCELLED" in ok("admin", "pins", "cancel", pin, "--reason", "asked").stdout
    assert "only an ACTIVE PIN" in fails("admin", "pins", "cancel", pin)
    active = as_json("admin", "pins", "list", "--event", match, "--status", "active")
    assert [p["pin"] for p in active] == ["24680"]


def test_bad_pin_input_fails_before_any_request(admin, match):  # noqa: F811
    bad_oib = f"Ana Horvat;1990-05-17;HR;{OIB[:-1]}1"
    error = fails(
        "admin", "pins", "create", "--event", match, "--quantity", "1", "--holder", bad_oib
    )
    assert error == f"error: --holder 1: invalid OIB {OIB[:-1]}1: wrong check digit"
    error = fails("admin", "pins", "create", "--event", match, "--quantity", "2", "--holder", ANA)
    assert "one per ticket" in error
    error = fails(
        "admin", "pins", "create", "--event", match, "--quantity", "1", "--holder", "Ana;HR"
    )
    assert "4 parts" in error
    error = fails(
        "admin", "pins", "create", "--event", match, "--quantity", "1", "--holder", ANA,
        "--pin", "12a45",
    )  # fmt: skip
    assert "exactly 5 digits" in error
    assert as_json("admin", "pins", "list", "--event", match) == []


def test_pins_import_all_or_nothing(admin, match, tmp_path):  # noqa: F811
    good = tmp_path / "pins.csv"
    good.write_text(
        f"pin,quantity,expires_at,holder_1,holder_2\n,2,,{ANA},{JOHN}\n13579,1,,{JOHN},\n",
        encoding="utf-8",
    )
    result = as_json("admin", "pins", "import", "--event", match, str(good))
    assert result["imported"] == 2 and result["pins"][1]["pin"] == "13579"
    bad = tmp_path / "bad.csv"
    bad.write_text(
        f"pin,quantity,holder_1\n,1,Ana;1990-05-17;HR;{OIB[:-1]}1\n13579,1,{JOHN}\n",
        encoding="utf-8",
    )
    run = CliRunner().invoke(cli, ["admin", "pins", "import", "--event", match, str(bad)])
    assert run.exit_code == 1
    assert "nothing was imported" in run.stderr and "holder_1" in run.stderr
    assert "invalid OIB" in run.stderr
    assert len(as_json("admin", "pins", "list", "--event", match)) == 2
    tickets_file = tmp_path / "tickets.csv"
    tickets_file.write_text("barcode,sector\nTK-1,A\n", encoding="utf-8")
    assert "header like pin,quantity" in fails(
        "admin", "pins", "import", "--event", match, str(tickets_file)
    )


def test_sectors_and_seat_blocks(admin, match):  # noqa: F811
    kiosk_1 = petrol_kiosk(admin, match, "kiosk-1")
    kiosk_2 = petrol_kiosk(admin, match, "kiosk-2")
    added = as_json("admin", "sector", "add", "--event", match, "--name", "S", "--rows", "A-Z",
                    "--seats", "1-30")  # fmt: skip
    assert added["created"] == 780
    block = as_json("admin", "seats", "allocate", "--event", match, "--device", kiosk_1,
                    "--sector", "S", "--rows", "A-C", "--seats", "1-20")  # fmt: skip
    assert block["seat_count"] == 60 and block["device_name"] == "kiosk-1"
    clash = fails("admin", "seats", "allocate", "--event", match, "--device", kiosk_2,
                  "--sector", "S", "--rows", "C-D", "--seats", "19-22")  # fmt: skip
    assert "2 seat(s) are not free: S/C/19 (in block), S/C/20 (in block)" in clash
    human = ok("admin", "seats", "allocate", "--event", match, "--device", kiosk_2,
               "--sector", "S", "--rows", "D")  # fmt: skip
    assert human.stdout.startswith("allocated 30 seats (sector S, rows D, seats all) to kiosk-2")
    assert "--rows: range C-A runs backwards" in fails(
        "admin", "seats", "allocate", "--event", match, "--device", kiosk_2, "--sector", "S",
        "--rows", "C-A",
    )  # fmt: skip
    listing = ok("admin", "seats", "list", "--event", match).stdout
    assert block["id"] in listing and "kiosk-1" in listing
    returning = as_json("admin", "seats", "return", block["id"])
    assert returning["status"] == "RETURNING" and returning["unsold"] == 60
    listing = ok("admin", "seats", "list", "--event", match).stdout
    assert "RETURNING (until the kiosk syncs)" in listing
    assert "--force needs --reason" in fails("admin", "seats", "return", block["id"], "--force")
    returned = as_json("admin", "seats", "return", block["id"], "--force", "--reason", "lost")
    assert returned["status"] == "RETURNED" and returned["returned"] == 60
    assert "already RETURNED" in fails("admin", "seats", "return", block["id"])
    sectors = as_json("admin", "sector", "list", "--event", match)
    assert sectors == [
        {"sector": "S", "seats": 780, "available": 750, "allocated": 30, "sold": 0, "price": None}
    ]


def test_event_deeplink_shows_url_and_qr(admin, match):  # noqa: F811
    link = as_json("admin", "event", "deeplink", "--event", match)
    assert link["url"].startswith(f"fieldpass://petrol?match={match}&t=")
    text = ok("admin", "event", "deeplink", "--event", match).stdout
    lines = text.splitlines()
    assert lines[0] == link["url"]
    assert len(lines) > 20 and any("█" in line for line in lines[1:])  # the QR code


# -- the key file ----------------------------------------------------------------------


def _init(*args: str):
    result = CliRunner().invoke(cli, ["server", "init", *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def test_init_creates_a_private_key_next_to_sqlite_and_keeps_it(tmp_path):
    db = tmp_path / "data" / "server.sqlite"
    first = json.loads(_init("--db", f"sqlite:///{db}", "--json").stdout)
    key = Path(first["key_file"])
    assert key == db.with_name("server.sqlite.key") and first["key_created"] is True
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    content = key.read_text()
    assert stat.S_IMODE(db.stat().st_mode) == 0o600  # the database is private too
    assert first["server_key_fingerprint"].startswith("sha256:")
    again = _init("--db", f"sqlite:///{db}")
    assert f"key file: {key}" in again.stdout
    assert f"server key: {first['server_key_fingerprint']}" in again.stdout  # stable
    assert key.read_text() == content  # never replaced
    custom = tmp_path / "keys" / "pii.key"
    other = json.loads(
        _init(
            "--db", f"sqlite:///{tmp_path / 'b.sqlite'}", "--key-file", str(custom), "--json"
        ).stdout
    )
    assert other["key_file"] == str(custom) and custom.exists()


def test_init_uses_the_environment_and_refuses_a_damaged_key(tmp_path, monkeypatch):
    env_key = tmp_path / "env.key"
    monkeypatch.setenv("FIELDPASS_KEY_FILE", str(env_key))
    _init("--db", f"sqlite:///{tmp_path / 'c.sqlite'}")
    assert env_key.exists()
    env_key.write_text("not a key\n")
    broken = CliRunner().invoke(
        cli, ["server", "init", "--db", f"sqlite:///{tmp_path / 'c.sqlite'}"]
    )
    assert broken.exit_code == 1 and "does not hold a 32-byte" in broken.output
    env_key.chmod(0o644)
    open_key = CliRunner().invoke(
        cli, ["server", "serve", "--db", f"sqlite:///{tmp_path / 'c.sqlite'}"]
    )
    assert open_key.exit_code == 1 and "readable by other users" in open_key.output


def test_a_server_without_its_key_file_refuses_to_start(tmp_path):
    """Without its key the server could sign nothing a device trusts: it says so and stops."""
    db_url = f"sqlite:///{tmp_path / 's.sqlite'}"
    _init("--db", db_url)
    (tmp_path / "s.sqlite.key").unlink()
    result = CliRunner().invoke(
        cli, ["server", "serve", "--db", db_url, "--bind", f"127.0.0.1:{free_port()}"]
    )
    assert result.exit_code == 1
    assert "no key file at" in result.output and "fieldpass server init" in result.output
    assert "Traceback" not in result.output
