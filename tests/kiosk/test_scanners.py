"""Scanner drivers: burst detection (pure), spec parsing, and the sim scanner's thread."""

from __future__ import annotations

import threading

import pytest

from fieldpass.drivers.errors import DriverError, DriverSpecError
from fieldpass.drivers.scanners import (
    EntrySource,
    KeyboardWedgeScanner,
    KeystrokeBurst,
    ScannerSpec,
    SimScanner,
    make_scanner,
    parse_scanner_spec,
)
from fieldpass.drivers.scanners.fake import FakeScanner
from fieldpass.drivers.scanners.sim import read_code_file


def keys_at(burst: KeystrokeBurst, *times: float) -> KeystrokeBurst:
    for at in times:
        burst.key(at)
    return burst


class TestKeystrokeBurst:
    def test_fast_even_keys_are_a_scanner(self):
        burst = keys_at(KeystrokeBurst(), *(10.0 + i * 0.008 for i in range(12)))
        assert burst.classify() is EntrySource.SCANNER

    def test_person_typing_is_manual(self):
        burst = keys_at(KeystrokeBurst(), 1.0, 1.18, 1.31, 1.52, 1.70, 1.95)
        assert burst.classify() is EntrySource.MANUAL

    def test_one_slow_gap_makes_it_manual(self):
        times = [5.0, 5.01, 5.02, 5.03, 5.2, 5.21, 5.22]
        assert keys_at(KeystrokeBurst(), *times).classify() is EntrySource.MANUAL

    def test_gap_at_the_threshold_is_not_a_burst(self):
        times = [0.0, 0.030, 0.060, 0.090, 0.120]
        assert keys_at(KeystrokeBurst(), *times).classify() is EntrySource.MANUAL
        times = [0.0, 0.029, 0.058, 0.087, 0.116]
        assert keys_at(KeystrokeBurst(), *times).classify() is EntrySource.SCANNER

    def test_too_few_keys_cannot_be_told_apart(self):
        assert keys_at(KeystrokeBurst(), 0.0, 0.001, 0.002).classify() is EntrySource.MANUAL
        assert KeystrokeBurst().classify() is EntrySource.MANUAL
        assert KeystrokeBurst().largest_gap() is None

    def test_finish_classifies_and_resets(self):
        burst = keys_at(KeystrokeBurst(), *(i * 0.005 for i in range(6)))
        assert burst.finish() is EntrySource.SCANNER
        assert burst.keys == 0
        keys_at(burst, 100.0, 100.5, 101.0, 101.5)
        assert burst.finish() is EntrySource.MANUAL

    def test_clock_going_backwards_starts_again(self):
        burst = keys_at(KeystrokeBurst(), 9.0, 9.005, 9.010, 9.015, 1.0)
        assert burst.keys == 1
        assert burst.classify() is EntrySource.MANUAL

    def test_thresholds_are_configurable(self):
        times = [0.0, 0.04, 0.08, 0.12]
        assert keys_at(KeystrokeBurst(max_gap=0.05), *times).classify() is EntrySource.SCANNER


class TestSpecParsing:
    @pytest.mark.parametrize(
        ("spec", "expected"),
        [
            ("keyboard", ScannerSpec("keyboard")),
            (" KEYBOARD ", ScannerSpec("keyboard")),
            ("sim", ScannerSpec("sim")),
            ("sim:codes.txt", ScannerSpec("sim", "codes.txt")),
            ("serial:/dev/ttyACM0", ScannerSpec("serial", "/dev/ttyACM0")),
            ("camera:0", ScannerSpec("camera", "0")),
        ],
    )
    def test_valid_specs(self, spec, expected):
        assert parse_scanner_spec(spec) == expected

    @pytest.mark.parametrize(
        ("spec", "message"),
        [
            ("", "unknown scanner"),
            ("usb:04b8:0202", "unknown scanner"),
            ("keyboard:1", "takes no target"),
            ("sim:", "needs a file"),
            ("serial", "needs a target"),
            ("serial:", "needs a target"),
            ("camera:front", "must be an index or a /dev path"),
            ("serial:/dev/ttyACM0?baud", "malformed scanner options"),
        ],
    )
    def test_bad_specs_say_why(self, spec, message):
        with pytest.raises(DriverSpecError) as caught:
            parse_scanner_spec(spec)
        assert caught.value.code == "bad_driver_spec"
        assert message in str(caught.value)

    def test_options_follow_a_question_mark(self):
        parsed = parse_scanner_spec("serial:/dev/serial/by-id/usb-X?baud=9600&terminator=cr")
        assert parsed.target == "/dev/serial/by-id/usb-X"
        assert parsed.options == {"baud": "9600", "terminator": "cr"}
        assert parse_scanner_spec("camera:/dev/v4l/by-id/cam").target == "/dev/v4l/by-id/cam"

    def test_plain_sim_needs_a_code_source(self):
        with pytest.raises(DriverSpecError):
            make_scanner("sim", lambda code: None)

    def test_make_scanner_opens_nothing(self, tmp_path):
        missing = tmp_path / "missing.txt"
        scanner = make_scanner(f"sim:{missing}", lambda code: None)  # file read only at open()
        assert isinstance(scanner, SimScanner)
        assert not scanner.is_open
        assert scanner.spec == f"sim:{missing}"
        keyboard = make_scanner("keyboard", lambda code: None)
        assert isinstance(keyboard, KeyboardWedgeScanner)
        assert keyboard.feeds_input
        assert KeyboardWedgeScanner.is_usable()


class Collector:
    """Collects codes delivered on the reader thread and notes which thread delivered them."""

    def __init__(self, expected: int) -> None:
        self.codes: list[str] = []
        self.threads: set[str] = set()
        self.done = threading.Event()
        self.expected = expected

    def __call__(self, code: str) -> None:
        self.codes.append(code)
        self.threads.add(threading.current_thread().name)
        if len(self.codes) >= self.expected:
            self.done.set()


class TestSimScanner:
    def test_delivers_each_code_on_its_reader_thread(self):
        got = Collector(expected=3)
        scanner = SimScanner(got, ["A-1", "", "B-2", "C-3"], interval=0, repeat=False)
        scanner.open()
        try:
            assert scanner.wait_stopped(timeout=5)
        finally:
            scanner.close()
        assert got.codes == ["A-1", "B-2", "C-3"]
        assert got.threads == {"sim-scanner"}
        assert threading.current_thread().name not in got.threads

    def test_repeats_until_closed(self):
        got = Collector(expected=5)
        scanner = SimScanner(got, ["A-1", "B-2"], interval=0)
        with scanner:
            assert got.done.wait(timeout=5)
        assert not scanner.is_open
        assert got.codes[:5] == ["A-1", "B-2", "A-1", "B-2", "A-1"]

    def test_code_source_is_called_at_open(self):
        calls: list[int] = []

        def source() -> list[str]:
            calls.append(1)
            return ["X-1"]

        got = Collector(expected=1)
        scanner = SimScanner(got, source, interval=0, repeat=False)
        assert calls == []
        scanner.open()
        scanner.wait_stopped(timeout=5)
        scanner.close()
        assert calls == [1]
        assert got.codes == ["X-1"]

    def test_file_of_codes_skips_blanks_and_comments(self, tmp_path):
        path = tmp_path / "codes.txt"
        path.write_text("# gate demo\nT-1\n\n  T-2  \n#T-3\n", encoding="utf-8")
        assert read_code_file(path) == ["T-1", "T-2"]

    def test_missing_file_fails_at_open_with_a_code(self, tmp_path):
        scanner = make_scanner(f"sim:{tmp_path / 'nope.txt'}", lambda code: None)
        with pytest.raises(DriverError) as caught:
            scanner.open()
        assert caught.value.code == "sim_file_unreadable"
        assert not scanner.is_open

    def test_no_codes_fails_at_open(self):
        scanner = SimScanner(lambda code: None, [], interval=0)
        with pytest.raises(DriverError) as caught:
            scanner.open()
        assert caught.value.code == "sim_no_codes"

    def test_close_twice_is_harmless(self):
        scanner = SimScanner(lambda code: None, ["A-1"], interval=10)
        scanner.open()
        scanner.close()
        scanner.close()
        assert not scanner.is_open


def test_fake_scanner_records_calls_and_delivers_from_another_thread():
    got = Collector(expected=1)
    fake = FakeScanner(got)
    with pytest.raises(DriverError):
        fake.emit("T-1")
    fake.open()
    fake.emit("T-1")
    fake.close()
    assert fake.calls == ["open", "close"]
    assert got.codes == ["T-1"]
    assert got.threads == {"fake-scanner"}
