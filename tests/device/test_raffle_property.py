"""Property: whatever mix of sales, voids, new, re-sent and withdrawn allocations and
store resets an RSU goes through, no number is sold twice, every sold number belongs to
exactly one order (and its sale event), sales take the lowest free numbers of the active
allocations, and voided numbers never come back."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fieldpass.device.errors import DeviceError

from .raffle_fixtures import PACKAGES, Rsu

RANGES = [(1, 6), (7, 9), (20, 27), (40, 41)]

step = st.one_of(
    st.tuples(st.just("sell"), st.sampled_from(sorted(PACKAGES))),
    st.tuples(st.just("void"), st.integers(0, 50)),
    st.tuples(st.just("allocate"), st.integers(0, len(RANGES) - 1)),
    st.tuples(st.just("withdraw"), st.integers(0, len(RANGES) - 1)),
    st.tuples(st.just("reset"), st.just(0)),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(step, min_size=1, max_size=40))
def test_no_number_is_ever_sold_twice(steps):
    with tempfile.TemporaryDirectory() as tmp:
        rsu = Rsu(Path(tmp) / "store.sqlite").seed([RANGES[0]])
        active = {0}
        sent = {0}
        voided: set[int] = set()
        sold_orders: list[str] = []
        try:
            for action, arg in steps:
                if action == "sell":
                    expected_free = sorted(
                        n
                        for i in active
                        for n in range(RANGES[i][0], RANGES[i][1] + 1)
                        if n not in _used(rsu)
                    )
                    count = PACKAGES[arg][1]
                    try:
                        sale = rsu.service.sell(arg, card_reference="c")
                    except DeviceError as err:
                        assert err.code in ("sold_out", "not_enough_numbers")
                        assert len(expected_free) < count
                        continue
                    assert sale.receipt.draw_numbers == expected_free[:count]
                    sold_orders.append(sale.receipt.validation_number)
                elif action == "void" and sold_orders:
                    number = sold_orders[arg % len(sold_orders)]
                    try:
                        voided_sale = rsu.service.void(number, "property")
                    except DeviceError as err:
                        assert err.code == "already_voided"
                        continue
                    voided.update(voided_sale.receipt.draw_numbers)
                elif action == "allocate":
                    rsu.allocation(f"alloc-{arg + 1}", *RANGES[arg])
                    active.add(arg)
                    sent.add(arg)
                elif action == "withdraw" and arg in sent:
                    rsu.allocation(f"alloc-{arg + 1}", *RANGES[arg], active=False)
                    active.discard(arg)
                elif action == "reset":
                    rsu.store.reset_pulled_data()
                    rsu.seq = 0
                    rsu.seed([])
                    for i in sorted(sent):
                        rsu.allocation(f"alloc-{i + 1}", *RANGES[i], active=i in active)
            _check(rsu, voided)
        finally:
            rsu.close()


def _used(rsu: Rsu) -> set[int]:
    return {r[0] for r in rsu.store.conn.execute("SELECT draw_number FROM raffle_number")}


def _check(rsu: Rsu, voided: set[int]) -> None:
    conn = rsu.store.conn
    numbers: list[int] = []
    for order_id, draw_numbers in conn.execute("SELECT id, draw_numbers FROM raffle_order"):
        for n in json.loads(draw_numbers):
            numbers.append(n)
            row = conn.execute(
                "SELECT order_id FROM raffle_number WHERE draw_number = ?", (n,)
            ).fetchone()
            assert row == (order_id,)
    assert len(numbers) == len(set(numbers))
    states = dict(conn.execute("SELECT draw_number, state FROM raffle_number"))
    assert {n for n, s in states.items() if s == "voided"} == voided
    events = rsu.store.events_after("rsu-1", 0, 10_000)
    sale_numbers = [n for e in events if e.kind == "raffle_sale" for n in e.payload["draw_numbers"]]
    assert sorted(sale_numbers) == sorted(numbers)
    assert rsu.service.check_integrity().ok
