"""``fieldpass admin raffle`` after sales: reconcile, confirm, draw, export the draw, look
up and claim by validation number, and the reports of the standard (with CSV export).

``verify-draw`` (no server needed) is in :mod:`fieldpass.cli.admin_raffle_verify`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import msgspec

from fieldpass.cli.admin_client import segment
from fieldpass.cli.admin_cmds import AdminSettings, json_option, local_time, pass_settings, table
from fieldpass.cli.admin_raffle import money, raffle, raffle_argument
from fieldpass.cli.csv_export import write_csv_file
from fieldpass.cli.errors import CliError, emit_json
from fieldpass.sync.draw import DrawRecord, encode_record, verify_record
from fieldpass.sync.validation_numbers import (
    ValidationNumberError,
    format_validation_number,
    parse_validation_number,
)

REPORT_KINDS = (
    "drawing",
    "exceptions",
    "bearer",
    "sales-by-rsu",
    "voided",
    "rsu-events",
    "rsu-corruption",
)
#: Report columns holding cents (shown as amounts in the text table; raw in CSV/JSON).
_CENTS_SUFFIX = "_cents"


def _path(raffle_id: str, *rest: str) -> str:
    return "/".join(["/v1/raffles", segment(raffle_id), *rest])


def _validation(text: str) -> str:
    try:
        return parse_validation_number(text)
    except ValidationNumberError as exc:
        raise CliError(f"VALIDATION: {exc}") from None


def _yes(value: Any) -> str:
    return "yes" if value else "NO"


# -- reconcile and confirm -------------------------------------------------------------------


def format_reconciliation(view: dict[str, Any]) -> str:
    """The per-RSU view as text, ending with what blocks confirmation (or that nothing does)."""
    rsus = view.get("rsus") or []
    parts = [f"Reconciliation of raffle {view.get('name')!r} ({view.get('raffle_id')}): "
             f"{view.get('state')}"]  # fmt: skip
    if rsus:
        parts.append(
            table(
                (
                    "rsu",
                    "terminal",
                    "allocated",
                    "sold",
                    "voided",
                    "unsold",
                    "orders",
                    "cash",
                    "card",
                    "last seq",
                    "close seq",
                    "complete",
                    "conflicts",
                ),
                [
                    (
                        v.get("name"),
                        v.get("terminal_number"),
                        v.get("allocated"),
                        v.get("sold"),
                        v.get("voided"),
                        v.get("unsold"),
                        v.get("orders"),
                        money(v.get("cash_cents")),
                        money(v.get("card_cents")),
                        v.get("accepted_seq"),
                        v.get("close_seq"),
                        _yes(v.get("complete")),
                        len(v.get("open_conflicts") or []),
                    )
                    for v in rsus
                ],
            )
        )
    else:
        parts.append("(no RSUs)")
    totals = view.get("totals") or {}
    parts.append(
        f"totals: {totals.get('sold', 0)} sold, {totals.get('voided', 0)} voided, "
        f"{totals.get('unsold', 0)} unsold at RSUs, {totals.get('available', 0)} never "
        f"allocated; {totals.get('orders', 0)} orders ({totals.get('voided_orders', 0)} voided); "
        f"cash {money(totals.get('cash_cents'))}, card {money(totals.get('card_cents'))}, "
        f"revenue {money(totals.get('revenue_cents'))}"
    )
    if view.get("confirmed_at"):
        parts.append(
            f"confirmed at {local_time(view.get('confirmed_at'))} by {view.get('confirmed_by')}"
            + (f" (override: {view['override_reason']})" if view.get("override_reason") else "")
        )
        return "\n".join(parts)
    blocking = view.get("blocking") or []
    if blocking:
        parts.append("BLOCKS CONFIRMATION:")
        for entry in blocking:
            parts.append(f"  {entry.get('name')}: {'; '.join(entry.get('blockers') or [])}")
        parts.append(
            "fix these (sync or close the RSU, resolve its conflicts) or confirm with "
            "--override-reason TEXT (recorded in the exceptions and RSU corruption reports)"
        )
    elif view.get("can_confirm"):
        parts.append(
            f"nothing blocks confirmation: fieldpass admin raffle confirm {view.get('raffle_id')}"
        )
    return "\n".join(parts)


@raffle.command("reconcile")
@raffle_argument
@json_option
@pass_settings
def reconcile_cmd(settings: AdminSettings, raffle_id: str, as_json: bool) -> None:
    """Per-RSU reconciliation after sales close: numbers allocated, sold, voided, unsold;
    cash and card; last and close seq; open conflicts; and what blocks confirmation.

    Taking the view of a raffle whose sales closed starts reconciling (state reconciling).
    """
    with settings.client() as client:
        view = client.request("GET", _path(raffle_id, "reconciliation"))
    if as_json:
        emit_json(view)
        return
    click.echo(format_reconciliation(view))


@raffle.command("confirm")
@raffle_argument
@click.option(
    "--override-reason",
    default=None,
    help="Confirm although some RSU cannot be reconciled; the reason is recorded.",
)
@json_option
@pass_settings
def confirm_cmd(
    settings: AdminSettings, raffle_id: str, override_reason: str | None, as_json: bool
) -> None:
    """Confirm the reconciliation (records who and when); then the raffle can be drawn."""
    body: dict[str, Any] = {}
    if override_reason is not None:
        if not override_reason.strip():
            raise CliError("--override-reason must not be empty")
        body["override_reason"] = override_reason.strip()
    with settings.client() as client:
        view = client.request("POST", _path(raffle_id, "confirm"), json_body=body)
    if as_json:
        emit_json(view)
        return
    overridden = [b.get("name") for b in view.get("blocking") or []]
    click.echo(
        f"reconciliation of raffle {view.get('name')!r} confirmed at "
        f"{local_time(view.get('confirmed_at'))}; state {view.get('state')}"
    )
    if overridden:
        click.echo(f"overridden RSUs: {', '.join(str(n) for n in overridden)}")


# -- draw and export ------------------------------------------------------------------------


def _winner_rows(winners: list[dict[str, Any]]) -> str:
    return table(
        ("pick", "position", "prize", "value", "number", "validation", "claim"),
        [
            (
                (w.get("pick") or 0) + 1,
                w.get("position"),
                w.get("prize_name"),
                money(w.get("prize_value_cents")),
                w.get("draw_number"),
                format_validation_number(w["validation_number"])
                if w.get("validation_number")
                else "-",
                w.get("claim_status"),
            )
            for w in winners
        ],
    )


@raffle.command("draw")
@raffle_argument
@click.option("--beacon", default=None, help="Public randomness to mix in (e.g. a block hash).")
@json_option
@pass_settings
def draw_cmd(settings: AdminSettings, raffle_id: str, beacon: str | None, as_json: bool) -> None:
    """Draw a reconciled raffle: reveal the committed seed, mix in the beacon, pick winners."""
    body = {"beacon": beacon} if beacon is not None else {}
    with settings.client() as client:
        result = client.request("POST", _path(raffle_id, "draw"), json_body=body)
    if as_json:
        emit_json(result)
        return
    click.echo(
        f"raffle {result.get('raffle_name')!r} drawn at {local_time(result.get('drawn_at'))}"
    )
    click.echo(f"commitment: {result.get('commitment')}")
    click.echo(f"seed:       {result.get('seed')}")
    click.echo(
        f"beacon:     {result.get('beacon')!r}" if result.get("beacon") else "beacon:     (none)"
    )
    click.echo(
        f"sold:       {result.get('sold_count')} tickets; revenue {money(result.get('revenue_cents'))}"
    )
    click.echo(f"checksum:   {result.get('checksum')}")
    click.echo(_winner_rows(result.get("winners") or []))


@raffle.command("export-draw")
@raffle_argument
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@pass_settings
def export_draw_cmd(settings: AdminSettings, raffle_id: str, file: Path) -> None:
    """Write the draw record (canonical JSON) to FILE, for `verify-draw`."""
    with settings.client() as client:
        answer = client.request("GET", _path(raffle_id, "draw", "export"))
    try:
        record = msgspec.convert(answer, DrawRecord)
    except msgspec.ValidationError as exc:
        raise CliError(f"the server's draw record is not valid: {exc}") from None
    data = encode_record(record)  # canonical: byte for byte what the server stored
    problems = verify_record(data)
    try:
        file.write_bytes(data)
    except OSError as exc:
        raise CliError(f"cannot write {file}: {exc.strerror or exc}") from None
    click.echo(f"wrote the draw record of {record.raffle_name!r} to {file} ({len(data)} bytes)")
    if problems:
        raise CliError(f"the exported record does not verify: {problems[0]}")


# -- lookup and claim -----------------------------------------------------------------------


def format_order(order: dict[str, Any]) -> str:
    numbers = ", ".join(
        f"{t.get('draw_number')}" + ("" if t.get("state") == "sold" else f" ({t.get('state')})")
        for t in order.get("tickets") or []
    )
    lines = [
        f"validation {order.get('validation_number_formatted')}: raffle "
        f"{order.get('raffle_name')!r} ({order.get('raffle_state')})",
        f"order {order.get('order_id')}: {order.get('package')}, {order.get('ticket_count')} "
        f"ticket(s), {money(order.get('total_amount_cents'))} {order.get('payment_method')}, "
        f"{order.get('payment_status')}; sold {local_time(order.get('sold_at'))} at "
        f"{order.get('rsu_name') or order.get('source')}",
        f"numbers: {numbers or '-'}",
    ]
    if order.get("voided_at"):
        lines.append(f"voided {local_time(order.get('voided_at'))}: {order.get('void_reason')}")
    if order.get("not_applied"):
        lines.append(
            "reported but not applied (see conflicts): "
            + ", ".join(str(n) for n in order["not_applied"])
        )
    prizes = order.get("prizes") or []
    if prizes:
        for prize in prizes:
            claim = prize.get("claim_status")
            if claim == "claimed":
                claim = f"claimed {local_time(prize.get('claimed_at'))}"
            lines.append(
                f"PRIZE {prize.get('position')} {prize.get('prize_name')!r}: number "
                f"{prize.get('draw_number')}, {money(prize.get('prize_value_cents'))}, {claim}"
            )
    elif order.get("raffle_state") == "completed":
        lines.append("no prize")
    return "\n".join(lines)


@raffle.command("lookup")
@click.argument("validation")
@json_option
@pass_settings
def lookup_cmd(settings: AdminSettings, validation: str, as_json: bool) -> None:
    """Look up a validation number (dashes allowed): the order, all its tickets, prizes."""
    canonical = _validation(validation)
    with settings.client() as client:
        # in the body, not the URL: validation numbers never reach an access log
        order = client.request(
            "POST", "/v1/raffle-orders/lookup", json_body={"validation_number": canonical}
        )
    if as_json:
        emit_json(order)
        return
    click.echo(format_order(order))


@raffle.command("claim")
@click.argument("validation")
@json_option
@pass_settings
def claim_cmd(settings: AdminSettings, validation: str, as_json: bool) -> None:
    """Claim the prize(s) of a validation number (a bearer ticket: whoever holds the
    receipt); refused when it won nothing or was claimed already."""
    canonical = _validation(validation)
    with settings.client() as client:
        order = client.request(
            "POST", "/v1/raffle-orders/claim", json_body={"validation_number": canonical}
        )
    if as_json:
        emit_json(order)
        return
    for prize in order.get("claimed") or []:
        click.echo(
            f"claimed prize {prize.get('position')} {prize.get('prize_name')!r} "
            f"({money(prize.get('prize_value_cents'))}) for number {prize.get('draw_number')} "
            f"of {format_validation_number(canonical)}"
        )


# -- reports ----------------------------------------------------------------------------------


def _text_value(column: str, value: Any) -> Any:
    if column.endswith(_CENTS_SUFFIX) and isinstance(value, int):
        return money(value)
    return value


def format_report(report: dict[str, Any]) -> str:
    columns = report.get("columns") or []
    rows = report.get("rows") or []
    parts = [f"{report.get('kind')} report of raffle {report.get('raffle_name')!r}"]
    summary = report.get("summary")
    if isinstance(summary, dict):
        for key, value in summary.items():
            if key.endswith(_CENTS_SUFFIX):
                key, value = key.removesuffix(_CENTS_SUFFIX), money(value)
            parts.append(f"{key}: {'-' if value is None else value}")
    if rows:
        headers = [c.removesuffix(_CENTS_SUFFIX) for c in columns]
        parts.append(
            table(
                headers,
                [[_text_value(c, v) for c, v in zip(columns, row, strict=False)] for row in rows],
            )  # fmt: skip
        )
    else:
        parts.append("(no rows)")
    return "\n".join(parts)


def write_csv(path: Path, report: dict[str, Any]) -> int:
    """The report's columns and rows as CSV (raw values: cents, ISO times; formula-like
    text neutralised); rows written."""
    return write_csv_file(path, report.get("columns") or [], report.get("rows") or [])


@raffle.command("report")
@raffle_argument
@click.argument("kind", type=click.Choice(REPORT_KINDS))
@click.option(
    "--csv",
    "csv_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write the rows to this CSV file.",
)
@json_option
@pass_settings
def report_cmd(
    settings: AdminSettings, raffle_id: str, kind: str, csv_file: Path | None, as_json: bool
) -> None:
    """A report of the standard: drawing, exceptions, bearer, sales-by-rsu, voided,
    rsu-events or rsu-corruption."""
    with settings.client() as client:
        report = client.request("GET", _path(raffle_id, "reports", kind))
    if csv_file is not None:
        count = write_csv(csv_file, report)
        if not as_json:
            click.echo(f"wrote {count} row(s) of the {kind} report to {csv_file}")
            return
    if as_json:
        emit_json(report)
        return
    click.echo(format_report(report))
