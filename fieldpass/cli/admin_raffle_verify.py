"""``fieldpass admin raffle verify-draw FILE``: recompute a draw from its exported record,
with no server and no database."""

from __future__ import annotations

from pathlib import Path

import click

from fieldpass.cli.admin_raffle import raffle
from fieldpass.cli.errors import CliError, emit_json
from fieldpass.sync.draw import DrawError, DrawRecord, decode_record, verify_record

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror or exc}") from None


def _prize_names(record: DrawRecord) -> dict[str, str]:
    return {prize.prize_id: prize.name for prize in record.prizes}


def _summary(record: DrawRecord, problems: list[str]) -> dict:
    names = _prize_names(record)
    return {
        "verified": not problems,
        "problems": problems,
        "version": record.version,
        "raffle_id": record.raffle_id,
        "raffle_name": record.raffle_name,
        "drawn_at": record.drawn_at,
        "commitment": record.commitment,
        "beacon": record.beacon,
        "revenue_cents": record.revenue_cents,
        "sold_count": record.sold_count,
        "sold_ranges": len(record.sold_ranges),
        "sold_sha256": record.sold_sha256,
        "checksum": record.checksum,
        "winners": [
            {
                "pick": winner.pick,
                "position": winner.position,
                "prize_id": winner.prize_id,
                "prize_name": names.get(winner.prize_id, ""),
                "draw_number": winner.draw_number,
                "prize_value_cents": winner.prize_value_cents,
            }
            for winner in record.winners
        ],
    }


def _money(cents: int) -> str:
    return f"{cents // 100:,}.{cents % 100:02d}"


def _print_text(record: DrawRecord, problems: list[str]) -> None:
    names = _prize_names(record)
    click.echo(f"raffle:      {record.raffle_name} ({record.raffle_id})")
    click.echo(f"drawn at:    {record.drawn_at}")
    click.echo(f"commitment:  {record.commitment}")
    click.echo(f"seed:        {record.seed}")
    click.echo(f"beacon:      {record.beacon!r}" if record.beacon else "beacon:      (none)")
    click.echo(
        f"sold:        {record.sold_count:,} tickets in {len(record.sold_ranges):,} "
        f"range{'' if len(record.sold_ranges) == 1 else 's'}, sha256 {record.sold_sha256}"
    )
    click.echo(f"revenue:     {_money(record.revenue_cents)}")
    click.echo(f"checksum:    {record.checksum}")
    click.echo(f"winners:     {len(record.winners)}")
    for winner in record.winners:
        click.echo(
            f"  {winner.pick + 1:>3}. position {winner.position} "
            f"{names.get(winner.prize_id, winner.prize_id)}: "
            f"number {winner.draw_number}, {_money(winner.prize_value_cents)}"
        )
    if problems:
        for problem in problems:
            click.echo(f"PROBLEM: {problem}")
    else:
        click.echo("VERIFIED: commitment, checksum, sold list and every winner recompute")


@raffle.command("verify-draw")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@json_option
def verify_draw_cmd(file: Path, as_json: bool) -> None:
    """Recompute the winners of an exported draw record (from `export-draw`) and check it.

    Needs no server and no login. Exit 0 when the seed matches its commitment, the sold
    list matches its count and hash, the checksum matches and every winner recomputes;
    otherwise every difference is listed and the exit status is 1.
    """
    data = _read(file)
    try:
        record = decode_record(data)
    except DrawError as exc:
        raise CliError(f"{file}: {exc}") from None
    problems = verify_record(data)
    if as_json:
        emit_json(_summary(record, problems))
    else:
        _print_text(record, problems)
    if problems:
        count = f"{len(problems)} problem" + ("s" if len(problems) != 1 else "")
        raise CliError(f"the draw record does not verify ({count})")
