"""``fieldpass admin`` against a real gunicorn over loopback (one server for the module).

The commands run in-process through click's CliRunner; each test has its own config dir
(tests/conftest.py), so each test logs in for itself.
"""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner, Result

from fieldpass.cli import cli
from fieldpass.cli.admin_cmds import error_column, format_attendance, table

EMAIL = "admin@cli.test"
PASSWORD = "cli-test-password-1"
HEADER = "barcode,sector,row,seat,holder_name,status"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def live(tmp_path_factory) -> Iterator[str]:
    """A real server: `server init`, `server create-admin`, `server serve` (1 worker)."""
    root = tmp_path_factory.mktemp("admin-cli-server")
    db_url = f"sqlite:///{root / 's.sqlite'}"
    env = {
        **os.environ,
        "FIELDPASS_ADMIN_PASSWORD": PASSWORD,
        "XDG_CONFIG_HOME": str(root / "config"),
        "XDG_DATA_HOME": str(root / "data"),
    }
    command = [sys.executable, "-m", "fieldpass", "server"]
    for args in (["init", "--db", db_url], ["create-admin", "--db", db_url, "--email", EMAIL]):
        subprocess.run(command + args, env=env, check=True, capture_output=True, timeout=60)
    url = f"http://127.0.0.1:{free_port()}"
    log_path = root / "server.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(
            command
            + ["serve", "--db", db_url, "--bind", url.removeprefix("http://"), "--workers", "1"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            assert server.poll() is None, f"server exited: {log_path.read_text()}"
            try:
                if httpx.get(f"{url}/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"server did not start: {log_path.read_text()}"
            time.sleep(0.1)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def run(*args: str, env: dict[str, str] | None = None, stdin: str | None = None) -> Result:
    result = CliRunner().invoke(cli, list(args), env=env, input=stdin)
    assert "Traceback" not in result.output
    assert not isinstance(result.exception, Exception) or isinstance(
        result.exception, SystemExit
    ), repr(result.exception)
    return result


def ok(*args: str) -> Result:
    result = run(*args)
    assert result.exit_code == 0, result.output
    return result


def fails(*args: str, env: dict[str, str] | None = None) -> str:
    """Run a command expected to fail; its one-line error (stderr's last line)."""
    result = run(*args, env=env)
    assert result.exit_code == 1, result.output
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ")
    return last


def as_json(*args: str):
    return json.loads(ok(*args, "--json").stdout)


def session_file() -> Path:
    return Path(os.environ["XDG_CONFIG_HOME"]) / "fieldpass" / "admin.json"


def login(url: str) -> Result:
    result = run(
        "admin", "--url", url, "login", "--email", EMAIL, env={"FIELDPASS_ADMIN_PASSWORD": PASSWORD}
    )
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture
def admin(live: str) -> str:
    login(live)
    return live


@pytest.fixture
def event_id(admin: str) -> str:
    starts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
    event = as_json("admin", "event", "create", "--name", "CLI match", "--starts", starts)
    return event["id"]


def write_csv(path: Path, rows: list[str]) -> Path:
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path


def good_rows(count: int, prefix: str = "CLI") -> list[str]:
    return [f"{prefix}-{n:04d},{'AB'[n % 2]},1,{n},Holder {n},VALID" for n in range(1, count + 1)]


# -- login and the saved session --------------------------------------------------------


def test_login_saves_a_private_token_and_later_commands_need_no_url(live):
    result = login(live)
    assert f"logged in to {live} as {EMAIL}" in result.stdout
    path = session_file()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    saved = json.loads(path.read_text())
    assert saved["url"] == live and saved["email"] == EMAIL
    assert len(saved["token"]) >= 20 and saved["expires"]
    assert saved["token"] not in result.output
    events = as_json("admin", "event", "list")  # URL and token from the saved login
    assert isinstance(events, list)
    assert json.loads(ok("admin", "whoami", "--json").stdout)["url"] == live


def test_wrong_password_is_refused_and_nothing_is_saved(live):
    error = fails(
        "admin",
        "--url",
        live,
        "login",
        "--email",
        EMAIL,
        env={"FIELDPASS_ADMIN_PASSWORD": "not-the-password"},
    )
    assert "wrong email or password" in error
    assert not session_file().exists()


def test_password_prompt_is_used_without_the_environment_variable(live):
    result = run("admin", "--url", live, "login", "--email", EMAIL, stdin=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output  # hidden input
    assert session_file().exists()


def test_commands_without_a_login_say_how_to_log_in(live):
    assert "no server URL" in fails("admin", "event", "list")
    error = fails("admin", "--url", live, "device", "list")
    assert error == "error: not logged in or session expired: run `fieldpass admin login`"


def test_a_stale_token_is_reported_as_an_expired_session(live):
    session_file().parent.mkdir(parents=True)
    session_file().write_text(
        json.dumps({"url": live, "token": "stale-token", "email": EMAIL, "expires": None})
    )
    assert "not logged in or session expired" in fails("admin", "event", "list")


def test_logout_ends_the_session_on_the_server_then_forgets_it(live):
    login(live)
    token = json.loads(session_file().read_text())["token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert httpx.get(f"{live}/v1/events", headers=headers).status_code == 200
    assert ok("admin", "logout").stdout.strip() == "logged out"
    assert not session_file().exists()
    assert httpx.get(f"{live}/v1/events", headers=headers).status_code == 401
    assert ok("admin", "logout").stdout.strip() == "not logged in"


def test_logout_keeps_the_saved_login_when_the_server_cannot_be_reached(live):
    login(live)
    saved = json.loads(session_file().read_text())
    dead = f"http://127.0.0.1:{free_port()}"
    session_file().write_text(json.dumps({**saved, "url": dead}))
    error = fails("admin", "logout")
    assert "could not end the session on the server" in error
    assert session_file().exists()


def test_sessions_are_listed_and_one_is_revoked(live):
    login(live)
    first = json.loads(session_file().read_text())["token"]
    login(live)
    sessions = as_json("admin", "sessions", "list")
    mine = [s for s in sessions if s["email"] == EMAIL]
    assert len(mine) >= 2 and sum(s["current"] for s in sessions) == 1
    assert all(first not in json.dumps(s) for s in sessions)
    listing = ok("admin", "sessions", "list").stdout
    assert "last used" in listing and EMAIL in listing and "127.0.0.1" in listing
    older = [s for s in mine if not s["current"]]
    headers = {"Authorization": f"Bearer {first}"}
    for session in older:
        assert ok("admin", "sessions", "revoke", session["id"]).stdout.startswith("session ")
    assert httpx.get(f"{live}/v1/events", headers=headers).status_code == 401
    assert "not found" in fails("admin", "sessions", "revoke", "no-such-session")
    assert as_json("admin", "event", "list") is not None  # the current one still works


def test_a_damaged_saved_login_is_reported_and_replaced_by_logging_in(live):
    session_file().parent.mkdir(parents=True)
    session_file().write_text("{not json")
    error = fails("admin", "event", "list")
    assert "is damaged: run `fieldpass admin login` again" in error
    login(live)
    assert json.loads(session_file().read_text())["url"] == live
    assert isinstance(as_json("admin", "event", "list"), list)


def test_a_login_for_another_server_is_not_used(admin):
    other = f"http://127.0.0.1:{free_port()}"
    error = fails("admin", "--url", other, "event", "list")
    assert f"not logged in at {other}" in error


# -- transport failures -----------------------------------------------------------------


def test_an_unreachable_server_is_one_line(live):
    dead = f"http://127.0.0.1:{free_port()}"
    error = fails(
        "admin", "--url", dead, "login", "--email", EMAIL, env={"FIELDPASS_ADMIN_PASSWORD": "x"}
    )
    assert error.startswith(f"error: cannot reach the server at {dead}: ")


def test_a_silent_server_times_out():
    with socket.socket() as sock:  # accepts connections (backlog) but never answers
        sock.bind(("127.0.0.1", 0))
        sock.listen(4)
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        error = fails(
            "admin",
            "--url",
            url,
            "--timeout",
            "0.3",
            "login",
            "--email",
            EMAIL,
            env={"FIELDPASS_ADMIN_PASSWORD": "x"},
        )
    assert f"the server at {url} did not answer in time" in error


def test_a_server_that_is_not_fieldpass_is_named_so():
    class Proxy(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's naming
            body = b"<html><body>502 Bad Gateway</body></html>"
            self.send_response(502)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = HTTPServer(("127.0.0.1", 0), Proxy)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}"
        error = fails(
            "admin", "--url", url, "login", "--email", EMAIL, env={"FIELDPASS_ADMIN_PASSWORD": "x"}
        )
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert "answered HTTP 502 without a Fieldpass error" in error
    assert "is this a Fieldpass server?" in error


def test_an_invalid_url_is_refused_before_any_request():
    assert "invalid server URL" in fails("admin", "--url", "ftp://example.org", "event", "list")


# -- events and gates -------------------------------------------------------------------


def test_event_and_gate_create_print_json_with_ids(admin):
    event = as_json(
        "admin",
        "event",
        "create",
        "--name",
        "Dinamo – Hajduk",
        "--starts",
        "2030-05-01T18:30:00+02:00",
        "--venue",
        "Maksimir",
    )
    assert event["name"] == "Dinamo – Hajduk" and event["venue"] == "Maksimir"
    assert event["starts_at"].startswith("2030-05-01T16:30:00")
    gate = as_json(
        "admin", "gate", "create", "--event", event["id"], "--name", "North", "--sectors", "B, A"
    )
    assert gate["event_id"] == event["id"] and gate["sectors"] == ["A", "B"]
    anywhere = as_json("admin", "gate", "create", "--event", event["id"], "--name", "Main")
    assert anywhere["sectors"] is None
    gates = as_json("admin", "gate", "list", "--event", event["id"])
    assert [g["id"] for g in gates] == [gate["id"], anywhere["id"]]
    assert event["id"] in {e["id"] for e in as_json("admin", "event", "list")}
    listing = ok("admin", "event", "list").stdout
    assert "Dinamo – Hajduk" in listing and "Maksimir" in listing
    gate_table = ok("admin", "gate", "list", "--event", event["id"]).stdout.splitlines()
    assert gate_table[0].split() == ["id", "name", "sectors"]
    assert any(line.split()[1:] == ["Main", "all"] for line in gate_table[2:])


def test_unknown_event_is_the_servers_one_line_message(admin):
    error = fails("admin", "gate", "create", "--event", "no-such-event", "--name", "X")
    assert error == "error: event 'no-such-event' not found"


def test_bad_local_input_fails_before_any_request(tmp_path):
    dead = f"http://127.0.0.1:{free_port()}"  # any request would fail with "cannot reach"
    session_file().parent.mkdir(parents=True)
    session_file().write_text(json.dumps({"url": dead, "token": "t", "email": EMAIL}))
    error = fails("admin", "event", "create", "--name", "X", "--starts", "tomorrow evening")
    assert "--starts: not an ISO 8601 time" in error
    assert "no such file" in fails("admin", "tickets", "import", "--event", "e", "missing.csv")
    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes(HEADER.encode() + b"\nX-1,A,1,1,Fran\xe7ois,VALID\n")
    assert "is not UTF-8" in fails("admin", "tickets", "import", "--event", "e", str(latin1))
    headless = tmp_path / "headless.csv"
    headless.write_text("X-1,A,1,1,Ana,VALID\n")
    assert "first line must be the header" in fails(
        "admin", "tickets", "import", "--event", "e", str(headless)
    )


# -- tickets ----------------------------------------------------------------------------


def test_a_broken_row_refuses_the_whole_import(admin, event_id, tmp_path):
    rows = good_rows(4)
    rows[1] = "CLI-0002,,1,2,Holder 2,VALID"  # line 3: no sector
    rows[3] = "CLI-0004,A,1,4,Holder 4,MAYBE"  # line 5: unknown status
    result = run(
        "admin", "tickets", "import", "--event", event_id, str(write_csv(tmp_path / "t.csv", rows))
    )
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert any(line.split()[:3] == ["3", "sector", "sector"] for line in lines), result.stderr
    assert any(line.split()[:2] == ["5", "status"] and "MAYBE" in line for line in lines)
    assert lines[-1] == "error: 2 invalid row(s); nothing was imported"
    assert as_json("admin", "tickets", "search", "--event", event_id) == []
    assert as_json("admin", "event", "show", event_id)["ticket_count"] == 0


def test_many_row_errors_are_cut_at_twenty(admin, event_id, tmp_path):
    rows = [f"BAD-{n:04d},A,1,1,Holder,NOPE" for n in range(1, 36)]
    result = run(
        "admin", "tickets", "import", "--event", event_id, str(write_csv(tmp_path / "t.csv", rows))
    )
    assert result.exit_code == 1
    shown = [line for line in result.stderr.splitlines() if "NOPE" in line]
    assert len(shown) == 20
    assert "… and 15 more" in result.stderr


def test_import_search_revoke_and_sign(admin, event_id, tmp_path):
    csv_path = write_csv(tmp_path / "t.csv", good_rows(5))
    result = ok("admin", "tickets", "import", "--event", event_id, str(csv_path))
    assert "imported 5 tickets (5 new, 0 updated)" in result.stdout
    again = json.loads(
        ok("admin", "tickets", "import", "--event", event_id, str(csv_path), "--json").stdout
    )
    assert again == {"imported": 0, "updated": 5, "total": 5}
    assert len(as_json("admin", "tickets", "search", "--event", event_id)) == 5
    found = as_json("admin", "tickets", "search", "--event", event_id, "Holder 3")
    assert [t["barcode"] for t in found] == ["CLI-0003"]

    revoked = ok(
        "admin", "tickets", "revoke", "--event", event_id, "CLI-0003", "--reason", "refunded"
    )
    assert "CLI-0003 is now REVOKED: refunded" in revoked.stdout
    ticket = as_json("admin", "tickets", "search", "--event", event_id, "CLI-0003")[0]
    assert (ticket["status"], ticket["status_reason"]) == ("REVOKED", "refunded")
    cancelled = as_json(
        "admin", "tickets", "revoke", "--event", event_id, "CLI-0004", "--reason", "x",
        "--status", "cancelled",
    )  # fmt: skip
    assert cancelled["status"] == "CANCELLED"
    missing = fails("admin", "tickets", "revoke", "--event", event_id, "NOPE-1", "--reason", "x")
    assert "not found" in missing

    signed = as_json("admin", "tickets", "sign", "--event", event_id, "SIG-0001", "--sector", "A")
    assert signed["code"].startswith("FP1.")
    assert ok("admin", "tickets", "sign", "--event", event_id, "SIG-0002").stdout.startswith("FP1.")
    assert len(as_json("admin", "tickets", "search", "--event", event_id, "SIG-")) == 2
    table_lines = ok("admin", "tickets", "search", "--event", event_id, "CLI-0003").stdout
    assert "REVOKED" in table_lines and "refunded" in table_lines


# -- devices, conflicts, report ---------------------------------------------------------


def test_devices_conflicts_and_attendance_end_to_end(admin, event_id, tmp_path):
    assert as_json("admin", "device", "list") == []
    assert ok("admin", "device", "list").stdout.strip() == "no devices"
    assert as_json("admin", "conflicts", "list", "--event", event_id) == []
    assert ok("admin", "conflicts", "list").stdout.strip() == "no conflicts"
    ok(
        "admin",
        "tickets",
        "import",
        "--event",
        event_id,
        str(write_csv(tmp_path / "t.csv", good_rows(6))),
    )
    gates = {
        name: as_json("admin", "gate", "create", "--event", event_id, "--name", name)["id"]
        for name in ("North", "South")
    }
    homes, ids = {}, {}
    for name in gates:
        homes[name] = str(tmp_path / name)
        enrolled = as_json(
            "device", "enroll", "--server", admin, "--role", "gate", "--name", f"Gate {name}",
            "--home", homes[name],
        )  # fmt: skip
        ids[name] = enrolled["device_id"]
        assert ids[name] not in {d["id"] for d in as_json("admin", "device", "list")}
        pending = as_json("admin", "device", "pending", enrolled["code"])
        assert (pending["id"], pending["status"]) == (ids[name], "pending")
        assert pending["key_fingerprint"] == enrolled["device_key_fingerprint"]
        shown = ok("admin", "device", "pending", enrolled["code"]).stdout
        assert f"device key: {enrolled['device_key_fingerprint']}" in shown
        approved = as_json(
            "admin", "device", "approve", enrolled["code"].lower(), "--event", event_id,
            "--gate", gates[name],
        )  # fmt: skip
        assert (approved["status"], approved["gate_id"]) == ("approved", gates[name])
        ok("device", "sync", "--home", homes[name])
    # Both gates admit the same ticket before either pushes: one double entry.
    for name in gates:
        scan = as_json("device", "scan", "CLI-0001", "--home", homes[name])
        assert scan["result"] == "VALID"
    for name in gates:
        ok("device", "sync", "--home", homes[name])

    devices = {d["id"]: d for d in as_json("admin", "device", "list")}
    assert {devices[i]["accepted_seq"] for i in ids.values()} >= {1}
    assert all(devices[i]["name"] == f"Gate {n}" for n, i in ids.items())
    device_table = ok("admin", "device", "list").stdout.splitlines()
    assert device_table[0].split()[:4] == ["id", "name", "role", "status"]
    assert "clock skew" in device_table[0]
    north = next(line for line in device_table if ids["North"] in line)
    assert "approved" in north and "CLI match / North" in north

    conflicts = as_json("admin", "conflicts", "list", "--event", event_id)
    assert [c["kind"] for c in conflicts] == ["double_entry"]
    assert conflicts[0]["subject"] == "CLI-0001"
    assert set(conflicts[0]["devices"]) == set(ids.values())
    assert "CLI-0001" in ok("admin", "conflicts", "list", "--event", event_id).stdout
    conflict_id = str(conflicts[0]["id"])
    assert "resolution is required" in fails(
        "admin", "conflicts", "resolve", conflict_id, "--note", "   "
    )
    settled = as_json(
        "admin", "conflicts", "resolve", conflict_id, "--note", "second holder refunded"
    )
    assert settled["resolution"] == "second holder refunded" and settled["resolved_at"]
    assert "already resolved" in fails(
        "admin", "conflicts", "resolve", conflict_id, "--note", "again"
    )
    assert "conflict 999999 not found" in fails(
        "admin", "conflicts", "resolve", "999999", "--note", "x"
    )

    report = as_json("admin", "report", "attendance", "--event", event_id)
    assert (report["tickets"], report["attended"], report["inside_now"]) == (6, 1, 1)
    assert {g["gate"] for g in report["per_gate"]} == {"North", "South"}
    assert sum(b["entries"] for b in report["over_time"]) >= 1
    text = ok("admin", "report", "attendance", "--event", event_id).stdout
    assert text.startswith(f"Attendance of event CLI match ({event_id})")
    assert "tickets 6, attended 1 (16.7%), inside now 1" in text
    assert "Per gate" in text and "Per sector" in text and "Over time" in text
    assert any(line.split()[0] == "North" for line in text.splitlines() if line.strip())

    revoked = as_json("admin", "device", "revoke", ids["South"])
    assert revoked["status"] == "revoked"
    assert {d["id"]: d for d in as_json("admin", "device", "list")}[ids["South"]][
        "status"
    ] == "revoked"
    assert "not found" in fails("admin", "device", "approve", "AAA-AAA", "--event", event_id)


# -- formatting (no server) -------------------------------------------------------------


def test_attendance_text_is_aligned_tables():
    report = {
        "event_id": "ev-1",
        "tickets": 4000,
        "attended": 1000,
        "inside_now": 950,
        "per_gate": [
            {"gate_id": "g1", "gate": "North", "entries": 620, "exits": 30, "rejected": 7},
            {"gate_id": "g2", "gate": "South gate 2", "entries": 380, "exits": 20, "rejected": 0},
        ],
        "per_sector": [{"sector": "A", "tickets": 4000, "attended": 1000}],
        "over_time": [
            {
                "from": "2030-05-01T18:00:00.000+00:00",
                "to": "2030-05-01T18:15:00.000+00:00",
                "entries": 1000,
                "exits": 50,
            }
        ],
    }
    text = format_attendance(report)
    assert "tickets 4000, attended 1000 (25.0%), inside now 950" in text
    lines = text.splitlines()
    header = lines.index("Per gate") + 1
    north, south = lines[header + 2], lines[header + 3]
    assert north.split() == ["North", "620", "30", "7"]
    assert len(north) == len(south)  # numbers right-aligned in one width
    assert lines[header].index("entries") + len("entries") == north.index("620") + 3
    assert lines[lines.index("Per sector") + 3].split() == ["A", "4000", "1000", "25.0%"]
    assert lines[lines.index("Per sector") + 3].endswith("25.0%")
    assert "(no" not in text


def test_table_and_error_columns():
    assert table(("a", "n"), [("x", 5), ("yyy", 10)]).splitlines() == [
        "a     n",
        "---  --",
        "x     5",
        "yyy  10",
    ]
    assert error_column("barcode: too long") == "barcode"
    assert error_column("holder_name is longer than 200 characters") == "holder_name"
    assert error_column("unknown status 'X' (one of VALID)") == "status"
    assert error_column("expected 6 fields, found 3") == "-"
