"""The serial scanner against real pseudo-terminals, plus its pure framing rules."""

from __future__ import annotations

import os
import queue
import threading
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fieldpass.drivers.errors import DriverError, DriverSpecError
from fieldpass.drivers.scanners.serial import (
    MAX_CODE_BYTES,
    CodeFramer,
    SerialEvent,
    SerialScanner,
    _by_id_links,
    list_serial_ports,
)
from fieldpass.drivers.scanners.spec import make_scanner, parse_scanner_spec

WAIT_S = 3.0


class Pty:
    """A pseudo-terminal pair: the scanner opens ``name``, the test writes to the master."""

    def __init__(self) -> None:
        self.master, slave = os.openpty()
        self.name = os.ttyname(slave)
        self._slave = slave

    def release_slave(self) -> None:
        """Drop the test's own slave fd once the scanner holds the port (as with hardware)."""
        if self._slave is not None:
            os.close(self._slave)
            self._slave = None

    def write(self, data: bytes) -> None:
        os.write(self.master, data)

    def unplug(self) -> None:
        self.release_slave()
        if self.master is not None:
            os.close(self.master)
            self.master = None

    def close(self) -> None:
        self.unplug()


class Recorder:
    """Collects codes (with the thread they arrived on) and status events."""

    def __init__(self) -> None:
        self.codes: queue.Queue[tuple[str, str]] = queue.Queue()
        self.events: queue.Queue[tuple[SerialEvent, str]] = queue.Queue()

    def on_code(self, code: str) -> None:
        self.codes.put((code, threading.current_thread().name))

    def on_status(self, event: SerialEvent, detail: str) -> None:
        self.events.put((event, detail))

    def next_code(self, timeout: float = WAIT_S) -> str:
        return self.codes.get(timeout=timeout)[0]

    def take_codes(self, count: int, timeout: float = WAIT_S) -> list[str]:
        return [self.next_code(timeout) for _ in range(count)]

    def no_more_codes(self, within: float = 0.3) -> bool:
        try:
            code = self.codes.get(timeout=within)
        except queue.Empty:
            return True
        raise AssertionError(f"unexpected code {code!r}")

    def wait_event(self, wanted: SerialEvent, timeout: float = WAIT_S) -> str:
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no {wanted} status within {timeout}s")
            event, detail = self.events.get(timeout=remaining)
            if event is wanted:
                return detail


@pytest.fixture
def pty():
    pair = Pty()
    yield pair
    pair.close()


@pytest.fixture
def recorder():
    return Recorder()


def open_scanner(spec: str, recorder: Recorder) -> SerialScanner:
    scanner = make_scanner(spec, recorder.on_code)
    assert isinstance(scanner, SerialScanner)
    scanner.on_status = recorder.on_status
    scanner.open()
    return scanner


@pytest.fixture
def scanner_on(pty, recorder):
    """Open a scanner on the pty with the given options; closed after the test."""
    opened: list[SerialScanner] = []

    def start(options: str = "") -> SerialScanner:
        spec = f"serial:{pty.name}" + (f"?{options}" if options else "")
        scanner = open_scanner(spec, recorder)
        opened.append(scanner)
        pty.release_slave()
        recorder.wait_event(SerialEvent.CONNECTED)
        return scanner

    yield start
    for scanner in opened:
        scanner.close()


# -- terminators ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "wire"),
    [
        ("terminator=cr", b"T-0001\rT-0002\r"),
        ("terminator=lf", b"T-0001\nT-0002\n"),
        ("terminator=crlf", b"T-0001\r\nT-0002\r\n"),
        ("", b"T-0001\rT-0002\r"),  # CR is the default: most scanners ship with it
    ],
)
def test_terminated_codes_arrive_in_order_on_the_reader_thread(
    scanner_on, pty, recorder, options, wire
):
    scanner_on(options)
    pty.write(wire)
    got = [recorder.codes.get(timeout=WAIT_S) for _ in range(2)]
    assert [code for code, _ in got] == ["T-0001", "T-0002"]
    assert {thread for _, thread in got} == {"serial-scanner"}
    assert recorder.no_more_codes()


def test_cr_mode_tolerates_a_scanner_sending_crlf(scanner_on, pty, recorder):
    scanner_on("terminator=cr")
    pty.write(b"AB12\r\nCD34\r\n")
    assert recorder.take_codes(2) == ["AB12", "CD34"]
    assert recorder.no_more_codes()


def test_no_terminator_a_pause_ends_the_code(scanner_on, pty, recorder):
    scanner_on("terminator=none&timeout=0.15")
    pty.write(b"NOTERM-1")
    assert recorder.next_code() == "NOTERM-1"
    pty.write(b"NOTERM-2")
    assert recorder.next_code() == "NOTERM-2"


def test_no_terminator_split_burst_within_the_timeout_is_one_code(scanner_on, pty, recorder):
    scanner_on("terminator=none&timeout=0.4")
    pty.write(b"HALF-")
    time.sleep(0.1)
    pty.write(b"WAY")
    assert recorder.next_code() == "HALF-WAY"


def test_split_write_with_a_pause_is_joined(scanner_on, pty, recorder):
    scanner_on("terminator=cr")
    pty.write(b"SPLIT-")
    time.sleep(0.3)  # longer than a read's poll timeout, shorter than the partial expiry
    pty.write(b"CODE\r")
    assert recorder.next_code() == "SPLIT-CODE"
    assert recorder.no_more_codes()


def test_prefix_and_suffix_are_stripped(scanner_on, pty, recorder):
    # STX/ETX framing as percent-escapes, plus a printable AIM-style prefix.
    scanner_on("terminator=cr&prefix=%5DQ1&suffix=%23")
    pty.write(b"]Q1TICKET-9#\r")
    pty.write(b"NOPREFIX\r")
    assert recorder.take_codes(2) == ["TICKET-9", "NOPREFIX"]


def test_whitespace_and_controls_trimmed_at_the_ends_kept_inside(scanner_on, pty, recorder):
    scanner_on("terminator=lf")
    pty.write(b"\x02  ]C1 0104012345\x1d10ABC \x03\t\n")
    assert recorder.next_code() == "]C1 0104012345\x1d10ABC"  # GS1 separator survives


def test_utf8_and_bad_bytes(scanner_on, pty, recorder):
    scanner_on("terminator=cr")
    pty.write("Čakovec-ž\r".encode())
    pty.write(b"AB\xffCD\r")
    assert recorder.take_codes(2) == ["Čakovec-ž", "AB\ufffdCD"]


def test_binary_junk_and_empty_reads_are_dropped(scanner_on, pty, recorder):
    scanner_on("terminator=cr")
    pty.write(b"\r\r   \r\x00\xff\xfe\x80\x01\r")
    pty.write(b"AFTER-JUNK\r")
    assert recorder.next_code() == "AFTER-JUNK"
    assert recorder.no_more_codes()
    assert "binary noise" in recorder.wait_event(SerialEvent.INPUT_DISCARDED)


def test_over_long_garbage_is_dropped_and_reading_recovers(scanner_on, pty, recorder):
    scanner_on("terminator=cr")
    pty.write(b"G" * (MAX_CODE_BYTES * 3) + b"\r")
    pty.write(b"GOOD-1\r")
    assert recorder.next_code() == "GOOD-1"
    assert "over-long" in recorder.wait_event(SerialEvent.INPUT_DISCARDED)
    assert recorder.no_more_codes()


def test_partial_without_terminator_expires(scanner_on, pty, recorder):
    scanner_on("terminator=cr")
    pty.write(b"NO-TERMINATOR-EVER")
    assert "never got a terminator" in recorder.wait_event(SerialEvent.INPUT_DISCARDED)
    pty.write(b"NEXT\r")
    assert recorder.next_code() == "NEXT"


def test_close_is_prompt_and_stops_delivery(scanner_on, pty, recorder):
    scanner = scanner_on("terminator=cr")
    started = time.monotonic()
    scanner.close()
    assert time.monotonic() - started < 0.5
    assert not scanner.is_open
    assert scanner.wait_stopped(1.0)
    scanner.close()  # twice is fine


# -- unplug and reconnect ---------------------------------------------------------------


def test_unplug_then_replug_reconnects_by_the_same_path(tmp_path, recorder):
    first = Pty()
    by_id = tmp_path / "usb-Test_Scanner_0001-if00"
    by_id.symlink_to(first.name)
    scanner = open_scanner(f"serial:{by_id}?terminator=cr", recorder)
    second: Pty | None = None
    try:
        first.release_slave()
        recorder.wait_event(SerialEvent.CONNECTED)
        first.write(b"BEFORE\r")
        assert recorder.next_code() == "BEFORE"

        first.unplug()
        assert "reconnecting" in recorder.wait_event(SerialEvent.DISCONNECTED)
        assert scanner.is_open  # the reader thread keeps going

        second = Pty()
        staging = tmp_path / "relink"
        staging.symlink_to(second.name)
        os.replace(staging, by_id)  # udev re-points the by-id link at the new node
        assert str(by_id) in recorder.wait_event(SerialEvent.CONNECTED, timeout=5.0)
        second.release_slave()
        second.write(b"AFTER\r")
        assert recorder.next_code() == "AFTER"
    finally:
        scanner.close()
        first.close()
        if second is not None:
            second.close()


def test_open_errors_have_codes(tmp_path, recorder):
    missing = make_scanner(f"serial:{tmp_path}/ttyACM9", recorder.on_code)
    with pytest.raises(DriverError) as err:
        missing.open()
    assert err.value.code == "scanner_not_found"
    assert not missing.is_open

    regular = tmp_path / "not-a-tty"
    regular.write_bytes(b"")
    not_tty = make_scanner(f"serial:{regular}", recorder.on_code)
    with pytest.raises(DriverError) as err:
        not_tty.open()
    assert err.value.code == "scanner_not_serial"


def test_second_reader_of_one_port_is_refused(scanner_on, pty, recorder):
    scanner_on("terminator=cr")
    other = make_scanner(f"serial:{pty.name}", recorder.on_code)
    with pytest.raises(DriverError) as err:
        other.open()
    assert err.value.code == "scanner_busy"


# -- spec and options -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ("serial:/dev/ttyACM0?baud=fast", "baud must be a whole number"),
        ("serial:/dev/ttyACM0?baud=0", "baud must be between"),
        ("serial:/dev/ttyACM0?terminator=tab", "terminator must be one of cr|lf|crlf|none"),
        ("serial:/dev/ttyACM0?timeout=0", "timeout must be between"),
        ("serial:/dev/ttyACM0?timeout=nan", "timeout must be between"),
        ("serial:/dev/ttyACM0?baudrate=9600", "unknown serial scanner option(s) baudrate"),
        ("serial:/dev/ttyACM0?prefix=" + "x" * 17, "prefix is longer"),
        ("serial:ttyACM0", "absolute path"),
    ],
)
def test_bad_options_are_spec_errors(spec, fragment, recorder):
    with pytest.raises(DriverSpecError) as err:
        make_scanner(spec, recorder.on_code)
    assert fragment in err.value.message
    assert err.value.code == "bad_driver_spec"


def test_from_spec_defaults_and_nothing_opened(recorder):
    scanner = SerialScanner.from_spec(
        parse_scanner_spec("serial:/dev/serial/by-id/usb-none"), recorder.on_code
    )
    assert scanner.settings.baud == 9600
    assert scanner.settings.terminator == "cr"
    assert scanner.spec == "serial:/dev/serial/by-id/usb-none"
    assert not scanner.is_open
    assert SerialScanner.missing_dependencies() == ""
    assert SerialScanner.is_usable()


def test_list_serial_ports_shape(tmp_path):
    for port in list_serial_ports(by_id_dir=tmp_path):
        assert set(port) >= {"device", "by_id", "spec", "description", "vid", "pid"}
        assert str(port["spec"]).startswith("serial:")


def test_by_id_links_map_nodes_to_stable_names(tmp_path, pty):
    link = tmp_path / "usb-Acme_Scanner_42-if00"
    link.symlink_to(pty.name)
    assert _by_id_links(tmp_path) == {os.path.realpath(pty.name): str(link)}
    assert _by_id_links(tmp_path / "absent") == {}


# -- framing, pure ----------------------------------------------------------------------

CODE_TEXT = st.text(
    alphabet=st.characters(
        min_codepoint=0x21, max_codepoint=0x2FF, exclude_categories=("Cc", "Cs", "Zs")
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=150, deadline=None)
@given(
    codes=st.lists(CODE_TEXT, min_size=1, max_size=8),
    terminator=st.sampled_from([b"\r", b"\n", b"\r\n"]),
    cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=12),
)
def test_framer_any_chunking_yields_the_same_codes(codes, terminator, cuts):
    stream = b"".join(code.encode() + terminator for code in codes)
    points = sorted({min(cut, len(stream)) for cut in cuts} | {0, len(stream)})
    framer = CodeFramer(terminator)
    got: list[str] = []
    now = 100.0
    for start, end in zip(points, points[1:], strict=False):
        now += 0.05  # well inside the partial expiry
        got += framer.feed(stream[start:end], now)
    assert got == codes
    assert framer.take_discards() == []


@settings(max_examples=60, deadline=None)
@given(junk=st.binary(max_size=300), code=st.from_regex(r"[A-Z0-9]{4,20}", fullmatch=True))
def test_framer_recovers_after_any_junk(junk, code):
    framer = CodeFramer(b"\r")
    framer.feed(junk + b"\r", 1.0)
    assert framer.feed(code.encode() + b"\r", 1.01) == [code]


def test_framer_silence_mode():
    framer = CodeFramer(None, silence=0.1)
    assert framer.feed(b"ABC", 1.0) == []
    assert framer.feed(b"DEF", 1.05) == []
    assert framer.poll(1.1) == []
    assert framer.poll(1.16) == ["ABCDEF"]
    assert framer.feed(b"X" * (MAX_CODE_BYTES + 1), 2.0) == []
    assert framer.feed(b"more junk", 2.01) == []
    assert framer.poll(2.2) == []  # the over-long burst is dropped whole
    assert framer.take_discards() and framer.feed(b"OK", 3.0) == []
    assert framer.poll(3.2) == ["OK"]
