"""``fieldpass demo``: a whole gate operation on one machine, from the real commands.

Runs the same commands an operator would (server init, create-admin, serve, admin login,
event/gate create, ticket import, device enroll/approve/sync) as subprocesses, so the demo
exercises exactly what users run, then opens the gate app on the first device.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import click
import httpx
import platformdirs

from fieldpass.cli.errors import CliError

DEMO_EMAIL = "admin@demo.fieldpass"
DEMO_PASSWORD = "demo-password"
GATES = (("North", ("A", "B")), ("South", ("C", "D")))
FIRST_NAMES = (
    "Ana",
    "Ivan",
    "Marija",
    "Luka",
    "Petra",
    "Marko",
    "Iva",
    "Josip",
    "Lucija",
    "Tomislav",
    "Katarina",
    "Ante",
    "Maja",
    "Filip",
    "Sara",
    "Dario",
    "Nikolina",
)
LAST_NAMES = (
    "Horvat",
    "Kovačević",
    "Babić",
    "Marić",
    "Jurić",
    "Novak",
    "Knežević",
    "Vuković",
    "Perić",
    "Matić",
    "Tomić",
    "Pavlović",
    "Božić",
    "Grgić",
    "Radić",
    "Šarić",
)


@dataclass
class DemoRun:
    """Where the demo lives and the commands it runs."""

    root: Path
    env: dict[str, str] = field(default_factory=dict)

    def fieldpass(self, *args: str, capture_json: bool = False) -> dict | list | None:
        """Run one ``fieldpass`` command; fail the demo with its one-line error if it fails."""
        command = [sys.executable, "-m", "fieldpass", *args]
        result = subprocess.run(command, env=self.env, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            reason = (result.stderr.strip() or result.stdout.strip()).splitlines()
            raise CliError(
                f"demo step `fieldpass {' '.join(args[:3])}` failed: "
                f"{reason[-1] if reason else 'no output'}"
            )
        return json.loads(result.stdout) if capture_json else None


def write_tickets_csv(path: Path, count: int, seed: int = 7) -> list[dict[str, str]]:
    """Seeded, repeatable tickets for sectors A–D with a few cancelled ones."""
    rng = random.Random(seed)
    rows = []
    sectors = [sector for _, sectors in GATES for sector in sectors]
    for number in range(1, count + 1):
        status = "CANCELLED" if number % 97 == 0 else "VALID"
        rows.append(
            {
                "barcode": f"HNS-{number:06d}",
                "sector": sectors[number % len(sectors)],
                "row": str(1 + (number // 40) % 30),
                "seat": str(1 + number % 40),
                "holder_name": f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
                "status": status,
            }
        )
    header = "barcode,sector,row,seat,holder_name,status\n"
    path.write_text(
        header
        + "".join(
            f"{r['barcode']},{r['sector']},{r['row']},{r['seat']},{r['holder_name']},{r['status']}\n"
            for r in rows
        ),
        encoding="utf-8",
    )
    return rows


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_server(url: str, server: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise CliError(
                f"the demo server exited with code {server.returncode}; "
                f"see {url} log in the demo folder"
            )
        try:
            if httpx.get(f"{url}/v1/health", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise CliError(f"the demo server did not answer at {url} within {timeout:.0f} s")


@click.command()
@click.option(
    "--dir",
    "demo_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder for the demo (default: the user data dir). Replaced.",
)
@click.option("--port", type=int, default=0, help="Server port on 127.0.0.1 (default: a free one).")
@click.option("--tickets", type=click.IntRange(10, 200_000), default=3000, show_default=True)
@click.option(
    "--scanner",
    type=click.Choice(["keyboard", "sim"]),
    default="keyboard",
    show_default=True,
    help="How the gate app reads codes.",
)
@click.option(
    "--printer",
    default=None,
    help="Receipt printer spec for the gate app (default: a file in the demo folder).",
)
@click.option("--no-app", is_flag=True, help="Set everything up, scan once, stop (for scripts).")
def demo(
    demo_dir: Path | None, port: int, tickets: int, scanner: str, printer: str | None, no_app: bool
) -> None:
    """Server on SQLite + a seeded match + enrolled gate devices, then the gate app."""
    root = (demo_dir or platformdirs.user_data_path("fieldpass") / "demo").resolve()
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    run = DemoRun(root=root, env={**os.environ, "FIELDPASS_ADMIN_PASSWORD": DEMO_PASSWORD})
    db_url = f"sqlite:///{root / 'server.sqlite'}"
    url = f"http://127.0.0.1:{port or free_port()}"

    click.echo(f"Fieldpass demo in {root}")
    click.echo("1/6 creating the server database and the first admin")
    run.fieldpass("server", "init", "--db", db_url)
    run.fieldpass("server", "create-admin", "--db", db_url, "--email", DEMO_EMAIL)
    log = (root / "server.log").open("w")
    server = subprocess.Popen(
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
        env=run.env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for_server(url, server)
        click.echo(f"2/6 server running at {url} (log: {root / 'server.log'})")
        run.fieldpass("admin", "--url", url, "login", "--email", DEMO_EMAIL)
        event = run.fieldpass(
            "admin",
            "event",
            "create",
            "--name",
            "Dinamo – Hajduk",
            "--starts",
            time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()),
            "--venue",
            "Stadion Maksimir",
            "--json",
            capture_json=True,
        )
        gates = {
            name: run.fieldpass(
                "admin",
                "gate",
                "create",
                "--event",
                event["id"],
                "--name",
                name,
                "--sectors",
                ",".join(sectors),
                "--json",
                capture_json=True,
            )
            for name, sectors in GATES
        }
        click.echo(f"3/6 importing {tickets} tickets")
        csv_path = root / "tickets.csv"
        rows = write_tickets_csv(csv_path, tickets)
        run.fieldpass("admin", "tickets", "import", "--event", event["id"], str(csv_path))
        click.echo("4/6 enrolling and approving one gate device per gate")
        homes = {}
        for name, _ in GATES:
            home = root / f"gate-{name.lower()}"
            enrolled = run.fieldpass(
                "device",
                "enroll",
                "--server",
                url,
                "--role",
                "gate",
                "--name",
                f"Gate {name}",
                "--home",
                str(home),
                "--json",
                capture_json=True,
            )
            run.fieldpass(
                "admin",
                "device",
                "approve",
                enrolled["code"],
                "--event",
                event["id"],
                "--gate",
                gates[name]["id"],
            )
            homes[name] = home
        click.echo("5/6 first sync of each device (pulls the match's tickets)")
        for home in homes.values():
            run.fieldpass("device", "sync", "--home", str(home))
        north = homes["North"]
        sample = next(r for r in rows if r["sector"] in GATES[0][1] and r["status"] == "VALID")
        wrong_gate = next(r for r in rows if r["sector"] in GATES[1][1])
        cancelled = next((r for r in rows if r["status"] == "CANCELLED"), None)
        click.echo("6/6 ready. Codes to try at Gate North:")
        click.echo(
            f"   {sample['barcode']}  valid ({sample['holder_name']}, sector {sample['sector']})"
        )
        click.echo(f"   {wrong_gate['barcode']}  sector {wrong_gate['sector']}: WRONG_GATE here")
        if cancelled:
            click.echo(f"   {cancelled['barcode']}  cancelled: REVOKED")
        click.echo("   NOPE-404    UNKNOWN")
        exe = shutil.which("fieldpass") or str(Path(sys.executable).parent / "fieldpass")
        click.echo(f"Second gate, in another terminal: {exe} device run --home {homes['South']}")
        click.echo(f"Admin CLI: {exe} admin device list   (logged in as {DEMO_EMAIL})")
        click.echo(f"Admin console: {url}/console   ({DEMO_EMAIL} / {DEMO_PASSWORD})")
        printer = printer or f"file:{root / 'receipts.escpos'}"
        click.echo(f"F6 in the app prints the shift report to {printer} (ESC/POS bytes)")
        if no_app:
            result = run.fieldpass(
                "device",
                "scan",
                sample["barcode"],
                "--home",
                str(north),
                "--json",
                capture_json=True,
            )
            click.echo(f"sample scan of {sample['barcode']}: {result['result']}")
            run.fieldpass("device", "sync", "--home", str(north))
            return
        if sys.stdin.isatty():
            click.pause("Press any key to open the gate app (Ctrl+Q in the app ends the demo)...")
        app = subprocess.run(
            [
                sys.executable,
                "-m",
                "fieldpass",
                "device",
                "run",
                "--home",
                str(north),
                "--scanner",
                scanner,
                "--printer",
                printer,
            ],
            env=run.env,
            check=False,
        )
        if app.returncode != 0:
            raise CliError(f"the gate app exited with code {app.returncode}")
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
