"""The RSU's raffle tables: applying the pull slice, allocations keeping their
``next_number``, deactivation, resets, and own data surviving re-pulls."""

from __future__ import annotations

import sqlite3

import pytest

from fieldpass.device import raffle_store

from .raffle_fixtures import RAFFLE_ID, Rsu


@pytest.fixture
def rsu(tmp_path):
    device = Rsu(tmp_path / "store.sqlite").seed([(1, 10), (50, 59)])
    yield device
    device.close()


def test_the_pull_slice_lands_in_its_tables(rsu):
    conn = rsu.store.conn
    raffle = raffle_store.raffle(conn, RAFFLE_ID)
    assert (raffle.name, raffle.state, raffle.licence_number) == ("Club raffle", "active", "LIC-77")
    assert raffle.jackpot_estimate_cents == 150_000
    assert [(p.name, p.ticket_count, p.price_cents) for p in raffle_store.packages(conn)] == [
        ("1 for 5", 1, 500),
        ("3 for 10", 3, 1000),
        ("10 for 20", 10, 2000),
    ]
    assert raffle_store.rsu(conn, "rsu-1").terminal_number == 42
    assert conn.execute("SELECT name, position FROM raffle_prize").fetchall() == [("Car", 1)]
    assert [
        (a.start_number, a.end_number, a.next_number) for a in raffle_store.allocations(conn)
    ] == [
        (1, 10, 1),
        (50, 59, 50),
    ]
    assert raffle_store.capacity(conn, RAFFLE_ID) == (20, 20)


def test_a_resent_allocation_keeps_next_number_and_deactivation_stops_it(rsu):
    rsu.service.sell("pkg-3", cash_tendered_cents=1000)
    rsu.allocation("alloc-1", 1, 10)  # sent again (e.g. after an admin edit elsewhere)
    conn = rsu.store.conn
    assert raffle_store.allocations(conn)[0].next_number == 4
    rsu.allocation("alloc-1", 1, 10, active=False)
    assert [a.id for a in raffle_store.allocations(conn, active_only=True)] == ["alloc-2"]
    assert raffle_store.capacity(conn, RAFFLE_ID) == (10, 10)
    assert raffle_store.take_numbers(conn, RAFFLE_ID, 2).numbers == [50, 51]


def test_a_tombstoned_allocation_is_kept_inactive(rsu):
    rsu.pull(rsu.change("raffle_allocation", "alloc-2", {}, op="tombstone"))
    rows = [(a.id, a.is_active) for a in raffle_store.allocations(rsu.store.conn)]
    assert rows == [("alloc-1", True), ("alloc-2", False)]


def test_malformed_rows_are_skipped_not_fatal(rsu):
    rsu.pull(
        rsu.change("raffle_allocation", "bad", {"start_number": 9, "end_number": 3}),
        rsu.change("raffle_package", "bad", {"name": "x", "ticket_count": 0, "price_cents": 1}),
    )
    conn = rsu.store.conn
    assert [a.id for a in raffle_store.allocations(conn)] == ["alloc-1", "alloc-2"]
    assert raffle_store.package(conn, "bad") is None


def test_a_reset_repulls_allocations_and_skips_numbers_sold_here(rsu):
    sale = rsu.service.sell("pkg-3", cash_tendered_cents=1000)
    assert sale.receipt.draw_numbers == [1, 2, 3]
    rsu.store.reset_pulled_data()  # new server epoch: pulled tables dropped
    conn = rsu.store.conn
    assert raffle_store.allocations(conn) == [] and raffle_store.raffle(conn, RAFFLE_ID) is None
    # own data stays
    assert conn.execute("SELECT COUNT(*) FROM raffle_number").fetchone()[0] == 3
    rsu.seq = 0
    rsu.allocation("alloc-1", 1, 10)  # before the raffle row: settled when it arrives
    rsu.seed([(1, 10)])
    assert raffle_store.allocations(conn)[0].next_number == 4
    assert rsu.service.sell("pkg-1", cash_tendered_cents=500).receipt.draw_numbers == [4]


def test_a_number_row_is_unique_per_raffle(rsu):
    conn = rsu.store.conn
    conn.execute(
        "INSERT INTO raffle_number (raffle_id, draw_number, order_id, state)"
        " VALUES (?, 7, 'o1', 'sold')",
        (RAFFLE_ID,),
    )
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute(
            "INSERT INTO raffle_number (raffle_id, draw_number, order_id, state)"
            " VALUES (?, 7, 'o2', 'voided')",
            (RAFFLE_ID,),
        )


def test_take_numbers_skips_numbers_used_here_inside_a_range(rsu):
    conn = rsu.store.conn
    conn.executemany(
        "INSERT INTO raffle_number (raffle_id, draw_number, order_id, state) VALUES (?, ?, 'x', ?)",
        [(RAFFLE_ID, 2, "sold"), (RAFFLE_ID, 3, "voided"), (RAFFLE_ID, 10, "sold")],
    )
    taken = raffle_store.take_numbers(conn, RAFFLE_ID, 8)
    assert taken.numbers == [1, 4, 5, 6, 7, 8, 9, 50]
    assert taken.next_numbers == {"alloc-1": 11, "alloc-2": 51}
    assert raffle_store.take_numbers(conn, RAFFLE_ID, 18) is None  # 17 left
    assert raffle_store.capacity(conn, RAFFLE_ID) == (17, 20)


def test_ensure_assignment_resets_when_the_raffle_changes(rsu):
    store = rsu.store
    assert store.ensure_assignment(None, None, RAFFLE_ID) is False
    assert store.ensure_assignment(None, None, "raffle-2") is True
    assert raffle_store.allocations(store.conn) == []
