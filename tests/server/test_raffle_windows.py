"""The periods a raffle was selling, and which sale times fall outside them."""

from __future__ import annotations

from fieldpass.server.services.raffle_windows import active_windows, sale_time_problem


def test_windows_follow_moves_into_and_out_of_active_in_time_order():
    moves = [
        (300, "suspended", "active"),
        (100, "configured", "active"),
        (200, "active", "suspended"),
        (500, "active", "sales_closed"),
        (50, "created", "configured"),
    ]
    assert active_windows(moves) == [(100, 200), (300, 500)]
    assert active_windows([(100, "configured", "active")]) == [(100, None)]
    assert active_windows([]) == []


def test_a_sale_counts_only_inside_an_active_period_and_the_sales_window():
    windows = [(100, 200), (300, 500)]
    assert sale_time_problem(150, windows, None, None) is None
    assert sale_time_problem(300, windows, None, None) is None
    assert "suspended" in sale_time_problem(250, windows, None, None)
    assert "stopped selling" in sale_time_problem(500, windows, None, None)
    assert "not active" in sale_time_problem(50, windows, None, None)
    assert "before sales opened" in sale_time_problem(150, windows, 160, None)
    assert "after sales ended" in sale_time_problem(450, windows, None, 400)
    assert sale_time_problem(10_000, [(100, None)], None, None) is None
