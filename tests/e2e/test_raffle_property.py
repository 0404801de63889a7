"""Property, across several RSUs and the real server (in-process: the real Falcon app
over httpx's WSGI transport, real SQLite files for the server and each RSU): for random
sequences of offline sales and voids, allocations, returns and re-allocations of ranges,
and syncs, no number is sold twice, every sold number belongs to exactly one order, every
reported number is either applied to its order or raised in a conflict (never both,
never neither), the allocation counters equal the ticket states, and after the RSUs
close and the admin confirms (with an override when conflicts remain) the draw picks
only sold, non-voided numbers and its export verifies."""

from __future__ import annotations

import json
import tempfile
from collections import Counter, defaultdict
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from fieldpass.device.context import DeviceContext
from fieldpass.device.errors import DeviceError
from fieldpass.server import schema
from fieldpass.server.config import ServerConfig
from fieldpass.sync import sealing
from fieldpass.sync.draw import verify_record
from tests.device.test_raffle_real_server import enroll_rsu
from tests.device.test_sync_real_server import Server

DEVICES = 3
BLOCK = 8
BLOCKS = 6  # numbers 1..48 in blocks of 8
PACKAGES = {"one": ("1 for 5", 1, 500), "three": ("3 for 10", 3, 1000)}
SALE_CONFLICTS = ("raffle_out_of_range", "raffle_number_sold_twice")

device_index = st.integers(0, DEVICES - 1)
sell_step = st.tuples(st.just("sell"), device_index, st.sampled_from(sorted(PACKAGES)))
sync_step = st.tuples(st.just("sync"), device_index, st.just(0))
step = st.one_of(
    sell_step,
    sell_step,
    st.tuples(st.just("void"), device_index, st.integers(0, 30)),
    st.tuples(st.just("allocate"), device_index, st.integers(0, BLOCKS - 1)),
    st.tuples(st.just("deallocate"), device_index, st.integers(0, 30)),
    st.tuples(st.just("reallocate"), device_index, st.integers(0, 30)),
    st.tuples(st.just("handover"), device_index, st.integers(0, 30)),
    sync_step,
    sync_step,
)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = Server(
        tmp_path_factory.mktemp("raffle-property"),
        # 3 RSUs enroll per example, all from this one test process
        ServerConfig(pii_key=sealing.generate_key(), enroll_per_source_per_hour=1_000),
    )
    yield srv
    srv.close()


def block_range(block: int) -> tuple[int, int]:
    return block * BLOCK + 1, block * BLOCK + BLOCK


def new_raffle(server: Server) -> tuple[str, dict[str, str]]:
    raffle = server.admin(
        "POST",
        "/v1/raffles",
        json={
            "name": "Property raffle",
            "max_tickets": BLOCK * BLOCKS,
            "sales_end": "2099-01-01T00:00:00Z",
        },  # fmt: skip
    )
    raffle_id = raffle["id"]
    packages = {}
    for key, (name, tickets, price) in PACKAGES.items():
        body = {"name": name, "tickets": tickets, "price_cents": price}
        packages[key] = server.admin("POST", f"/v1/raffles/{raffle_id}/packages", json=body)["id"]
    body = {"name": "Hamper", "position": 1, "fixed_cents": 10_000}
    server.admin("POST", f"/v1/raffles/{raffle_id}/prizes", json=body)
    server.admin("POST", f"/v1/raffles/{raffle_id}/configure")
    return raffle_id, packages


def available(server: Server, raffle_id: str, block: int) -> bool:
    start, end = block_range(block)
    t = schema.raffle_tickets
    with server.engine.connect() as conn:
        free = conn.execute(
            sa.select(sa.func.count()).where(
                t.c.raffle_event_id == raffle_id,
                t.c.draw_number.between(start, end),
                t.c.state == "available",
            )
        ).scalar_one()
    return free == BLOCK


class World:
    """One raffle, its RSUs and what the test did to them."""

    def __init__(self, server: Server, tmp: Path) -> None:
        self.server = server
        self.raffle_id, self.packages = new_raffle(server)
        self.devices: list[DeviceContext] = [
            enroll_rsu(server, tmp, f"rsu-{i}", self.raffle_id) for i in range(DEVICES)
        ]
        self.allocations: list[tuple[str, int]] = []  # (allocation id, block), active
        self.validations: list[list[str]] = [[] for _ in range(DEVICES)]
        for index in range(DEVICES):
            self.allocate(index, index)
        server.admin("POST", f"/v1/raffles/{self.raffle_id}/commit-seed")
        server.admin("POST", f"/v1/raffles/{self.raffle_id}/activate")
        for index in range(DEVICES):
            self.sync(index)

    def allocate(self, index: int, block: int) -> None:
        start, end = block_range(block)
        free = available(self.server, self.raffle_id, block)
        body = {"device_id": self.devices[index].identity.device_id, "start": start, "end": end}
        answer = self.server.admin(
            "POST", f"/v1/raffles/{self.raffle_id}/allocations", json=body, expect=(201, 409)
        )
        if free:
            self.allocations.append((answer["id"], block))
        else:
            assert answer["code"] == "range_taken", answer

    def deallocate(self, which: int) -> int | None:
        """Return an active allocation's unsold numbers; its block."""
        if not self.allocations:
            return None
        allocation_id, block = self.allocations.pop(which % len(self.allocations))
        self.server.admin(
            "POST", f"/v1/raffles/{self.raffle_id}/allocations/{allocation_id}/deallocate"
        )
        return block

    def reallocate(self, index: int, which: int) -> None:
        """Take a range back and give it to an RSU at once (the first may still be
        selling from it offline)."""
        block = self.deallocate(which)
        if block is not None:
            self.allocate(index, block)

    def sell(self, index: int, package: str) -> None:
        ctx = self.devices[index]
        try:
            sale = ctx.raffle.sell(self.packages[package], card_reference="POS")
        except DeviceError as exc:
            assert exc.code in ("sold_out", "not_enough_numbers"), exc
            return
        self.validations[index].append(sale.receipt.validation_number)

    def void(self, index: int, which: int) -> None:
        mine = self.validations[index]
        if mine:
            try:
                self.devices[index].raffle.void(mine[which % len(mine)], "property")
            except DeviceError as exc:
                assert exc.code == "already_voided", exc

    def sync(self, index: int) -> None:
        ctx = self.devices[index]
        report = ctx.sync.sync_once()
        assert report.error is None, report
        assert ctx.store.status().unsynced == 0

    def close(self) -> None:
        for ctx in self.devices:
            ctx.close()


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(steps=st.lists(step, min_size=6, max_size=40))
@example(  # RSU 0 sells 1-3 offline; its range goes to RSU 1, which sells 1-3 and syncs first
    steps=[("sell", 0, "three"), ("sell", 0, "one"), ("handover", 1, 0), ("sync", 0, 0)]
)
def test_offline_rsus_never_sell_a_number_twice_and_the_draw_picks_only_sold_numbers(server, steps):
    with tempfile.TemporaryDirectory() as tmp:
        world = World(server, Path(tmp))
        try:
            for action, index, arg in steps:
                if action == "sell":
                    world.sell(index, arg)
                elif action == "void":
                    world.void(index, arg)
                elif action == "allocate":
                    world.allocate(index, arg)
                elif action == "deallocate":
                    world.deallocate(arg)
                elif action == "reallocate":
                    world.reallocate(index, arg)
                elif action == "handover":  # the new holder sells from it at once
                    world.reallocate(index, arg)
                    world.sync(index)
                    world.sell(index, "three")
                    world.sync(index)
                else:
                    world.sync(index)
            for index in range(DEVICES):
                world.sync(index)
            check_devices(world)
            check_server(world)
            close_and_draw(world)
        finally:
            world.close()


def device_orders(ctx: DeviceContext) -> dict[str, tuple[str, list[int], bool]]:
    rows = ctx.store.conn.execute(
        "SELECT id, validation_number, draw_numbers, voided_at FROM raffle_order"
    ).fetchall()
    return {oid: (v, json.loads(numbers), voided is not None) for oid, v, numbers, voided in rows}


def check_devices(world: World) -> None:
    validations = []
    for ctx in world.devices:
        orders = device_orders(ctx)
        numbers = [n for _, nums, _ in orders.values() for n in nums]
        assert len(numbers) == len(set(numbers)), "an RSU sold a number twice"
        validations += [v for v, _, _ in orders.values()]
        assert ctx.raffle.check_integrity().ok
    assert len(validations) == len(set(validations))


def check_server(world: World) -> None:
    raffle_id = world.raffle_id
    t, o, c, a = (
        schema.raffle_tickets,
        schema.raffle_orders,
        schema.conflicts,
        schema.rsu_allocations,
    )
    with world.server.engine.connect() as conn:
        orders = {
            row.id: row
            for row in conn.execute(sa.select(o).where(o.c.raffle_event_id == raffle_id))
        }
        tickets = conn.execute(
            sa.select(t.c.draw_number, t.c.state, t.c.order_id, t.c.allocation_id).where(
                t.c.raffle_event_id == raffle_id
            )
        ).all()
        conflicts = conn.execute(
            sa.select(c.c.kind, c.c.subject, c.c.details).where(c.c.event_id == raffle_id)
        ).all()
        allocations = conn.execute(
            sa.select(a.c.id, a.c.tickets_sold, a.c.tickets_voided).where(
                a.c.raffle_event_id == raffle_id
            )
        ).all()
        stored = dict(
            conn.execute(
                sa.select(schema.ingested_events.c.device_id, sa.func.count()).group_by(
                    schema.ingested_events.c.device_id
                )
            ).all()
        )
    assert not [k for k, *_ in conflicts if k not in SALE_CONFLICTS], conflicts
    for kind in sorted({k for k, *_ in conflicts}):
        event(f"conflict {kind}")

    # every event and every order of every RSU is on the server, once
    for ctx in world.devices:
        last = ctx.store.conn.execute("SELECT count(*) FROM outbox").fetchone()[0]
        assert stored.get(ctx.identity.device_id, 0) == last
        local = device_orders(ctx)
        for order_id, (validation, _, voided) in local.items():
            row = orders[order_id]
            assert row.validation_number == validation and row.rsu_id == ctx.identity.device_id
            assert row.payment_status == ("refunded" if voided else "completed")
    assert len(orders) == sum(len(device_orders(ctx)) for ctx in world.devices)

    # each taken number belongs to exactly one order, which reported it
    applied: dict[str, set[int]] = defaultdict(set)
    for number, state, order_id, _ in tickets:
        if state in ("available", "allocated"):
            assert order_id is None
            continue
        assert order_id in orders, (number, state)
        assert number in json.loads(orders[order_id].draw_numbers)
        expected = "voided" if orders[order_id].payment_status == "refunded" else "sold"
        assert state == expected, (number, state, expected)
        applied[order_id].add(number)

    # a reported number not applied is raised in a conflict of that sale, and vice versa
    raised: dict[str, set[int]] = defaultdict(set)
    for _kind, subject, details in conflicts:
        numbers = {n["draw_number"] for n in json.loads(details)["numbers"]}
        assert not numbers & raised[subject], "a number raised twice for one sale"
        raised[subject] |= numbers
    for order_id, row in orders.items():
        reported = set(json.loads(row.draw_numbers))
        mine, flagged = applied[order_id], raised.get(row.validation_number, set())
        assert mine | flagged == reported and not mine & flagged, (reported, mine, flagged)

    # the service layer's counters equal the ticket states
    per_allocation = Counter((allocation_id, state) for _, state, _, allocation_id in tickets)
    for allocation_id, sold, voided in allocations:
        assert (sold, voided) == (
            per_allocation[(allocation_id, "sold")],
            per_allocation[(allocation_id, "voided")],
        ), allocation_id
    counts = world.server.admin("GET", f"/v1/raffles/{raffle_id}")["counts"]
    states = Counter(state for _, state, _, _ in tickets)
    for state in ("available", "allocated", "sold", "voided"):
        assert counts[state] == states[state], (state, counts, states)


def close_and_draw(world: World) -> None:
    server, raffle_id = world.server, world.raffle_id
    for index, ctx in enumerate(world.devices):
        ctx.raffle.close()
        world.sync(index)
    server.admin("POST", f"/v1/raffles/{raffle_id}/close")
    view = server.admin("GET", f"/v1/raffles/{raffle_id}/reconciliation")
    body = {"override_reason": "conflicts left for review"} if view["blocking"] else {}
    if view["blocking"]:
        refused = server.admin("POST", f"/v1/raffles/{raffle_id}/confirm", json={}, expect=(409,))
        assert refused["code"] == "reconciliation_blocked"
    confirmed = server.admin("POST", f"/v1/raffles/{raffle_id}/confirm", json=body)
    assert confirmed["state"] == "drawing_ready"
    t, o = schema.raffle_tickets, schema.raffle_orders
    with server.engine.connect() as conn:
        sold = {
            number: status
            for number, status in conn.execute(
                sa.select(t.c.draw_number, o.c.payment_status)
                .select_from(t.join(o, o.c.id == t.c.order_id))
                .where(t.c.raffle_event_id == raffle_id, t.c.state == "sold")
            ).all()
        }
    assert set(sold.values()) <= {"completed"}
    event("drawn" if sold else "nothing sold to draw")
    if not sold:
        refused = server.admin(
            "POST", f"/v1/raffles/{raffle_id}/draw", json={}, expect=(400, 409, 422)
        )
        assert refused["code"] == "invalid"
        return
    drawn = server.admin("POST", f"/v1/raffles/{raffle_id}/draw", json={"beacon": "property"})
    assert drawn["sold_count"] == len(sold)
    winners = [w["draw_number"] for w in drawn["winners"]]
    assert len(winners) == 1 and set(winners) <= set(sold)
    exported = server.http.get(f"/v1/raffles/{raffle_id}/draw/export")
    assert exported.status_code == 200 and verify_record(exported.content) == []
