"""Pilot tests of the gate app over a real offline device store."""

from __future__ import annotations

import sqlite3
import time
from dataclasses import replace
from datetime import UTC

import pytest
from textual import events
from textual.keys import _character_to_key
from textual.widgets import Input, OptionList

from fieldpass.device.gate import GateService
from fieldpass.device.peer_exchange import PeerExchange
from fieldpass.device.sync_client import SyncClient
from fieldpass.kiosk.app import DEMO_BAD_CODES, GateApp, demo_scan_codes, make_gate_app
from fieldpass.kiosk.screens.gate import CodeInput
from fieldpass.kiosk.screens.search import SearchScreen
from fieldpass.sync import signing
from fieldpass.sync.checkin import ScanMode, ScanResult
from fieldpass.sync.messages import DeviceCertificate, certificate_bytes
from tests.device.fake_server import FakeServer
from tests.e2e.conftest import free_port

from .conftest import TICKETS
from .helpers import enter_code, settle, type_code

pytestmark = pytest.mark.anyio


def gate_app(device, **options) -> GateApp:
    options.setdefault("tz", UTC)
    options.setdefault("cursor_blink", False)
    return make_gate_app(
        device, "keyboard", sync_interval=options.pop("sync_interval", 3600), **options
    )


async def test_typed_code_shows_valid_with_holder(device, clock):
    app = gate_app(device)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        await type_code(pilot, app, "T-0001")
        screen = app.gate_screen
        assert screen.result_view.tone == "ok"
        assert screen.result_title == "VALID"
        assert screen.text_of("#result-holder") == "Ana Horvat"
        assert "Sector A" in screen.text_of("#result-place")
        assert "Seat 12" in screen.text_of("#result-place")
        assert app.bells_rung == 0
        assert screen.query_one(CodeInput).value == ""
        assert screen.query_one(CodeInput).has_focus

        clock.advance(5_000)
        await type_code(pilot, app, "T-0002")
        assert screen.result_title == "VALID"
        assert screen.text_of("#result-holder") == "Ivan Kovač"
        assert "Admitted 2" in screen.text_of("#counters")
        assert "Inside now 3" in screen.text_of("#counters")  # two here + one at the south gate


async def test_already_used_shows_first_entry_time_and_gate(device, clock):
    app = gate_app(device)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        await type_code(pilot, app, "T-0009")  # admitted earlier at the south gate
        screen = app.gate_screen
        assert app.last_outcome.result is ScanResult.ALREADY_USED
        assert screen.result_view.tone == "bad"
        assert screen.result_title == "ALREADY USED"
        assert screen.text_of("#result-first-entry") == "first entry 17:44:57 at South Gate"
        assert screen.text_of("#result-holder") == "Luka Marić"
        assert app.bells_rung == 1

        await type_code(pilot, app, "T-0001")
        clock.advance(60_000)
        await type_code(pilot, app, "T-0001")  # a minute later: same ticket again
        assert screen.result_title == "ALREADY USED"
        assert screen.text_of("#result-first-entry") == "first entry 18:00:00 at North Gate"
        assert app.bells_rung == 2


async def test_rejections_are_red_and_ring_the_bell(device, clock):
    app = gate_app(device)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        screen = app.gate_screen
        expected = [
            ("NOPE-1234", "UNKNOWN", "no ticket with this code"),
            ("T-0666", "REVOKED", "ticket refunded"),
            ("T-0004", "WRONG GATE", "sector C is not served here"),
            ("bad code!", "INVALID", "not a ticket barcode"),
        ]
        for bells, (code, title, reason) in enumerate(expected, start=1):
            clock.advance(5_000)
            await type_code(pilot, app, code)
            assert screen.result_title == title
            assert screen.text_of("#result-reason") == reason
            assert screen.result_view.tone == "bad"
            assert app.bells_rung == bells
        assert "Rejected 4" in screen.text_of("#counters")
        assert "Admitted 0" in screen.text_of("#counters")


async def test_enormous_code_is_invalid_and_shown_cut(device):
    app = gate_app(device)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        await enter_code(pilot, app, "9" * 5000)
        screen = app.gate_screen
        assert screen.result_title == "INVALID"
        assert screen.result_view.tone == "bad"
        assert "too long" in screen.text_of("#result-reason")
        assert "5000 chars" not in screen.text_of("#result-meta")  # device records 256 max
        assert len(screen.text_of("#result-meta")) < 100
        assert app.bells_rung == 1


async def test_repeat_read_is_marked_and_not_counted_twice(device):
    app = gate_app(device)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        await type_code(pilot, app, "T-0003")
        await type_code(pilot, app, "T-0003")  # same instant: the scanner read it twice
        screen = app.gate_screen
        assert screen.result_title == "VALID (REPEAT)"
        assert screen.result_view.tone == "ok"
        assert "repeat read" in screen.text_of("#result-meta")
        assert "Scans 1" in screen.text_of("#counters")


async def test_modes_switch_with_function_keys_and_record_exit(device, clock):
    app = gate_app(device)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        screen = app.gate_screen
        assert "MODE: ENTRY" in screen.text_of("#mode-line")

        await pilot.press("f3")
        assert app.mode is ScanMode.EXIT
        assert "MODE: EXIT" in screen.text_of("#mode-line")
        await type_code(pilot, app, "T-0009")
        assert app.last_outcome.result is ScanResult.VALID_EXIT
        assert app.last_outcome.mode is ScanMode.EXIT
        assert app.last_outcome.seq is not None  # recorded in the outbox
        assert screen.result_title == "VALID EXIT"
        assert screen.result_view.tone == "ok"
        assert "Inside now 0" in screen.text_of("#counters")

        await pilot.press("f4")
        assert "MODE: CHECK ONLY" in screen.text_of("#mode-line")
        clock.advance(5_000)
        await type_code(pilot, app, "T-0001")
        assert app.last_outcome.mode is ScanMode.CHECK
        assert screen.result_title == "VALID"
        assert "nobody admitted" in screen.text_of("#result-reason")
        assert "Inside now 0" in screen.text_of("#counters")

        await pilot.press("f2")
        clock.advance(5_000)
        await type_code(pilot, app, "T-0009")  # back in through this gate
        assert app.last_outcome.result is ScanResult.VALID
        assert "Inside now 1" in screen.text_of("#counters")
        assert app.bells_rung == 0


async def test_footer_shows_mode_bindings(device):
    app = gate_app(device)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        bindings = {b.id: b.key for b in app.BINDINGS if hasattr(b, "id")}
        assert bindings["mode-entry"] == "f2"
        assert bindings["mode-exit"] == "f3"
        assert bindings["mode-check"] == "f4"
        assert bindings["holder-search"] == "f5"
        shown = {
            binding.action
            for _, binding, enabled, _ in app.active_bindings.values()
            if binding.show
        }
        assert {"mode_entry", "mode_exit", "mode_check", "search"} <= shown


async def test_status_bar_shows_offline_and_unsynced_count(device, clock):
    app = gate_app(device)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        screen = app.gate_screen
        assert app.last_sync is not None and app.last_sync.online is False
        status = screen.text_of("#status-bar")
        assert status.startswith("OFFLINE")
        assert "unsynced 0" in status
        assert "last sync never" in status
        assert screen.query_one("#status-bar").has_class("-offline")

        await type_code(pilot, app, "T-0001")
        assert "unsynced 1" in screen.text_of("#status-bar")
        clock.advance(5_000)
        await type_code(pilot, app, "NOPE-1")
        assert "unsynced 2" in screen.text_of("#status-bar")

        app.start_sync()  # a sync round while offline changes nothing that was scanned
        await settle(pilot, app)
        assert screen.text_of("#status-bar").startswith("OFFLINE │ unsynced 2")


async def test_header_names_event_and_gate(device):
    app = gate_app(device)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        assert app.gate_screen.text_of("#header-line") == "Derby Night — North Gate"


async def test_search_by_holder_then_scan_the_chosen_ticket(device):
    app = gate_app(device)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        await pilot.press("f5")
        assert isinstance(app.screen, SearchScreen)
        app.screen.query_one("#search-input", Input).value = "kova"  # typed by a person
        await app.workers.wait_for_complete()
        await pilot.pause()
        results = app.screen.query_one("#search-results", OptionList)
        assert results.option_count == 1
        assert "Ivan Kovač" in str(results.get_option_at_index(0).prompt)

        await pilot.press("enter")
        await settle(pilot, app)
        assert not isinstance(app.screen, SearchScreen)
        screen = app.gate_screen
        assert screen.result_title == "VALID"
        assert screen.text_of("#result-holder") == "Ivan Kovač"
        assert "search" in screen.text_of("#result-meta")
        assert screen.query_one(CodeInput).has_focus


async def test_search_cancel_scans_nothing(device):
    app = gate_app(device)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        await pilot.press("f5", *"ana")
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.press("escape")
        await settle(pilot, app)
        assert not isinstance(app.screen, SearchScreen)
        assert app.last_outcome is None
        assert app.gate_screen.result_title == "READY"


class FailingSync(SyncClient):
    """A sync client whose round blows up with a bug (not a network error)."""

    def sync_once(self, progress=None):
        raise RuntimeError("pull page decoder broke")


async def test_sync_failure_is_a_message_and_scanning_goes_on(device, clock):
    failing = FailingSync(device.store, device.identity, device.key, clock=clock)
    ctx = replace(device, sync=failing)
    try:
        app = gate_app(ctx)
        async with app.run_test(size=(100, 30)) as pilot:
            await settle(pilot, app)
            screen = app.gate_screen
            assert "Sync problem: RuntimeError: pull page decoder broke" in screen.text_of(
                "#message-line"
            )
            assert "Traceback" not in screen.text_of("#message-line")
            await type_code(pilot, app, "T-0001")
            assert screen.result_title == "VALID"
            app.start_sync()  # the failed round released the sync slot: it can run again
            await settle(pilot, app)
            assert app.is_running
    finally:
        failing.close()


async def test_a_forged_server_answer_is_refused_and_the_status_bar_says_so(device, clock):
    """Issue 9: whatever answers in the server's place without its signature is refused,
    nothing of it is applied, and gate staff see why on the status bar."""
    forger = FakeServer(device_id=device.identity.device_id, approved=True, token="test-token")
    forger.sign_answers = False
    identity = replace(device.identity, server_public_key=FakeServer().server_public_key)
    sync = SyncClient(device.store, identity, device.key, http=forger.client(), clock=clock)
    tickets_before = device.store.ticket_count()
    try:
        app = gate_app(replace(device, sync=sync))
        async with app.run_test(size=(140, 30)) as pilot:
            await settle(pilot, app)
            status = app.gate_screen.text_of("#status-bar")
            assert "SERVER ANSWER REFUSED" in status and status.startswith("OFFLINE")
            assert device.store.ticket_count() == tickets_before
            assert device.store.status().last_error_code == "unverified_answer"
    finally:
        sync.close()


class FailingGate(GateService):
    """Check-in breaks for one code (a bug), works for the rest."""

    def check_in(self, code, mode=ScanMode.ENTRY):
        if code == "BOOM-1":
            raise sqlite3.OperationalError("disk I/O error")
        return super().check_in(code, mode)


async def test_failed_check_in_is_not_shown_as_a_ticket_result(device, clock):
    gate = FailingGate(device.store, device.identity, device.key, clock)
    app = gate_app(replace(device, gate=gate))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        await type_code(pilot, app, "BOOM-1")
        screen = app.gate_screen
        assert screen.result_title == "SCAN FAILED"
        assert screen.result_view.tone == "error"
        assert "BOOM-1" in screen.text_of("#result-meta")
        assert "Scan problem: OperationalError: disk I/O error" in screen.text_of("#message-line")
        assert app.bells_rung == 1
        await type_code(pilot, app, "T-0002")
        assert screen.result_title == "VALID"


async def test_sim_scanner_codes_are_queued_and_all_decided(device, tmp_path):
    codes = tmp_path / "codes.txt"
    codes.write_text("# demo reads\nT-0001\n\nNOPE-9\nT-0003\n", encoding="utf-8")
    app = make_gate_app(
        device, f"sim:{codes}", sync_interval=3600, tz=UTC, cursor_blink=False, sim_interval=0
    )
    app.scanner.repeat = False
    async with app.run_test(size=(100, 30)) as pilot:
        assert app.scanner.wait_stopped(timeout=5)  # all three codes posted, none lost
        await settle(pilot, app)
        counters = app.gate_screen.text_of("#counters")
        assert "Scans 3" in counters
        assert "Admitted 2" in counters
        assert "Rejected 1" in counters
        assert app.gate_screen.text_of("#result-holder") == "Marko Babić"
        assert "sim" in app.gate_screen.text_of("#result-meta")
    assert not app.scanner.is_open  # closed when the app ended


async def test_scanner_that_cannot_open_leaves_manual_entry_working(device, tmp_path):
    missing = tmp_path / "no-such-codes.txt"
    app = make_gate_app(device, f"sim:{missing}", sync_interval=3600, tz=UTC, cursor_blink=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        message = app.gate_screen.text_of("#message-line")
        assert message.startswith("Scanner problem: cannot read scan file")
        assert "Traceback" not in message
        await type_code(pilot, app, "T-0001")
        assert app.gate_screen.result_title == "VALID"


async def test_demo_sim_scanner_mixes_tickets_and_bad_codes(device):
    codes = demo_scan_codes(device)
    barcodes = {barcode for barcode, *_ in TICKETS}
    assert barcodes <= set(codes)
    assert codes.count(codes[0]) == 2  # read again later: an ALREADY_USED for the demo
    assert set(DEMO_BAD_CODES) <= set(codes)


async def wedge_scan(pilot, widget, code: str) -> None:
    """Keys as a wedge scanner sends them: 5 ms apart, then Enter (Pilot's own key presses
    are as far apart as the event loop happens to be, so they cannot stand for a burst)."""
    start = time.monotonic()
    for index, character in enumerate(code):
        event = events.Key(_character_to_key(character), character)
        event.time = start + index * 0.005
        widget.post_message(event)
    await pilot.pause()
    await pilot.press("enter")  # through the app's bindings, as a real Enter goes


async def test_a_ticket_scanned_while_searching_is_its_own_scan(device, clock):
    app = gate_app(device)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        await pilot.press("f5")
        query = app.screen.query_one("#search-input", Input)
        query.value = "kova"  # the supervisor is looking for Ivan Kovač...
        await app.workers.wait_for_complete()
        await pilot.pause()
        await wedge_scan(pilot, query, "T-0001")  # ...when a wedge scanner reads Ana's ticket
        await settle(pilot, app)
        assert isinstance(app.screen, SearchScreen)  # the search is not taken over
        assert query.value == "kova"
        assert app.last_outcome.barcode == "T-0001"
        assert app.last_outcome.holder == "Ana Horvat"
        await pilot.press("enter")  # now the supervisor picks the highlighted result
        await settle(pilot, app)
        assert not isinstance(app.screen, SearchScreen)
        assert app.last_outcome.holder == "Ivan Kovač"


async def test_the_status_bar_counts_the_lan_peers_it_reaches(device, clock):
    server_key = signing.generate_private_key()
    certificate = DeviceCertificate(
        device_id=device.identity.device_id,
        public_key=signing.public_key_text(device.key),
        role="gate",
        organization_id="org-1",
        issued_at=1,
    )
    identity = replace(
        device.identity,
        public_key=certificate.public_key,
        server_public_key=signing.public_key_text(server_key),
        certificate=signing.sign(server_key, certificate_bytes(certificate)),
        certificate_issued_at=1,
    )
    exchange = PeerExchange(device.store, identity, peers=[f"127.0.0.1:{free_port()}"])
    app = gate_app(replace(device, identity=identity), peers=exchange)
    async with app.run_test(size=(140, 30)) as pilot:
        await settle(pilot, app)
        app.refresh_status_bar()
        assert "LAN peers 0/1" in app.gate_screen.text_of("#status-bar")
