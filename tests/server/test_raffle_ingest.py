"""Ingest of RSU raffle events (SQLite and PostgreSQL): sales mark their numbers sold
and keep the order; out-of-range, sold-twice and duplicate validation numbers are stored
and raised as conflicts; voids, reprints and the RSU's close; allocation counters match
the tickets exactly."""

from __future__ import annotations

import random
import uuid
from typing import Any

import msgspec
import pytest
import sqlalchemy as sa

from fieldpass.server import schema
from fieldpass.sync.events import Event
from fieldpass.sync.payloads import (
    DeviceClosePayload,
    RafflePayment,
    RaffleReprintPayload,
    RaffleSalePayload,
    RaffleVoidPayload,
)
from fieldpass.sync.validation_numbers import new_validation_number
from tests.server.helpers import Device
from tests.server.raffle_helpers import RaffleSetup, deallocate, make_active_raffle, ok

PACKAGE_PRICES = {"1 for 5": (1, 500), "3 for 10": (3, 1000), "10 for 20": (10, 2000)}


# -- helpers (the other raffle test modules use them too) ------------------------------------


def terminal_number(engine, device: Device) -> int:
    r = schema.rsus
    with engine.connect() as conn:
        return conn.execute(sa.select(r.c.terminal_number).where(r.c.id == device.id)).scalar_one()


def sale_event(
    setup: RaffleSetup,
    device: Device,
    numbers: list[int],
    *,
    engine,
    package: str | None = None,
    method: str = "cash",
    validation: str | None = None,
    order_id: str | None = None,
    customer: str | None = None,
    phone: str | None = None,
    price: int | None = None,
) -> tuple[Event, dict[str, Any]]:
    """A signed ``raffle_sale`` event of ``device`` selling ``numbers``; (event, payload)."""
    if package is None:
        package = next(name for name, (count, _) in PACKAGE_PRICES.items() if count == len(numbers))
    count, package_price = PACKAGE_PRICES[package]
    payment = (
        RafflePayment(method="cash", tendered_cents=price or package_price)
        if method == "cash"
        else RafflePayment(method="card", reference="POS-1")
    )
    payload = RaffleSalePayload(
        raffle_id=setup.raffle_id,
        order_id=order_id or str(uuid.uuid4()),
        validation_number=validation or new_validation_number(terminal_number(engine, device)),
        package_id=setup.packages[package],
        draw_numbers=numbers,
        price_cents=package_price if price is None else price,
        payment=payment,
        sold_at=device.now(),
        customer_name=customer,
        customer_phone=phone,
        operator="sam",
    )
    data = msgspec.to_builtins(payload)
    return device.event("raffle_sale", data), data


def void_event(setup: RaffleSetup, device: Device, sale: dict, reason: str = "wrong package"):
    payload = RaffleVoidPayload(
        raffle_id=setup.raffle_id,
        order_id=sale["order_id"],
        validation_number=sale["validation_number"],
        reason=reason,
        voided_at=device.now(),
        operator="sam",
    )
    return device.event("raffle_void", msgspec.to_builtins(payload))


def reprint_event(setup: RaffleSetup, device: Device, sale: dict, copy: int = 2):
    payload = RaffleReprintPayload(
        raffle_id=setup.raffle_id,
        order_id=sale["order_id"],
        validation_number=sale["validation_number"],
        reason="paper jam",
        printed_at=device.now(),
        copy_number=copy,
        operator="sam",
    )
    return device.event("raffle_reprint", msgspec.to_builtins(payload))


def close_event(setup: RaffleSetup, device: Device, orders: int):
    payload = DeviceClosePayload(reason="end of sales", raffle_id=setup.raffle_id, orders=orders)
    return device.event("device_close", msgspec.to_builtins(payload))


def push_ok(device: Device, events: list[Event]) -> dict:
    result = device.push(events)
    assert result.status_code == 200, result.text
    return result.json


def tickets_by_number(engine, raffle_id: str) -> dict[int, Any]:
    t = schema.raffle_tickets
    with engine.connect() as conn:
        return {
            row.draw_number: row
            for row in conn.execute(sa.select(t).where(t.c.raffle_event_id == raffle_id))
        }


def conflict_rows(engine, kind: str | None = None) -> list[Any]:
    c = schema.conflicts
    query = sa.select(c).order_by(c.c.id)
    if kind:
        query = query.where(c.c.kind == kind)
    with engine.connect() as conn:
        return conn.execute(query).all()


def orders(engine) -> dict[str, Any]:
    o = schema.raffle_orders
    with engine.connect() as conn:
        return {row.validation_number: row for row in conn.execute(sa.select(o))}


def assert_counters_match(engine, raffle_id: str) -> None:
    """Every allocation's counters equal its tickets sold (incl. won) and voided."""
    a, t = schema.rsu_allocations, schema.raffle_tickets
    with engine.connect() as conn:
        for allocation in conn.execute(sa.select(a).where(a.c.raffle_event_id == raffle_id)):
            counts = dict(
                conn.execute(
                    sa.select(t.c.state, sa.func.count())
                    .where(t.c.allocation_id == allocation.id)
                    .group_by(t.c.state)
                ).all()
            )
            sold = counts.get("sold", 0) + counts.get("winner", 0) + counts.get("claimed", 0)
            assert allocation.tickets_sold == sold, (allocation.id, counts)
            assert allocation.tickets_voided == counts.get("voided", 0), (allocation.id, counts)


def ingested_count(engine, device: Device) -> int:
    ie = schema.ingested_events
    with engine.connect() as conn:
        return conn.execute(
            sa.select(sa.func.count()).where(ie.c.device_id == device.id)
        ).scalar_one()


# -- tests ---------------------------------------------------------------------------------------


def test_sales_are_applied_with_orders_customers_and_counters(harness, engine, clock):
    setup = make_active_raffle(harness)
    rsu = setup.rsus[0]
    first, first_data = sale_event(setup, rsu, [1], engine=engine, customer="Ana", phone="555")
    second, second_data = sale_event(setup, rsu, [2, 3, 4], engine=engine, method="card")
    clock.advance(5_000)
    answer = push_ok(rsu, [first, second])
    assert answer["applied"] == 2 and answer["conflicts"] == 0
    tickets = tickets_by_number(engine, setup.raffle_id)
    for number in (1, 2, 3, 4):
        assert tickets[number].state == "sold"
        assert tickets[number].sold_by == rsu.id
    assert tickets[1].order_id == first_data["order_id"]
    assert tickets[3].order_id == second_data["order_id"]
    assert tickets[1].sold_at == first_data["sold_at"]  # no clock skew: corrected = device
    assert tickets[5].state == "allocated"
    found = orders(engine)
    order = found[first_data["validation_number"]]
    assert (order.source, order.payment_status, order.payment_method) == (
        "rsu",
        "completed",
        "cash",
    )
    assert order.device_seq == first.seq and order.rsu_id == rsu.id
    assert msgspec.json.decode(order.draw_numbers) == [1]
    assert order.total_amount_cents == 500
    card = found[second_data["validation_number"]]
    assert (card.payment_method, card.payment_reference, card.ticket_count) == ("card", "POS-1", 3)
    assert card.customer_id is None
    with engine.connect() as conn:
        customer = conn.execute(
            sa.select(schema.customers).where(schema.customers.c.id == order.customer_id)
        ).one()
        rsu_row = conn.execute(sa.select(schema.rsus).where(schema.rsus.c.id == rsu.id)).one()
    assert (customer.name, customer.phone) == ("Ana", "555")
    assert rsu_row.last_sync_at == clock()
    assert conflict_rows(engine) == []
    assert_counters_match(engine, setup.raffle_id)


def test_clock_skew_is_corrected_in_sold_at(harness, engine):
    setup = make_active_raffle(harness, rsu_count=1)
    rsu = setup.rsus[0]
    rsu.skew = -60_000  # the RSU's clock is a minute slow
    event, data = sale_event(setup, rsu, [7], engine=engine)
    push_ok(rsu, [event])
    tickets = tickets_by_number(engine, setup.raffle_id)
    assert tickets[7].sold_at == data["sold_at"] + 60_000


def test_out_of_range_sale_is_stored_and_raised(harness, engine):
    setup = make_active_raffle(harness)
    rsu = setup.rsus[0]  # holds 1-100; rsu-2 holds 101-200
    event, data = sale_event(setup, rsu, [99, 100, 101], engine=engine)
    answer = push_ok(rsu, [event])
    assert answer["conflicts"] == 1
    assert ingested_count(engine, rsu) == 1
    (conflict,) = conflict_rows(engine, "raffle_out_of_range")
    details = msgspec.json.decode(conflict.details)
    assert [n["draw_number"] for n in details["numbers"]] == [101]
    assert conflict.event_id == setup.raffle_id
    assert conflict.subject == data["validation_number"]
    tickets = tickets_by_number(engine, setup.raffle_id)
    assert tickets[99].state == "sold" and tickets[100].state == "sold"
    assert tickets[101].state == "allocated" and tickets[101].order_id is None
    assert data["validation_number"] in orders(engine)  # the order is kept as reported
    assert_counters_match(engine, setup.raffle_id)


def test_number_sold_twice_is_raised_and_first_sale_kept(harness, engine):
    setup = make_active_raffle(harness)
    rsu = setup.rsus[0]
    first, first_data = sale_event(setup, rsu, [10], engine=engine)
    again, again_data = sale_event(setup, rsu, [10], engine=engine)
    answer = push_ok(rsu, [first, again])
    assert answer["conflicts"] == 1
    (conflict,) = conflict_rows(engine, "raffle_number_sold_twice")
    details = msgspec.json.decode(conflict.details)
    assert details["numbers"][0]["draw_number"] == 10
    assert details["numbers"][0]["first_order_id"] == first_data["order_id"]
    assert tickets_by_number(engine, setup.raffle_id)[10].order_id == first_data["order_id"]
    assert {first_data["validation_number"], again_data["validation_number"]} <= set(orders(engine))
    assert ingested_count(engine, rsu) == 2
    assert_counters_match(engine, setup.raffle_id)


def test_number_sold_twice_across_pushes(harness, engine):
    setup = make_active_raffle(harness)
    rsu = setup.rsus[0]
    first, _ = sale_event(setup, rsu, [20, 21, 22], engine=engine)
    push_ok(rsu, [first])
    again, _ = sale_event(setup, rsu, [22], engine=engine)
    assert push_ok(rsu, [again])["conflicts"] == 1
    assert len(conflict_rows(engine, "raffle_number_sold_twice")) == 1


def test_duplicate_validation_number_is_a_sale_problem(harness, engine):
    setup = make_active_raffle(harness)
    rsu = setup.rsus[0]
    first, first_data = sale_event(setup, rsu, [30], engine=engine)
    push_ok(rsu, [first])
    copy, _ = sale_event(
        setup, rsu, [31], engine=engine, validation=first_data["validation_number"]
    )
    assert push_ok(rsu, [copy])["conflicts"] == 1
    (conflict,) = conflict_rows(engine, "raffle_sale_problem")
    assert "already used" in conflict.details
    tickets = tickets_by_number(engine, setup.raffle_id)
    assert tickets[31].state == "allocated"  # the second order could not be stored
    assert len(orders(engine)) == 1
    assert ingested_count(engine, rsu) == 2


def test_unknown_package_and_wrong_price_are_problems(harness, engine):
    setup = make_active_raffle(harness)
    rsu = setup.rsus[0]
    cheap, cheap_data = sale_event(setup, rsu, [40], engine=engine, price=100)
    payload = {**cheap_data, "order_id": str(uuid.uuid4()), "package_id": str(uuid.uuid4())}
    payload["validation_number"] = new_validation_number(terminal_number(engine, rsu))
    payload["draw_numbers"] = [41]
    payload["price_cents"] = 500
    payload["payment"] = {"method": "cash", "tendered_cents": 500}
    unknown = rsu.event("raffle_sale", payload)
    assert push_ok(rsu, [cheap, unknown])["conflicts"] == 2
    problems = [msgspec.json.decode(c.details)["problems"] for c in conflict_rows(engine)]
    assert any("price 100" in p for ps in problems for p in ps)
    assert any("not a package" in p for ps in problems for p in ps)
    tickets = tickets_by_number(engine, setup.raffle_id)
    assert tickets[40].state == "sold"  # flagged, still applied: the customer holds it
    assert tickets[41].state == "allocated"


def test_void_voids_tickets_refunds_order_and_moves_counters(harness, engine):
    setup = make_active_raffle(harness)
    rsu = setup.rsus[0]
    event, data = sale_event(setup, rsu, [50, 51, 52], engine=engine)
    keep, _ = sale_event(setup, rsu, [53], engine=engine)
    push_ok(rsu, [event, keep, void_event(setup, rsu, data, "customer changed mind")])
    tickets = tickets_by_number(engine, setup.raffle_id)
    for number in (50, 51, 52):
        row = tickets[number]
        assert row.state == "voided"
        assert (row.voided_by, row.voided_reason) == (rsu.id, "customer changed mind")
        assert row.voided_at is not None
    assert tickets[53].state == "sold"
    order = orders(engine)[data["validation_number"]]
    assert order.payment_status == "refunded"
    assert (order.voided_by, order.void_reason) == (rsu.id, "customer changed mind")
    with engine.connect() as conn:
        allocation = conn.execute(
            sa.select(schema.rsu_allocations).where(
                schema.rsu_allocations.c.id == setup.allocations[0]["id"]
            )
        ).one()
        exceptions = conn.execute(
            sa.select(schema.raffle_exceptions).where(schema.raffle_exceptions.c.kind == "void")
        ).all()
    assert (allocation.tickets_sold, allocation.tickets_voided) == (1, 3)
    assert len(exceptions) == 1 and exceptions[0].subject == data["validation_number"]
    assert msgspec.json.decode(exceptions[0].details)["draw_numbers"] == [50, 51, 52]
    assert_counters_match(engine, setup.raffle_id)
    # a voided number is never sold again
    again, _ = sale_event(setup, rsu, [50], engine=engine)
    assert push_ok(rsu, [again])["conflicts"] == 1
    assert tickets_by_number(engine, setup.raffle_id)[50].state == "voided"


def test_void_of_unknown_order_is_a_problem(harness, engine):
    setup = make_active_raffle(harness)
    rsu = setup.rsus[0]
    fake = {"order_id": str(uuid.uuid4())}
    fake["validation_number"] = new_validation_number(terminal_number(engine, rsu))
    assert push_ok(rsu, [void_event(setup, rsu, fake)])["conflicts"] == 1
    (conflict,) = conflict_rows(engine, "raffle_sale_problem")
    assert "unknown" in conflict.details


def test_reprint_logs_and_counts(harness, engine):
    setup = make_active_raffle(harness)
    rsu = setup.rsus[0]
    event, data = sale_event(setup, rsu, [60], engine=engine)
    push_ok(rsu, [event, reprint_event(setup, rsu, data), reprint_event(setup, rsu, data, 3)])
    assert orders(engine)[data["validation_number"]].reprint_count == 2
    with engine.connect() as conn:
        logs = conn.execute(sa.select(schema.print_logs).order_by(schema.print_logs.c.seq)).all()
    assert [(log.subject_kind, log.subject_id) for log in logs] == [
        ("raffle_order", data["validation_number"])
    ] * 2
    assert [log.seq for log in logs] == [2, 3] and logs[0].device_id == rsu.id
    assert logs[0].reason == "paper jam" and logs[0].agent_id == "sam"


def test_close_records_seq_and_later_sales_are_problems(harness, engine):
    setup = make_active_raffle(harness)
    rsu = setup.rsus[0]
    event, _ = sale_event(setup, rsu, [70], engine=engine)
    close = close_event(setup, rsu, 1)
    push_ok(rsu, [event, close])
    with engine.connect() as conn:
        row = conn.execute(sa.select(schema.rsus).where(schema.rsus.c.id == rsu.id)).one()
    assert (row.state, row.close_seq) == ("closed", close.seq)
    assert row.closed_at is not None
    late, late_data = sale_event(setup, rsu, [71], engine=engine)
    assert push_ok(rsu, [late])["conflicts"] == 1
    (conflict,) = conflict_rows(engine, "raffle_sale_problem")
    assert "closed" in conflict.details
    assert tickets_by_number(engine, setup.raffle_id)[71].state == "allocated"
    assert late_data["validation_number"] in orders(engine)  # kept, not applied


def test_sale_from_range_returned_after_the_sale_is_applied(harness, engine, clock):
    setup = make_active_raffle(harness)
    rsu = setup.rsus[0]
    event, data = sale_event(setup, rsu, [80], engine=engine)  # sold offline, before the return
    clock.advance(60_000)
    deallocate(setup.admin, setup.raffle_id, setup.allocations[0]["id"])
    assert push_ok(rsu, [event])["conflicts"] == 0
    ticket = tickets_by_number(engine, setup.raffle_id)[80]
    assert (ticket.state, ticket.order_id) == ("sold", data["order_id"])
    assert ticket.allocation_id == setup.allocations[0]["id"]
    late, _ = sale_event(setup, rsu, [81], engine=engine)  # sold after the return
    assert push_ok(rsu, [late])["conflicts"] == 1
    (conflict,) = conflict_rows(engine, "raffle_out_of_range")
    assert "returned before the sale" in conflict.details
    assert_counters_match(engine, setup.raffle_id)


def test_non_rsu_device_cannot_push_raffle_events(harness, engine):
    setup = make_active_raffle(harness, rsu_count=1)
    admin = setup.admin
    event = admin.event()
    gate = harness.device("gate-9")
    gate.approve(admin, event["id"])
    payload = {
        "raffle_id": setup.raffle_id,
        "order_id": str(uuid.uuid4()),
        "validation_number": new_validation_number(1),
        "package_id": setup.packages["1 for 5"],
        "draw_numbers": [1],
        "price_cents": 500,
        "payment": {"method": "cash"},
        "sold_at": gate.now(),
    }
    result = gate.push([gate.event("raffle_sale", payload)])
    assert result.status_code == 400, result.text
    assert result.json["code"] == "invalid_event"
    assert ingested_count(engine, gate) == 0


def test_two_rsus_many_sales_counters_match(harness, engine):
    setup = make_active_raffle(harness, ranges=[(1, 300), (301, 600)], max_tickets=1000)
    numbers = {0: list(range(1, 301)), 1: list(range(301, 601))}
    for index, rsu in enumerate(setup.rsus):
        events = []
        for start in range(0, 300, 3):
            event, data = sale_event(setup, rsu, numbers[index][start : start + 3], engine=engine)
            events.append(event)
            if start % 30 == 0:
                events.append(void_event(setup, rsu, data))
        push_ok(rsu, events)
    tickets = tickets_by_number(engine, setup.raffle_id)
    states = [tickets[n].state for n in range(1, 601)]
    assert states.count("voided") == 2 * 10 * 3
    assert states.count("sold") == 600 - 60
    assert conflict_rows(engine) == []
    assert_counters_match(engine, setup.raffle_id)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_sales_voids_and_returns_keep_the_invariants(harness, engine, clock, seed):
    """Random sales (some outside the seller's range or of numbers already sold), voids,
    a range returned and a new one allocated, pushed in random batches by three RSUs:
    no number is sold twice, each sold or voided number is in its order's reported
    numbers, every reported number not applied raised a conflict, counters match."""
    rng = random.Random(seed)
    setup = make_active_raffle(harness, rsu_count=3, ranges=[(1, 40), (41, 80), (81, 120)])
    pending: dict[str, list[Event]] = {rsu.id: [] for rsu in setup.rsus}
    sales: list[tuple[Device, Event, dict]] = []
    returned = False
    for step in range(60):
        rsu = rng.choice(setup.rsus)
        roll = rng.random()
        if roll < 0.7:
            numbers = sorted(rng.sample(range(1, 131), rng.choice((1, 3))))
            event, data = sale_event(setup, rsu, numbers, engine=engine)
            pending[rsu.id].append(event)
            sales.append((rsu, event, data))
        elif roll < 0.85:
            own = [s for s in sales if s[0] is rsu]
            if own:
                pending[rsu.id].append(void_event(setup, rsu, rng.choice(own)[2]))
        elif pending[rsu.id]:
            push_ok(rsu, pending[rsu.id])
            pending[rsu.id] = []
        if step == 30 and not returned:
            deallocate(setup.admin, setup.raffle_id, setup.allocations[2]["id"])
            ok(
                setup.admin.post(
                    f"/v1/raffles/{setup.raffle_id}/allocations",
                    json={"device_id": setup.rsus[0].id, "start": 121, "end": 130},
                ),
                201,
            )
            returned = True
        clock.advance(1000)
    for rsu in setup.rsus:
        if pending[rsu.id]:
            push_ok(rsu, pending[rsu.id])
    tickets = tickets_by_number(engine, setup.raffle_id)
    kept = orders(engine)
    by_id = {order.id: order for order in kept.values()}
    for number, ticket in tickets.items():
        if ticket.state in ("sold", "voided"):
            order = by_id[ticket.order_id]
            assert number in msgspec.json.decode(order.draw_numbers)
            assert ticket.sold_by == order.rsu_id
        else:
            assert ticket.order_id is None
    flagged = {
        (row.devices, msgspec.json.decode(row.details).get("sale", {}).get("seq"))
        for row in conflict_rows(engine)
    } | {
        (row.devices, msgspec.json.decode(row.details).get("second", {}).get("seq"))
        for row in conflict_rows(engine)
    }
    flagged_seqs = {(msgspec.json.decode(d)[0], s) for d, s in flagged if s is not None}
    for rsu, event, data in sales:
        applied = {n for n, t in tickets.items() if t.order_id == data["order_id"]}
        if applied != set(data["draw_numbers"]):
            assert (rsu.id, event.seq) in flagged_seqs, (data["draw_numbers"], applied)
    assert_counters_match(engine, setup.raffle_id)


def test_a_returned_number_allocated_again_goes_to_its_new_holder(harness, engine, clock):
    setup = make_active_raffle(harness)
    first, second = setup.rsus
    early, _ = sale_event(setup, first, [10], engine=engine)  # offline, before the return
    other, _ = sale_event(setup, first, [60], engine=engine)
    clock.advance(60_000)
    deallocate(setup.admin, setup.raffle_id, setup.allocations[0]["id"])
    again = ok(
        setup.admin.post(
            f"/v1/raffles/{setup.raffle_id}/allocations",
            json={"device_id": first.id, "start": 1, "end": 50},
        ),
        201,
    )
    ok(
        setup.admin.post(
            f"/v1/raffles/{setup.raffle_id}/allocations",
            json={"device_id": second.id, "start": 51, "end": 90},
        ),
        201,
    )
    assert push_ok(first, [early, other])["conflicts"] == 1
    tickets = tickets_by_number(engine, setup.raffle_id)
    assert (tickets[10].state, tickets[10].allocation_id) == ("sold", again["id"])
    assert tickets[60].state == "allocated" and tickets[60].allocated_to_rsu_id == second.id
    (conflict,) = conflict_rows(engine, "raffle_out_of_range")
    assert "allocated to another RSU" in conflict.details
    assert_counters_match(engine, setup.raffle_id)


def test_rsus_learn_the_jackpot_estimate_as_sales_arrive_at_most_once_a_minute(
    harness, engine, clock
):
    setup = make_active_raffle(harness, jackpot_seed_cents=50_000)  # prize 1 is 50 %
    rsu = setup.rsus[0]

    def estimates(cursor: str = "") -> tuple[list[int | None], str]:
        found, cursor = rsu.pull_all(cursor)
        return [c["data"]["jackpot_estimate_cents"] for c in found if c["entity"] == "raffle"], (
            cursor
        )

    before, cursor = estimates()
    assert before[-1] == 50_000  # the seed: nothing sold yet
    clock.advance(61_000)
    push_ok(rsu, [sale_event(setup, rsu, [1, 2, 3], engine=engine)[0]])  # 10.00
    after, cursor = estimates(cursor)
    assert after == [50_000 + 500]  # seed + 50 % of the revenue
    clock.advance(1_000)
    push_ok(rsu, [sale_event(setup, rsu, [4], engine=engine)[0]])
    assert estimates(cursor)[0] == []  # within the minute: not sent again
    clock.advance(60_000)
    push_ok(rsu, [sale_event(setup, rsu, [5], engine=engine)[0]])
    assert estimates(cursor)[0] == [50_000 + 1000]
