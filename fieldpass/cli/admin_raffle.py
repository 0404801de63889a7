"""``fieldpass admin raffle``: the raffle lifecycle up to sales — create, packages, prizes,
configure, allocate/deallocate number ranges, activate, seed commitment, close.

The results half (reconcile, confirm, draw, verify-draw, lookup, claim, reports) is in
:mod:`fieldpass.cli.admin_raffle_results`, registered on the same group.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal, InvalidOperation
from typing import Any

import click

from fieldpass.cli.admin_client import AdminClient, segment
from fieldpass.cli.admin_cmds import (
    AdminSettings,
    iso_option,
    json_option,
    local_time,
    pass_settings,
    table,
)
from fieldpass.cli.errors import CliError, emit_json

MAX_TICKETS = 1_000_000
#: Configure makes up to 1,000,000 rows in one request: give it longer than a usual call.
CONFIGURE_TIMEOUT = 600.0

raffle_argument = click.argument("raffle_id", metavar="RAFFLE")


@click.group("raffle")
def raffle() -> None:
    """Raffles: set up, sell through RSUs, reconcile and draw."""


def _path(raffle_id: str, *rest: str) -> str:
    return "/".join(["/v1/raffles", segment(raffle_id), *rest])


def money(cents: Any) -> str:
    """Cents as a decimal amount for people: 1250 -> '12.50'."""
    if not isinstance(cents, int):
        return "-"
    sign = "-" if cents < 0 else ""
    return f"{sign}{abs(cents) // 100}.{abs(cents) % 100:02d}"


def percent_option(value: str) -> str:
    """Check a percentage locally: more than 0, at most 100, at most 2 decimals."""
    try:
        number = Decimal(value.strip().rstrip("%"))
    except InvalidOperation:
        raise CliError(f"--percent: not a number: {value[:20]!r}") from None
    if not number.is_finite() or not Decimal(0) < number <= Decimal(100):
        raise CliError(f"--percent must be more than 0 and at most 100, got {value}")
    if number != number.quantize(Decimal("0.01")):
        raise CliError(f"--percent has at most 2 decimals, got {value}")
    return str(number)


def _raffle_line(view: dict[str, Any]) -> str:
    counts = view.get("counts") or {}
    return (
        f"raffle {view.get('id')} {view.get('name')!r}: {view.get('state')}, "
        f"{view.get('max_tickets')} tickets ({counts.get('available', 0)} available, "
        f"{counts.get('allocated', 0)} allocated, {counts.get('sold', 0)} sold)"
    )


def _raffle_rows(raffles: list[dict[str, Any]]) -> str:
    columns = ("id", "name", "state", "tickets", "allocated", "sold", "voided", "sales end")
    rows = []
    for r in raffles:
        counts = r.get("counts") or {}
        rows.append(
            (
                r.get("id"),
                r.get("name"),
                r.get("state"),
                r.get("max_tickets"),
                counts.get("allocated", 0),
                counts.get("sold", 0),
                counts.get("voided", 0),
                local_time(r.get("sales_end")),
            )
        )
    return table(columns, rows)


def _show(view: dict[str, Any]) -> str:
    lines = [
        _raffle_line(view),
        f"  licence: {view.get('licence_number') or '-'}   "
        f"jackpot seed: {money(view.get('jackpot_seed_cents'))}",
        f"  sales: {local_time(view.get('sales_start'))} .. {local_time(view.get('sales_end'))}"
        f"   draw: {local_time(view.get('draw_time'))}"
        f"   claim by: {local_time(view.get('claim_deadline'))}",
        f"  seed commitment: {view.get('seed_commitment') or '-'}",
    ]
    if view.get("suspension_reason"):
        lines.append(f"  suspended: {view['suspension_reason']}")
    if view.get("cancellation_reason"):
        lines.append(f"  cancelled: {view['cancellation_reason']}")
    packages = view.get("packages") or []
    if packages:
        lines += ["", _package_rows(packages)]
    prizes = view.get("prizes") or []
    if prizes:
        lines += ["", _prize_rows(prizes)]
    return "\n".join(lines)


def _package_rows(packages: list[dict[str, Any]]) -> str:
    return table(
        ("id", "package", "tickets", "price", "order", "active"),
        [
            (
                p.get("id"),
                p.get("name"),
                p.get("ticket_count"),
                money(p.get("price_cents")),
                p.get("display_order"),
                "yes" if p.get("is_active") else "no",
            )
            for p in packages
        ],
    )


def _prize_value(prize: dict[str, Any]) -> str:
    if prize.get("prize_type") == "percentage":
        return f"{prize.get('percentage')}%"
    return money(prize.get("value_cents"))


def _prize_rows(prizes: list[dict[str, Any]]) -> str:
    return table(
        ("position", "prize", "value", "winners", "id"),
        [
            (p.get("position"), p.get("name"), _prize_value(p), p.get("winner_count"), p.get("id"))
            for p in prizes
        ],
    )


def _allocation_rows(allocations: list[dict[str, Any]]) -> str:
    return table(
        ("id", "device", "start", "end", "size", "unsold", "sold", "voided", "active"),
        [
            (
                a.get("id"),
                a.get("device_name") or a.get("device_id"),
                a.get("start_number"),
                a.get("end_number"),
                a.get("size"),
                a.get("unsold"),
                a.get("sold"),
                a.get("voided"),
                "yes" if a.get("is_active") else "no",
            )
            for a in allocations
        ],
    )


# -- create, list, show -------------------------------------------------------------------


@raffle.command("create")
@click.option("--name", required=True, help="The raffle's name.")
@click.option(
    "--max-tickets",
    required=True,
    type=click.IntRange(1, MAX_TICKETS),
    help="How many numbered tickets (1..1,000,000).",
)
@click.option("--sales-start", default=None, help="Sales open, ISO 8601 (no offset = UTC).")
@click.option("--sales-end", default=None, help="Sales close, ISO 8601.")
@click.option("--draw-time", default=None, help="When the draw takes place, ISO 8601.")
@click.option("--claim-by", default=None, help="Prizes must be claimed by, ISO 8601.")
@click.option("--licence", default=None, help="The charitable gaming licence number.")
@click.option("--jackpot-seed", type=click.IntRange(0), default=None, help="Jackpot seed in cents.")
@click.option("--description", default=None, help="A description.")
@json_option
@pass_settings
def raffle_create_cmd(
    settings: AdminSettings,
    name: str,
    max_tickets: int,
    sales_start: str | None,
    sales_end: str | None,
    draw_time: str | None,
    claim_by: str | None,
    licence: str | None,
    jackpot_seed: int | None,
    description: str | None,
    as_json: bool,
) -> None:
    """Create a raffle (state created); add packages and prizes, then configure it."""
    body: dict[str, Any] = {"name": name, "max_tickets": max_tickets}
    optional = {
        "sales_start": iso_option(sales_start, "--sales-start"),
        "sales_end": iso_option(sales_end, "--sales-end"),
        "draw_time": iso_option(draw_time, "--draw-time"),
        "claim_deadline": iso_option(claim_by, "--claim-by"),
        "licence": licence,
        "jackpot_seed_cents": jackpot_seed,
        "description": description,
    }
    body.update({key: value for key, value in optional.items() if value is not None})
    with settings.client() as client:
        created = client.request("POST", "/v1/raffles", json_body=body)
    if as_json:
        emit_json(created)
        return
    click.echo(f"created {_raffle_line(created)}")


@raffle.command("list")
@json_option
@pass_settings
def raffle_list_cmd(settings: AdminSettings, as_json: bool) -> None:
    """The organization's raffles with their states and ticket counts."""
    with settings.client() as client:
        raffles = _list(client.request("GET", "/v1/raffles"), "raffles")
    if as_json:
        emit_json(raffles)
    elif not raffles:
        click.echo("no raffles")
    else:
        click.echo(_raffle_rows(raffles))


@raffle.command("show")
@raffle_argument
@json_option
@pass_settings
def raffle_show_cmd(settings: AdminSettings, raffle_id: str, as_json: bool) -> None:
    """One raffle: state, dates, licence, seed commitment, packages and prizes."""
    with settings.client() as client:
        view = client.request("GET", _path(raffle_id))
    if as_json:
        emit_json(view)
    else:
        click.echo(_show(view))


def _list(answer: Any, key: str) -> list[dict[str, Any]]:
    items = answer.get(key) if isinstance(answer, dict) else None
    if not isinstance(items, list):
        raise CliError(f"the server's answer has no {key!r} list")
    return items


# -- packages and prizes -----------------------------------------------------------------


@raffle.group("package")
def package_group() -> None:
    """Ticket packages of a raffle: 1 for 5, 3 for 10 and so on."""


@package_group.command("add")
@raffle_argument
@click.option("--name", required=True, help="The package's name, e.g. '3 for 10'.")
@click.option("--tickets", required=True, type=click.IntRange(1, MAX_TICKETS), help="Tickets.")
@click.option("--price", required=True, type=click.IntRange(0), help="Price in cents.")
@click.option("--order", type=int, default=None, help="Display order (default: last).")
@json_option
@pass_settings
def package_add_cmd(
    settings: AdminSettings,
    raffle_id: str,
    name: str,
    tickets: int,
    price: int,
    order: int | None,
    as_json: bool,
) -> None:
    """Add a package (refused once the raffle is active: prices are frozen)."""
    body: dict[str, Any] = {"name": name, "tickets": tickets, "price_cents": price}
    if order is not None:
        body["display_order"] = order
    with settings.client() as client:
        package = client.request("POST", _path(raffle_id, "packages"), json_body=body)
    if as_json:
        emit_json(package)
        return
    click.echo(
        f"package {package.get('name')!r}: {package.get('ticket_count')} tickets for "
        f"{money(package.get('price_cents'))} (id {package.get('id')})"
    )


@package_group.command("list")
@raffle_argument
@json_option
@pass_settings
def package_list_cmd(settings: AdminSettings, raffle_id: str, as_json: bool) -> None:
    """The raffle's packages."""
    with settings.client() as client:
        packages = _list(client.request("GET", _path(raffle_id, "packages")), "packages")
    if as_json:
        emit_json(packages)
    elif not packages:
        click.echo("no packages")
    else:
        click.echo(_package_rows(packages))


@raffle.group("prize")
def prize_group() -> None:
    """Prizes of a raffle, fixed or a percentage of revenue, in draw order."""


@prize_group.command("add")
@raffle_argument
@click.option("--name", required=True, help="The prize's name.")
@click.option("--position", required=True, type=click.IntRange(1), help="Draw order, from 1.")
@click.option("--fixed", type=click.IntRange(0), default=None, help="A fixed value in cents.")
@click.option("--percent", default=None, help="A percentage of revenue, e.g. 50 or 12.5.")
@click.option("--winners", type=click.IntRange(1), default=1, show_default=True)
@json_option
@pass_settings
def prize_add_cmd(
    settings: AdminSettings,
    raffle_id: str,
    name: str,
    position: int,
    fixed: int | None,
    percent: str | None,
    winners: int,
    as_json: bool,
) -> None:
    """Add a prize: exactly one of --fixed CENTS and --percent P."""
    if (fixed is None) == (percent is None):
        raise CliError("give exactly one of --fixed CENTS and --percent P")
    body: dict[str, Any] = {"name": name, "position": position, "winners": winners}
    if fixed is not None:
        body["fixed_cents"] = fixed
    else:
        body["percent"] = percent_option(str(percent))
    with settings.client() as client:
        prize = client.request("POST", _path(raffle_id, "prizes"), json_body=body)
    if as_json:
        emit_json(prize)
        return
    click.echo(
        f"prize {prize.get('position')}: {prize.get('name')!r}, {_prize_value(prize)} x "
        f"{prize.get('winner_count')} (id {prize.get('id')})"
    )


@prize_group.command("list")
@raffle_argument
@json_option
@pass_settings
def prize_list_cmd(settings: AdminSettings, raffle_id: str, as_json: bool) -> None:
    """The raffle's prizes in draw order."""
    with settings.client() as client:
        prizes = _list(client.request("GET", _path(raffle_id, "prizes")), "prizes")
    if as_json:
        emit_json(prizes)
    elif not prizes:
        click.echo("no prizes")
    else:
        click.echo(_prize_rows(prizes))


# -- configure ---------------------------------------------------------------------------


@contextmanager
def elapsed_line(label: str) -> Iterator[None]:
    """On a terminal, '<label>… 3s' ticking on stderr while the block runs."""
    if not sys.stderr.isatty():
        yield
        return
    done = threading.Event()
    started = time.monotonic()

    def tick() -> None:
        while not done.wait(1.0):
            click.echo(f"\r{label}… {time.monotonic() - started:.0f}s", err=True, nl=False)

    thread = threading.Thread(target=tick, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()
        click.echo("\r" + " " * (len(label) + 12) + "\r", err=True, nl=False)


@raffle.command("configure")
@raffle_argument
@json_option
@pass_settings
def raffle_configure_cmd(settings: AdminSettings, raffle_id: str, as_json: bool) -> None:
    """Generate every numbered ticket (the server does it in one request)."""
    started = time.monotonic()
    with settings.client() as client, elapsed_line("generating tickets"):
        answer = client.request(
            "POST",
            _path(raffle_id, "configure"),
            timeout=max(settings.timeout, CONFIGURE_TIMEOUT),
        )
    seconds = time.monotonic() - started
    if as_json:
        emit_json({**answer, "elapsed_seconds": round(seconds, 3)})
        return
    click.echo(
        f"raffle {raffle_id} is {answer.get('state')}: {answer.get('tickets')} tickets "
        f"generated in {seconds:.1f}s"
    )


# -- allocations -------------------------------------------------------------------------


@raffle.command("allocate")
@raffle_argument
@click.option("--device", "device_id", required=True, help="The RSU's device id.")
@click.option("--start", required=True, type=click.IntRange(1), help="First number.")
@click.option("--end", required=True, type=click.IntRange(1), help="Last number.")
@json_option
@pass_settings
def raffle_allocate_cmd(
    settings: AdminSettings, raffle_id: str, device_id: str, start: int, end: int, as_json: bool
) -> None:
    """Allocate the numbers START..END to an RSU (refused if any is not available)."""
    if start > end:
        raise CliError(f"--start {start} is after --end {end}")
    body = {"device_id": device_id, "start": start, "end": end}
    with settings.client() as client:
        allocation = client.request("POST", _path(raffle_id, "allocations"), json_body=body)
    if as_json:
        emit_json(allocation)
        return
    click.echo(
        f"allocated {allocation.get('start_number')}-{allocation.get('end_number')} "
        f"({allocation.get('size')} numbers) to "
        f"{allocation.get('device_name') or allocation.get('device_id')}: "
        f"allocation {allocation.get('id')}"
    )


@raffle.command("deallocate")
@raffle_argument
@click.argument("allocation_id")
@json_option
@pass_settings
def raffle_deallocate_cmd(
    settings: AdminSettings, raffle_id: str, allocation_id: str, as_json: bool
) -> None:
    """Return an allocation's unsold numbers; sold and voided ones stay as they are."""
    with settings.client() as client:
        answer = client.request(
            "POST", _path(raffle_id, "allocations", segment(allocation_id), "deallocate")
        )
    if as_json:
        emit_json(answer)
        return
    click.echo(
        f"allocation {answer.get('id')} ({answer.get('start_number')}-"
        f"{answer.get('end_number')}) returned: {answer.get('returned')} unsold numbers are "
        f"available again, {answer.get('sold')} sold, {answer.get('voided')} voided"
    )


@raffle.command("allocations")
@raffle_argument
@json_option
@pass_settings
def raffle_allocations_cmd(settings: AdminSettings, raffle_id: str, as_json: bool) -> None:
    """The raffle's allocations with unsold, sold and voided counts."""
    with settings.client() as client:
        allocations = _list(client.request("GET", _path(raffle_id, "allocations")), "allocations")
    if as_json:
        emit_json(allocations)
    elif not allocations:
        click.echo("no allocations")
    else:
        click.echo(_allocation_rows(allocations))


# -- transitions -------------------------------------------------------------------------


def _transition(
    settings: AdminSettings, raffle_id: str, action: str, body: dict[str, Any] | None = None
) -> dict[str, Any]:
    with settings.client() as client:
        return _post(client, raffle_id, action, body)


def _post(
    client: AdminClient, raffle_id: str, action: str, body: dict[str, Any] | None
) -> dict[str, Any]:
    return client.request("POST", _path(raffle_id, action), json_body=body)


def _state_command(action: str, help_text: str, *, reason: bool = False):
    """A transition command: POST /v1/raffles/RAFFLE/<action>, prints the new state."""

    def command(
        settings: AdminSettings, raffle_id: str, as_json: bool, reason: str | None = None
    ) -> None:
        body = None
        if reason is not None:
            if not reason.strip():
                raise CliError("--reason must not be empty")
            body = {"reason": reason}
        view = _transition(settings, raffle_id, action, body)
        if as_json:
            emit_json(view)
            return
        click.echo(_raffle_line(view))

    command.__doc__ = help_text
    decorated = pass_settings(command)
    decorated = json_option(decorated)
    if reason:
        decorated = click.option("--reason", required=True, help="Why (kept in the log).")(
            decorated
        )
    decorated = raffle_argument(decorated)
    return raffle.command(action)(decorated)


_state_command("activate", "Open sales (needs a package and a prize; parameters then freeze).")
_state_command("close", "Close sales (needs the seed commitment).")
_state_command("suspend", "Suspend sales, with a reason; `resume` reopens them.", reason=True)
_state_command("resume", "Resume a suspended raffle where it left off.")
_state_command(
    "cancel", "Cancel the raffle, with a reason (any state before completed).", reason=True
)


@raffle.command("commit-seed")
@raffle_argument
@json_option
@pass_settings
def raffle_commit_seed_cmd(settings: AdminSettings, raffle_id: str, as_json: bool) -> None:
    """Record the draw seed's commitment (sha256) before sales close; prints the hash."""
    answer = _transition(settings, raffle_id, "commit-seed")
    if as_json:
        emit_json(answer)
        return
    click.echo(answer.get("commitment"))
