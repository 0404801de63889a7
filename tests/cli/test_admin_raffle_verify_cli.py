"""``fieldpass admin raffle verify-draw FILE``: no server and no login; exit 0 and VERIFIED
on an untouched export, exit 1 with the reason on a tampered, malformed or missing file.

Files are built with ``fieldpass.sync.draw.run_draw`` + ``encode_record``, exactly as the
server's export writes them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import msgspec
import pytest
from click.testing import CliRunner, Result

from fieldpass.cli import cli
from fieldpass.sync.draw import DrawPrize, DrawRecord, encode_record, record_checksum, run_draw

PRIZES = [
    DrawPrize(
        prize_id="p-jackpot",
        position=1,
        name="Jackpot",
        prize_type="percentage",
        value_cents=None,
        percentage="50.00",
        winner_count=1,
    ),
    DrawPrize(
        prize_id="p-tv",
        position=2,
        name="Television",
        prize_type="fixed",
        value_cents=49_900,
        percentage=None,
        winner_count=2,
    ),
]


@pytest.fixture(scope="module")
def record() -> DrawRecord:
    return run_draw(
        raffle_id="raffle-42",
        raffle_name="Harbour 50/50",
        seed=bytes.fromhex("ab" * 32),
        beacon="lotto 2026-11-25: 4 8 15 16 23 42",
        sold_numbers=[n for n in range(1, 20_001) if n % 11],
        prizes=PRIZES,
        revenue_cents=3_141_593,
        drawn_at="2026-11-25T21:00:00+00:00",
    )


def write(tmp_path: Path, data: bytes, name: str = "draw.json") -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def run(*args: str) -> Result:
    result = CliRunner().invoke(cli, ["admin", "raffle", "verify-draw", *args])
    assert "Traceback" not in result.output
    assert not isinstance(result.exception, Exception) or isinstance(
        result.exception, SystemExit
    ), repr(result.exception)
    return result


def error_line(result: Result) -> str:
    assert result.exit_code == 1, result.output
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ")
    return last


def test_a_good_file_verifies(tmp_path, record):
    result = run(write(tmp_path, encode_record(record)))
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Harbour 50/50 (raffle-42)" in out
    assert record.commitment in out
    assert f"{record.sold_count:,} tickets" in out
    for winner in record.winners:
        assert f"number {winner.draw_number}," in out
    assert "position 1 Jackpot" in out and "15,707.96" in out  # floor(3,141,593 / 2) cents
    assert out.strip().splitlines()[-1].startswith("VERIFIED")
    assert "PROBLEM" not in out


def test_a_good_file_as_json(tmp_path, record):
    result = run(write(tmp_path, encode_record(record)), "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["verified"] is True and summary["problems"] == []
    assert summary["raffle_id"] == "raffle-42" and summary["sold_count"] == record.sold_count
    assert [w["draw_number"] for w in summary["winners"]] == [w.draw_number for w in record.winners]
    assert summary["winners"][0]["prize_name"] == "Jackpot"


def test_a_tampered_winner_fails_with_the_reason(tmp_path, record):
    winners = list(record.winners)
    honest = winners[1].draw_number
    forged_number = 2 if honest != 2 else 3
    winners[1] = msgspec.structs.replace(winners[1], draw_number=forged_number)
    forged = msgspec.structs.replace(record, winners=winners)
    forged = msgspec.structs.replace(forged, checksum=record_checksum(forged))
    result = run(write(tmp_path, encode_record(forged)))
    assert f"PROBLEM: winner 2: export says {forged_number}, recomputed {honest}" in result.stdout
    assert "VERIFIED" not in result.stdout
    assert error_line(result) == "error: the draw record does not verify (1 problem)"


def test_a_tampered_file_as_json(tmp_path, record):
    data = json.loads(encode_record(record))
    data["revenue_cents"] += 100
    result = run(write(tmp_path, json.dumps(data).encode()), "--json")
    assert result.exit_code == 1
    summary = json.loads(result.stdout)
    assert summary["verified"] is False
    assert any(p.startswith("checksum:") for p in summary["problems"])
    assert any("prize_value_cents: export says 1570796" in p for p in summary["problems"])


def test_an_edited_beacon_fails(tmp_path, record):
    data = encode_record(record).replace(b"4 8 15 16 23 42", b"4 8 15 16 23 43")
    result = run(write(tmp_path, data))
    assert "PROBLEM: checksum: export says" in result.stdout
    assert "PROBLEM: winner 1: export says" in result.stdout
    assert error_line(result).startswith("error: the draw record does not verify")


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "not a draw record"),
        (b"<html>502 Bad Gateway</html>", "not a draw record"),
        (b'{"raffle_id": "x"}', "missing required field"),
    ],
    ids=["empty", "html", "partial"],
)
def test_a_malformed_file_is_one_line(tmp_path, data, reason):
    path = write(tmp_path, data)
    result = run(path)
    line = error_line(result)
    assert line.startswith(f"error: {path}: ") and reason in line
    assert result.stdout == ""


def test_a_missing_file(tmp_path):
    result = run(str(tmp_path / "nowhere.json"))
    assert "cannot read" in error_line(result) and "No such file" in error_line(result)


def test_needs_no_server_and_no_login(tmp_path, record):
    """A real process with an empty config dir and no server URL: verification still runs."""
    path = write(tmp_path, encode_record(record))
    env = {
        **os.environ,
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
    }
    env.pop("FIELDPASS_URL", None)
    done = subprocess.run(
        [sys.executable, "-m", "fieldpass", "admin", "raffle", "verify-draw", path],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1].startswith("VERIFIED")


def test_help():
    result = CliRunner().invoke(cli, ["admin", "raffle", "verify-draw", "--help"])
    assert result.exit_code == 0
    assert "no server" in result.output.lower()
