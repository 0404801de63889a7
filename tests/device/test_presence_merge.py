"""Presence is the same whatever order (and paging) admissions arrive in."""

from __future__ import annotations

import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fieldpass.device.store import Store

from .conftest import admission_change

moves = st.lists(
    st.tuples(
        st.sampled_from(["TKT00001", "TKT00002", "TKT00003"]),
        st.sampled_from(["in", "out"]),
        st.integers(min_value=0, max_value=50),  # few distinct times: ties happen
        st.sampled_from(["dev-a", "dev-b", "dev-c"]),
    ),
    min_size=1,
    max_size=12,
)


def presence_after(store: Store, changes, page_size: int) -> list[tuple]:
    with store.transaction() as conn:
        conn.execute("DELETE FROM admissions")
        conn.execute("DELETE FROM ticket_presence")
    for start in range(0, len(changes), page_size):
        store.apply_changes(changes[start : start + page_size], f"e:{start}", "e")
    return store.conn.execute(
        "SELECT barcode, inside, first_entry_at, first_entry_gate, first_entry_device,"
        " entries, exits FROM ticket_presence ORDER BY barcode"
    ).fetchall()


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(moves=moves, data=st.data())
def test_presence_is_order_independent(tmp_path, moves, data):
    store = Store.open(tmp_path / "presence.sqlite")
    try:
        changes = [
            admission_change(
                i + 1,
                f"{device}:{i + 1}",
                barcode,
                direction,
                at,
                gate_name=f"gate-{device}",
                device_id=device,
            )
            for i, (barcode, direction, at, device) in enumerate(moves)
        ]
        reference = presence_after(store, changes, len(changes))
        shuffled = data.draw(st.permutations(changes))
        page = data.draw(st.integers(min_value=1, max_value=len(changes)))
        doubled = shuffled + shuffled[: len(shuffled) // 2]  # re-delivered copies are no-ops
        assert presence_after(store, doubled, page) == reference
        # and the reference matches the rule stated plainly
        for barcode, group in itertools.groupby(
            sorted(changes, key=lambda c: c.data["barcode"]), key=lambda c: c.data["barcode"]
        ):
            group = list(group)
            latest = max(group, key=lambda c: (c.data["at"], c.key))
            entries = [c for c in group if c.data["direction"] == "in"]
            first = min(entries, key=lambda c: (c.data["at"], c.key)) if entries else None
            row = next(r for r in reference if r[0] == barcode)
            assert row[1] == (latest.data["direction"] == "in")
            assert row[2] == (first.data["at"] if first else None)
            assert row[4] == (first.data["device_id"] if first else None)
            assert (row[5], row[6]) == (len(entries), len(group) - len(entries))
    finally:
        store.close()
