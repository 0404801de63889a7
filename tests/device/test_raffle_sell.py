"""RaffleService: selling lowest first across ranges, refusing to oversell or sell after
the close time, voids that never free a number, reprints and the close, each committed
with its outbox event in one transaction."""

from __future__ import annotations

import threading

import pytest

from fieldpass.device import raffle_store
from fieldpass.device.errors import DeviceError
from fieldpass.device.raffle import RaffleService, low_threshold
from fieldpass.device.store import CLOCK_OFFSET_MS
from fieldpass.sync.events import GENESIS_HASH, verify_chain
from fieldpass.sync.payloads import validate_payload
from fieldpass.sync.validation_numbers import (
    new_validation_number,
    parse_validation_number,
    terminal_of,
)

from .raffle_fixtures import RAFFLE_ID, SALES_END, TERMINAL, Rsu


@pytest.fixture
def rsu(tmp_path):
    device = Rsu(tmp_path / "store.sqlite").seed([(1, 5), (20, 24)])
    yield device
    device.close()


def refused(code: str, call, *args, **kwargs) -> DeviceError:
    with pytest.raises(DeviceError) as err:
        call(*args, **kwargs)
    assert err.value.code == code, err.value.message
    return err.value


def events(rsu: Rsu):
    return rsu.store.events_after(rsu.identity.device_id, 0, 1000)


def test_sale_takes_the_lowest_numbers_spanning_ranges(rsu):
    first = rsu.service.sell("pkg-3", cash_tendered_cents=1500, customer_name="  Ana  Horvat ")
    second = rsu.service.sell("pkg-3", card_reference="POS-1")
    assert first.receipt.draw_numbers == [1, 2, 3]
    assert second.receipt.draw_numbers == [4, 5, 20]  # the first range ran out
    receipt = first.receipt
    assert (receipt.price_cents, receipt.tendered_cents, receipt.change_cents) == (1000, 1500, 500)
    assert receipt.customer_name == "Ana Horvat"
    assert (receipt.organization_name, receipt.licence_number) == ("NK Fieldpass", "LIC-77")
    assert (receipt.rsu_id, receipt.rsu_name, receipt.terminal_number) == ("rsu-1", "Stand 1", 42)
    assert (receipt.copy_number, receipt.voided, receipt.package_name) == (1, False, "3 for 10")
    assert second.receipt.payment_method == "card" and second.receipt.change_cents is None
    # one signed, chained raffle_sale event per order, with a valid payload
    sent = events(rsu)
    assert [(e.seq, e.kind) for e in sent] == [(1, "raffle_sale"), (2, "raffle_sale")]
    verify_chain(
        sent,
        device_id="rsu-1",
        public_key=rsu.key.public_key(),
        first_prev_hash=GENESIS_HASH,
    )
    payload = validate_payload("raffle_sale", sent[1].payload)
    assert payload.draw_numbers == [4, 5, 20]
    assert payload.validation_number == second.receipt.validation_number
    assert (payload.payment.method, payload.payment.reference) == ("card", "POS-1")
    assert (first.seq, second.seq) == (1, 2)
    status = rsu.service.status()
    assert (status.remaining, status.allocated) == (4, 10)
    assert status.totals.orders == 2 and status.totals.tickets == 6
    assert (status.totals.cash_cents, status.totals.card_cents) == (1000, 1000)


def test_validation_numbers_are_unique_and_carry_the_terminal(rsu):
    rsu.allocation("alloc-3", 100, 399)
    numbers = {
        rsu.service.sell("pkg-1", card_reference="c").receipt.validation_number for _ in range(200)
    }
    assert len(numbers) == 200
    for number in numbers:
        assert parse_validation_number(number) == number and terminal_of(number) == TERMINAL
    # not derivable from a counter: consecutive orders share no long common body
    ordered = [
        o[0]
        for o in rsu.store.conn.execute("SELECT validation_number FROM raffle_order ORDER BY seq")
    ]
    assert len({n[4:10] for n in ordered}) > 190


def test_a_local_validation_number_clash_is_retried(rsu, monkeypatch):
    from fieldpass.device import raffle as raffle_module

    first = rsu.service.sell("pkg-1", card_reference="c").receipt.validation_number
    made = iter([first, first, raffle_module.new_validation_number(TERMINAL)])
    monkeypatch.setattr(raffle_module, "new_validation_number", lambda terminal: next(made))
    second = rsu.service.sell("pkg-1", card_reference="c").receipt.validation_number
    assert second != first


def test_oversell_is_refused_saying_how_many_remain(rsu):
    rsu.service.sell("pkg-3", cash_tendered_cents=1000)
    rsu.service.sell("pkg-3", cash_tendered_cents=1000)
    error = refused("not_enough_numbers", rsu.service.sell, "pkg-10", cash_tendered_cents=2000)
    assert error.message == "package 10 for 20 needs 10 numbers but only 4 remain on this RSU"
    assert len(events(rsu)) == 2
    for _ in range(4):
        rsu.service.sell("pkg-1", cash_tendered_cents=500)
    status = rsu.service.status()
    assert (status.remaining, status.can_sell, status.cannot_sell_code) == (0, False, "sold_out")
    refused("sold_out", rsu.service.sell, "pkg-1", cash_tendered_cents=500)


def test_low_warning_threshold(rsu):
    assert low_threshold(10) == 10 and low_threshold(1000) == 100 and low_threshold(55) == 10
    rsu.allocation("alloc-3", 100, 199)  # 110 allocated: low below 11
    assert rsu.service.status().low is False
    for _ in range(10):
        rsu.service.sell("pkg-10", cash_tendered_cents=2000)
    status = rsu.service.status()
    assert (status.remaining, status.low) == (10, True)


def test_a_deactivated_allocation_stops_selling_at_once(rsu):
    rsu.service.sell("pkg-1", cash_tendered_cents=500)
    rsu.allocation("alloc-1", 1, 5, active=False)
    assert rsu.service.sell("pkg-1", cash_tendered_cents=500).receipt.draw_numbers == [20]
    rsu.allocation("alloc-2", 20, 24, active=False)
    status = rsu.service.status()
    assert (status.remaining, status.cannot_sell_code) == (0, "sold_out")
    refused("sold_out", rsu.service.sell, "pkg-1", cash_tendered_cents=500)
    rsu.allocation("alloc-1", 1, 5)  # re-activated: continues where it stopped
    assert rsu.service.sell("pkg-1", cash_tendered_cents=500).receipt.draw_numbers == [2]


def test_sales_end_uses_the_corrected_clock(rsu):
    rsu.clock.now = SALES_END - 60_000
    rsu.store.set_meta(**{CLOCK_OFFSET_MS: 59_000})  # server time = device + 59 s: still open
    rsu.service.sell("pkg-1", cash_tendered_cents=500)
    rsu.store.set_meta(**{CLOCK_OFFSET_MS: 60_000})  # exactly the end: closed
    error = refused("sales_ended", rsu.service.sell, "pkg-1", cash_tendered_cents=500)
    assert "sales ended at" in error.message
    assert rsu.service.status().cannot_sell_code == "sales_ended"
    rsu.store.set_meta(**{CLOCK_OFFSET_MS: -10_000})  # device clock fast: corrected back
    rsu.clock.now = SALES_END + 5_000
    assert rsu.service.sell("pkg-1", cash_tendered_cents=500).receipt.sold_at == SALES_END + 5_000


def test_raffle_state_packages_and_payment_are_checked(rsu):
    rsu.raffle(state="suspended")
    refused("raffle_not_active", rsu.service.sell, "pkg-1", cash_tendered_cents=500)
    rsu.raffle()
    refused("unknown_package", rsu.service.sell, "nope", cash_tendered_cents=500)
    rsu.package("pkg-1", active=False)
    refused("package_inactive", rsu.service.sell, "pkg-1", cash_tendered_cents=500)
    assert [p.id for p in rsu.service.status().packages] == ["pkg-3", "pkg-10"]
    error = refused("insufficient_cash", rsu.service.sell, "pkg-3", cash_tendered_cents=999)
    assert error.message == "cash tendered 9.99 is less than the price 10.00"
    refused("invalid_payment", rsu.service.sell, "pkg-3")
    refused(
        "invalid_payment", rsu.service.sell, "pkg-3", cash_tendered_cents=1000, card_reference="x"
    )
    refused("invalid_payment", rsu.service.sell, "pkg-3", card_reference="  ")
    refused(
        "invalid_customer", rsu.service.sell, "pkg-3", card_reference="c", customer_phone="1\x00"
    )
    assert events(rsu) == [] and rsu.service.status().remaining == 10


def test_no_raffle_or_no_terminal_cannot_sell(tmp_path):
    bare = Rsu(tmp_path / "s.sqlite")
    try:
        assert bare.service.status().cannot_sell_code == "raffle_not_pulled"
        bare.raffle()
        refused("no_terminal", bare.service.sell, "pkg-1", cash_tendered_cents=500)
        other = RaffleService(
            bare.store,
            bare.identity.__class__(**{**bare.identity.__dict__, "raffle_id": None}),
            bare.key,
            bare.clock,
        )
        assert other.status().cannot_sell_code == "no_raffle"
    finally:
        bare.close()


def test_void_keeps_numbers_out_of_sale_forever(rsu):
    sale = rsu.service.sell("pkg-3", cash_tendered_cents=1000)
    number = sale.receipt.validation_number
    refused("invalid_reason", rsu.service.void, number, "   ")
    voided = rsu.service.void(number[:4] + "-" + number[4:], "customer changed mind", "Ivo")
    assert voided.receipt.voided and voided.receipt.void_reason == "customer changed mind"
    assert voided.seq == 2
    payload = validate_payload("raffle_void", events(rsu)[1].payload)
    assert (payload.order_id, payload.reason, payload.operator) == (
        sale.receipt.order_id,
        "customer changed mind",
        "Ivo",
    )
    refused("already_voided", rsu.service.void, number, "again")
    # the voided numbers are not sold again, even after a reset and re-pull
    assert rsu.service.sell("pkg-1", cash_tendered_cents=500).receipt.draw_numbers == [4]
    rsu.store.reset_pulled_data()
    rsu.seed([(1, 5), (20, 24)])
    assert rsu.service.sell("pkg-3", cash_tendered_cents=1000).receipt.draw_numbers == [5, 20, 21]
    states = dict(rsu.store.conn.execute("SELECT draw_number, state FROM raffle_number"))
    assert [states[n] for n in (1, 2, 3, 4)] == ["voided", "voided", "voided", "sold"]
    totals = rsu.service.status().totals
    assert (totals.orders, totals.tickets, totals.cash_cents, totals.voided_orders) == (
        2,
        4,
        1500,
        1,
    )
    unknown = new_validation_number(TERMINAL, "0" * 15)
    refused("unknown_order", rsu.service.void, unknown, "x")
    refused("invalid_validation", rsu.service.void, "12345", "x")


def test_reprint_is_logged_before_printing_and_counts_copies(rsu):
    sale = rsu.service.sell("pkg-1", card_reference="c")
    number = sale.receipt.validation_number
    first = rsu.service.record_reprint(number, "paper jam")
    second = rsu.service.record_reprint(number, "customer lost it", operator="Ivo")
    assert (first.copy_number, second.copy_number) == (2, 3)
    assert rsu.service.receipt(number).copy_number == 3
    later = rsu.service.sell("pkg-3", cash_tendered_cents=1000).receipt
    recent = rsu.service.recent()
    assert [(r.validation_number, r.copy_number) for r in recent] == [
        (later.validation_number, 1),
        (number, 3),
    ]
    assert rsu.service.recent(1) == [later]
    sent = events(rsu)
    assert [e.kind for e in sent] == [
        "raffle_sale",
        "raffle_reprint",
        "raffle_reprint",
        "raffle_sale",
    ]
    payload = validate_payload("raffle_reprint", sent[2].payload)
    assert (payload.copy_number, payload.reason) == (3, "customer lost it")
    refused("invalid_reason", rsu.service.record_reprint, number, "")
    rsu.service.void(number, "wrong package")
    refused("already_voided", rsu.service.record_reprint, number, "again")


def test_close_records_the_orders_and_stops_sales(rsu):
    rsu.service.sell("pkg-1", cash_tendered_cents=500)
    sale = rsu.service.sell("pkg-1", cash_tendered_cents=500)
    rsu.service.void(sale.receipt.validation_number, "mistake")
    closing = rsu.service.close(operator="Ivo")
    assert (closing.raffle_id, closing.seq, closing.orders, closing.already) == (
        RAFFLE_ID,
        4,
        2,
        False,
    )
    payload = validate_payload("device_close", events(rsu)[-1].payload)
    assert (payload.raffle_id, payload.orders) == (RAFFLE_ID, 2)
    status = rsu.service.status()
    assert (status.closed, status.can_sell, status.cannot_sell_code) == (True, False, "closed")
    refused("closed", rsu.service.sell, "pkg-1", cash_tendered_cents=500)
    first = rsu.store.conn.execute(
        "SELECT validation_number FROM raffle_order ORDER BY seq"
    ).fetchone()[0]
    refused("closed", rsu.service.void, first, "late")
    again = rsu.service.close()
    assert again.already and again.seq == 4 and len(events(rsu)) == 4


def test_a_failure_after_the_order_insert_leaves_neither_order_nor_event(rsu, monkeypatch):
    rsu.service.sell("pkg-1", cash_tendered_cents=500)

    def boom(conn, next_numbers):
        raise RuntimeError("power cut")

    monkeypatch.setattr(raffle_store, "set_next_numbers", boom)
    with pytest.raises(RuntimeError):
        rsu.service.sell("pkg-3", cash_tendered_cents=1000)
    conn = rsu.store.conn
    assert conn.execute("SELECT COUNT(*) FROM raffle_order").fetchone()[0] == 1
    assert conn.execute("SELECT COUNT(*) FROM raffle_number").fetchone()[0] == 1
    assert len(events(rsu)) == 1
    monkeypatch.undo()
    assert rsu.service.sell("pkg-3", cash_tendered_cents=1000).receipt.draw_numbers == [2, 3, 4]


def test_concurrent_sales_never_share_a_number(rsu):
    rsu.allocation("alloc-3", 100, 299)
    results: list[list[int]] = []
    errors: list[Exception] = []

    def seller() -> None:
        try:
            for _ in range(10):
                results.append(rsu.service.sell("pkg-1", card_reference="c").receipt.draw_numbers)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=seller) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    sold = [n for numbers in results for n in numbers]
    assert len(sold) == len(set(sold)) == 40
    assert sorted(sold) == [*range(1, 6), *range(20, 25), *range(100, 130)]


def test_sales_start_and_the_rsu_state_are_checked(rsu):
    rsu.raffle(sales_start=rsu.clock.now + 10_000)
    error = refused("sales_not_started", rsu.service.sell, "pkg-1", cash_tendered_cents=500)
    assert error.message.startswith("sales open at ")
    rsu.store.set_meta(**{CLOCK_OFFSET_MS: 10_000})  # the server's clock is already there
    rsu.service.sell("pkg-1", cash_tendered_cents=500)
    rsu.pull(
        rsu.change(
            "rsu",
            "rsu-1",
            {"id": "rsu-1", "name": "S", "terminal_number": 42, "state": "suspended"},
        )
    )
    refused("rsu_not_active", rsu.service.sell, "pkg-1", cash_tendered_cents=500)
