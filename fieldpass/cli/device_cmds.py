"""``fieldpass device ...``: enroll, sync, scan, status and run one device."""

from __future__ import annotations

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
def run_cmd(home_dir: str | None, scanner: str) -> None:
    """Open the gate kiosk app."""
    ctx = _open(DeviceHome.resolve(home_dir))
    try:
        from fieldpass.kiosk.app import run_gate_app

        run_gate_app(ctx, scanner)
    finally:
        ctx.close()
