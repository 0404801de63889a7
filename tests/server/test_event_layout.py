"""``POST /v1/events`` with a venue layout (SQLite and PostgreSQL): every sector and seat
(and sector price) created with the event in one transaction, or, with any bad line, a
422 naming each bad line and nothing created, not even the event."""

from __future__ import annotations

import sqlalchemy as sa

from fieldpass.server import schema
from tests.server.test_pins import EVENT_START

LAYOUT = "sector,rows,seats,price\nNorth,A-Z,1-30,25.00\nSouth,1-10,1-20\nVIP,A-B,1-5,80\n"


def _counts(engine) -> tuple[int, int, int, int]:
    with engine.connect() as conn:
        return tuple(
            conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
            for table in (schema.events, schema.sectors, schema.seats, schema.price_categories)
        )


def _create(admin, layout: str):
    return admin.post(
        "/v1/events", json={"name": "Derby", "starts_at": EVENT_START, "layout": layout}
    )


def test_layout_creates_every_sector_seat_and_price(harness, engine):
    admin = harness.admin()
    result = _create(admin, LAYOUT)
    assert result.status_code == 201, result.text
    layout = result.json["layout"]
    assert layout["seats"] == 26 * 30 + 10 * 20 + 2 * 5
    assert [(s["sector"], s["price"]) for s in layout["sectors"]] == [
        ("North", "25.00"),
        ("South", None),
        ("VIP", "80.00"),
    ]
    sectors = admin.get(f"/v1/events/{result.json['id']}/sectors").json["sectors"]
    assert {s["sector"]: s["available"] for s in sectors} == {"North": 780, "South": 200, "VIP": 10}
    assert _counts(engine) == (1, 3, 990, 2)


def test_a_headerless_layout_is_read_too(harness, engine):
    admin = harness.admin()
    result = _create(admin, "North,A-C,1-3,25.00\n")
    assert result.status_code == 201, result.text
    assert _counts(engine) == (1, 1, 9, 1)


def test_bad_lines_are_all_named_and_nothing_is_created(harness, engine):
    admin = harness.admin()
    bad = (
        "sector,rows,seats,price\n"
        "North,A-Z,1-30,25.00\n"
        "South,A-?,1-20\n"  # line 3: bad rows
        "East,A-B\n"  # line 4: too few fields
        "North,A,1-5\n"  # line 5: duplicate sector
        "West,A-B,1-5,cheap\n"  # line 6: bad price
    )
    result = _create(admin, bad)
    assert result.status_code == 422 and result.json["code"] == "invalid_rows", result.text
    lines = [e["line"] for e in result.json["errors"]]
    assert lines == [3, 4, 5, 6]
    assert "also on line 2" in result.json["errors"][2]["message"]
    assert "price" in result.json["errors"][3]["message"]
    assert _counts(engine) == (0, 0, 0, 0)
    empty = _create(admin, "sector,rows,seats,price\n")
    assert empty.status_code == 422 and "no sector lines" in empty.text
    assert _counts(engine) == (0, 0, 0, 0)
