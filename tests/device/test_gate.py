"""GateService: every scan result, debounce, modes, presence, counters and search."""

from __future__ import annotations

import pytest

from fieldpass.sync.checkin import ScanMode, ScanResult
from fieldpass.sync.codes import SignedTicket, encode_signed_ticket
from fieldpass.sync.events import GENESIS_HASH, verify_chain

from .conftest import EVENT_ID, OTHER_EVENT_ID, T0, admission_change, tombstone


def outbox_and_scans(store):
    outbox = [r[0] for r in store.conn.execute("SELECT seq FROM outbox ORDER BY seq")]
    scans = [r[0] for r in store.conn.execute("SELECT seq FROM scans ORDER BY seq")]
    return outbox, scans


def test_valid_entry_is_recorded_with_outbox_event_and_admission(seeded):
    gate = seeded.gate()
    outcome = gate.check_in("TKT00001")
    assert outcome.result is ScanResult.VALID
    assert (outcome.holder, outcome.sector, outcome.row) == ("Ana Horvat 1", "A", "3")
    assert outcome.seq == 1 and not outcome.repeated
    event = seeded.store.pending_events(10, "dev-1")[0]
    assert event.kind == "scan"
    assert event.payload["result"] == "VALID" and event.payload["moved"] == "in"
    assert event.payload["barcode"] == "TKT00001"
    admission = seeded.store.conn.execute(
        "SELECT key, direction, at, own FROM admissions WHERE barcode = 'TKT00001'"
    ).fetchone()
    assert admission == ("dev-1:1", "in", T0, 1)


def test_second_entry_is_already_used_with_time_and_gate(seeded):
    gate = seeded.gate()
    gate.check_in("TKT00001")
    seeded.clock.advance(60_000)
    outcome = gate.check_in("TKT00001")
    assert outcome.result is ScanResult.ALREADY_USED
    assert outcome.first_entry_at == T0
    assert outcome.first_entry_gate == "North"
    assert outcome.seq == 2


def test_exit_then_entry_again(seeded):
    gate = seeded.gate()
    gate.check_in("TKT00002")
    seeded.clock.advance(10_000)
    assert gate.check_in("TKT00002", ScanMode.EXIT).result is ScanResult.VALID_EXIT
    seeded.clock.advance(10_000)
    assert gate.check_in("TKT00002").result is ScanResult.VALID
    assert gate.counters().inside_now == 1


def test_unknown_code(seeded):
    outcome = seeded.gate().check_in("NOSUCH0001")
    assert outcome.result is ScanResult.UNKNOWN
    assert outcome.seq == 1


def test_wrong_event_plain_ticket(seeded):
    assert seeded.gate().check_in("OTHER00001").result is ScanResult.WRONG_EVENT


def test_revoked_after_tombstone(seeded):
    seeded.store.apply_changes([tombstone(200, "TKT00003")], "epoch-1:200", "epoch-1")
    outcome = seeded.gate().check_in("TKT00003")
    assert outcome.result is ScanResult.REVOKED
    assert "refunded" in outcome.reason
    # the tombstone keeps the ticket's seat data
    assert outcome.holder == "Ana Horvat 3"


def test_wrong_gate_when_sector_not_served(seeded):
    outcome = seeded.gate(gate_id="gate-west").check_in("TKT00004")
    assert outcome.result is ScanResult.WRONG_GATE


def test_not_valid_now_outside_event_window(seeded):
    seeded.clock.advance(20 * 3_600_000)
    assert seeded.gate().check_in("TKT00005").result is ScanResult.NOT_VALID_NOW


def test_window_uses_last_known_clock_offset(seeded):
    # the device clock is 2 h slow; corrected time is still inside the window
    seeded.clock.now = T0 - 2 * 3_600_000
    assert seeded.gate().check_in("TKT00006").result is ScanResult.NOT_VALID_NOW
    seeded.store.set_meta(clock_offset_ms=2 * 3_600_000)
    seeded.clock.advance(5_000)
    outcome = seeded.gate().check_in("TKT00007")
    assert outcome.result is ScanResult.VALID
    at = seeded.store.conn.execute(
        "SELECT at FROM admissions WHERE barcode = 'TKT00007'"
    ).fetchone()[0]
    assert at == seeded.clock.now + 2 * 3_600_000


@pytest.mark.parametrize(
    "code",
    [
        "",
        "   ",
        "x",
        "ab",
        "TKT 00001",
        "' OR 1=1; --",
        "A" * 65,
        "A" * 5000,
        "\x00\x01\x02",
        "TKT\u200b00001",
        "\ud800\udc00broken",
        "\ud83d",
        "🎟️TICKET",
        "FP1.",
        "FP1.abc",
        "FP1.!!!.???",
        "FP1." + "A" * 2000,
    ],
)
def test_malformed_codes_are_invalid_and_recorded(seeded, code):
    outcome = seeded.gate().check_in(code)
    assert outcome.result is ScanResult.INVALID
    assert outcome.seq == 1
    event = seeded.store.pending_events(10, "dev-1")[0]
    assert event.payload["code_length"] == len(code)
    assert len(event.payload["code"]) <= 256
    assert event.payload["result"] == "INVALID"


def test_signed_ticket_validates_offline_without_local_row(seeded):
    code = encode_signed_ticket(
        seeded.ticket_key, SignedTicket(b="NEWSIGNED1", e=EVENT_ID, s="B", r="7", n="12", h="Iva")
    )
    outcome = seeded.gate().check_in(code)
    assert outcome.result is ScanResult.VALID
    assert (outcome.barcode, outcome.holder, outcome.sector) == ("NEWSIGNED1", "Iva", "B")
    payload = seeded.store.pending_events(10, "dev-1")[0].payload
    assert payload["signed"] is True and payload["signed_code"] == code  # for the server to verify
    assert "ticket" not in payload
    seeded.clock.advance(5_000)
    assert seeded.gate().check_in(code).result is ScanResult.ALREADY_USED


def test_signed_ticket_with_bad_signature_is_invalid(seeded):
    forged = encode_signed_ticket(seeded.other_ticket_key, SignedTicket(b="FORGED0001", e=EVENT_ID))
    assert seeded.gate().check_in(forged).result is ScanResult.INVALID


def test_signed_ticket_of_other_event_is_wrong_event(seeded):
    code = encode_signed_ticket(
        seeded.other_ticket_key, SignedTicket(b="ELSEWHERE1", e=OTHER_EVENT_ID)
    )
    outcome = seeded.gate().check_in(code)
    assert outcome.result is ScanResult.WRONG_EVENT
    assert outcome.barcode == "ELSEWHERE1"


def test_signed_ticket_revoked_by_tombstone(seeded):
    code = encode_signed_ticket(seeded.ticket_key, SignedTicket(b="NEWSIGNED2", e=EVENT_ID))
    seeded.store.apply_changes(
        [tombstone(300, "NEWSIGNED2", "CANCELLED", "")], "epoch-1:300", "epoch-1"
    )
    assert seeded.gate().check_in(code).result is ScanResult.REVOKED


def test_signed_ticket_own_window(seeded):
    code = encode_signed_ticket(
        seeded.ticket_key, SignedTicket(b="LATESIGNED", e=EVENT_ID, vf=T0 + 60_000)
    )
    assert seeded.gate().check_in(code).result is ScanResult.NOT_VALID_NOW


def test_debounce_within_window_records_nothing(seeded):
    gate = seeded.gate()
    first = gate.check_in("TKT00008")
    seeded.clock.advance(1_999)
    repeat = gate.check_in("TKT00008")
    assert repeat.repeated and repeat.seq is None
    assert repeat.result is ScanResult.VALID  # the previous outcome, not ALREADY_USED
    assert repeat.scanned_at == first.scanned_at
    assert outbox_and_scans(seeded.store) == ([1], [1])
    assert gate.counters().scans == 1


def test_same_code_after_window_is_a_new_scan(seeded):
    gate = seeded.gate()
    gate.check_in("TKT00008")
    seeded.clock.advance(2_000)
    again = gate.check_in("TKT00008")
    assert not again.repeated and again.seq == 2
    assert again.result is ScanResult.ALREADY_USED


def test_switching_mode_within_window_is_a_new_scan(seeded):
    gate = seeded.gate()
    gate.check_in("TKT00008", ScanMode.CHECK)
    seeded.clock.advance(500)
    entry = gate.check_in("TKT00008", ScanMode.ENTRY)
    assert not entry.repeated and entry.seq == 2
    assert entry.result is ScanResult.VALID and entry.mode is ScanMode.ENTRY
    assert outbox_and_scans(seeded.store) == ([1, 2], [1, 2])


def test_debounce_applies_to_invalid_reads_too(seeded):
    gate = seeded.gate()
    gate.check_in("??")
    assert gate.check_in("??").repeated


def test_check_mode_admits_nobody(seeded):
    gate = seeded.gate()
    outcome = gate.check_in("TKT00009", ScanMode.CHECK)
    assert outcome.result is ScanResult.VALID
    assert seeded.store.presence("TKT00009") is None
    seeded.clock.advance(5_000)
    assert gate.check_in("TKT00009").result is ScanResult.VALID  # still admissible
    counters = gate.counters()
    assert (counters.admitted, counters.rejected, counters.scans) == (1, 0, 2)


def test_pulled_remote_entry_makes_next_scan_already_used(seeded):
    gate = seeded.gate()
    seeded.store.apply_changes(
        [admission_change(400, "dev-other:7", "TKT00010", "in", T0 - 30_000)],
        "epoch-1:400",
        "epoch-1",
    )
    outcome = gate.check_in("TKT00010")
    assert outcome.result is ScanResult.ALREADY_USED
    assert outcome.first_entry_gate == "South"
    assert outcome.first_entry_at == T0 - 30_000


def test_third_scan_after_pulled_remote_entry_is_already_used(seeded):
    gate = seeded.gate()
    assert gate.check_in("TKT00011").result is ScanResult.VALID
    seeded.clock.advance(10_000)
    assert gate.check_in("TKT00011", ScanMode.EXIT).result is ScanResult.VALID_EXIT
    # another gate admitted it after our exit (pulled later)
    seeded.store.apply_changes(
        [admission_change(401, "dev-other:9", "TKT00011", "in", T0 + 20_000)],
        "epoch-1:401",
        "epoch-1",
    )
    seeded.clock.advance(30_000)
    outcome = gate.check_in("TKT00011")
    assert outcome.result is ScanResult.ALREADY_USED
    assert outcome.first_entry_at == T0  # our own first entry stays the earliest


def test_pulled_copy_of_own_admission_is_a_no_op(seeded):
    gate = seeded.gate()
    gate.check_in("TKT00012")
    seeded.store.apply_changes(
        [admission_change(402, "dev-1:1", "TKT00012", "in", T0 + 5, device_id="dev-1")],
        "epoch-1:402",
        "epoch-1",
    )
    row = seeded.store.conn.execute(
        "SELECT entries, first_entry_at FROM ticket_presence WHERE barcode = 'TKT00012'"
    ).fetchone()
    assert row == (1, T0)


def test_counters(seeded):
    gate = seeded.gate()
    gate.check_in("TKT00013")
    seeded.clock.advance(3_000)
    gate.check_in("TKT00014")
    seeded.clock.advance(3_000)
    gate.check_in("TKT00013")  # already used
    seeded.clock.advance(3_000)
    gate.check_in("junk code!")
    seeded.clock.advance(3_000)
    gate.check_in("TKT00014", ScanMode.EXIT)
    counters = gate.counters()
    assert (counters.admitted, counters.rejected, counters.scans) == (2, 2, 5)
    assert counters.inside_now == 1


def test_holder_search_prefix_substring_and_barcode(seeded):
    gate = seeded.gate()
    assert [t.holder for t in gate.search_holder("ana horvat 4")][:2] == [
        "Ana Horvat 4",
        "Ana Horvat 40",
    ]
    assert [t.barcode for t in gate.search_holder("kovač")] == ["BRUNO00001"]
    assert [t.barcode for t in gate.search_holder("TKT00007")] == ["TKT00007"]
    assert len(gate.search_holder("horvat", limit=5)) == 5
    assert gate.search_holder("%") == []
    assert gate.search_holder("") == []


def test_info(seeded):
    info = seeded.gate(gate_id="gate-west").info()
    assert (info.event_id, info.event_name, info.gate_name, info.sectors) == (
        EVENT_ID,
        "Cup final",
        "West",
        ("W",),
    )


def test_outbox_chain_verifies(seeded):
    gate = seeded.gate()
    for i in range(30):
        seeded.clock.advance(2_500)
        gate.check_in(f"TKT{i:05d}")
        gate.check_in("bad code") if i % 7 == 0 else None
    events = seeded.store.pending_events(1000, "dev-1")
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    verify_chain(
        events,
        device_id="dev-1",
        public_key=seeded.device_key.public_key(),
        first_prev_hash=GENESIS_HASH,
    )
    outbox, scans = outbox_and_scans(seeded.store)
    assert outbox == scans
