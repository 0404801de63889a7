"""What every CSV import shares: UTF-8 decoding, the header check, records with line
numbers, and the all-or-nothing refusal listing the bad rows."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass

from fieldpass.server.errors import ApiError

#: The refusal lists at most this many problems (and says how many there were).
MAX_REPORTED_ERRORS = 1000


@dataclass(frozen=True)
class RowError:
    line: int
    message: str


@dataclass
class CsvRecords:
    """The non-blank records of a file as ``(line, {column: stripped value})``, the
    structural problems found (header, unreadable text, wrong field count), and the last
    line read."""

    records: list[tuple[int, dict[str, str]]]
    errors: list[RowError]
    last_line: int


def decode_csv(body: bytes) -> str:
    try:
        return body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ApiError("invalid", f"the CSV is not UTF-8 (byte {exc.start})") from exc


def read_records(
    text: str, *, allowed: Sequence[str], required: Sequence[str], expected_header: str
) -> CsvRecords:
    """Check the header against ``allowed``/``required``, then read every record."""
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        return CsvRecords([], [RowError(1, "the file is empty")], 1)
    except csv.Error as exc:
        return CsvRecords([], [RowError(1, f"unreadable CSV: {exc}")], 1)
    columns = [name.strip().lower() for name in header]
    unknown = [name for name in columns if name not in allowed]
    missing = [name for name in required if name not in columns]
    if unknown or missing or len(set(columns)) != len(columns):
        problems = []
        if unknown:
            problems.append("unknown column(s) " + ", ".join(repr(u[:30]) for u in unknown))
        if missing:
            problems.append("missing column(s) " + ", ".join(missing))
        if len(set(columns)) != len(columns):
            problems.append("a column appears twice")
        message = "; ".join(problems) + f" (expected header {expected_header})"
        return CsvRecords([], [RowError(1, message)], 1)
    found = CsvRecords([], [], 1)
    while True:
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            found.errors.append(RowError(reader.line_num, f"unreadable CSV: {exc}"))
            break
        line = found.last_line = reader.line_num
        if not record or all(not field.strip() for field in record):
            continue
        if len(record) != len(columns):
            found.errors.append(
                RowError(line, f"expected {len(columns)} fields, found {len(record)}")
            )
            continue
        found.records.append((line, dict(zip(columns, (f.strip() for f in record), strict=True))))
    return found


def invalid_rows(errors: list[RowError]) -> ApiError:
    """The 422 refusal of a whole import: nothing was written."""
    return ApiError(
        "invalid_rows",
        f"{len(errors)} invalid row(s); nothing was imported",
        status=422,
        extra={
            "invalid_count": len(errors),
            "errors": [
                {"line": e.line, "message": e.message} for e in errors[:MAX_REPORTED_ERRORS]
            ],
        },
    )
