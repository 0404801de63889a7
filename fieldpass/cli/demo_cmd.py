"""``fieldpass demo``: a whole match-day operation on one machine, from the real commands.

Runs the same commands an operator would (server init, create-admin, serve, admin login,
event/gate create, ticket import, raffle set-up, sectors, seat blocks and PINs, device
enroll/approve/sync) as subprocesses, so the demo exercises exactly what users run, then
opens the app of one device: a gate (default), the raffle sale unit or the petrol kiosk.
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
from typing import Any

import click
import httpx
import platformdirs

from fieldpass.cli.errors import CliError

DEMO_EMAIL = "admin@demo.fieldpass"
DEMO_PASSWORD = "demo-password"
DEMO_ORGANIZATION = "GNK Dinamo Foundation"  # printed on the raffle receipts
GATES = (("North", ("A", "B")), ("South", ("C", "D")))
RAFFLE_PACKAGES = (("1 for 5.00", 1, 500), ("3 for 10.00", 3, 1000), ("10 for 20.00", 10, 2000))
RAFFLE_TICKETS = 10_000
RSU_RANGE = (1, 2_000)
PETROL_SECTOR = ("P", "A-C", "1-12")  # name, rows, seats in each row
PETROL_BLOCK = ("A-B", "1-12")  # rows, seats allocated to the kiosk
PETROL_PRICE = "25.00"
#: (holders) of each demo PIN: valid OIBs (ISO 7064 check digit) and a passport.
PETROL_PINS = (
    ("Ana Horvat;1990-05-17;HR;69435151530",),
    ("Ivan Babić;1985-03-02;HR;94577403194", "John Smith;1979-11-23;GB;P12345678"),
    ("Petra Novak;2001-07-09;HR;11111111119",),
)
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

    def fieldpass_json(self, *args: str) -> dict[str, Any]:
        """Run one ``fieldpass … --json`` command that prints a JSON object."""
        answer = self.fieldpass(*args, capture_json=True)
        if not isinstance(answer, dict):
            raise CliError(f"demo step `fieldpass {' '.join(args[:3])}` printed no JSON object")
        return answer

    def has_option(self, option: str, *command: str) -> bool:
        """Whether ``fieldpass COMMAND --help`` lists ``option`` (optional arguments that
        other parts add over time; the demo passes them only when they exist)."""
        result = subprocess.run(
            [sys.executable, "-m", "fieldpass", *command, "--help"],
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
        )
        return option in result.stdout.split()

    def enroll(self, url: str, role: str, name: str, home: Path) -> dict:
        enrolled = self.fieldpass_json(
            "device",
            "enroll",
            "--server",
            url,
            "--role",
            role,
            "--name",
            name,
            "--home",
            str(home),
            "--json",
        )
        return enrolled


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


@dataclass
class RaffleDemo:
    raffle_id: str
    home: Path
    commitment: str


@dataclass
class PetrolDemo:
    home: Path
    pins: list[tuple[str, tuple[str, ...]]]


def iso_in(days: float) -> str:
    """UTC time ``days`` from now, ISO 8601 (the admin CLI reads no offset as UTC)."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(time.time() + days * 86_400))


def set_up_raffle(run: DemoRun, url: str, root: Path) -> RaffleDemo:
    """A raffle with three packages and two prizes, configured, its seed committed, an RSU
    enrolled, approved and allocated a range, then activated and synced."""
    raffle = run.fieldpass_json(
        "admin",
        "raffle",
        "create",
        "--name",
        "Dinamo 50/50",
        "--max-tickets",
        str(RAFFLE_TICKETS),
        "--sales-end",
        iso_in(7),
        "--draw-time",
        iso_in(7.01),
        "--claim-by",
        iso_in(60),
        "--licence",
        "DEMO-LIC-2026-001",
        "--jackpot-seed",
        "50000",
        "--json",
    )
    raffle_id = raffle["id"]
    for order, (name, tickets, cents) in enumerate(RAFFLE_PACKAGES, start=1):
        run.fieldpass(
            "admin",
            "raffle",
            "package",
            "add",
            raffle_id,
            "--name",
            name,
            "--tickets",
            str(tickets),
            "--price",
            str(cents),
            "--order",
            str(order),
        )
    run.fieldpass(
        "admin",
        "raffle",
        "prize",
        "add",
        raffle_id,
        "--name",
        "50/50 jackpot",
        "--position",
        "1",
        "--percent",
        "50",
    )
    run.fieldpass(
        "admin",
        "raffle",
        "prize",
        "add",
        raffle_id,
        "--name",
        "Signed match shirt",
        "--position",
        "2",
        "--fixed",
        "15000",
    )
    run.fieldpass("admin", "raffle", "configure", raffle_id)
    seed = run.fieldpass_json("admin", "raffle", "commit-seed", raffle_id, "--json")
    home = root / "rsu"
    enrolled = run.enroll(url, "rsu", "RSU 1", home)
    run.fieldpass("admin", "device", "approve", enrolled["code"], "--raffle", raffle_id)
    run.fieldpass(
        "admin",
        "raffle",
        "allocate",
        raffle_id,
        "--device",
        enrolled["device_id"],
        "--start",
        str(RSU_RANGE[0]),
        "--end",
        str(RSU_RANGE[1]),
    )
    run.fieldpass("admin", "raffle", "activate", raffle_id)
    run.fieldpass("device", "sync", "--home", str(home))
    return RaffleDemo(raffle_id, home, str(seed.get("commitment", "")))


def set_up_petrol(run: DemoRun, url: str, root: Path, event_id: str) -> PetrolDemo:
    """A petrol kiosk approved for the match, a sector whose seats it got a block of, and
    a few PINs for it to redeem, then synced."""
    home = root / "petrol"
    enrolled = run.enroll(url, "petrol", "Petrol kiosk 1", home)
    run.fieldpass("admin", "device", "approve", enrolled["code"], "--event", event_id)
    sector, rows, seats = PETROL_SECTOR
    price = ["--price", PETROL_PRICE] if run.has_option("--price", "admin", "sector", "add") else []
    run.fieldpass(
        "admin",
        "sector",
        "add",
        "--event",
        event_id,
        "--name",
        sector,
        "--rows",
        rows,
        "--seats",
        seats,
        *price,
    )
    block_rows, block_seats = PETROL_BLOCK
    run.fieldpass(
        "admin",
        "seats",
        "allocate",
        "--event",
        event_id,
        "--device",
        enrolled["device_id"],
        "--sector",
        sector,
        "--rows",
        block_rows,
        "--seats",
        block_seats,
    )
    pins = []
    for holders in PETROL_PINS:
        holder_args = [arg for holder in holders for arg in ("--holder", holder)]
        created = run.fieldpass_json(
            "admin",
            "pins",
            "create",
            "--event",
            event_id,
            "--quantity",
            str(len(holders)),
            *holder_args,
            "--expires",
            iso_in(2),
            "--json",
        )
        pins.append((str(created["pin"]), holders))
    run.fieldpass("device", "sync", "--home", str(home))
    return PetrolDemo(home, pins)


def print_gate_help(exe: str, homes: dict[str, Path], rows: list[dict[str, str]]) -> None:
    sample = next(r for r in rows if r["sector"] in GATES[0][1] and r["status"] == "VALID")
    wrong_gate = next(r for r in rows if r["sector"] in GATES[1][1])
    cancelled = next((r for r in rows if r["status"] == "CANCELLED"), None)
    click.echo(f"Gate North: {exe} device run --home {homes['North']}   codes to try:")
    click.echo(
        f"   {sample['barcode']}  valid ({sample['holder_name']}, sector {sample['sector']})"
    )
    click.echo(f"   {wrong_gate['barcode']}  sector {wrong_gate['sector']}: WRONG_GATE here")
    if cancelled:
        click.echo(f"   {cancelled['barcode']}  cancelled: REVOKED")
    click.echo("   NOPE-404    UNKNOWN")
    click.echo(f"Gate South: {exe} device run --home {homes['South']}")


def print_rsu_help(exe: str, raffle: RaffleDemo) -> None:
    packages = ", ".join(f"'{name}'" for name, _, _ in RAFFLE_PACKAGES)
    click.echo(f"Raffle sale unit: {exe} device run --home {raffle.home}")
    click.echo(
        f"   packages {packages}; numbers {RSU_RANGE[0]}-{RSU_RANGE[1]} allocated to it; "
        "cash or card, then the receipt prints"
    )
    click.echo(
        f"   without the UI: {exe} device sell --home {raffle.home} --package '3 for 10.00' "
        "--cash 10 --json"
    )
    click.echo(f"   raffle {raffle.raffle_id}, seed commitment {raffle.commitment[:16]}…")
    click.echo(f"   admin: {exe} admin raffle show {raffle.raffle_id}")


def print_petrol_help(exe: str, petrol: PetrolDemo) -> None:
    click.echo(f"Petrol kiosk: {exe} device run --home {petrol.home}   PINs to try:")
    for pin, holders in petrol.pins:
        names = ", ".join(holder.split(";")[0] for holder in holders)
        click.echo(f"   {pin}  {len(holders)} ticket(s): {names}")
    click.echo(
        f"   without the UI: {exe} device redeem {petrol.pins[0][0]} --verify-identity "
        f"--cash 50 --home {petrol.home} --json"
    )


DEVICES = ("gate", "rsu", "petrol")
RECEIPT_FILES = {
    "gate": "receipts.escpos",
    "rsu": "rsu-receipts.escpos",
    "petrol": "petrol-receipts.escpos",
}


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
    "--device",
    type=click.Choice(DEVICES),
    default="gate",
    show_default=True,
    help="Whose app opens: Gate North, the raffle sale unit or the petrol kiosk.",
)
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
    help="Receipt printer spec for the app (default: a file in the demo folder).",
)
@click.option("--no-app", is_flag=True, help="Set everything up, scan once, stop (for scripts).")
def demo(
    demo_dir: Path | None,
    port: int,
    tickets: int,
    device: str,
    scanner: str,
    printer: str | None,
    no_app: bool,
) -> None:
    """Server on SQLite + a seeded match, two gates, a raffle sale unit and a petrol kiosk,
    all enrolled and synced, then the app of one of them (--device, default the gate)."""
    root = (demo_dir or platformdirs.user_data_path("fieldpass") / "demo").resolve()
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    run = DemoRun(root=root, env={**os.environ, "FIELDPASS_ADMIN_PASSWORD": DEMO_PASSWORD})
    db_url = f"sqlite:///{root / 'server.sqlite'}"
    url = f"http://127.0.0.1:{port or free_port()}"

    click.echo(f"Fieldpass demo in {root}")
    click.echo("1/8 creating the server database and the first admin")
    run.fieldpass("server", "init", "--db", db_url)
    run.fieldpass(
        "server", "create-admin", "--db", db_url, "--email", DEMO_EMAIL, "--org", DEMO_ORGANIZATION
    )
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
        click.echo(f"2/8 server running at {url} (log: {root / 'server.log'})")
        run.fieldpass("admin", "--url", url, "login", "--email", DEMO_EMAIL)
        event = run.fieldpass_json(
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
        )
        gates = {
            name: run.fieldpass_json(
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
            )
            for name, sectors in GATES
        }
        click.echo(f"3/8 importing {tickets} tickets")
        csv_path = root / "tickets.csv"
        rows = write_tickets_csv(csv_path, tickets)
        run.fieldpass("admin", "tickets", "import", "--event", event["id"], str(csv_path))
        click.echo("4/8 enrolling and approving one gate device per gate")
        homes = {}
        for name, _ in GATES:
            home = root / f"gate-{name.lower()}"
            enrolled = run.enroll(url, "gate", f"Gate {name}", home)
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
        click.echo("5/8 first sync of each gate (pulls the match's tickets)")
        for home in homes.values():
            run.fieldpass("device", "sync", "--home", str(home))
        click.echo(
            "6/8 raffle: packages, prizes, configure, seed commitment, an RSU with numbers "
            f"{RSU_RANGE[0]}-{RSU_RANGE[1]}, activate, sync"
        )
        raffle = set_up_raffle(run, url, root)
        click.echo("7/8 petrol kiosk: approve, sector with seats, a seat block, PINs, sync")
        petrol = set_up_petrol(run, url, root, event["id"])
        exe = shutil.which("fieldpass") or str(Path(sys.executable).parent / "fieldpass")
        click.echo("8/8 ready. What to try (each app in its own terminal):")
        print_gate_help(exe, homes, rows)
        print_rsu_help(exe, raffle)
        print_petrol_help(exe, petrol)
        click.echo(f"Admin CLI: {exe} admin device list   (logged in as {DEMO_EMAIL})")
        click.echo(f"Admin console: {url}/console   ({DEMO_EMAIL} / {DEMO_PASSWORD})")
        printer = printer or f"file:{root / RECEIPT_FILES[device]}"
        north = homes["North"]
        if no_app:
            sample = next(r for r in rows if r["sector"] in GATES[0][1] and r["status"] == "VALID")
            result = run.fieldpass_json(
                "device",
                "scan",
                sample["barcode"],
                "--home",
                str(north),
                "--json",
            )
            click.echo(f"sample scan of {sample['barcode']}: {result['result']}")
            run.fieldpass("device", "sync", "--home", str(north))
            return
        app_home = {"gate": north, "rsu": raffle.home, "petrol": petrol.home}[device]
        app_name = {"gate": "Gate North", "rsu": "raffle sale unit", "petrol": "petrol kiosk"}
        what = "the shift report (F6)" if device == "gate" else "its receipts"
        click.echo(f"The {app_name[device]} app prints {what} to {printer} (ESC/POS bytes)")
        if sys.stdin.isatty():
            click.pause(
                f"Press any key to open the {app_name[device]} app "
                "(Ctrl+Q in the app ends the demo)..."
            )
        command = ["device", "run", "--home", str(app_home), "--printer", printer]
        if device == "gate":
            command += ["--scanner", scanner]
        app = subprocess.run(
            [sys.executable, "-m", "fieldpass", *command], env=run.env, check=False
        )
        if app.returncode != 0:
            raise CliError(f"the {app_name[device]} app exited with code {app.returncode}")
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
