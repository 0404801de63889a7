"""End-to-end fixtures: a real gunicorn serving the real WSGI app over loopback HTTP,
and real ``fieldpass`` processes as admin and devices."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

PASSWORD = "e2e-password-1"
EMAIL = "admin@e2e.test"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Fieldpass:
    """Runs ``fieldpass`` commands as separate processes, the way users do."""

    env: dict[str, str]

    def run(
        self, *args: str, check: bool = True, timeout: float = 120
    ) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [sys.executable, "-m", "fieldpass", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"fieldpass {' '.join(args)} failed ({result.returncode}):\n"
                f"{result.stdout}\n{result.stderr}"
            )
        return result

    def json(self, *args: str) -> dict | list:
        return json.loads(self.run(*args, "--json").stdout)


@dataclass
class LiveServer:
    url: str
    db_url: str
    db_path: Path
    process: subprocess.Popen
    log_path: Path
    cli: Fieldpass

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)

    def start(self) -> None:
        self.process = start_gunicorn(self.cli, self.db_url, self.url, self.log_path)


def start_gunicorn(cli: Fieldpass, db_url: str, url: str, log_path: Path) -> subprocess.Popen:
    log = log_path.open("a")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "fieldpass",
            "server",
            "serve",
            "--db",
            db_url,
            "--bind",
            url.removeprefix("http://"),
            "--workers",
            "2",
        ],
        env=cli.env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited: {log_path.read_text()}")
        try:
            if httpx.get(f"{url}/v1/health", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError(f"server did not start: {log_path.read_text()}")


@pytest.fixture
def cli(tmp_path: Path) -> Fieldpass:
    env = {
        **os.environ,
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "FIELDPASS_ADMIN_PASSWORD": PASSWORD,
    }
    env.pop("FIELDPASS_HOME", None)
    return Fieldpass(env=env)


@pytest.fixture
def server(cli: Fieldpass, tmp_path: Path) -> Iterator[LiveServer]:
    db_path = tmp_path / "server.sqlite"
    db_url = f"sqlite:///{db_path}"
    cli.run("server", "init", "--db", db_url)
    cli.run("server", "create-admin", "--db", db_url, "--email", EMAIL)
    url = f"http://127.0.0.1:{free_port()}"
    live = LiveServer(url, db_url, db_path, None, tmp_path / "server.log", cli)  # type: ignore[arg-type]
    live.start()
    cli.run("admin", "--url", url, "login", "--email", EMAIL)
    yield live
    live.stop()


@dataclass
class Match:
    event_id: str
    gates: dict[str, str]  # gate name -> id
    csv: Path


def write_csv(path: Path, count: int, sectors: tuple[str, ...] = ("A", "B")) -> Path:
    lines = ["barcode,sector,row,seat,holder_name,status"]
    lines += [
        f"E2E-{n:05d},{sectors[n % len(sectors)]},{1 + n // 20},{1 + n % 20},Holder {n},VALID"
        for n in range(1, count + 1)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def match(cli: Fieldpass, server: LiveServer, tmp_path: Path) -> Match:
    event = cli.json(
        "admin",
        "event",
        "create",
        "--name",
        "E2E match",
        "--starts",
        time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()),
    )
    gates = {
        name: cli.json(
            "admin", "gate", "create", "--event", event["id"], "--name", name, "--sectors", "A,B"
        )["id"]
        for name in ("North", "South")
    }
    csv = write_csv(tmp_path / "tickets.csv", 200)
    cli.run("admin", "tickets", "import", "--event", event["id"], str(csv))
    return Match(event["id"], gates, csv)


def enroll_gate(cli: Fieldpass, server: LiveServer, match: Match, home: Path, gate: str) -> str:
    """Enroll, approve and first-sync one gate device; returns its device id."""
    enrolled = cli.json(
        "device",
        "enroll",
        "--server",
        server.url,
        "--role",
        "gate",
        "--name",
        f"Gate {gate}",
        "--home",
        str(home),
    )
    cli.run(
        "admin",
        "device",
        "approve",
        enrolled["code"],
        "--event",
        match.event_id,
        "--gate",
        match.gates[gate],
    )
    cli.run("device", "sync", "--home", str(home))
    return enrolled["device_id"]
