"""``fieldpass device ...``: enroll, sync, scan, status and run one device."""

from __future__ import annotations

import json
import re
import signal
import threading
from pathlib import Path
from typing import Any

import click

from fieldpass.cli.errors import CliError, emit_json
from fieldpass.device.context import DeviceContext, open_device
from fieldpass.device.enrollment import ROLES, enroll, refresh_enrollment
from fieldpass.device.errors import DeviceError
from fieldpass.device.home import DeviceHome
from fieldpass.device.identity import DeviceIdentity
from fieldpass.device.peer_exchange import PEERS_META, PeerExchange
from fieldpass.device.recovery import recover, recovery_summary
from fieldpass.sync.answers import key_fingerprint
from fieldpass.sync.checkin import ScanMode
from fieldpass.sync.clock import to_iso
from fieldpass.sync.validation_numbers import format_validation_number

home_option = click.option(
    "--home",
    "home_dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Device home directory (default: $FIELDPASS_HOME, else the user data dir).",
)
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")


def peer_options(command: Any) -> Any:
    """--peers / --listen / --discover: the gate's LAN exchange of admissions."""
    command = click.option(
        "--discover",
        is_flag=True,
        help="Also find the event's other gates on the local network (UDP broadcast).",
    )(command)
    command = click.option(
        "--listen",
        default=None,
        metavar="HOST:PORT",
        help="Where this gate's peers reach it, e.g. 0.0.0.0:8790.",
    )(command)
    return click.option(
        "--peers",
        default=None,
        metavar="HOST:PORT,...",
        help="Gates of the same event to exchange admissions with over the LAN.",
    )(command)


def _open(home: DeviceHome, require_approved: bool = True) -> DeviceContext:
    try:
        return open_device(home, require_approved=require_approved)
    except DeviceError as exc:
        raise CliError(exc.message) from exc


@click.group()
def device() -> None:
    """Run this machine as a Fieldpass device: a gate, a raffle sale unit or a petrol kiosk."""


@device.command("enroll")
@click.option(
    "--server", "server_url", required=True, help="Server URL, e.g. https://fieldpass.example.org"
)
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--name", required=True, help="A name admins recognise, e.g. 'North gate 1'.")
@click.option(
    "--pin",
    default=None,
    metavar="sha256:HEX",
    help="The server key's fingerprint (from `fieldpass server init`): enrollment is refused "
    "unless the server answers with exactly this key. Without it the key is trusted on "
    "first use and shown, to compare with the server's.",
)
@click.option(
    "--ca",
    "ca_file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="https: trust only this CA bundle for the server's TLS certificate (a private CA).",
)
@home_option
@json_option
def enroll_cmd(
    server_url: str,
    role: str,
    name: str,
    pin: str | None,
    ca_file: Path | None,
    home_dir: str | None,
    as_json: bool,
) -> None:
    """Create this device's key and register it; prints the code an admin approves and the
    fingerprints installer and admin compare."""
    home = DeviceHome.resolve(home_dir)
    try:
        identity = enroll(home, server_url, role, name, pin=pin, ca_file=ca_file)
    except DeviceError as exc:
        raise CliError(exc.message) from exc
    server_fingerprint = key_fingerprint(identity.server_public_key or "")
    device_fingerprint = key_fingerprint(identity.public_key or "")
    if as_json:
        emit_json(
            {
                "device_id": identity.device_id,
                "code": identity.code,
                "status": identity.status,
                "home": str(home.root),
                "server_key_fingerprint": server_fingerprint,
                "server_key_source": identity.server_key_source,
                "device_key_fingerprint": device_fingerprint,
            }
        )
        return
    click.echo(f"enrolled device {identity.device_id} ({role}, {name!r}) in {home.root}")
    click.echo(f"enrollment code: {identity.code}")
    pinned = (
        "as given with --pin" if identity.server_key_source == "pin" else "trusted on first use"
    )
    click.echo(f"server key: {server_fingerprint} ({pinned})")
    click.echo(f"device key: {device_fingerprint} (the admin sees it next to the code)")
    click.echo(
        f"ask an admin to approve it: fieldpass admin device approve {identity.code} "
        + ("--raffle RAFFLE_ID" if role == "rsu" else "--event EVENT_ID [--gate GATE_ID]")
        + "; then run: fieldpass device sync"
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
        holding = _holding_line(ctx, status)
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
            f"{status.unsynced} unsynced, {holding}"
        )
    if report.error is not None:
        reason = "offline: " if not report.online else ""
        raise CliError(f"sync failed: {reason}{report.error}")


def _holding_line(ctx: DeviceContext, status: Any) -> str:
    """What the device holds after a sync, in its role's terms."""
    role = ctx.identity.role
    if role == "rsu":
        raffle = ctx.raffle.status()
        return f"{raffle.remaining} raffle numbers left to sell"
    if role == "petrol":
        return f"{ctx.store.pin_count('ACTIVE')} active PINs"
    return f"{status.tickets} tickets"


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
@click.option("--cash", "cash", default=None, help="Cash tendered, e.g. 50 (at least the total).")
@click.option("--card", "card", default=None, help="Card payment of the total: the POS reference.")
@click.option(
    "--document",
    "documents",
    multiple=True,
    metavar="TYPE",
    help="Identity document checked, once per holder in order: id_card | passport | "
    "driving_licence | residence_permit (optional; recorded with the sale).",
)
@home_option
@json_option
def redeem_cmd(
    pin: str,
    verify_identity: bool,
    cash: str | None,
    card: str | None,
    documents: tuple[str, ...],
    home_dir: str | None,
    as_json: bool,
) -> None:
    """Redeem a petrol PIN at this kiosk (works offline) and print the issued tickets.

    The best free seats of the kiosk's block are sold at once (no reservation is held:
    nothing waits between choosing and paying). --cash is the cash tendered: at least the
    total of the seat prices; the change is shown."""
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
            pin,
            identity_verified=verify_identity,
            cash_cents=cash_cents,
            card_ref=card,
            documents=list(documents) if documents else None,
        )
    except DeviceError as exc:
        raise CliError(exc.message) from exc
    finally:
        ctx.close()
    tickets = [
        {
            "barcode": t.barcode,
            "holder": t.holder,
            "sector": t.sector,
            "row": t.row,
            "seat": t.seat,
            "code": t.qr_text,  # what the ticket's QR carries (kiosk-signed when certified)
        }
        for t in sale.tickets
    ]
    money = {
        "total_cents": sale.total_cents,
        "vat_cents": sale.vat_cents,
        "change_cents": sale.change_cents,
    }
    if as_json:
        emit_json({"tickets": tickets, "pin": sale.pin, "seq": sale.seq, **money})
        return
    click.echo(
        f"PIN {sale.pin} redeemed: {len(tickets)} ticket(s) (event seq {sale.seq}); total "
        f"{sale.total_cents / 100:.2f} (VAT {sale.vat_cents / 100:.2f})"
        + (f", change {sale.change_cents / 100:.2f}" if sale.payment["method"] == "cash" else "")
    )
    for t in tickets:
        click.echo(
            f"  {t['barcode']}  {t['holder']}  sector {t['sector']} row {t['row']} seat {t['seat']}"
        )


@device.command("reprint-ticket")
@click.argument("barcode")
@click.option("--reason", required=True, help="Why the ticket is printed again (logged).")
@click.option(
    "--document",
    "document_type",
    required=True,
    metavar="TYPE",
    help="The holder's identity document, checked again: id_card | passport | "
    "driving_licence | residence_permit.",
)
@click.option(
    "--printer",
    "printer_spec",
    default=None,
    metavar="SPEC",
    help="dummy | file:PATH | usb:VID:PID | network:HOST[:PORT] | serial:DEV. "
    "Default: show the copy here.",
)
@home_option
@json_option
def reprint_ticket_cmd(
    barcode: str,
    reason: str,
    document_type: str,
    printer_spec: str | None,
    home_dir: str | None,
    as_json: bool,
) -> None:
    """Emergency reprint of a petrol ticket issued at this kiosk: logged first (with the
    reason and the document checked), then printed marked REPRINT."""
    from fieldpass.drivers.errors import DriverError
    from fieldpass.drivers.printers import render_text
    from fieldpass.kiosk.app import build_printer
    from fieldpass.kiosk.tickets import sale_reference, ticket_document

    try:
        printer = build_printer(printer_spec)
    except DriverError as exc:
        raise CliError(exc.message) from exc
    ctx = _open(DeviceHome.resolve(home_dir))
    try:
        if ctx.identity.role != "petrol":
            raise CliError(f"device {ctx.identity.device_id} is a {ctx.identity.role}, not petrol")
        copy = ctx.petrol.record_reprint(
            barcode, reason=reason, identity_verified=True, document_type=document_type
        )
        match = ctx.petrol.match_info()
    except DeviceError as exc:
        raise CliError(exc.message) from exc
    finally:
        ctx.close()
    document = ticket_document(
        copy.ticket,
        match=match.name,
        reference=sale_reference(copy.sale_seq, copy.pin),
        kickoff_ms=match.kickoff_ms,
        reprint=True,
    )
    if printer is not None:
        try:
            printer.open()
            printer.print_document(document)
        except DriverError as exc:
            raise CliError(
                f"reprint logged (event seq {copy.seq}) but not printed: {exc.message}"
            ) from exc
        finally:
            printer.close()
    if as_json:
        emit_json({"barcode": copy.ticket.barcode, "seq": copy.seq, "printed": bool(printer)})
        return
    if printer is None:
        click.echo(render_text(document, 48))
    click.echo(f"ticket {copy.ticket.barcode} reprinted (logged as event seq {copy.seq})")


def _raffle_status_json(raffle: Any) -> dict[str, Any]:
    return {
        "raffle_id": raffle.raffle_id,
        "raffle": raffle.raffle_name,
        "raffle_state": raffle.state,
        "sales_end": to_iso(raffle.sales_end),
        "remaining": raffle.remaining,
        "allocated": raffle.allocated,
        "low": raffle.low,
        "orders": raffle.totals.orders,
        "raffle_tickets": raffle.totals.tickets,
        "cash_cents": raffle.totals.cash_cents,
        "card_cents": raffle.totals.card_cents,
        "voided_orders": raffle.totals.voided_orders,
        "closed": raffle.closed,
        "can_sell": raffle.can_sell,
        "cannot_sell": raffle.cannot_sell_reason,
    }


@device.command("recover")
@home_option
@json_option
def recover_cmd(home_dir: str | None, as_json: bool) -> None:
    """Rebuild a missing or damaged store: this device's events from the server (checked
    with its own key), unsent ones still readable in the old store, its own sales and
    scans re-derived from them, then a full pull. The old store is kept aside."""
    home = DeviceHome.resolve(home_dir)
    try:
        report = recover(home)
        ctx = _open(home)
    except DeviceError as exc:
        raise CliError(exc.message) from exc
    try:
        sync = ctx.sync.sync_once()
    finally:
        ctx.close()
    if as_json:
        emit_json(
            {
                "set_aside": str(report.set_aside) if report.set_aside else None,
                "from_server": report.from_server,
                "salvaged": report.salvaged,
                "lost": report.lost,
                "last_seq": report.last_seq,
                "pulled": sync.pulled,
                "sync_error": sync.error,
            }
        )
    else:
        click.echo(recovery_summary(report))
        click.echo(f"pulled {sync.pulled} changes")
    if sync.error is not None:
        raise CliError(f"recovered, but the sync failed: {sync.error}")


@device.command("status")
@home_option
@json_option
def status_cmd(home_dir: str | None, as_json: bool) -> None:
    """Show identity, approval and sync state of this device."""
    home = DeviceHome.resolve(home_dir)
    ctx = _open(home, require_approved=False)
    try:
        status = ctx.store.status()
        raffle = ctx.raffle.status() if ctx.identity.role == "rsu" else None
        peers_text = ctx.store.get_meta(PEERS_META)
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
        "server_key_fingerprint": key_fingerprint(identity.server_public_key)
        if identity.server_public_key
        else None,
        "device_key_fingerprint": key_fingerprint(identity.public_key)
        if identity.public_key
        else None,
        "peers": json.loads(peers_text) if peers_text else [],
        "event_id": identity.event_id,
        "gate_id": identity.gate_id,
        "tickets": status.tickets,
    }
    if raffle is not None:
        data.update(_raffle_status_json(raffle))
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
@click.option(
    "--reservation-minutes",
    type=click.IntRange(1, 60),
    default=None,
    help="Petrol kiosk: minutes seats stay reserved while a sale is completed (kept for "
    "later runs; default 5).",
)
@peer_options
def run_cmd(
    home_dir: str | None,
    scanner: str,
    printer_spec: str | None,
    reservation_minutes: int | None,
    peers: str | None,
    listen: str | None,
    discover: bool,
) -> None:
    """Open the kiosk app of this device's role: the petrol kiosk, the RSU or the gate."""
    from fieldpass.drivers.errors import DriverError

    ctx = _open(DeviceHome.resolve(home_dir))
    try:
        exchange = _peer_exchange(ctx, peers, listen, discover)
        if reservation_minutes is not None:
            if ctx.identity.role != "petrol":
                raise CliError("--reservation-minutes is a petrol kiosk setting")
            ctx.petrol.set_reservation_minutes(reservation_minutes)
        if ctx.identity.role == "petrol":
            from fieldpass.kiosk.petrol_app import run_petrol_app

            run_petrol_app(ctx, printer_spec)
        elif ctx.identity.role == "rsu":
            from fieldpass.kiosk.rsu_app import run_rsu_app

            run_rsu_app(ctx, printer_spec)
        else:
            from fieldpass.kiosk.app import run_gate_app

            run_gate_app(ctx, scanner, printer_spec, peers=exchange)
    except DriverError as exc:
        raise CliError(exc.message) from exc
    finally:
        ctx.close()


def _peer_exchange(
    ctx: DeviceContext, peers: str | None, listen: str | None, discover: bool
) -> PeerExchange | None:
    """The gate's LAN exchange as configured (None when no option asks for one)."""
    if not (peers or listen or discover):
        return None
    if ctx.identity.role != "gate":
        raise CliError("--peers, --listen and --discover are for gates")
    if discover and not listen:
        raise CliError("--discover needs --listen HOST:PORT (peers must reach this gate)")
    addresses = [p for p in (peers or "").split(",") if p.strip()]
    try:
        return PeerExchange(
            ctx.store, ctx.identity, peers=addresses, listen=listen, discover=discover
        )
    except DeviceError as exc:
        raise CliError(exc.message) from exc


@device.command("peers")
@home_option
@peer_options
def peers_cmd(home_dir: str | None, peers: str | None, listen: str | None, discover: bool) -> None:
    """Exchange admissions with the event's other gates over the LAN, without the app
    (until stopped): what `device run` does beside the screen. Scans made meanwhile by
    `fieldpass device scan` on this gate reach the peers within about a second."""
    if not listen and not peers and not discover:
        raise CliError("give --listen HOST:PORT and/or --peers HOST:PORT,...")
    ctx = _open(DeviceHome.resolve(home_dir))
    exchange = _peer_exchange(ctx, peers, listen, discover)
    if exchange is None:  # pragma: no cover - the options were checked above
        return
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    try:
        exchange.start()
    except OSError as exc:
        ctx.close()
        raise CliError(f"cannot listen on {listen}: {exc.strerror or exc}") from None
    click.echo(
        f"exchanging admissions with {len(exchange.stats.peers)} peer(s)"
        + (f", listening on {listen}" if listen else ""),
        err=True,
    )
    try:
        stop.wait()
    finally:
        exchange.stop()
        ctx.close()


# -- raffle sale unit (RSU) ---------------------------------------------------------------


def _open_rsu(home_dir: str | None) -> DeviceContext:
    ctx = _open(DeviceHome.resolve(home_dir))
    if ctx.identity.role != "rsu":
        ctx.close()
        raise CliError(f"device {ctx.identity.device_id} is a {ctx.identity.role}, not an RSU")
    return ctx


def _raffle_package(ctx: DeviceContext, name: str) -> Any:
    """The package on sale whose name (case-insensitive) or id is ``name``."""
    packages = ctx.raffle.status().packages
    wanted = " ".join(name.split()).casefold()
    found = [p for p in packages if p.id == name or " ".join(p.name.split()).casefold() == wanted]
    if len(found) != 1:
        on_sale = ", ".join(repr(p.name) for p in packages) or "none"
        raise CliError(f"no package named {name!r} is on sale here (packages: {on_sale})")
    return found[0]


def _receipt_layout() -> Any:
    """The receipt layout of the kiosk (imported only when printing)."""
    try:
        from fieldpass.kiosk.raffle_receipt import raffle_receipt_document
    except ImportError as exc:
        raise CliError(f"the raffle receipt layout is not available: {exc}") from exc
    return raffle_receipt_document


def _print_receipt(
    printer_spec: str | None, layout: Any, receipt: Any, *, preview_to_stderr: bool = False
) -> str | None:
    """Print the receipt (or show it as text without a printer: on stderr when stdout
    carries JSON); the failure, if any."""
    from fieldpass.drivers.errors import DriverError
    from fieldpass.drivers.printers import make_printer, render_text

    try:
        document = layout(receipt)
        if printer_spec is None:
            click.echo(render_text(document), err=preview_to_stderr)
            return None
        with make_printer(printer_spec) as printer:
            printer.print_document(document)
    except DriverError as exc:
        return exc.message
    return None


def _reprint_hint(validation_number: str) -> str:
    return f"fieldpass device reprint {validation_number} --reason 'print failed' --printer SPEC"


def _receipt_json(sale_seq: int, receipt: Any) -> dict[str, Any]:
    return {
        "validation_number": receipt.validation_number,
        "validation_display": format_validation_number(receipt.validation_number),
        "draw_numbers": receipt.draw_numbers,
        "order_id": receipt.order_id,
        "package": receipt.package_name,
        "price_cents": receipt.price_cents,
        "payment_method": receipt.payment_method,
        "tendered_cents": receipt.tendered_cents,
        "change_cents": receipt.change_cents,
        "sold_at": to_iso(receipt.sold_at),
        "voided": receipt.voided,
        "copy_number": receipt.copy_number,
        "seq": sale_seq,
    }


printer_option = click.option(
    "--printer",
    "printer_spec",
    default=None,
    metavar="SPEC",
    help="Receipt printer: dummy | file:PATH | usb:VID:PID | network:HOST[:PORT] | "
    "serial:DEV, options after '?'.",
)
operator_option = click.option("--operator", default="", help="Who is selling (logged).")


@device.command("sell")
@click.option("--package", "package_name", required=True, help="Package name, e.g. '3 for 10'.")
@click.option("--customer", default=None, help="Customer name (optional).")
@click.option("--phone", default=None, help="Customer phone (optional).")
@click.option("--cash", "cash", default=None, help="Cash tendered, e.g. 20 or 20.00.")
@click.option("--card", "card", default=None, help="Card payment: the POS reference.")
@operator_option
@printer_option
@home_option
@json_option
def sell_cmd(
    package_name: str,
    customer: str | None,
    phone: str | None,
    cash: str | None,
    card: str | None,
    operator: str,
    printer_spec: str | None,
    home_dir: str | None,
    as_json: bool,
) -> None:
    """Sell one raffle package at this RSU (works offline); prints the receipt with --printer."""
    if (cash is None) == (card is None):
        raise CliError("pay with exactly one of --cash AMOUNT or --card REF")
    cash_cents = parse_cash(cash) if cash is not None else None
    layout = _receipt_layout() if printer_spec is not None else None
    ctx = _open_rsu(home_dir)
    try:
        package = _raffle_package(ctx, package_name)
        sale = ctx.raffle.sell(
            package.id,
            cash_tendered_cents=cash_cents,
            card_reference=card,
            customer_name=customer,
            customer_phone=phone,
            operator=operator,
        )
    except DeviceError as exc:
        raise CliError(exc.message) from exc
    finally:
        ctx.close()
    receipt = sale.receipt
    failure = _print_receipt(printer_spec, layout, receipt) if layout is not None else None
    if as_json:
        emit_json({**_receipt_json(sale.seq, receipt), "print_error": failure})
    else:
        numbers = ", ".join(str(n) for n in receipt.draw_numbers)
        click.echo(
            f"sold {receipt.package_name}: numbers {numbers}; validation "
            f"{format_validation_number(receipt.validation_number)}"
        )
        if receipt.change_cents is not None:
            click.echo(f"change: {receipt.change_cents / 100:.2f}")
    if failure is not None:
        raise CliError(
            f"printing failed ({failure}); the sale is valid, reprint with: "
            + _reprint_hint(receipt.validation_number)
        )


@device.command("void")
@click.argument("validation")
@click.option("--reason", required=True, help="Why the order is voided (logged).")
@operator_option
@home_option
@json_option
def void_cmd(
    validation: str, reason: str, operator: str, home_dir: str | None, as_json: bool
) -> None:
    """Void a whole raffle order; its numbers are never sold again."""
    ctx = _open_rsu(home_dir)
    try:
        voided = ctx.raffle.void(validation, reason, operator)
    except DeviceError as exc:
        raise CliError(exc.message) from exc
    finally:
        ctx.close()
    receipt = voided.receipt
    if as_json:
        emit_json({**_receipt_json(voided.seq, receipt), "reason": receipt.void_reason})
        return
    numbers = ", ".join(str(n) for n in receipt.draw_numbers)
    click.echo(
        f"voided order {format_validation_number(receipt.validation_number)} "
        f"(numbers {numbers}): {receipt.void_reason}"
    )


@device.command("reprint")
@click.argument("validation")
@click.option("--reason", required=True, help="Why the receipt is printed again (logged).")
@operator_option
@printer_option
@home_option
@json_option
def reprint_cmd(
    validation: str,
    reason: str,
    operator: str,
    printer_spec: str | None,
    home_dir: str | None,
    as_json: bool,
) -> None:
    """Print a raffle receipt again, marked REPRINT (logged before it prints); without
    --printer the copy is shown as text."""
    layout = _receipt_layout()
    ctx = _open_rsu(home_dir)
    try:
        receipt = ctx.raffle.record_reprint(validation, reason, operator)
    except DeviceError as exc:
        raise CliError(exc.message) from exc
    finally:
        ctx.close()
    failure = _print_receipt(printer_spec, layout, receipt, preview_to_stderr=as_json)
    if as_json:
        emit_json({**_receipt_json(0, receipt), "print_error": failure})
    elif printer_spec is not None and failure is None:
        click.echo(f"printed copy {receipt.copy_number} on {printer_spec}")
    if failure is not None:
        raise CliError(
            f"printing failed ({failure}); the reprint was logged, try again with: "
            + _reprint_hint(receipt.validation_number)
        )


@device.command("close")
@operator_option
@home_option
@json_option
def close_cmd(operator: str, home_dir: str | None, as_json: bool) -> None:
    """End this RSU's sales in its raffle: sync, record the close, sync again, and say
    whether every sale reached the server."""
    ctx = _open_rsu(home_dir)
    try:
        before = ctx.sync.sync_once()
        waiting = ctx.store.status().unsynced
        closing = ctx.raffle.close(operator)
        after = ctx.sync.sync_once()
        unsynced = ctx.store.status().unsynced
    except DeviceError as exc:
        raise CliError(exc.message) from exc
    finally:
        ctx.close()
    uploaded = after.error is None and unsynced == 0
    error = after.error or before.error
    if as_json:
        emit_json(
            {
                "raffle_id": closing.raffle_id,
                "seq": closing.seq,
                "orders": closing.orders,
                "closed_at": to_iso(closing.closed_at),
                "already_closed": closing.already,
                "unsynced_before_close": waiting,
                "unsynced": unsynced,
                "uploaded": uploaded,
                "sync_error": error,
            }
        )
    else:
        click.echo(f"before closing: {waiting} event(s) not yet on the server")
        verb = "was already closed" if closing.already else "closed"
        click.echo(
            f"raffle {closing.raffle_id} {verb} on this RSU: {closing.orders} order(s), "
            f"close event seq {closing.seq}"
        )
        if uploaded:
            click.echo("every sale and the close have reached the server")
    if not uploaded:
        raise CliError(
            f"NOT uploaded: {unsynced} event(s) have not reached the server"
            + (f" ({error})" if error else "")
            + "; run: fieldpass device sync when online"
        )


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
