"""Printers: documents rendered to ESC/POS bytes, parsed back; transports on real
sockets, files and pseudo-terminals; the python-escpos traps confirmed and handled."""

from __future__ import annotations

import contextlib
import json
import os
import select
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import zxingcpp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fieldpass.drivers import printers as P
from fieldpass.drivers.errors import DriverSpecError
from fieldpass.drivers.printers.base import status_from_answers
from fieldpass.drivers.printers.escpos_lib import load_escpos
from fieldpass.drivers.printers.render import code128_hardware_payload
from tests.drivers.escpos_parse import (
    Op,
    find,
    names,
    parse,
    raster_image,
    style_of_line,
    text_lines,
)

REPO = Path(__file__).resolve().parents[2]
LONG_TICKET = "HNS-2025-GATE-B-000123456789"  # too wide as Code128 for 58 mm paper


def ops_for(document: P.Document, profile: P.PrinterProfile | str = "80mm") -> list[Op]:
    resolved = profile if isinstance(profile, P.PrinterProfile) else P.resolve_profile(profile)
    return parse(P.render_escpos(document, resolved), resolved.codepages)


def decode(op: Op) -> list[str]:
    return [result.text for result in zxingcpp.read_barcodes(np.array(raster_image(op)))]


def receipt() -> P.Document:
    return P.Document.of(
        P.Heading("RAFFLE RECEIPT"),
        P.Text("Thank you", align="center"),
        P.Rule(),
        P.KeyValue("Tickets", "3"),
        P.KeyValue("Validation", "7Q4-K9M-2XD", bold=True),
        P.QR("FP1:order:1234:sig"),
        P.Barcode128("FP-0001"),
        P.Cut(),
    )


# -- text, styles, layout -----------------------------------------------------------------


def test_job_starts_with_init_and_a_known_code_page():
    ops = ops_for(receipt())
    assert names(ops)[:2] == ["INIT", "CODEPAGE"]
    assert names(ops).count("INIT") == 1


def test_heading_is_bold_double_and_centred_and_body_text_is_not():
    ops = ops_for(receipt())
    assert style_of_line(ops, "RAFFLE RECEIPT") == {
        "bold": True,
        "size": (2, 2),
        "align": "center",
    }
    assert style_of_line(ops, "Thank you") == {"bold": False, "size": (1, 1), "align": "center"}
    assert style_of_line(ops, "Tickets") == {"bold": False, "size": (1, 1), "align": "left"}
    assert style_of_line(ops, "Validation")["bold"] is True


def test_text_sizes_map_to_gs_exclamation():
    doc = P.Document.of(P.Text("n"), P.Text("l", size="large"), P.Text("d", size="double"))
    assert [op.args for op in find(ops_for(doc), "SIZE")] == [(1, 1), (1, 2), (2, 2)]


def test_key_value_and_rule_fill_the_columns():
    profile = P.resolve_profile("80mm")
    lines = text_lines(ops_for(receipt(), profile))
    assert "-" * profile.columns in lines
    tickets = next(line for line in lines if line.startswith("Tickets"))
    assert len(tickets) == profile.columns and tickets.endswith(" 3")


def test_long_text_wraps_to_columns_and_double_width_to_half():
    words = "word " * 40
    for profile_name in ("80mm", "58mm"):
        profile = P.resolve_profile(profile_name)
        lines = text_lines(ops_for(P.Document.of(P.Text(words)), profile))
        assert max(len(line) for line in lines) <= profile.columns
        doubled = text_lines(ops_for(P.Document.of(P.Text(words, size="double")), profile))
        assert max(len(line) for line in doubled) <= profile.columns // 2


def test_control_characters_in_text_cannot_inject_commands():
    ops = ops_for(P.Document.of(P.Text("Ana\x1b@\x1dV\x00Horvat\x07"), P.KeyValue("a\x1bE", "b")))
    assert names(ops).count("INIT") == 1 and "CUT" not in names(ops)
    assert "Ana@VHorvat" in text_lines(ops)


@pytest.mark.parametrize("profile_name", ["80mm", "58mm", "TM-T88V"])
def test_croatian_text_round_trips_through_code_pages(profile_name):
    ops = ops_for(P.Document.of(P.Text("Đurđevac Čakovec ŠŽĆ čćžšđ")), profile_name)
    assert "Đurđevac Čakovec ŠŽĆ čćžšđ" in text_lines(ops)
    assert find(ops, "CODEPAGE")  # switched to a page that has them


def test_cjk_ideographs_do_not_mangle_the_rest_of_the_line():
    # python-escpos sends a whole string containing CJK as GB18030, Croatian letters too.
    ops = ops_for(P.Document.of(P.Text("Čakovec 漢字 ž")))
    assert "Čakovec ?? ž" in text_lines(ops)


# -- QR codes -----------------------------------------------------------------------------


def test_native_qr_carries_exactly_the_payload():
    profile = P.resolve_profile("80mm", qr="native")
    payload = "FP1:tkt:000042:MEUCIQDx+/="
    ops = ops_for(P.Document.of(P.QR(payload)), profile)
    assert [op.args for op in find(ops, "QR_STORE")] == [(payload.encode(),)]
    assert find(ops, "QR_EC")[0].args == (49,)  # level M
    assert len(find(ops, "QR_PRINT")) == 1
    before = names(ops)[: names(ops).index("QR_MODEL")]
    assert find(ops[: len(before)], "ALIGN")[-1].args == ("center",)
    assert "RASTER" not in names(ops)


@pytest.mark.parametrize("profile_name", ["80mm", "58mm"])
def test_image_qr_decodes_to_the_payload_and_fits(profile_name):
    profile = P.resolve_profile(profile_name)
    assert profile.qr == "image"  # the default: works on printers without native QR
    payload = "FP1:order:77:validation=7Q4K9M2XD"
    ops = ops_for(P.Document.of(P.QR(payload)), profile)
    (raster,) = find(ops, "RASTER")
    assert raster.args[1] * 8 <= profile.width_px
    assert decode(raster) == [payload]
    assert "QR_STORE" not in names(ops)


def test_qr_too_large_for_the_paper_or_the_symbol_becomes_text():
    job = P.render_escpos_job(P.Document.of(P.QR("é" * 1500)), "58mm")  # 3000 bytes: no QR
    ops = parse(job.data, P.resolve_profile("58mm").codepages)
    assert "RASTER" not in names(ops)
    assert any("too large" in note for note in job.notes)
    assert "é" * 32 in text_lines(ops)


def test_native_qr_refused_for_a_profile_without_it():
    with pytest.raises(DriverSpecError, match="native QR"):
        P.resolve_profile("58mm", qr="native")


# -- Code128 ------------------------------------------------------------------------------


def _code_set_selectors(payload: bytes) -> list[bytes]:
    selectors, i = [], 0
    while i < len(payload) - 1:
        if payload[i : i + 1] == b"{":
            if payload[i + 1 : i + 2] == b"{":
                i += 2
                continue
            selectors.append(payload[i : i + 2])
            i += 2
        else:
            i += 1
    return selectors


@pytest.mark.parametrize("data", ["FP-0001", "A{B}C", "TKT 42/x"])
def test_hardware_code128_has_exactly_one_code_set_prefix(data):
    ops = ops_for(P.Document.of(P.Barcode128(data)))
    (barcode,) = find(ops, "BARCODE")
    kind, payload = barcode.args
    assert kind == 73  # GS k m=73: CODE128, function B
    assert payload.startswith(b"{B")
    assert _code_set_selectors(payload) == [b"{B"]
    assert payload[2:].replace(b"{{", b"{") == data.encode()
    assert find(ops, "HRI_POSITION")[0].args == (2,)  # text below


def test_hardware_code128_numeric_uses_code_set_c_pairs():
    ops = ops_for(P.Document.of(P.Barcode128("00123456789012")))
    (barcode,) = find(ops, "BARCODE")
    payload = barcode.args[1]
    assert payload[:2] == b"{C" and _code_set_selectors(payload) == [b"{C"]
    assert "".join(f"{pair:02d}" for pair in payload[2:]) == "00123456789012"
    assert code128_hardware_payload("12345")[0].startswith("{B")  # odd length stays in B


@pytest.mark.parametrize("data", ["FP-0001", "A{B}C", "123456"])
def test_image_code128_encodes_the_data_without_a_prefix(data):
    profile = P.resolve_profile("80mm", barcode="image")
    ops = ops_for(P.Document.of(P.Barcode128(data)), profile)
    (raster,) = find(ops, "RASTER")
    assert decode(raster) == [data]
    assert "BARCODE" not in names(ops)
    assert data in text_lines(ops)  # human-readable line under the bars


def test_58mm_too_wide_barcode_falls_back_to_qr_without_failing():
    profile = P.resolve_profile("58mm")
    assert profile.barcode == "image"  # POS-5890 has no hardware barcodes
    doc = P.Document.of(P.Text("before"), P.Barcode128(LONG_TICKET), P.Text("after"), P.Cut())
    job = P.render_escpos_job(doc, profile)
    ops = parse(job.data, profile.codepages)
    rasters = find(ops, "RASTER")
    assert len(rasters) == 1 and decode(rasters[0]) == [LONG_TICKET]
    assert all(op.args[1] * 8 <= profile.width_px for op in rasters)
    assert any("printed as a QR code" in note for note in job.notes)
    lines = text_lines(ops)
    assert lines.index("before") < lines.index(LONG_TICKET) < lines.index("after")


def test_58mm_barcode_that_fits_with_narrower_bars_stays_a_barcode():
    profile = P.resolve_profile("58mm")
    ops = ops_for(P.Document.of(P.Barcode128("FP-0001")), profile)
    (raster,) = find(ops, "RASTER")
    assert raster.args[1] * 8 <= profile.width_px
    assert decode(raster) == ["FP-0001"]


def test_80mm_hardware_barcode_narrows_then_falls_back():
    fits_at_two = P.Barcode128("FP-TEST-000000001")
    too_wide = P.Barcode128("X" * 60)
    ops = ops_for(P.Document.of(fits_at_two, too_wide))
    assert [op.args for op in find(ops, "BARCODE_WIDTH")] == [(2,)]
    assert len(find(ops, "BARCODE")) == 1
    (raster,) = find(ops, "RASTER")  # the QR standing in for the second one
    assert decode(raster) == ["X" * 60]


# -- cut ----------------------------------------------------------------------------------


def test_cut_on_80mm_feeds_then_cuts():
    ops = ops_for(receipt())
    assert names(ops)[-2:] == ["FEED", "CUT"]
    assert find(ops, "FEED")[-1].args == (6,)
    assert find(ops, "CUT")[0].args == (0, None)  # GS V 0: full cut
    partial = ops_for(P.Document.of(P.Cut(partial=True)))
    assert find(partial, "CUT")[0].args == (1, None)


def test_cut_on_58mm_only_feeds_and_says_so():
    job = P.render_escpos_job(receipt(), "58mm")
    ops = parse(job.data, P.resolve_profile("58mm").codepages)
    assert "CUT" not in names(ops) and names(ops)[-1] == "FEED"
    assert any("no cutter" in note for note in job.notes)


def test_cut_always_and_never():
    always = ops_for(P.Document.of(P.Cut()), P.resolve_profile("58mm", cut="always"))
    assert names(always)[-2:] == ["FEED", "CUT"]
    never = ops_for(P.Document.of(P.Cut()), P.resolve_profile("80mm", cut="never"))
    assert "CUT" not in names(never) and names(never)[-1] == "FEED"


# -- whole documents ----------------------------------------------------------------------


@pytest.mark.parametrize("profile_name", ["80mm", "58mm", "TM-T88V", "default", "ZJ-5870"])
def test_test_page_renders_and_parses_on_every_profile(profile_name, capsys):
    profile = P.resolve_profile(profile_name)
    doc = P.test_page_document(spec="dummy", profile_name=profile_name, columns=profile.columns)
    job = P.render_escpos_job(doc, profile)
    ops = parse(job.data, profile.codepages)
    assert "FIELDPASS" in text_lines(ops)
    assert all(op.args[1] * 8 <= profile.width_px for op in find(ops, "RASTER"))
    # python-escpos print()s on some paths; none of them may reach stdout (CLI --json).
    assert capsys.readouterr().out == ""


def test_document_is_immutable_and_checked():
    doc = P.Document.of(P.Heading("A"), [P.Text("b"), P.Feed(2)], P.Cut())
    assert len(doc.blocks) == 4 and isinstance(doc.blocks, tuple)
    with pytest.raises(P.DocumentError):
        P.Text("x", size="huge")
    with pytest.raises(P.DocumentError):
        P.Barcode128("Čevapi")
    with pytest.raises(P.DocumentError):
        P.QR("")
    with pytest.raises(P.DocumentError):
        P.Document(("not a block",))  # type: ignore[arg-type]
    assert P.Line is P.Rule


def test_text_preview():
    preview = P.render_text(receipt(), 32)
    lines = preview.splitlines()
    assert all(len(line) <= 32 for line in lines)
    assert lines[0] == "RAFFLE RECEIPT".center(32).rstrip()
    assert "-" * 32 in lines
    assert any(line.startswith("Tickets") and line.endswith("3") for line in lines)
    assert "[QR: FP1:order:1234:sig]" in preview
    assert "[Code128: FP-0001]" in preview
    assert "cut" in lines[-1]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    texts=st.lists(st.text(max_size=80), min_size=1, max_size=4),
    size=st.sampled_from(["normal", "large", "double"]),
    profile_name=st.sampled_from(["80mm", "58mm"]),
)
def test_any_text_renders_to_parseable_bytes(texts, size, profile_name):
    profile = P.resolve_profile(profile_name)
    doc = P.Document.of([P.Text(text, size=size) for text in texts], P.KeyValue(texts[0], "v"))
    ops = parse(P.render_escpos(doc, profile), profile.codepages)  # no stray control bytes
    assert names(ops).count("INIT") == 1
    assert all(len(line) <= profile.columns for line in text_lines(ops))


# -- python-escpos traps, confirmed on the library itself --------------------------------


def test_trap_escpos_software_code128_prints_the_prefix_into_the_barcode(capsys):
    lib = load_escpos()
    raw = lib.printer.Dummy(profile="TM-T20II")
    raw.barcode("{BFP-0001", "CODE128", force_software="bitImageRaster")
    (raster,) = find(parse(raw.output), "RASTER")
    assert decode(raster) == ["{BFP-0001"]  # the prefix became data
    with pytest.raises(lib.exceptions.BarcodeCodeError):
        lib.printer.Dummy(profile="TM-T20II").barcode("FP-0001", "CODE128")  # hw needs it
    assert "renderer" in capsys.readouterr().out  # and it print()s to stdout


def test_trap_escpos_58mm_wide_barcode_raises_and_cut_sends_no_cut(capsys):
    lib = load_escpos()
    raw = lib.printer.Dummy(profile="POS-5890")
    with pytest.raises(lib.exceptions.ImageWidthError):
        raw.barcode(LONG_TICKET, "CODE128")
    raw = lib.printer.Dummy(profile="POS-5890")
    raw.cut()
    assert raw.output == b"\x1bd\x06"  # a feed, no GS V
    capsys.readouterr()


def test_import_side_effects_are_contained(tmp_path):
    """Plain ``import escpos`` leaves a temp dir and a root log handler; our loader neither."""
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "cache"), PYTHONPATH=str(REPO))
    env.pop("ESCPOS_CAPABILITIES_PICKLE_DIR", None)
    probe = (
        "import json, logging, sys\n"
        "{load}\n"
        "print(json.dumps({{'handlers': len(logging.getLogger().handlers)}}))\n"
    )
    ours = probe.format(
        load="from fieldpass.drivers.printers import render_escpos, test_page_document\n"
        "render_escpos(test_page_document(), '58mm')"
    )
    plain = probe.format(load="import escpos.printer")
    results = {}
    for label, code in (("ours", ours), ("plain", plain)):
        tmp = tmp_path / f"tmp-{label}"
        tmp.mkdir()
        out = subprocess.run(
            [sys.executable, "-c", code],
            env=dict(env, TMPDIR=str(tmp)),
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        results[label] = (json.loads(out.stdout.strip().splitlines()[-1]), list(tmp.iterdir()))
        if label == "ours":
            assert out.stdout.strip().count("\n") == 0  # nothing else on stdout
    assert results["ours"] == ({"handlers": 0}, [])
    assert list((tmp_path / "cache" / "fieldpass" / "escpos").glob("*.capabilities.pickle"))
    plain_handlers, plain_tmp = results["plain"]
    assert plain_handlers == {"handlers": 1} and len(plain_tmp) == 1  # the traps, confirmed


# -- status -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        ((None, None, None), P.PrinterStatus.UNKNOWN),
        ((b"", b"", b""), P.PrinterStatus.UNKNOWN),
        ((b"\xff", None, None), P.PrinterStatus.UNKNOWN),  # not a status byte
        ((b"\x16", b"\x12", b"\x12"), P.PrinterStatus.OK),
        ((b"\x16", b"\x12", b"\x1e"), P.PrinterStatus.PAPER_LOW),
        ((b"\x1e", b"\x32", b"\x72"), P.PrinterStatus.PAPER_OUT),
        ((b"\x1e", b"\x16", b"\x12"), P.PrinterStatus.COVER_OPEN),
        ((b"\x1e", b"\x52", b"\x12"), P.PrinterStatus.OFFLINE),
        ((b"\x16", None, None), P.PrinterStatus.OK),
    ],
)
def test_status_from_answers(answers, expected):
    assert status_from_answers(*answers) is expected


# -- transports ---------------------------------------------------------------------------


def _ipv6_loopback() -> bool:
    try:
        with socket.create_server(("::1", 0), family=socket.AF_INET6):
            return True
    except OSError:
        return False


class FakeNetworkPrinter:
    """A TCP server on loopback standing in for a printer on port 9100.

    Print connections are recorded whole; connections that only carry DLE EOT n queries
    get ``answers[n]`` (or nothing, when ``answers`` lacks n).
    """

    def __init__(
        self, answers: dict[int, bytes] | None = None, port: int = 0, host: str = "127.0.0.1"
    ) -> None:
        self.answers = answers or {}
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.server = socket.create_server((host, port), family=family)
        self.port = self.server.getsockname()[1]
        self.jobs: list[bytes] = []
        self.queries: list[int] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            with conn:
                received = b""
                answered = 0
                while True:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    received += chunk
                    queries = _only_status_queries(received)
                    for number in queries[answered:]:
                        self.queries.append(number)
                        if number in self.answers:
                            conn.sendall(self.answers[number])
                    answered = len(queries)
                if received and not _only_status_queries(received):
                    self.jobs.append(received)

    def close(self) -> None:
        # shutdown() wakes the blocked accept(); close() alone would leave it listening.
        with contextlib.suppress(OSError):
            self.server.shutdown(socket.SHUT_RDWR)
        self.server.close()
        self._thread.join(timeout=2)


def _only_status_queries(data: bytes) -> list[int]:
    if len(data) % 3 or not data:
        return []
    triples = [data[i : i + 3] for i in range(0, len(data), 3)]
    if all(t[:2] == b"\x10\x04" for t in triples):
        return [t[2] for t in triples]
    return []


def _wait_for(predicate, timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)


def test_dummy_transport_keeps_the_last_job():
    printer = P.make_printer("dummy")
    assert not printer.is_open
    with pytest.raises(P.PrintError) as err:
        printer.print_document(receipt())
    assert err.value.code == "printer_not_open"
    with printer:
        result = printer.print_document(receipt())
        assert printer.last_output == P.render_escpos(receipt(), printer.profile)
        assert result.bytes_sent == len(printer.last_output)
        assert printer.status() is P.PrinterStatus.UNKNOWN  # it cannot answer
    assert not printer.is_open
    with pytest.raises(P.PrintError):
        printer.status()


def test_file_transport_writes_the_rendered_bytes(tmp_path):
    target = tmp_path / "receipt.bin"
    printer = P.make_printer(f"file:{target}?profile=58mm")
    assert not target.exists()  # nothing opened at construction
    with printer:
        printer.print_document(receipt())
        printer.print_document(P.test_page_document())
    expected = P.render_escpos(receipt(), "58mm") + P.render_escpos(P.test_page_document(), "58mm")
    assert target.read_bytes() == expected


def test_file_transport_missing_directory_is_unreachable(tmp_path):
    printer = P.make_printer(f"file:{tmp_path}/no/such/dir/lp0")
    with pytest.raises(P.PrintError) as err:
        printer.open()
    assert err.value.code == "printer_unreachable"
    assert not printer.is_open


def test_network_transport_one_connection_per_job():
    server = FakeNetworkPrinter()
    try:
        printer = P.make_printer(f"network:127.0.0.1:{server.port}")
        with printer:
            printer.print_document(receipt())
            printer.print_document(P.Document.of(P.Text("second"), P.Cut()))
        _wait_for(lambda: len(server.jobs) == 2)
        assert server.jobs[0] == P.render_escpos(receipt(), "80mm")
        assert server.jobs[1] == P.render_escpos(P.Document.of(P.Text("second"), P.Cut()))
    finally:
        server.close()


@pytest.mark.skipif(not _ipv6_loopback(), reason="no IPv6 loopback here")
def test_network_transport_over_ipv6():
    # python-escpos' own Network.open() is IPv4-only.
    server = FakeNetworkPrinter(host="::1")
    try:
        with P.make_printer(f"network:[::1]:{server.port}") as printer:
            printer.print_document(receipt())
        _wait_for(lambda: len(server.jobs) == 1)
        assert server.jobs[0] == P.render_escpos(receipt())
    finally:
        server.close()


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        ({1: b"\x16", 2: b"\x12", 4: b"\x12"}, P.PrinterStatus.OK),
        ({1: b"\x1e", 2: b"\x32", 4: b"\x72"}, P.PrinterStatus.PAPER_OUT),
        ({1: b"\x1e", 2: b"\x16", 4: b"\x12"}, P.PrinterStatus.COVER_OPEN),
        ({1: b"\x16", 2: b"\x12", 4: b"\x1e"}, P.PrinterStatus.PAPER_LOW),
        ({}, P.PrinterStatus.UNKNOWN),  # a printer that never answers is not "OK"
    ],
)
def test_network_status(answers, expected):
    server = FakeNetworkPrinter(answers)
    try:
        printer = P.make_printer(f"network:127.0.0.1:{server.port}")
        printer.status_timeout = 0.2
        with printer:
            assert printer.status() is expected
    finally:
        server.close()


def test_network_unreachable_then_recovers():
    probe = socket.create_server(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    printer = P.make_printer(f"network:127.0.0.1:{port}?timeout=2")
    with pytest.raises(P.PrintError) as err:
        printer.open()
    assert err.value.code == "printer_unreachable"
    server = FakeNetworkPrinter(port=port)
    try:
        printer.open()
        server.close()  # the printer goes away after open
        with pytest.raises(P.PrintError) as err:
            printer.print_document(receipt())
        assert err.value.code == "printer_unreachable"
        assert printer.status() is P.PrinterStatus.OFFLINE
        server = FakeNetworkPrinter(port=port)  # and comes back: the same object prints
        printer.print_document(receipt())
        _wait_for(lambda: len(server.jobs) == 1)
        assert server.jobs[0] == P.render_escpos(receipt(), "80mm")
    finally:
        printer.close()
        server.close()


class PtyPrinterEnd:
    """The printer's end of a pty: collects bytes, answers DLE EOT queries if told to."""

    def __init__(self, answers: dict[int, bytes] | None = None) -> None:
        self.master, self._slave = os.openpty()  # held open: a master alone reads EIO
        self.name = os.ttyname(self._slave)
        self.answers = answers or {}
        self.received = bytearray()
        self._stop = False
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        pending = b""
        while not self._stop:
            # Poll, so close() can stop us: a read blocked in another thread would keep
            # the master alive after os.close() and the pty would never hang up.
            if not select.select([self.master], [], [], 0.05)[0]:
                continue
            try:
                chunk = os.read(self.master, 65536)
            except OSError:
                return
            if not chunk:
                return
            self.received += chunk
            pending += chunk
            while b"\x10\x04" in pending:
                at = pending.index(b"\x10\x04")
                if len(pending) < at + 3:
                    break
                number = pending[at + 2]
                pending = pending[at + 3 :]
                if number in self.answers:
                    os.write(self.master, self.answers[number])
            pending = pending[-2:]

    def close(self) -> None:
        self._stop = True
        self._thread.join(timeout=2)
        for fd in (self._slave, self.master):
            if fd is not None:
                os.close(fd)
        self._slave = self.master = None


def test_serial_transport_on_a_pty(tmp_path):
    end = PtyPrinterEnd({1: b"\x16", 2: b"\x12", 4: b"\x1e"})
    link = tmp_path / "usb-Printer-if00-port0"
    link.symlink_to(end.name)
    printer = P.make_printer(f"serial:{link}?baud=38400&profile=58mm")
    second: PtyPrinterEnd | None = None
    try:
        printer.open()
        expected = P.render_escpos(receipt(), "58mm")
        printer.print_document(receipt())
        _wait_for(lambda: len(end.received) >= len(expected))
        assert bytes(end.received) == expected
        assert printer.status() is P.PrinterStatus.PAPER_LOW

        end.close()  # unplugged
        with pytest.raises(P.PrintError):
            printer.print_document(receipt())
        second = PtyPrinterEnd()  # plugged back; the by-id link points at the new node
        staging = tmp_path / "relink"
        staging.symlink_to(second.name)
        os.replace(staging, link)
        printer.print_document(receipt())
        _wait_for(lambda: len(second.received) >= len(expected))
        assert bytes(second.received) == expected
        printer.status_timeout = 0.2
        assert printer.status() is P.PrinterStatus.UNKNOWN  # silent printer
    finally:
        printer.close()
        end.close()
        if second is not None:
            second.close()


def test_trap_escpos_paper_status_reports_paper_when_the_printer_is_silent():
    end = PtyPrinterEnd()  # answers nothing
    lib = load_escpos()
    raw = lib.printer.Serial(devfile=end.name, timeout=0.2, dsrdtr=False)
    try:
        raw.open()
        assert raw.paper_status() == 2  # "paper adequate" from silence
        printer = P.make_printer(f"serial:{end.name}")
        printer.status_timeout = 0.2
        with printer:
            assert printer.status() is P.PrinterStatus.UNKNOWN
    finally:
        raw.close()
        end.close()


def test_usb_printer_that_is_not_plugged_in_is_a_clear_print_error():
    assert P.UsbPrinter.is_usable()  # pyusb and libusb are dependencies of the project
    printer = P.make_printer("usb:04b8:0202")
    with pytest.raises(P.PrintError) as err:
        printer.open()
    assert err.value.code == "printer_unreachable"
    assert "usb:04b8:0202" in err.value.message and "not found" in err.value.message
    assert not printer.is_open


# -- spec parsing -------------------------------------------------------------------------


def test_parse_valid_specs():
    assert P.parse_printer_spec("dummy") == P.PrinterSpec("dummy")
    usb = P.parse_printer_spec("usb:04B8:0x0202?out_ep=0x03")
    assert (usb.vendor_id, usb.product_id, usb.options) == (0x04B8, 0x0202, {"out_ep": "0x03"})
    net = P.parse_printer_spec("network:printer.local")
    assert (net.host, net.port) == ("printer.local", 9100)
    assert P.parse_printer_spec("network:10.0.0.5:9101").port == 9101
    assert P.parse_printer_spec("network:[::1]:9100").host == "::1"
    serial = P.parse_printer_spec("serial:/dev/ttyUSB0?baud=115200&flow=rtscts")
    assert serial.target == "/dev/ttyUSB0" and serial.options["baud"] == "115200"
    assert P.parse_printer_spec("file:out/receipt.bin?profile=58mm").target == "out/receipt.bin"


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ("laser:1", "unknown printer"),
        ("", "unknown printer"),
        ("dummy:x", "takes no target"),
        ("file:", "needs a target"),
        ("usb:04b8", "VENDOR:PRODUCT"),
        ("usb:zz:0202", "VENDOR:PRODUCT"),
        ("usb:0000:0202", "vendor id 0000"),
        ("network:", "needs a target"),
        ("network:host:", "no port"),
        ("network:host:70000", "1..65535"),
        ("network:bad host", "not a host"),
        ("network:[::1", "IPv6"),
        ("serial:ttyUSB0", "absolute device path"),
        ("serial:/dev/ttyUSB0?baud=fast", "baud must be a whole number"),
        ("serial:/dev/ttyUSB0?flow=dsr", "flow must be one of"),
        ("dummy?qr=svg", "qr must be one of"),
        ("dummy?cut=maybe", "cut must be one of"),
        ("dummy?width=10", "width must be between"),
        ("dummy?timeout=0", "timeout must be between"),
        ("dummy?baud=9600", "unknown dummy printer option"),
        ("dummy?qr=image&qr=native", "given twice"),
        ("dummy?profile", "malformed printer options"),
        ("usb:04b8:0202?in_ep=zz", "hex endpoint"),
    ],
)
def test_bad_specs(spec, fragment):
    with pytest.raises(DriverSpecError) as err:
        P.parse_printer_spec(spec)
    assert fragment in err.value.message


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ("dummy?profile=TM-NOPE", "unknown printer profile"),
        ("dummy?profile=58mm&qr=native", "native QR"),
        ("dummy?profile=58mm&barcode=hardware", "no hardware Code128"),
    ],
)
def test_bad_profiles_fail_at_make_time(spec, fragment):
    with pytest.raises(DriverSpecError) as err:
        P.make_printer(spec)
    assert fragment in err.value.message


def test_make_printer_applies_options():
    printer = P.make_printer("dummy?profile=TM-T88V&qr=native&barcode=image&cut=never&width=500")
    assert printer.profile.escpos_name == "TM-T88V"
    assert (printer.profile.qr, printer.profile.barcode, printer.profile.cut) == (
        "native",
        "image",
        "never",
    )
    assert printer.profile.width_px == 500
    assert "80mm" in P.available_profiles() and "POS-5890" in P.available_profiles()


# -- the recording fake -------------------------------------------------------------------


def test_recording_printer_records_and_fails_on_request():
    fake = P.RecordingPrinter()
    fake.open()
    fake.print_document(receipt())
    fake.fail_next("printer_timeout")
    with pytest.raises(P.PrintError) as err:
        fake.print_document(receipt())
    assert err.value.code == "printer_timeout"
    fake.print_document(receipt())  # usable again after a failure
    fake.status_to_report = P.PrinterStatus.PAPER_OUT
    assert fake.status() is P.PrinterStatus.PAPER_OUT
    assert len(fake.jobs) == 2
    assert fake.output == P.render_escpos(receipt()) * 2
    assert fake.calls == ["open", "print_document", "print_document", "print_document", "status"]
    assert "RAFFLE RECEIPT" in fake.last_preview()


def test_printing_runs_fine_off_the_main_thread():
    """The app prints from a worker thread; rendering shares no state between jobs."""
    results: list[bytes] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            results.append(P.render_escpos(receipt(), "58mm"))
        except Exception as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and len(set(results)) == 1


def test_render_is_fast_enough_for_the_sale_budget():
    doc = receipt()
    P.render_escpos(doc)  # warm up: capabilities, fonts
    started = time.perf_counter()
    for _ in range(10):
        P.render_escpos(doc)
    assert (time.perf_counter() - started) / 10 < 0.020
