"""``fieldpass admin``: the central admin's commands, over the HTTP admin API.

Thin commands over :class:`~fieldpass.cli.admin_client.AdminClient`: they check local
input (files, dates) before any request, call the API, and print either aligned text
tables (times in local time) or, with ``--json``, the API's objects for scripts
(listings print a JSON array, creations and reports a JSON object).
"""

from __future__ import annotations

import csv
import io
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from fieldpass.cli.admin_client import (
    DEFAULT_TIMEOUT,
    NOT_LOGGED_IN,
    AdminClient,
    InvalidRows,
    Session,
    normalise_url,
    segment,
    session_path,
)
from fieldpass.cli.errors import CliError, emit_json
from fieldpass.sync.answers import short_fingerprint
from fieldpass.sync.clock import from_iso
from fieldpass.sync.identity import HolderError, parse_holder
from fieldpass.sync.pins import MAX_QUANTITY, MIN_QUANTITY, PIN_STATUSES, is_pin
from fieldpass.sync.seating import RangeError, parse_labels

PASSWORD_ENV = "FIELDPASS_ADMIN_PASSWORD"
LAYOUT_COLUMNS = ("sector", "rows", "seats", "price")
MAX_ROW_ERRORS_SHOWN = 20
CSV_COLUMNS = ("barcode", "sector", "row", "seat", "holder_name", "status")
REVOKE_STATUSES = ("REVOKED", "CANCELLED", "REFUNDED", "BLACKLISTED")
PIN_CSV_COLUMNS = (
    "pin",
    "quantity",
    "expires_at",
    *(f"holder_{n}" for n in range(1, MAX_QUANTITY + 1)),
)

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
event_option = click.option("--event", "event_id", required=True, help="The event's id.")


@dataclass(frozen=True)
class AdminSettings:
    url: str | None
    timeout: float

    def client(self, *, require_token: bool = True) -> AdminClient:
        return AdminClient.from_saved_login(
            self.url, timeout=self.timeout, require_token=require_token
        )


# -- formatting -------------------------------------------------------------------------


def local_time(value: Any) -> str:
    """An API time (ISO 8601 UTC text or epoch ms) as local ISO time; '-' when absent."""
    if value is None or value == "":
        return "-"
    try:
        ms = value if isinstance(value, int) else from_iso(str(value))
        moment = datetime.fromtimestamp(ms / 1000).astimezone()
    except (ValueError, OverflowError, OSError):
        return str(value)
    return moment.isoformat(sep=" ", timespec="seconds")


def skew(offset_ms: Any) -> str:
    """A device's clock offset (server minus device) for people: '+350 ms', '-2.4 s'."""
    if not isinstance(offset_ms, int):
        return "-"
    if abs(offset_ms) < 1000:
        return f"{offset_ms:+d} ms"
    if abs(offset_ms) < 120_000:
        return f"{offset_ms / 1000:+.1f} s"
    return f"{offset_ms / 60_000:+.1f} min"


def cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value) or "-"
    return " ".join(str(value).split()) or "-"


def _numeric(value: Any) -> bool:
    if isinstance(value, str):
        return value in ("-", "?") or (
            value.endswith("%") and value[:-1].replace(".", "").isdigit()
        )
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Aligned columns; numbers right-aligned, text left-aligned."""
    texts = [[cell(v) for v in row] for row in rows]
    numeric = [bool(rows) and all(_numeric(row[i]) for row in rows) for i in range(len(headers))]
    widths = [max([len(headers[i])] + [len(row[i]) for row in texts]) for i in range(len(headers))]

    def line(values: Sequence[str]) -> str:
        parts = [
            v.rjust(widths[i]) if numeric[i] else v.ljust(widths[i]) for i, v in enumerate(values)
        ]
        return "  ".join(parts).rstrip()

    out = [line(headers), line(["-" * w for w in widths])]
    out += [line(row) for row in texts]
    return "\n".join(out)


def percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "-"


def short(identifier: Any) -> str:
    text = cell(identifier)
    return text[:8] if len(text) > 8 else text


def iso_option(value: str | None, name: str) -> str | None:
    """Check an ISO 8601 time locally (naive = UTC, as on the server); keep its text."""
    if value is None:
        return None
    text = value.strip()
    try:
        from_iso(text)
    except (ValueError, OverflowError):
        raise CliError(
            f"{name}: not an ISO 8601 time: {value[:40]!r} (e.g. 2025-06-01T20:30:00+02:00; "
            "without an offset the time is UTC)"
        ) from None
    return text


# -- the group --------------------------------------------------------------------------


@click.group()
@click.option(
    "--url",
    default=None,
    metavar="URL",
    help="Server URL, e.g. http://127.0.0.1:8080 (default: the one you last logged in to).",
)
@click.option(
    "--timeout",
    type=click.FloatRange(0.1, 3600),
    default=DEFAULT_TIMEOUT,
    show_default=True,
    help="Seconds to wait for the server.",
)
@click.pass_context
def admin(ctx: click.Context, url: str | None, timeout: float) -> None:
    """Administer events, tickets, devices and conflicts on a running server."""
    if url is not None:
        url = normalise_url(url) if url.strip() else None
    ctx.obj = AdminSettings(url=url, timeout=timeout)


pass_settings = click.make_pass_decorator(AdminSettings)


@admin.command("login")
@click.option("--email", required=True, help="Your admin e-mail address.")
@json_option
@pass_settings
def login_cmd(settings: AdminSettings, email: str, as_json: bool) -> None:
    """Log in once; the token is kept in the user's config dir (mode 0600).

    The password comes from $FIELDPASS_ADMIN_PASSWORD, else a hidden prompt.
    """
    with settings.client(require_token=False) as client:
        password = os.environ.get(PASSWORD_ENV) or click.prompt("Password", hide_input=True)
        answer = client.login(email.strip(), password)
        user = answer.get("user") if isinstance(answer.get("user"), dict) else {}
        session = Session(
            url=client.url,
            token=client.token or "",
            email=str(user.get("email") or email.strip()),
            expires=answer.get("expires_at"),
        )
        path = session.save()
    if as_json:
        emit_json(
            {
                "url": session.url,
                "email": session.email,
                "expires": session.expires,
                "saved": str(path),
            }
        )
        return
    click.echo(
        f"logged in to {session.url} as {session.email} "
        f"(session valid until {local_time(session.expires)}; saved in {path})"
    )


@admin.command("logout")
@pass_settings
def logout_cmd(settings: AdminSettings) -> None:
    """End the session on the server, then forget the saved login.

    If the server cannot be reached the saved login is kept (its token still works until
    it expires) so that the logout can be retried."""
    session = Session.load()
    if session is None:
        click.echo("not logged in")
        return
    ended = "logged out"
    with AdminClient(session.url, token=session.token, timeout=settings.timeout) as client:
        try:
            client.request("POST", "/v1/auth/logout")
        except CliError as exc:
            if str(exc) != NOT_LOGGED_IN:
                raise CliError(
                    f"could not end the session on the server, the saved login is kept: {exc}"
                ) from None
            ended = "logged out (the session had already ended on the server)"
    Session.forget()
    click.echo(ended)


@admin.command("whoami")
@json_option
def whoami_cmd(as_json: bool) -> None:
    """Show the saved login (server, e-mail, expiry); never the token."""
    session = Session.load()
    if session is None:
        raise CliError("not logged in: run `fieldpass admin --url URL login --email E`")
    info = {"url": session.url, "email": session.email, "expires": session.expires}
    if as_json:
        emit_json({**info, "saved": str(session_path())})
        return
    click.echo(f"{session.email} at {session.url} until {local_time(session.expires)}")


# -- events and gates -------------------------------------------------------------------


@admin.group("event")
def event_group() -> None:
    """Create and list events (matches)."""


def _event_rows(events: list[dict[str, Any]]) -> str:
    return table(
        ("id", "name", "venue", "starts", "status", "tickets"),
        [
            (
                e.get("id"),
                e.get("name"),
                e.get("venue"),
                local_time(e.get("starts_at")),
                e.get("status"),
                e.get("ticket_count"),
            )
            for e in events
        ],
    )


@event_group.command("create")
@click.option("--name", required=True, help="The event's name, e.g. 'Dinamo – Hajduk'.")
@click.option("--starts", required=True, help="Start time, ISO 8601 (no offset = UTC).")
@click.option("--ends", default=None, help="End time, ISO 8601.")
@click.option("--venue", default=None, help="Venue name (created if new).")
@click.option("--valid-from", default=None, help="Tickets admit from this time, ISO 8601.")
@click.option("--valid-until", default=None, help="Tickets admit until this time, ISO 8601.")
@click.option(
    "--vat-percent",
    default=None,
    metavar="P",
    help="VAT included in ticket prices, e.g. 25 (default 25, the Croatian PDV rate).",
)
@click.option(
    "--layout",
    "layout_file",
    default=None,
    type=click.Path(path_type=Path),
    metavar="FILE.csv",
    help="Venue layout, one line per sector: sector,rows,seats[,price] (e.g. North,A-Z,1-30,25.00).",
)
@json_option
@pass_settings
def event_create_cmd(
    settings: AdminSettings,
    name: str,
    starts: str,
    ends: str | None,
    venue: str | None,
    valid_from: str | None,
    valid_until: str | None,
    vat_percent: str | None,
    layout_file: Path | None,
    as_json: bool,
) -> None:
    """Create an event; prints it with its "id".

    With --layout, every sector and seat of the venue is created with it, all or nothing:
    any bad line is reported with its line number and nothing (not even the event) is made.
    """
    body: dict[str, Any] = {"name": name, "starts_at": iso_option(starts, "--starts")}
    for key, value, option in (
        ("ends_at", ends, "--ends"),
        ("valid_from", valid_from, "--valid-from"),
        ("valid_until", valid_until, "--valid-until"),
    ):
        if value is not None:
            body[key] = iso_option(value, option)
    if venue is not None:
        body["venue"] = venue
    if vat_percent is not None:
        body["vat_percent"] = vat_percent
    if layout_file is not None:
        data, _rows = read_csv_file(layout_file)
        body["layout"] = data.decode("utf-8-sig")
    with settings.client() as client:
        if layout_file is None:
            event = client.create_event(body)
        else:
            try:
                event = client.request(
                    "POST", "/v1/events", json_body=body, problems={"invalid_rows": InvalidRows}
                )
            except InvalidRows as problem:
                _print_row_errors(problem, LAYOUT_COLUMNS)
                raise
    if as_json:
        emit_json(event)
        return
    click.echo(
        f"created event {event.get('id')}: {event.get('name')}, "
        f"starts {local_time(event.get('starts_at'))}"
        + (f" at {event['venue']}" if event.get("venue") else "")
        + f", VAT {event.get('vat_percent')} %"
    )
    layout = event.get("layout")
    if isinstance(layout, dict):
        sectors = layout.get("sectors") or []
        click.echo(f"layout: {len(sectors)} sectors, {layout.get('seats')} seats")
        click.echo(
            table(
                ("sector", "seats", "price"),
                [(s.get("sector"), s.get("seats"), s.get("price") or "-") for s in sectors],
            )
        )


@event_group.command("list")
@json_option
@pass_settings
def event_list_cmd(settings: AdminSettings, as_json: bool) -> None:
    """List the organization's events."""
    with settings.client() as client:
        events = client.list_events()
    if as_json:
        emit_json(events)
    elif not events:
        click.echo("no events")
    else:
        click.echo(_event_rows(events))


@event_group.command("show")
@click.argument("event_id")
@json_option
@pass_settings
def event_show_cmd(settings: AdminSettings, event_id: str, as_json: bool) -> None:
    """Show one event."""
    with settings.client() as client:
        event = client.get_event(event_id)
    if as_json:
        emit_json(event)
        return
    click.echo(_event_rows([event]))


@admin.group("gate")
def gate_group() -> None:
    """Create and list an event's gates."""


def _sectors_text(sectors: Any) -> str:
    return "all" if sectors is None else cell(sectors)


@gate_group.command("create")
@event_option
@click.option("--name", required=True, help="The gate's name, e.g. North.")
@click.option(
    "--sectors", default=None, help="Comma-separated sector codes it admits (default: all)."
)
@json_option
@pass_settings
def gate_create_cmd(
    settings: AdminSettings, event_id: str, name: str, sectors: str | None, as_json: bool
) -> None:
    """Create a gate of an event; prints it with its "id"."""
    body: dict[str, Any] = {"name": name}
    if sectors is not None:
        codes = [s.strip() for s in sectors.split(",") if s.strip()]
        if not codes:
            raise CliError("--sectors: give at least one sector code (A,B), or omit it for all")
        body["sectors"] = codes
    with settings.client() as client:
        gate = client.create_gate(event_id, body)
    if as_json:
        emit_json(gate)
        return
    click.echo(
        f"created gate {gate.get('id')}: {gate.get('name')} "
        f"(sectors: {_sectors_text(gate.get('sectors'))})"
    )


@gate_group.command("list")
@event_option
@json_option
@pass_settings
def gate_list_cmd(settings: AdminSettings, event_id: str, as_json: bool) -> None:
    """List an event's gates."""
    with settings.client() as client:
        gates = client.list_gates(event_id)
    if as_json:
        emit_json(gates)
    elif not gates:
        click.echo("no gates")
    else:
        click.echo(
            table(
                ("id", "name", "sectors"),
                [(g.get("id"), g.get("name"), _sectors_text(g.get("sectors"))) for g in gates],
            )
        )


# -- tickets ----------------------------------------------------------------------------


@admin.group("tickets")
def tickets_group() -> None:
    """Import, search, revoke and sign tickets."""


def read_ticket_csv(path: Path) -> tuple[bytes, int]:
    """The file's bytes and its number of data lines; a CliError if it is not a CSV we read.

    Only the file itself is checked here (readable, UTF-8, a header): the server checks
    every row and refuses the whole file if any row is bad.
    """
    data, rows = read_csv_file(path)
    header = next(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    columns = [name.strip().lower() for name in header]
    if "barcode" not in columns:
        raise CliError(
            f"{path}: the first line must be the header {','.join(CSV_COLUMNS)} "
            f"(found {','.join(columns)[:80]!r})"
        )
    return data, rows


def read_csv_file(path: Path) -> tuple[bytes, int]:
    """A readable, UTF-8, non-empty CSV with a header: its bytes and data line count."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise CliError(f"no such file: {path}") from None
    except IsADirectoryError:
        raise CliError(f"{path} is a directory, not a CSV file") from None
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CliError(f"{path} is not UTF-8 text (bad byte at offset {exc.start})") from None
    if not text.strip():
        raise CliError(f"{path} is empty")
    try:
        next(csv.reader(io.StringIO(text)))
    except csv.Error as exc:
        raise CliError(f"{path}: unreadable CSV header: {exc}") from None
    rows = sum(1 for line in text.splitlines()[1:] if line.strip())
    return data, rows


def error_column(message: str, columns: Sequence[str] = CSV_COLUMNS) -> str:
    """The CSV column a server row error is about (its messages name it), else '-'."""
    words = message.replace(":", " ").replace("'", " ").split()
    for word in words[:4]:
        if word in columns:
            return word
    if message.startswith("unknown status"):
        return "status"
    return "-"


def _print_row_errors(problem: InvalidRows, columns: Sequence[str] = CSV_COLUMNS) -> None:
    errors = problem.errors
    shown = errors[:MAX_ROW_ERRORS_SHOWN]
    click.echo("the file was refused; nothing was imported. Problems:", err=True)
    lines = table(
        ("line", "column", "reason"),
        [
            (
                e.get("line") if isinstance(e.get("line"), int) else cell(e.get("line")),
                error_column(str(e.get("message", "")), columns),
                str(e.get("message", "")),
            )
            for e in shown
        ],
    )
    for text in lines.splitlines():
        click.echo(f"  {text}", err=True)
    more = problem.total - len(shown)
    if more > 0:
        click.echo(f"  … and {more} more", err=True)


@tickets_group.command("import")
@event_option
@click.argument("csv_file", metavar="FILE.csv", type=click.Path(path_type=Path))
@json_option
@pass_settings
def tickets_import_cmd(
    settings: AdminSettings, event_id: str, csv_file: Path, as_json: bool
) -> None:
    """Import tickets from a CSV (barcode,sector,row,seat,holder_name,status).

    All or nothing: if any row is bad, the rows' problems are listed and nothing is
    imported. Re-importing a barcode updates that ticket.
    """
    data, rows = read_ticket_csv(csv_file)
    with settings.client() as client:
        label = f"uploading {rows} rows"
        try:
            with click.progressbar(length=max(len(data), 1), label=label, file=sys.stderr) as bar:
                result = client.import_tickets(event_id, data, bar.update)
        except InvalidRows as problem:
            _print_row_errors(problem)
            raise
    if as_json:
        emit_json(result)
        return
    total, new, updated = result.get("total"), result.get("imported"), result.get("updated")
    click.echo(f"imported {total} tickets ({new} new, {updated} updated)")


def _ticket_rows(tickets: list[dict[str, Any]]) -> str:
    return table(
        ("barcode", "sector", "row", "seat", "holder", "status", "reason", "first entry"),
        [
            (
                t.get("barcode"),
                t.get("sector"),
                t.get("row"),
                t.get("seat"),
                t.get("holder"),
                t.get("status"),
                t.get("status_reason"),
                local_time(t.get("first_entry_at")),
            )
            for t in tickets
        ],
    )


@tickets_group.command("search")
@event_option
@click.argument("query", required=False, default="")
@click.option("--limit", type=click.IntRange(1, 500), default=50, show_default=True)
@json_option
@pass_settings
def tickets_search_cmd(
    settings: AdminSettings, event_id: str, query: str, limit: int, as_json: bool
) -> None:
    """Find tickets by barcode prefix or holder name (no QUERY: the first ones)."""
    with settings.client() as client:
        tickets = client.search_tickets(event_id, query, limit)
    if as_json:
        emit_json(tickets)
    elif not tickets:
        click.echo("no tickets found")
    else:
        click.echo(_ticket_rows(tickets))


@tickets_group.command("revoke")
@event_option
@click.argument("barcode")
@click.option("--reason", required=True, help="Why (kept with the ticket and shown at gates).")
@click.option(
    "--status",
    type=click.Choice(REVOKE_STATUSES, case_sensitive=False),
    default="REVOKED",
    show_default=True,
)
@json_option
@pass_settings
def tickets_revoke_cmd(
    settings: AdminSettings, event_id: str, barcode: str, reason: str, status: str, as_json: bool
) -> None:
    """Revoke (or cancel, refund, blacklist) a ticket; gates learn at their next pull."""
    with settings.client() as client:
        ticket = client.revoke_ticket(event_id, barcode, reason, status.upper())
    if as_json:
        emit_json(ticket)
        return
    click.echo(
        f"ticket {ticket.get('barcode')} is now {ticket.get('status')}: "
        f"{ticket.get('status_reason')}"
    )


@tickets_group.command("sign")
@event_option
@click.argument("barcode")
@click.option("--sector", default="", help="Sector printed in the code.")
@click.option("--row", "row_", default="", help="Row.")
@click.option("--seat", default="", help="Seat.")
@click.option("--holder", default="", help="Holder's name.")
@json_option
@pass_settings
def tickets_sign_cmd(
    settings: AdminSettings,
    event_id: str,
    barcode: str,
    sector: str,
    row_: str,
    seat: str,
    holder: str,
    as_json: bool,
) -> None:
    """Issue a signed ticket (gates verify it offline); prints the code to encode."""
    body = {"barcode": barcode, "sector": sector, "row": row_, "seat": seat, "holder": holder}
    with settings.client() as client:
        answer = client.sign_ticket(event_id, body)
    if as_json:
        emit_json(answer)
        return
    click.echo(answer.get("code"))


# -- devices ----------------------------------------------------------------------------


@admin.group("device")
def device_group() -> None:
    """Find (by code), approve, list and revoke devices."""


def _names(client: AdminClient, devices: list[dict[str, Any]]) -> dict[str, str]:
    """Event and gate names by id for the human table (ids when a lookup fails)."""
    names: dict[str, str] = {}
    wanted = {d.get("event_id") for d in devices if d.get("event_id")}
    if not wanted:
        return names
    try:
        for event in client.list_events():
            names[str(event.get("id"))] = str(event.get("name"))
        for event_id in sorted(e for e in wanted if e in names):
            for gate in client.list_gates(event_id):
                names[str(gate.get("id"))] = str(gate.get("name"))
    except CliError:
        pass  # the table falls back to short ids
    return names


def _last_sync(device: dict[str, Any]) -> Any:
    times = [t for t in (device.get("last_push_at"), device.get("last_pull_at")) if t]
    return max(times, key=lambda t: from_iso(t)) if times else None


def _device_rows(devices: list[dict[str, Any]], names: dict[str, str]) -> str:
    def where(device: dict[str, Any]) -> str:
        event, gate = device.get("event_id"), device.get("gate_id")
        if not event:
            return "-"
        text = names.get(event) or short(event)
        return f"{text} / {names.get(gate) or short(gate)}" if gate else f"{text} / any gate"

    def status(device: dict[str, Any]) -> str:
        if device.get("status") == "pending" and device.get("code"):
            return f"pending (code {device['code']})"
        return cell(device.get("status"))

    return table(
        (
            "id",
            "name",
            "role",
            "status",
            "event / gate",
            "last seen",
            "last sync",
            "accepted_seq",
            "unsynced",
            "clock skew",
            "key",
        ),
        [
            (
                d.get("id"),
                d.get("name"),
                d.get("role"),
                status(d),
                where(d),
                local_time(d.get("last_seen_at")),
                local_time(_last_sync(d)),
                d.get("accepted_seq"),
                d.get("unsynced_estimate") if d.get("unsynced_estimate") is not None else "?",
                skew(d.get("clock_offset_ms")),
                short_fingerprint(d["key_fingerprint"]) if d.get("key_fingerprint") else "-",
            )
            for d in devices
        ],
    )


@device_group.command("list")
@json_option
@pass_settings
def device_list_cmd(settings: AdminSettings, as_json: bool) -> None:
    """Devices with last seen / last sync, accepted seq, unsynced estimate, clock skew."""
    with settings.client() as client:
        devices = client.list_devices()
        names = {} if as_json else _names(client, devices)
    if as_json:
        emit_json(devices)
    elif not devices:
        click.echo("no devices")
    else:
        click.echo(_device_rows(devices, names))


@device_group.command("pending")
@click.argument("code")
@json_option
@pass_settings
def device_pending_cmd(settings: AdminSettings, code: str, as_json: bool) -> None:
    """Show the pending device with exactly this enrollment code, and its key fingerprint
    to compare with the one the device shows before approving it."""
    with settings.client() as client:
        device = client.request("POST", "/v1/devices/pending", json_body={"code": code})
    if as_json:
        emit_json(device)
        return
    click.echo(
        f"pending device {device.get('id')} ({device.get('name')}, {device.get('role')}), "
        f"enrolled {local_time(device.get('enrolled_at'))}, code void after "
        f"{local_time(device.get('expires_at'))}"
    )
    click.echo(f"device key: {device.get('key_fingerprint')}")
    click.echo("approve it only if the device shows this same fingerprint")


@device_group.command("approve")
@click.argument("code")
@click.option("--event", "event_id", default=None, help="The event's id (gate, petrol).")
@click.option("--raffle", "raffle_id", default=None, help="The raffle's id (an RSU).")
@click.option("--gate", "gate_id", default=None, help="The gate's id (default: any gate).")
@json_option
@pass_settings
def device_approve_cmd(
    settings: AdminSettings,
    code: str,
    event_id: str | None,
    raffle_id: str | None,
    gate_id: str | None,
    as_json: bool,
) -> None:
    """Approve a pending device by its enrollment code: for an event (and gate), or an
    RSU for a raffle. Give exactly one of --event and --raffle."""
    if (event_id is None) == (raffle_id is None):
        raise CliError("give exactly one of --event EVENT and --raffle RAFFLE (for an RSU)")
    if raffle_id is not None and gate_id is not None:
        raise CliError("--gate goes with --event, not with --raffle")
    with settings.client() as client:
        if raffle_id is not None:
            body = {"code": code, "raffle_id": raffle_id}
            device = client.request("POST", "/v1/devices/approve", json_body=body)
        else:
            device = client.approve_device(code, str(event_id), gate_id)
    if as_json:
        emit_json(device)
        return
    if raffle_id is not None:
        click.echo(
            f"approved device {device.get('id')} ({device.get('name')}, {device.get('role')}) "
            f"for raffle {device.get('raffle_id')}"
        )
        click.echo(f"device key: {device.get('key_fingerprint')}")
        return
    click.echo(
        f"approved device {device.get('id')} ({device.get('name')}, {device.get('role')}) "
        f"for event {device.get('event_id')}"
        + (f", gate {device['gate_id']}" if device.get("gate_id") else ", any gate")
    )
    click.echo(f"device key: {device.get('key_fingerprint')}")


@device_group.command("revoke")
@click.argument("device_id")
@json_option
@pass_settings
def device_revoke_cmd(settings: AdminSettings, device_id: str, as_json: bool) -> None:
    """Revoke a device: its token stops working at once."""
    with settings.client() as client:
        device = client.revoke_device(device_id)
    if as_json:
        emit_json(device)
        return
    click.echo(f"revoked device {device.get('id')} ({device.get('name')})")


# -- conflicts and reports --------------------------------------------------------------


@admin.group("conflicts")
def conflicts_group() -> None:
    """Conflicts the server found while reconciling devices."""


def conflict_summary(conflict: dict[str, Any]) -> str:
    details = conflict.get("details")
    if not isinstance(details, dict):
        return cell(details)
    first, second = details.get("first"), details.get("second")
    if isinstance(first, dict) and isinstance(second, dict):
        return "; ".join(
            f"{label} {short(side.get('device_id'))} at {local_time(side.get('at'))}"
            for label, side in (("first", first), ("then", second))
        )
    text = json.dumps(details, sort_keys=True, default=str)
    return text if len(text) <= 80 else text[:79] + "…"


@conflicts_group.command("resolve")
@click.argument("conflict_id", type=click.IntRange(1))
@click.option("--note", required=True, help="How it was settled, e.g. 'refunded order 123'.")
@click.option(
    "--refund-sale",
    "refund_sale",
    type=click.IntRange(1),
    default=None,
    metavar="SALE_ID",
    help="A PIN redeemed twice: refund this petrol sale (its tickets are revoked).",
)
@json_option
@pass_settings
def conflicts_resolve_cmd(
    settings: AdminSettings, conflict_id: int, note: str, refund_sale: int | None, as_json: bool
) -> None:
    """Mark a conflict as settled, with what was done (kept with who and when).

    For a pin_redeemed_twice conflict, --refund-sale SALE_ID (a "sale_id" in the
    conflict's details) refunds that sale at once: its tickets are revoked as REFUNDED
    and the gates refuse them after their next pull; its seats stay sold.
    """
    with settings.client() as client:
        if refund_sale is None:
            conflict = client.resolve_conflict(conflict_id, note)
        else:
            conflict = client.request(
                "POST",
                f"/v1/conflicts/{conflict_id}/resolve",
                json_body={"resolution": note, "refund_sale_id": refund_sale},
            )
    if as_json:
        emit_json(conflict)
        return
    click.echo(
        f"conflict {conflict['id']} ({conflict['kind']} {conflict['subject']}) resolved "
        f"at {local_time(conflict.get('resolved_at'))}: {conflict.get('resolution')}"
    )
    refund = conflict.get("refund")
    if isinstance(refund, dict):
        click.echo(f"revoked tickets: {', '.join(refund.get('revoked') or []) or 'none'}")


@conflicts_group.command("list")
@click.option("--event", "event_id", default=None, help="Only this event's conflicts.")
@json_option
@pass_settings
def conflicts_list_cmd(settings: AdminSettings, event_id: str | None, as_json: bool) -> None:
    """List conflicts (double entries, forks, ...)."""
    with settings.client() as client:
        conflicts = client.list_conflicts(event_id)
    if as_json:
        emit_json(conflicts)
    elif not conflicts:
        click.echo("no conflicts")
    else:
        click.echo(
            table(
                ("id", "kind", "subject", "devices", "found", "resolved", "details"),
                [
                    (
                        c.get("id"),
                        c.get("kind"),
                        c.get("subject"),
                        [short(d) for d in c.get("devices") or []],
                        local_time(c.get("created_at")),
                        local_time(c.get("resolved_at")),
                        conflict_summary(c),
                    )
                    for c in conflicts
                ],
            )
        )


@admin.group("report")
def report_group() -> None:
    """Reports."""


def _count(value: Any) -> int:
    return value if isinstance(value, int) else 0


def format_attendance(report: dict[str, Any], event_name: str | None = None) -> str:
    """The attendance report as text: totals, per gate, per sector, 15-minute buckets."""
    tickets, attended = _count(report.get("tickets")), _count(report.get("attended"))
    title = f"{event_name} ({report.get('event_id')})" if event_name else report.get("event_id")
    parts = [
        f"Attendance of event {title}",
        f"tickets {tickets}, attended {attended} ({percent(attended, tickets)}), "
        f"inside now {_count(report.get('inside_now'))}",
        "",
        "Per gate",
    ]
    gates = report.get("per_gate") or []
    if gates:
        parts.append(
            table(
                ("gate", "entries", "exits", "rejected"),
                [
                    (
                        g.get("gate") or short(g.get("gate_id")),
                        _count(g.get("entries")),
                        _count(g.get("exits")),
                        _count(g.get("rejected")),
                    )
                    for g in gates
                ],
            )
        )
    else:
        parts.append("(no scans yet)")
    parts += ["", "Per sector"]
    sectors = report.get("per_sector") or []
    if sectors:
        parts.append(
            table(
                ("sector", "tickets", "attended", "share"),
                [
                    (
                        s.get("sector"),
                        _count(s.get("tickets")),
                        _count(s.get("attended")),
                        percent(_count(s.get("attended")), _count(s.get("tickets"))),
                    )
                    for s in sectors
                ],
            )
        )
    else:
        parts.append("(no tickets)")
    parts += ["", "Over time (15-minute buckets, local time)"]
    buckets = report.get("over_time") or []
    if buckets:
        parts.append(
            table(
                ("from", "to", "entries", "exits"),
                [
                    (
                        local_time(b.get("from")),
                        local_time(b.get("to")),
                        _count(b.get("entries")),
                        _count(b.get("exits")),
                    )
                    for b in buckets
                ],
            )
        )
    else:
        parts.append("(no entries yet)")
    return "\n".join(parts)


@report_group.command("attendance")
@event_option
@json_option
@pass_settings
def report_attendance_cmd(settings: AdminSettings, event_id: str, as_json: bool) -> None:
    """Attendance: per gate, per sector, and over time."""
    with settings.client() as client:
        report = client.attendance(event_id)
        name = None if as_json else client.get_event(event_id).get("name")
    if as_json:
        emit_json(report)
        return
    click.echo(format_attendance(report, name))


def money(cents: Any) -> str:
    return f"{cents // 100}.{cents % 100:02d}" if isinstance(cents, int) else "-"


def format_petrol(report: dict[str, Any], event_name: str | None = None) -> str:
    """The petrol report as text: per kiosk, per payment method, reprints, open conflicts."""
    title = f"{event_name} ({report.get('event_id')})" if event_name else report.get("event_id")
    total = report.get("total") or {}
    parts = [
        f"Petrol sales of event {title}",
        f"sales {_count(total.get('sales'))}, tickets {_count(total.get('tickets'))}, "
        f"amount {money(total.get('amount_cents'))}, cash to collect "
        f"{money(report.get('cash_to_collect_cents'))}, reprints {_count(report.get('reprints'))}",
        "",
        "Per kiosk",
    ]
    kiosks = report.get("per_kiosk") or []
    parts.append(
        table(
            (
                "kiosk",
                "sales",
                "tickets",
                "amount",
                "cash",
                "card",
                "cash to collect",
                "reprints",
                "refunded",
            ),
            [
                (
                    k.get("name") or short(k.get("device_id")),
                    _count(k.get("sales")),
                    _count(k.get("tickets")),
                    money(k.get("amount_cents")),
                    money(k.get("cash_cents")),
                    money(k.get("card_cents")),
                    money(k.get("cash_to_collect_cents")),
                    _count(k.get("reprints")),
                    _count(k.get("refunded")),
                )
                for k in kiosks
            ],
        )
        if kiosks
        else "(no petrol kiosks)"
    )
    parts += ["", "Per payment method"]
    parts.append(
        table(
            ("method", "sales", "tickets", "amount"),
            [
                (
                    m.get("method"),
                    _count(m.get("sales")),
                    _count(m.get("tickets")),
                    money(m.get("amount_cents")),
                )
                for m in report.get("per_method") or []
            ],
        )
    )
    doubles = report.get("open_double_redemptions") or []
    parts += ["", "Open double redemptions (settle with conflicts resolve --refund-sale)"]
    parts.append(
        table(
            ("conflict", "pin", "kiosks", "sales"),
            [
                (
                    d.get("conflict_id"),
                    d.get("pin"),
                    [short(x) for x in d.get("devices") or []],
                    ", ".join(str(x) for x in d.get("sales") or []),
                )
                for d in doubles
            ],
        )
        if doubles
        else "(none)"
    )
    return "\n".join(parts)


@report_group.command("petrol")
@event_option
@json_option
@pass_settings
def report_petrol_cmd(settings: AdminSettings, event_id: str, as_json: bool) -> None:
    """Petrol sales: per kiosk, per payment method, cash to collect, reprints, conflicts."""
    with settings.client() as client:
        report = client.request("GET", f"/v1/events/{segment(event_id)}/reports/petrol")
        name = None if as_json else client.get_event(event_id).get("name")
    if as_json:
        emit_json(report)
        return
    click.echo(format_petrol(report, name))


# -- petrol: PINs -----------------------------------------------------------------------


@admin.group("pins")
def pins_group() -> None:
    """PINs for petrol-station pick-up: create, import, list, cancel."""


def _holder_body(texts: Sequence[str]) -> list[dict[str, str]]:
    """Check each --holder locally with the server's own rules; the API's holder objects."""
    holders = []
    for number, text in enumerate(texts, start=1):
        try:
            holder = parse_holder(text)
        except HolderError as exc:
            raise CliError(f"--holder {number}: {exc.message}") from None
        data = holder.to_dict()
        data.pop("document_type")
        holders.append(data)
    return holders


def _holder_names(pin: dict[str, Any]) -> str:
    holders = pin.get("holders") or []
    return "; ".join(str(h.get("full_name")) for h in holders if isinstance(h, dict)) or "-"


def _pin_rows(pins: list[dict[str, Any]]) -> str:
    return table(
        ("pin", "status", "qty", "holders", "expires", "created", "id"),
        [
            (
                p.get("pin"),
                p.get("status"),
                p.get("quantity"),
                _holder_names(p),
                local_time(p.get("expires_at")),
                local_time(p.get("created_at")),
                p.get("id"),
            )
            for p in pins
        ],
    )


@pins_group.command("create")
@event_option
@click.option(
    "--quantity", type=click.IntRange(MIN_QUANTITY, MAX_QUANTITY), required=True, help="Tickets."
)
@click.option(
    "--holder",
    "holders",
    multiple=True,
    required=True,
    metavar="'NAME;YYYY-MM-DD;NATIONALITY;OIB_OR_PASSPORT'",
    help="One per ticket, e.g. 'Ana Horvat;1990-05-17;HR;69435151530'.",
)
@click.option("--expires", default=None, help="Expiry, ISO 8601 (default: the event's start).")
@click.option("--pin", "wanted", default=None, help="Use this 5-digit PIN (default: random).")
@json_option
@pass_settings
def pins_create_cmd(
    settings: AdminSettings,
    event_id: str,
    quantity: int,
    holders: tuple[str, ...],
    expires: str | None,
    wanted: str | None,
    as_json: bool,
) -> None:
    """Create a PIN for QUANTITY tickets, one --holder per ticket; prints its "pin"."""
    if len(holders) != quantity:
        raise CliError(
            f"--quantity is {quantity} but {len(holders)} --holder given: one per ticket"
        )
    if wanted is not None and not is_pin(wanted):
        raise CliError(f"--pin must be exactly 5 digits, got {wanted[:20]!r}")
    body: dict[str, Any] = {"quantity": quantity, "holders": _holder_body(holders)}
    if expires is not None:
        body["expires_at"] = iso_option(expires, "--expires")
    if wanted is not None:
        body["pin"] = wanted
    with settings.client() as client:
        pin = client.create_pin(event_id, body)
    if as_json:
        emit_json(pin)
        return
    click.echo(
        f"PIN {pin.get('pin')} for {pin.get('quantity')} ticket(s) "
        f"({_holder_names(pin)}), valid until {local_time(pin.get('expires_at'))}"
    )


def read_pin_csv(path: Path) -> tuple[bytes, int]:
    """The PIN file's bytes and number of data lines (the server checks every row)."""
    data, rows = read_csv_file(path)
    header = next(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    if "quantity" not in [name.strip().lower() for name in header]:
        raise CliError(
            f"{path}: the first line must be a header like pin,quantity,expires_at,holder_1,"
            f"holder_2 (found {','.join(header)[:80]!r})"
        )
    return data, rows


@pins_group.command("import")
@event_option
@click.argument("csv_file", metavar="FILE.csv", type=click.Path(path_type=Path))
@json_option
@pass_settings
def pins_import_cmd(settings: AdminSettings, event_id: str, csv_file: Path, as_json: bool) -> None:
    """Create PINs from a CSV: pin,quantity,expires_at,holder_1,...,holder_10.

    ``pin`` blank = a random PIN; ``expires_at`` blank = the event's start; each holder
    cell is NAME;YYYY-MM-DD;NATIONALITY;OIB_OR_PASSPORT. All or nothing: if any row is
    bad, every problem is listed and no PIN is created.
    """
    data, _rows = read_pin_csv(csv_file)
    with settings.client() as client:
        try:
            result = client.import_pins(event_id, data)
        except InvalidRows as problem:
            _print_row_errors(problem, PIN_CSV_COLUMNS)
            raise
    if as_json:
        emit_json(result)
        return
    created = result.get("pins") or []
    click.echo(f"created {result.get('imported')} PINs")
    click.echo(
        table(("line", "pin", "id"), [(p.get("line"), p.get("pin"), p.get("id")) for p in created])
    )


@pins_group.command("list")
@event_option
@click.option(
    "--status", type=click.Choice(PIN_STATUSES, case_sensitive=False), default=None, help="Filter."
)
@json_option
@pass_settings
def pins_list_cmd(
    settings: AdminSettings, event_id: str, status: str | None, as_json: bool
) -> None:
    """List an event's PINs with their holders (expired PINs show EXPIRED)."""
    with settings.client() as client:
        pins = client.list_pins(event_id, status.upper() if status else None)
    if as_json:
        emit_json(pins)
    elif not pins:
        click.echo("no PINs")
    else:
        click.echo(_pin_rows(pins))


@pins_group.command("cancel")
@click.argument("pin")
@click.option("--reason", default=None, help="Why (kept with the PIN).")
@json_option
@pass_settings
def pins_cancel_cmd(settings: AdminSettings, pin: str, reason: str | None, as_json: bool) -> None:
    """Cancel an ACTIVE PIN (by its 5 digits or its id)."""
    with settings.client() as client:
        cancelled = client.cancel_pin(pin.strip(), reason)
    if as_json:
        emit_json(cancelled)
        return
    click.echo(f"PIN {cancelled.get('pin')} is now {cancelled.get('status')}")


# -- petrol: sectors, seats and seat blocks ---------------------------------------------


def _range_option(value: str | None, option: str, *, letters: bool) -> str | None:
    if value is None:
        return None
    try:
        parse_labels(value, what=option, letters=letters)
    except RangeError as exc:
        raise CliError(str(exc)) from None
    return value


@admin.group("sector")
def sector_group() -> None:
    """Sectors of an event and their seats."""


@sector_group.command("add")
@event_option
@click.option("--name", required=True, help="Sector code, e.g. A or North.")
@click.option("--rows", required=True, help="Rows, e.g. A-Z or 1-40 (comma lists allowed).")
@click.option("--seats", required=True, help="Seats in each row, e.g. 1-30.")
@click.option(
    "--price",
    default=None,
    metavar="AMOUNT",
    help="Ticket price of the sector, VAT included, e.g. 25.00 (a price category named so).",
)
@click.option("--category", default=None, help="The price category's name (new ones need --price).")
@json_option
@pass_settings
def sector_add_cmd(
    settings: AdminSettings,
    event_id: str,
    name: str,
    rows: str,
    seats: str,
    price: str | None,
    category: str | None,
    as_json: bool,
) -> None:
    """Add a sector with rows x seats (seats that exist already are kept), and its price."""
    _range_option(rows, "--rows", letters=True)
    _range_option(seats, "--seats", letters=False)
    body: dict[str, Any] = {"name": name, "rows": rows, "seats": seats}
    if price is not None:
        body["price"] = price
    if category is not None:
        body["category"] = category
    with settings.client() as client:
        result = client.request("POST", f"/v1/events/{segment(event_id)}/sectors", json_body=body)
    if as_json:
        emit_json(result)
        return
    click.echo(
        f"sector {result.get('sector')}: {result.get('created')} seats added, "
        f"{result.get('total')} in total"
        + (f", price {result['price']}" if result.get("price") else "")
    )


@sector_group.command("list")
@event_option
@json_option
@pass_settings
def sector_list_cmd(settings: AdminSettings, event_id: str, as_json: bool) -> None:
    """Sectors with their seats: available, allocated to kiosks, sold."""
    with settings.client() as client:
        sectors = client.list_sectors(event_id)
    if as_json:
        emit_json(sectors)
    elif not sectors:
        click.echo("no sectors")
    else:
        columns = ("sector", "seats", "available", "allocated", "sold", "price")
        click.echo(
            table(
                columns,
                [[s.get(c) or "-" if c == "price" else s.get(c) for c in columns] for s in sectors],
            )
        )


@admin.group("seats")
def seats_group() -> None:
    """Seat blocks: the seats each petrol kiosk may sell."""


#: How `seats list` shows a block's state (RETURNING waits for its kiosk to sync).
_BLOCK_STATES = {"RETURNING": "RETURNING (until the kiosk syncs)"}


def _block_rows(blocks: list[dict[str, Any]]) -> str:
    return table(
        (
            "id",
            "device",
            "sector",
            "rows",
            "seats",
            "status",
            "count",
            "sold",
            "unsold",
            "returned",
        ),
        [
            (
                b.get("id"),
                b.get("device_name") or short(b.get("device_id")),
                b.get("sector"),
                b.get("rows"),
                b.get("seats"),
                _BLOCK_STATES.get(b.get("status"), b.get("status")),
                b.get("seat_count"),
                b.get("sold"),
                b.get("unsold"),
                b.get("returned"),
            )
            for b in blocks
        ],
    )


@seats_group.command("allocate")
@event_option
@click.option("--device", "device_id", required=True, help="The petrol kiosk's device id.")
@click.option("--sector", required=True, help="Sector code.")
@click.option("--rows", required=True, help="Rows, e.g. A-C.")
@click.option("--seats", default=None, help="Seats, e.g. 1-20 (default: the whole rows).")
@json_option
@pass_settings
def seats_allocate_cmd(
    settings: AdminSettings,
    event_id: str,
    device_id: str,
    sector: str,
    rows: str,
    seats: str | None,
    as_json: bool,
) -> None:
    """Allocate a block of seats to a petrol kiosk; refused if any seat is not free."""
    body: dict[str, Any] = {
        "device_id": device_id,
        "sector": sector,
        "rows": _range_option(rows, "--rows", letters=True),
    }
    if seats is not None:
        body["seats"] = _range_option(seats, "--seats", letters=False)
    with settings.client() as client:
        block = client.allocate_seats(event_id, body)
    if as_json:
        emit_json(block)
        return
    click.echo(
        f"allocated {block.get('seat_count')} seats (sector {block.get('sector')}, rows "
        f"{block.get('rows')}, seats {block.get('seats')}) to "
        f"{block.get('device_name') or block.get('device_id')}: block {block.get('id')}"
    )


@seats_group.command("list")
@event_option
@json_option
@pass_settings
def seats_list_cmd(settings: AdminSettings, event_id: str, as_json: bool) -> None:
    """The event's seat blocks with sold and unsold counts."""
    with settings.client() as client:
        blocks = client.list_seat_blocks(event_id)
    if as_json:
        emit_json(blocks)
    elif not blocks:
        click.echo("no seat blocks")
    else:
        click.echo(_block_rows(blocks))


@seats_group.command("return")
@click.argument("block_id")
@click.option(
    "--force",
    is_flag=True,
    help="Free the unsold seats now, without the kiosk (lost or revoked); needs --reason.",
)
@click.option("--reason", default=None, help="Why the kiosk cannot release it (audit log).")
@json_option
@pass_settings
def seats_return_cmd(
    settings: AdminSettings, block_id: str, force: bool, reason: str | None, as_json: bool
) -> None:
    """Take a block back: it is RETURNING until its kiosk syncs and releases the seats it
    did not sell (they then become available); sold seats stay sold. --force frees the
    unsold seats at once: what the kiosk sold offline and never synced may be sold twice."""
    if reason is not None and not force:
        raise CliError("--reason goes with --force")
    if force and (reason is None or not reason.strip()):
        raise CliError("--force needs --reason (why the kiosk cannot release the block)")
    with settings.client() as client:
        if force:
            block = client.request(
                "POST",
                f"/v1/seat-blocks/{segment(block_id)}/return",
                json_body={"force": True, "reason": reason},
            )
        else:
            block = client.return_seat_block(block_id)
    if as_json:
        emit_json(block)
    elif block.get("status") == "RETURNING":
        click.echo(
            f"block {block.get('id')} is RETURNING: its {block.get('unsold')} unsold seats "
            f"stay held until {block.get('device_name') or block.get('device_id')} syncs and "
            "releases them"
        )
    else:
        click.echo(
            f"block {block.get('id')} returned: {block.get('returned')} unsold seats freed, "
            f"{block.get('sold')} sold"
        )


# -- petrol: deeplink -------------------------------------------------------------------


def qr_text(payload: str) -> str:
    """``payload`` as a QR code drawn with text characters, for a terminal."""
    import qrcode

    code = qrcode.QRCode(border=2)
    code.add_data(payload)
    out = io.StringIO()
    code.print_ascii(out=out)
    return out.getvalue()


@event_group.command("deeplink")
@event_option
@json_option
@pass_settings
def event_deeplink_cmd(settings: AdminSettings, event_id: str, as_json: bool) -> None:
    """The event's petrol deeplink for the mobile app (created on first use), with its QR."""
    with settings.client() as client:
        link = client.petrol_deeplink(event_id)
    if as_json:
        emit_json(link)
        return
    click.echo(str(link.get("url")))
    click.echo(qr_text(str(link.get("qr_payload") or link.get("url"))))


# -- integration tokens (the app backend) --------------------------------------------------


@admin.group("integration-token")
def integration_token_group() -> None:
    """Tokens for the mobile app's backend (POST /v1/integration/pins)."""


@integration_token_group.command("create")
@click.option("--name", required=True, help="What uses it, e.g. 'app backend'.")
@json_option
@pass_settings
def integration_token_create_cmd(settings: AdminSettings, name: str, as_json: bool) -> None:
    """Create a token; prints it once ("token"): only its hash is kept on the server."""
    with settings.client() as client:
        created = client.request("POST", "/v1/integration-tokens", json_body={"name": name})
    if as_json:
        emit_json(created)
        return
    click.echo(f"integration token {created.get('id')} ({created.get('name')}):")
    click.echo(str(created.get("token")))
    click.echo("store it now: it is not shown again", err=True)


@integration_token_group.command("list")
@json_option
@pass_settings
def integration_token_list_cmd(settings: AdminSettings, as_json: bool) -> None:
    """The organization's integration tokens (never the tokens themselves)."""
    with settings.client() as client:
        answer = client.request("GET", "/v1/integration-tokens")
    tokens = answer.get("tokens") if isinstance(answer, dict) else None
    if not isinstance(tokens, list):
        raise CliError("the server answered without a 'tokens' list")
    if as_json:
        emit_json(tokens)
    elif not tokens:
        click.echo("no integration tokens")
    else:
        click.echo(
            table(
                ("id", "name", "status", "created", "last used"),
                [
                    (
                        t.get("id"),
                        t.get("name"),
                        t.get("status"),
                        local_time(t.get("created_at")),
                        local_time(t.get("last_used_at")),
                    )
                    for t in tokens
                ],
            )
        )


@integration_token_group.command("revoke")
@click.argument("token_id")
@json_option
@pass_settings
def integration_token_revoke_cmd(settings: AdminSettings, token_id: str, as_json: bool) -> None:
    """Revoke a token at once: the app backend's next request is refused."""
    with settings.client() as client:
        revoked = client.request("POST", f"/v1/integration-tokens/{segment(token_id)}/revoke")
    if as_json:
        emit_json(revoked)
        return
    click.echo(f"integration token {revoked.get('id')} ({revoked.get('name')}) revoked")


def _register_raffle() -> None:
    from fieldpass.cli import (  # noqa: F401 - register
        admin_raffle_results,
        admin_raffle_verify,
        admin_sessions,
    )
    from fieldpass.cli.admin_raffle import raffle

    admin.add_command(raffle)


_register_raffle()
