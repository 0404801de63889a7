"""The gate rule engine: one result per scan, in the protocol's order of precedence."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fieldpass.sync.checkin import (
    GateContext,
    Presence,
    ScanMode,
    ScanResult,
    TicketView,
    decide,
)

GATE = GateContext(
    event_id="ev-1",
    gate_id="g-north",
    sectors=frozenset({"A", "B"}),
    valid_from=1_000,
    valid_until=9_000,
)
TICKET = TicketView(barcode="T-1", event_id="ev-1", sector="A", holder="Ana")
OUT = Presence()
IN = Presence(inside=True, first_entry_at=2_000, first_entry_gate="North")


@pytest.mark.parametrize(
    ("ticket", "presence", "mode", "now", "expected"),
    [
        (TICKET, OUT, ScanMode.ENTRY, 5_000, ScanResult.VALID),
        (TICKET, IN, ScanMode.ENTRY, 5_000, ScanResult.ALREADY_USED),
        (TICKET, IN, ScanMode.EXIT, 5_000, ScanResult.VALID_EXIT),
        (TICKET, OUT, ScanMode.CHECK, 5_000, ScanResult.VALID),
        (TICKET, IN, ScanMode.CHECK, 5_000, ScanResult.ALREADY_USED),
        (None, OUT, ScanMode.ENTRY, 5_000, ScanResult.UNKNOWN),
        (TicketView("T-2", "ev-2", "A"), OUT, ScanMode.ENTRY, 5_000, ScanResult.WRONG_EVENT),
        (
            TicketView("T-3", "ev-1", "A", status="CANCELLED"),
            OUT,
            ScanMode.ENTRY,
            5_000,
            ScanResult.REVOKED,
        ),
        (TicketView("T-4", "ev-1", "Z"), OUT, ScanMode.ENTRY, 5_000, ScanResult.WRONG_GATE),
        (TICKET, OUT, ScanMode.ENTRY, 500, ScanResult.NOT_VALID_NOW),
        (TICKET, OUT, ScanMode.ENTRY, 9_001, ScanResult.NOT_VALID_NOW),
    ],
)
def test_each_result(ticket, presence, mode, now, expected):
    assert decide(ticket, presence, GATE, mode, now).result is expected


def test_only_an_entry_scan_moves_the_holder_in_and_check_mode_moves_nobody():
    assert decide(TICKET, OUT, GATE, ScanMode.ENTRY, 5_000).admits_entry
    check = decide(TICKET, OUT, GATE, ScanMode.CHECK, 5_000)
    assert not check.admits_entry and not check.admits_exit
    assert decide(TICKET, IN, GATE, ScanMode.EXIT, 5_000).admits_exit


def test_revocation_wins_over_use_and_place():
    revoked_elsewhere = TicketView("T-5", "ev-1", "Z", status="REFUNDED", status_reason="refunded")
    decision = decide(revoked_elsewhere, IN, GATE, ScanMode.ENTRY, 5_000)
    assert decision.result is ScanResult.REVOKED
    assert "refunded" in decision.reason


def test_a_gate_without_sector_list_serves_every_sector_and_ticket_window_narrows_gate_window():
    open_gate = GateContext(event_id="ev-1")
    assert (
        decide(TicketView("T-6", "ev-1", "Q"), OUT, open_gate, ScanMode.ENTRY, 1).result
        is ScanResult.VALID
    )
    assert (
        decide(TICKET, OUT, GATE, ScanMode.ENTRY, 3_000, ticket_valid_from=4_000).result
        is ScanResult.NOT_VALID_NOW
    )


@given(
    st.sampled_from(list(ScanMode)),
    st.booleans(),
    st.integers(0, 10_000),
    st.sampled_from(["VALID", "CANCELLED", "REVOKED", "BLACKLISTED", "valid"]),
    st.sampled_from(["A", "B", "Z", ""]),
    st.sampled_from(["ev-1", "ev-2"]),
)
def test_admission_only_ever_comes_with_a_passing_result(mode, inside, now, status, sector, event):
    ticket = TicketView("T", event, sector, status=status)
    decision = decide(ticket, Presence(inside=inside), GATE, mode, now)
    assert decision.result.admits == (
        decision.admits_entry
        or decision.admits_exit
        or (mode is ScanMode.CHECK and decision.result is ScanResult.VALID)
    )
    if decision.admits_entry:
        assert not inside and mode is ScanMode.ENTRY
