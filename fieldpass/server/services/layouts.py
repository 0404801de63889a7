"""A venue layout: every sector, row and seat of a new event from one CSV, all or nothing.

The file has one line per sector, ``sector,rows,seats[,price]`` (e.g.
``North,A-Z,1-30,25.00``), with an optional header line ``sector,rows,seats,price``. Each
line is checked with the rules of ``sector add`` (``seats.check_sector``: labels parsed by
``fieldpass.sync.seating.parse_labels``, the seat limit, the price); every problem is
reported with its line number and nothing is created. Valid lines are then added with
``seats.add_sector_in`` in the event's creation transaction.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from fieldpass.server.errors import ApiError
from fieldpass.server.services import seats
from fieldpass.server.services.csv_import import RowError, invalid_rows

LAYOUT_COLUMNS = ("sector", "rows", "seats", "price")
#: The most seats one layout may create (a large stadium is under 100,000).
MAX_LAYOUT_SEATS = 200_000
MAX_LAYOUT_LINES = 1000


@dataclass(frozen=True)
class LayoutLine:
    line: int
    body: seats.SectorCreate
    checked: tuple[str, list[str], list[str], int | None]


def parse_layout(text: str) -> list[LayoutLine]:
    """Every line of the layout checked; raises ``invalid_rows`` (422) listing each problem."""
    lines: list[LayoutLine] = []
    errors: list[RowError] = []
    first_line: dict[str, int] = {}
    reader = csv.reader(io.StringIO(text))
    total = 0
    try:
        for record in reader:
            line = reader.line_num
            cells = [cell.strip() for cell in record]
            if not cells or not any(cells):
                continue
            if not lines and not errors and cells[0].lower() == "sector":
                continue  # the header
            if len(lines) + len(errors) >= MAX_LAYOUT_LINES:
                errors.append(RowError(line, f"more than {MAX_LAYOUT_LINES} sectors"))
                break
            if len(cells) not in (3, 4):
                errors.append(
                    RowError(line, f"expected sector,rows,seats[,price], found {len(cells)} fields")
                )
                continue
            price = cells[3] if len(cells) == 4 and cells[3] else None
            body = seats.SectorCreate(name=cells[0], rows=cells[1], seats=cells[2], price=price)
            try:
                checked = seats.check_sector(body)
            except ApiError as exc:
                errors.append(RowError(line, exc.message))
                continue
            code = checked[0]
            if code in first_line:
                errors.append(RowError(line, f"sector {code} is also on line {first_line[code]}"))
                continue
            first_line[code] = line
            total += len(checked[1]) * len(checked[2])
            lines.append(LayoutLine(line, body, checked))
    except csv.Error as exc:
        errors.append(RowError(reader.line_num, f"unreadable CSV: {exc}"))
    if not lines and not errors:
        errors.append(RowError(1, "the layout has no sector lines"))
    if total > MAX_LAYOUT_SEATS and not errors:
        errors.append(RowError(1, f"{total} seats is more than {MAX_LAYOUT_SEATS} in one layout"))
    if errors:
        raise invalid_rows(errors)
    return lines


def apply_layout(
    conn: sa.Connection,
    org_id: str,
    actor: str,
    event_id: str,
    lines: list[LayoutLine],
    *,
    now: int,
    new_id: Callable[[], str],
) -> dict[str, Any]:
    """In the event's creation transaction: add every sector with its seats and price."""
    added = [
        seats.add_sector_in(
            conn, org_id, actor, event_id, item.body, item.checked, now=now, new_id=new_id
        )
        for item in lines
    ]
    return {
        "sectors": [
            {"sector": a["sector"], "seats": a["created"], "price": a["price"]} for a in added
        ],
        "seats": sum(a["created"] for a in added),
    }
