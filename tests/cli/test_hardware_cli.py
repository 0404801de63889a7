"""``fieldpass device scanners | test-scanner | test-printer`` against real ptys and files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import tty

from click.testing import CliRunner

from fieldpass.cli import cli
from tests.drivers.escpos_parse import names, parse


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_test_printer_preview_and_file_bytes(tmp_path):
    preview = run("device", "test-printer", "dummy?profile=58mm", "--preview")
    assert preview.exit_code == 0, preview.output
    assert "Printer test page" in preview.output
    assert "[QR: FIELDPASS-TEST-PAGE]" in preview.output
    target = tmp_path / "printer.bin"
    printed = run("device", "test-printer", f"file:{target}", "--json")
    assert printed.exit_code == 0, printed.output
    answer = json.loads(printed.output)
    data = target.read_bytes()
    assert answer["bytes_sent"] == len(data) > 0
    assert answer["status"] == "unknown"  # a file cannot answer status queries
    assert data.startswith(b"\x1b@")  # ESC @: initialise
    ops = names(parse(data))
    assert ops[0] == "INIT" and "CUT" in ops and "BARCODE" in ops


def test_bad_printer_and_scanner_specs_are_one_line_errors():
    printer = run("device", "test-printer", "laser:1")
    assert printer.exit_code == 1
    assert printer.output.startswith("error: unknown printer 'laser:1'")
    scanner = run("device", "test-scanner", "serial:/dev/fieldpass-no-such-port", "--seconds", "1")
    assert scanner.exit_code == 1
    assert "no serial device at /dev/fieldpass-no-such-port" in scanner.output
    keyboard = run("device", "test-scanner", "keyboard")
    assert keyboard.exit_code == 1 and "types into the app" in keyboard.output


def test_scanners_lists_what_the_host_has():
    result = run("device", "scanners", "--json")
    assert result.exit_code == 0
    listed = json.loads(result.output)
    assert set(listed) == {"cameras", "serial_ports"}
    for port in listed["serial_ports"]:
        assert port["spec"].startswith("serial:")


def test_test_scanner_prints_codes_read_from_a_serial_port():
    master, slave = os.openpty()
    tty.setraw(master)
    port = os.ttyname(slave)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "fieldpass",
            "device",
            "test-scanner",
            f"serial:{port}?terminator=crlf&prefix=]C1",
            "--count",
            "2",
            "--json",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )

    def scan_twice() -> None:
        time.sleep(1.5)  # let the process open the port
        os.write(master, b"]C1HNS-000001\r\n")
        os.write(master, b"]C1HNS-0")
        time.sleep(0.2)
        os.write(master, b"00002\r\n")

    writer = threading.Thread(target=scan_twice)
    writer.start()
    try:
        out, err = process.communicate(timeout=30)
    finally:
        writer.join()
        os.close(master)
        os.close(slave)
    assert process.returncode == 0, err
    codes = [
        json.loads(line)["text"] for line in out.splitlines() if json.loads(line)["kind"] == "code"
    ]
    assert codes == ["HNS-000001", "HNS-000002"]
