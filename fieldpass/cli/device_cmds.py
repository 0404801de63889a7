"""``fieldpass device ...``: enroll, sync, scan, status and run one device."""

from __future__ import annotations

import re
from typing import Any

import click

from fieldpass.cli.errors import CliError, emit_json
from fieldpass.device.context import DeviceContext, open_device
from fieldpass.device.enrollment import ROLES, enroll, refresh_enrollment
from fieldpass.device.errors import DeviceError
from fieldpass.device.home import DeviceHome
from fieldpass.device.identity import DeviceIdentity
from fieldpass.sync.checkin import ScanMode
from fieldpass.sync.clock import to_iso

home_option = click.option(
    "--home",
    "home_dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Device home directory (default: $FIELDPASS_HOME, else the user data dir).",
)
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")


def _open(home: DeviceHome, require_approved: bool = True) -> DeviceContext:
    try:
        return open_device(home, require_approved=require_approved)
    except DeviceError as exc:
        raise CliError(exc.message) from exc


@click.group()
def device() -> None:
    """Run this machine as a Fieldpass device (gate scanner)."""


@device.command("enroll")
@click.option("--server", "server_url", required=True, help="Server URL, e.g. http://host:8000")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--name", required=True, help="A name admins recognise, e.g. 'North gate 1'.")
@home_option
@json_option
def enroll_cmd(server_url: str, role: str, name: str, home_dir: str | None, as_json: bool) -> None:
    """Create this device's key and register it; prints the code an admin approves."""
    home = DeviceHome.resolve(home_dir)
    try:
        identity = enroll(home, server_url, role, name)
    except DeviceError as exc:
        raise CliError(exc.message) from exc
    if as_json:
        emit_json(
            {
                "device_id": identity.device_id,
                "code": identity.code,
                "status": identity.status,
                "home": str(home.root),
            }
        )
        return
    click.echo(f"enrolled device {identity.device_id} ({role}, {name!r}) in {home.root}")
    click.echo(f"enrollment code: {identity.code}")
    click.echo(
        f"ask an admin to approve it: fieldpass admin device approve {identity.code} "
        "--event EVENT_ID [--gate GATE_ID]; then run: fieldpass device sync"
    )


@device.command("sync")
@home_option
@json_option
def sync_cmd(home_dir: str | None, as_json: bool) -> None:
    """Check approval if pending, then push the outbox and pull changes."""
    home = DeviceHome.resolve(home_dir)
    try:
        identity = DeviceIdentity.load(home.identity_path)
        if identity.status != "approved":
            identity = refresh_enrollment(home)
    except DeviceError as exc:
        raise CliError(exc.message) from exc
    if identity.status == "revoked":
        raise CliError(f"device {identity.device_id} has been revoked")
    if identity.status != "approved":
        raise CliError(
            f"device {identity.device_id} is not approved yet (code {identity.code}); "
            "ask an admin to approve it"
        )
    ctx = _open(home)
    try:
        report = ctx.sync.sync_once() if as_json else _sync_with_progress(ctx)
        status = ctx.store.status()
    finally:
        ctx.close()
    if as_json:
        emit_json(
            {
                "online": report.online,
                "pushed": report.pushed,
                "pulled": report.pulled,
                "error": report.error,
                "unsynced": status.unsynced,
                "tickets": status.tickets,
            }
        )
    else:
        click.echo(
            f"pushed {report.pushed} events, pulled {report.pulled} changes; "
            f"{status.unsynced} unsynced, {status.tickets} tickets"
        )
    if report.error is not None:
        reason = "offline: " if not report.online else ""
        raise CliError(f"sync failed: {reason}{report.error}")


def _sync_with_progress(ctx: DeviceContext) -> Any:
    with click.progressbar(length=0, label="pulling", show_pos=True) as bar:
        shown = 0

        def progress(done: int, total: int | None) -> None:
            nonlocal shown
            bar.length = max(total or done, 1)
            bar.update(done - shown)
            shown = done

        return ctx.sync.sync_once(progress)


def outcome_json(outcome: Any) -> dict[str, Any]:
    return {
        "result": outcome.result.value,
        "reason": outcome.reason,
        "mode": outcome.mode.value,
        "barcode": outcome.barcode,
        "holder": outcome.holder,
        "sector": outcome.sector,
        "row": outcome.row,
        "seat": outcome.seat,
        "first_entry_at": to_iso(outcome.first_entry_at),
        "first_entry_gate": outcome.first_entry_gate,
        "seq": outcome.seq,
        "repeated": outcome.repeated,
        "scanned_at": to_iso(outcome.scanned_at),
    }


@device.command("scan")
@click.argument("code")
@click.option(
    "--mode", type=click.Choice([m.value for m in ScanMode]), default="entry", show_default=True
)
@home_option
@json_option
def scan_cmd(code: str, mode: str, home_dir: str | None, as_json: bool) -> None:
    """Check one code at this gate (works offline); recorded exactly as in the app."""
    ctx = _open(DeviceHome.resolve(home_dir))
    try:
        outcome = ctx.gate.check_in(code, ScanMode(mode))
    finally:
        ctx.close()
    if as_json:
        emit_json(outcome_json(outcome))
        return
    line = f"{outcome.result.value}: {outcome.reason}"
    if outcome.holder:
        line += (
            f" — {outcome.holder} (sector {outcome.sector}, row {outcome.row}, seat {outcome.seat})"
        )
    if outcome.first_entry_at is not None:
        line += f"; first entry {to_iso(outcome.first_entry_at)} at {outcome.first_entry_gate}"
    if outcome.repeated:
        line += " [repeat, not recorded again]"
    click.echo(line)


_CASH = re.compile(r"[0-9]{1,7}(\.[0-9]{1,2})?")


def parse_cash(text: str) -> int:
    """A cash amount as typed ("25", "25.5", "25.50") in cents; CliError if malformed."""
    value = text.strip()
    if not _CASH.fullmatch(value):
        raise CliError(f"--cash must be an amount like 25 or 25.50, got {text[:20]!r}")
    whole, _, fraction = value.partition(".")
    return int(whole) * 100 + int((fraction + "00")[:2])


@device.command("redeem")
@click.argument("pin")
@click.option(
    "--verify-identity",
    "verify_identity",
    is_flag=True,
    help="Confirm the holders' identity documents were checked (required).",
)
@click.option("--cash", "cash", default=None, help="Cash paid, e.g. 25.50.")
@click.option("--card", "card", default=None, help="Card payment: the POS reference.")
@home_option
@json_option
def redeem_cmd(
    pin: str,
    verify_identity: bool,
    cash: str | None,
    card: str | None,
    home_dir: str | None,
    as_json: bool,
) -> None:
    """Redeem a petrol PIN at this kiosk (works offline) and print the issued tickets."""
    if (cash is None) == (card is None):
        raise CliError("pay with exactly one of --cash AMOUNT or --card REF")
    if not verify_identity:
        raise CliError("confirm the holders' identity with --verify-identity; nothing was sold")
    cash_cents = parse_cash(cash) if cash is not None else None
    ctx = _open(DeviceHome.resolve(home_dir))
    try:
        if ctx.identity.role != "petrol":
            raise CliError(f"device {ctx.identity.device_id} is a {ctx.identity.role}, not petrol")
        sale = ctx.petrol.redeem(
            pin, identity_verified=verify_identity, cash_cents=cash_cents, card_ref=card
        )
    except DeviceError as exc:
        raise CliError(exc.message) from exc
    finally:
        ctx.close()
    tickets = [
        {"barcode": t.barcode, "holder": t.holder, "sector": t.sector, "row": t.row, "seat": t.seat}
        for t in sale.tickets
    ]
    if as_json:
        emit_json({"tickets": tickets, "pin": sale.pin, "seq": sale.seq})
        return
    click.echo(f"PIN {sale.pin} redeemed: {len(tickets)} ticket(s) (event seq {sale.seq})")
    for t in tickets:
        click.echo(
            f"  {t['barcode']}  {t['holder']}  sector {t['sector']} row {t['row']} seat {t['seat']}"
        )


@device.command("status")
@home_option
@json_option
def status_cmd(home_dir: str | None, as_json: bool) -> None:
    """Show identity, approval and sync state of this device."""
    home = DeviceHome.resolve(home_dir)
    ctx = _open(home, require_approved=False)
    try:
        status = ctx.store.status()
    finally:
        ctx.close()
    identity = ctx.identity
    data = {
        "device_id": identity.device_id,
        "name": identity.name,
        "role": identity.role,
        "status": identity.status,
        "code": identity.code,
        "server_url": identity.server_url,
        "online": status.online,
        "unsynced": status.unsynced,
        "last_sync_at": to_iso(status.last_sync_at),
        "last_push_at": to_iso(status.last_push_at),
        "last_pull_at": to_iso(status.last_pull_at),
        "cursor": status.cursor,
        "epoch": status.epoch,
        "accepted_seq": status.accepted_seq,
        "fork_seq": status.fork_seq,
        "last_error": status.last_error,
        "clock_offset_ms": status.clock_offset_ms,
        "event_id": identity.event_id,
        "gate_id": identity.gate_id,
        "tickets": status.tickets,
    }
    if as_json:
        emit_json(data)
        return
    for name, value in data.items():
        click.echo(f"{name:>16}: {'' if value is None else value}")


@device.command("run")
@home_option
@click.option(
    "--scanner",
    default="keyboard",
    show_default=True,
    help="keyboard | sim | serial:DEV | camera:N",
)
@click.option(
    "--printer",
    "printer_spec",
    default=None,
    metavar="SPEC",
    help="Receipt printer for the shift report (F6): dummy | file:PATH | usb:VID:PID | "
    "network:HOST[:PORT] | serial:DEV, options after '?'. Default: none.",
)
def run_cmd(home_dir: str | None, scanner: str, printer_spec: str | None) -> None:
    """Open the kiosk app of this device's role: the petrol kiosk or the gate."""
    from fieldpass.drivers.errors import DriverError

    ctx = _open(DeviceHome.resolve(home_dir))
    try:
        if ctx.identity.role == "petrol":
            from fieldpass.kiosk.petrol_app import run_petrol_app

            run_petrol_app(ctx, printer_spec)
        else:
            from fieldpass.kiosk.app import run_gate_app

            run_gate_app(ctx, scanner, printer_spec)
    except DriverError as exc:
        raise CliError(exc.message) from exc
    finally:
        ctx.close()


@device.command("scanners")
@json_option
def scanners_cmd(as_json: bool) -> None:
    """List the cameras and serial ports this host has, with the spec to use for each."""
    from fieldpass.drivers.scanners.camera import list_cameras
    from fieldpass.drivers.scanners.serial import list_serial_ports

    cameras = [camera for camera in list_cameras() if camera.get("primary", True)]
    ports = list_serial_ports()
    if as_json:
        emit_json({"cameras": cameras, "serial_ports": ports})
        return
    click.echo("keyboard       a keyboard-wedge (USB HID) scanner typing into the app")
    click.echo("sim:FILE       codes read from a file, one per line (demos and tests)")
    if not cameras and not ports:
        click.echo("no cameras (/dev/video*) or serial ports found")
    for camera in cameras:
        click.echo(f"{camera['spec']:<40} camera: {camera['name']}")
    for port in ports:
        label = port.get("product") or port.get("description") or ""
        click.echo(f"{port['spec']:<40} serial: {label}")


@device.command("test-scanner")
@click.argument("spec")
@click.option(
    "--seconds",
    type=click.FloatRange(0.1, 86_400),
    default=None,
    help="Stop after this long (default: until Ctrl+C).",
)
@click.option("--count", type=click.IntRange(1), default=None, help="Stop after N codes.")
@json_option
def test_scanner_cmd(spec: str, seconds: float | None, count: int | None, as_json: bool) -> None:
    """Open a scanner and print each decoded code as it arrives (serial, camera, sim:FILE)."""
    import json
    import queue
    import time

    from fieldpass.drivers.errors import DriverError
    from fieldpass.drivers.scanners import make_scanner

    events: queue.Queue[tuple[str, str]] = queue.Queue()
    try:
        scanner = make_scanner(
            spec,
            lambda code: events.put(("code", code)),
            on_error=lambda error: events.put(("error", str(error))),
            on_status=lambda text: events.put(("status", text)),
        )
    except DriverError as exc:
        raise CliError(exc.message) from exc
    if scanner.feeds_input:
        raise CliError("the keyboard scanner types into the app: try it in `fieldpass device run`")
    try:
        scanner.open()
    except DriverError as exc:
        raise CliError(f"cannot open {spec}: {exc.message}") from exc
    if not as_json:
        click.echo(f"reading from {spec}; Ctrl+C stops", err=True)
    deadline = None if seconds is None else time.monotonic() + seconds
    seen = 0
    try:
        while count is None or seen < count:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                break
            try:
                kind, text = events.get(timeout=0.2 if left is None else min(0.2, left))
            except queue.Empty:
                continue
            if kind == "error":
                raise CliError(f"scanner stopped: {text}")
            if kind == "code":
                seen += 1
            stamp = time.strftime("%H:%M:%S")
            if as_json:
                click.echo(json.dumps({"at": stamp, "kind": kind, "text": text}))
            else:
                click.echo(f"{stamp}  {text!r}" if kind == "code" else f"{stamp}  ({text})")
    finally:
        scanner.close()


@device.command("test-printer")
@click.argument("spec")
@click.option("--preview", is_flag=True, help="Show the page as text; print nothing.")
@json_option
def test_printer_cmd(spec: str, preview: bool, as_json: bool) -> None:
    """Print a test page (styles, Croatian letters, QR, Code128) and report printer status."""
    import time

    from fieldpass.drivers.errors import DriverError
    from fieldpass.drivers.printers import make_printer, render_text, test_page_document

    try:
        printer = make_printer(spec)
    except DriverError as exc:
        raise CliError(exc.message) from exc
    page = test_page_document(
        spec=spec,
        profile_name=printer.profile.name,
        columns=printer.profile.columns,
        printed_at=time.strftime("%Y-%m-%d %H:%M:%S"),
    )
    if preview:
        click.echo(render_text(page, printer.profile.columns))
        return
    try:
        with printer:
            result = printer.print_document(page)
            status = printer.status()
    except DriverError as exc:
        raise CliError(f"printing on {spec} failed: {exc.message}") from exc
    if as_json:
        emit_json(
            {"bytes_sent": result.bytes_sent, "notes": list(result.notes), "status": status.value}
        )
        return
    click.echo(f"sent {result.bytes_sent} bytes to {spec}; printer status: {status.value}")
    for note in result.notes:
        click.echo(f"note: {note}")
