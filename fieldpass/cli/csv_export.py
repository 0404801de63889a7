"""CSV files the CLI writes for spreadsheets: one writer, formulas neutralised.

A text cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is run as
a formula by spreadsheet programs (``=HYPERLINK(...)`` in a device name became a link);
such a cell is written with a leading ``'`` so it shows as the text it is. Numbers stay
numbers (-5 is not a formula). The admin console's CSV export applies the same rule.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from fieldpass.cli.errors import CliError

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """The value as a spreadsheet should show it: None is empty, formula-like text quoted."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def write_csv_file(path: Path, columns: Sequence[Any], rows: Iterable[Sequence[Any]]) -> int:
    """Write the header and rows (RFC 4180 quoting, formulas neutralised); rows written."""
    count = 0
    try:
        with path.open("w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow([safe_cell(c) for c in columns])
            for row in rows:
                writer.writerow([safe_cell(v) for v in row])
                count += 1
    except OSError as exc:
        raise CliError(f"cannot write {path}: {exc.strerror or exc}") from None
    return count
