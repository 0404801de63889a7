"""Serial barcode scanners (USB CDC-ACM ``/dev/ttyACM*``, RS-232 adapters) read with pyserial.

One long-lived reader thread per scanner frames codes out of the byte stream (by a
terminator, or by a pause when the scanner sends none) and hands each to ``on_code``.
When the device disappears (unplugged: pyserial raises SerialException "device reports
readiness to read but returned no data", or an OSError) the thread closes it and reopens
the *same path* with backoff, without stopping. Configure scanners by their
``/dev/serial/by-id/...`` name, so the reopened path is the same scanner whatever
``ttyACM`` number the kernel hands out next time.

Spec: ``serial:/dev/serial/by-id/usb-X?baud=9600&terminator=cr&prefix=%02&suffix=%03``.
"""

from __future__ import annotations

import contextlib
import errno
import os
import string
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fieldpass.drivers.errors import DriverError, DriverSpecError, DriverUnavailable
from fieldpass.drivers.options import float_option, int_option
from fieldpass.drivers.scanners.base import OnCode, OnError, ThreadedScanner

if TYPE_CHECKING:
    from fieldpass.drivers.scanners.spec import ScannerSpec

try:  # pyserial is a declared dependency, but keep the module importable without it.
    import termios

    import serial as pyserial
except ImportError:  # pragma: no cover - exercised only on hosts without pyserial
    pyserial = None  # type: ignore[assignment]
    termios = None  # type: ignore[assignment]

#: Terminator option values and the bytes that end a code (None: a pause ends it).
TERMINATORS: dict[str, bytes | None] = {"cr": b"\r", "lf": b"\n", "crlf": b"\r\n", "none": None}
OPTIONS = ("baud", "terminator", "timeout", "prefix", "suffix")
DEFAULT_BAUD = 9600
DEFAULT_TERMINATOR = "cr"
#: With terminator=none, this much silence ends a code (scanners send a code in one burst).
DEFAULT_SILENCE_S = 0.1
#: Longer reads are garbage (line noise, wrong baud rate, a scanner in a config dump).
MAX_CODE_BYTES = 1024
#: A partial code with no terminator for this long is dropped (wrong terminator= setting?).
PARTIAL_EXPIRY_S = 1.0
#: Reads return at least this often, so close() and silence detection stay prompt.
POLL_S = 0.1
READ_CHUNK = 256
RECONNECT_INITIAL_S = 0.1
RECONNECT_MAX_S = 2.0
MAX_AFFIX_CHARS = 16

#: Stripped from both ends of a read: whitespace, C0/C1 controls, DEL, a BOM.
_END_JUNK = (
    string.whitespace
    + "".join(chr(c) for c in range(0x20))
    + "\x7f"
    + "".join(chr(c) for c in range(0x80, 0xA0))
    + "\ufeff"
)


class SerialEvent(StrEnum):
    """What the status callback is told about; the detail string says it for people."""

    CONNECTED = "connected"
    DISCONNECTED = "disconnected"
    INPUT_DISCARDED = "input_discarded"


#: Receives link changes and discarded input, on the reader thread (same rules as OnCode).
OnStatus = Callable[[SerialEvent, str], None]


@dataclass(frozen=True)
class SerialSettings:
    """A checked serial scanner configuration."""

    path: str
    baud: int = DEFAULT_BAUD
    terminator: str = DEFAULT_TERMINATOR
    silence: float = DEFAULT_SILENCE_S
    prefix: str = ""
    suffix: str = ""

    @property
    def terminator_bytes(self) -> bytes | None:
        return TERMINATORS[self.terminator]


def parse_serial_settings(target: str | None, options: dict[str, str]) -> SerialSettings:
    """Check a serial target and its options. Raises DriverSpecError saying what is wrong."""
    if not target:
        raise DriverSpecError(
            "the serial scanner needs a device path, e.g. serial:/dev/serial/by-id/usb-..."
        )
    if not target.startswith("/"):
        raise DriverSpecError(
            f"serial device must be an absolute path like /dev/serial/by-id/... or "
            f"/dev/ttyACM0, not {target!r}"
        )
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise DriverSpecError(
            f"unknown serial scanner option(s) {', '.join(unknown)}; use {', '.join(OPTIONS)}"
        )
    baud = int_option(options, "baud", DEFAULT_BAUD, low=50, high=4_000_000)
    terminator = options.get("terminator", DEFAULT_TERMINATOR).strip().lower()
    if terminator not in TERMINATORS:
        raise DriverSpecError(
            f"terminator must be one of {'|'.join(TERMINATORS)}, not {options['terminator']!r}"
        )
    silence = float_option(
        options, "timeout", DEFAULT_SILENCE_S, low=0.01, high=10.0, unit="seconds"
    )
    prefix = options.get("prefix", "")
    suffix = options.get("suffix", "")
    for name, value in (("prefix", prefix), ("suffix", suffix)):
        if len(value) > MAX_AFFIX_CHARS:
            raise DriverSpecError(f"{name} is longer than {MAX_AFFIX_CHARS} characters")
    return SerialSettings(target, baud, terminator, silence, prefix, suffix)


class CodeFramer:
    """Cuts a scanner's byte stream into codes. Pure: the caller passes bytes and times.

    With a terminator, a code ends at it; with none (``terminator=None``), a code ends when
    ``silence`` seconds pass without a byte. Each code is decoded as UTF-8 (bad bytes become
    U+FFFD), trimmed of whitespace and control characters at both ends (interior ones stay:
    GS1 codes carry GS separators), and stripped of the configured prefix/suffix. Empty
    reads, reads longer than ``max_code_bytes`` and reads that are nothing but undecodable
    bytes are dropped and reported through ``take_discards()``.
    """

    def __init__(
        self,
        terminator: bytes | None,
        *,
        silence: float = DEFAULT_SILENCE_S,
        prefix: str = "",
        suffix: str = "",
        max_code_bytes: int = MAX_CODE_BYTES,
        partial_expiry: float = PARTIAL_EXPIRY_S,
    ) -> None:
        if terminator is not None and not terminator:
            raise ValueError("terminator must be None or non-empty bytes")
        self.terminator = terminator
        self.silence = silence
        self.prefix = prefix
        self.suffix = suffix
        self.max_code_bytes = max_code_bytes
        self.partial_expiry = partial_expiry
        self._buffer = bytearray()
        self._last_data_at = 0.0
        self._discarding = False
        self._discards: list[str] = []

    def reset(self) -> None:
        """Forget any partial read (after a reconnect)."""
        self._buffer.clear()
        self._discarding = False

    def take_discards(self) -> list[str]:
        """Why input was dropped since the last call, said for people."""
        discards, self._discards = self._discards, []
        return discards

    def feed(self, data: bytes, now: float) -> list[str]:
        """Add bytes that arrived at ``now``; return the codes they complete."""
        codes = self.poll(now)
        if not data:
            return codes
        self._last_data_at = now
        self._buffer += data
        if self.terminator is None:
            self._check_length()
            return codes
        while True:
            end = self._buffer.find(self.terminator)
            if end < 0:
                break
            frame = bytes(self._buffer[:end])
            del self._buffer[: end + len(self.terminator)]
            if self._discarding:
                # The tail of an over-long read already reported.
                self._discarding = False
                continue
            code = self._finish(frame)
            if code is not None:
                codes.append(code)
        self._check_length(slack=len(self.terminator))
        return codes

    def poll(self, now: float) -> list[str]:
        """Codes completed by time passing (terminator=None), and expiry of stale partials."""
        idle = now - self._last_data_at
        if self.terminator is None:
            if idle < self.silence:
                return []
            frame = bytes(self._buffer)
            self._buffer.clear()
            if self._discarding:
                self._discarding = False
                return []
            code = self._finish(frame) if frame else None
            return [] if code is None else [code]
        if idle >= self.partial_expiry:
            if self._buffer and not self._discarding:
                self._discard(
                    f"dropped {len(self._buffer)} bytes that never got a terminator "
                    f"(is the scanner's terminator really {_terminator_name(self.terminator)}?)"
                )
            self._buffer.clear()
            self._discarding = False
        return []

    def _check_length(self, slack: int = 0) -> None:
        if len(self._buffer) <= self.max_code_bytes + slack:
            return
        if not self._discarding:
            self._discard(f"dropped an over-long read (more than {self.max_code_bytes} bytes)")
        self._discarding = True
        # Keep a possible half terminator so the end of the junk is still recognised.
        keep = slack - 1 if slack > 1 else 0
        del self._buffer[: len(self._buffer) - keep]

    def _finish(self, frame: bytes) -> str | None:
        if len(frame) > self.max_code_bytes:
            self._discard(f"dropped an over-long read ({len(frame)} bytes)")
            return None
        text = frame.decode("utf-8", errors="replace").strip(_END_JUNK)
        if self.prefix and text.startswith(self.prefix):
            text = text[len(self.prefix) :]
        if self.suffix and text.endswith(self.suffix):
            text = text[: -len(self.suffix)]
        text = text.strip(_END_JUNK)
        if not text:
            return None
        if all(ch == "\ufffd" or ch in _END_JUNK for ch in text):
            self._discard(f"dropped {len(frame)} bytes of binary noise")
            return None
        return text

    def _discard(self, reason: str) -> None:
        self._discards.append(reason)


def _terminator_name(terminator: bytes) -> str:
    for name, value in TERMINATORS.items():
        if value == terminator:
            return name
    return repr(terminator)


class SerialScanner(ThreadedScanner):
    """A serial scanner: codes framed on a reader thread; reopened by path after an unplug.

    ``on_status`` (optional) hears CONNECTED/DISCONNECTED and INPUT_DISCARDED with a detail
    line, on the reader thread. ``open()`` raises DriverError when the device cannot be
    opened at all (not found, permission, busy); later losses never stop the thread.
    """

    thread_name = "serial-scanner"

    def __init__(
        self,
        on_code: OnCode,
        settings: SerialSettings,
        *,
        on_error: OnError | None = None,
        on_status: OnStatus | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(on_code, on_error)
        self.settings = settings
        self.spec = f"serial:{settings.path}"
        self.on_status = on_status
        self._clock = clock
        self._port: Any = None  # a pyserial Serial while connected

    @classmethod
    def from_spec(
        cls,
        parsed: ScannerSpec,
        on_code: OnCode,
        on_error: OnError | None = None,
        *,
        on_status: OnStatus | None = None,
    ) -> SerialScanner:
        """Build (not open) from a parsed ``serial:`` spec. Raises DriverSpecError."""
        settings = parse_serial_settings(parsed.target, dict(parsed.options))
        return cls(on_code, settings, on_error=on_error, on_status=on_status)

    @classmethod
    def missing_dependencies(cls) -> str:
        if pyserial is None:
            return "pyserial (pip install pyserial)"
        return ""

    def close(self) -> None:
        """Stop the reader promptly (a blocked read is cancelled) and release the port."""
        if self._opened:
            self._stop.set()
            port = self._port
            if port is not None:
                # Already closed by the reader? The join in super().close() bounds the wait.
                with contextlib.suppress(OSError, AttributeError, TypeError):
                    port.cancel_read()
        super().close()

    # -- hardware ---------------------------------------------------------------------

    def _acquire(self) -> None:
        if pyserial is None:  # pragma: no cover - make_scanner checks is_usable() first
            raise DriverUnavailable("serial scanners need pyserial", code="scanner_unavailable")
        self._port = self._open_port()

    def _release(self) -> None:
        port, self._port = self._port, None
        _close_quietly(port)

    def _open_port(self) -> Any:
        """Open the configured path (exclusively: a second reader would steal codes)."""
        path = self.settings.path
        terminated = self.settings.terminator_bytes is not None
        try:
            return pyserial.Serial(
                path,
                baudrate=self.settings.baud,
                timeout=POLL_S if terminated else min(POLL_S, self.settings.silence / 2),
                exclusive=True,
            )
        except pyserial.SerialException as exc:  # an OSError carrying the errno
            raise _open_error(path, exc) from exc
        except (OSError, termios.error, ValueError) as exc:
            raise DriverError(
                f"cannot use {path} as a serial scanner: {exc}", code="scanner_open_failed"
            ) from exc

    # -- reader thread ----------------------------------------------------------------

    def _read_loop(self, stop: threading.Event) -> None:
        settings = self.settings
        framer = CodeFramer(
            settings.terminator_bytes,
            silence=settings.silence,
            prefix=settings.prefix,
            suffix=settings.suffix,
        )
        self._report(SerialEvent.CONNECTED, f"reading {settings.path}")
        backoff = RECONNECT_INITIAL_S
        last_failure = ""
        while not stop.is_set():
            port = self._port
            if port is None:
                if stop.wait(backoff):
                    return
                backoff = min(backoff * 2, RECONNECT_MAX_S)
                try:
                    port = self._open_port()
                except DriverError as exc:
                    if exc.message != last_failure:
                        last_failure = exc.message
                        self._report(SerialEvent.DISCONNECTED, exc.message)
                    continue
                if stop.is_set():
                    _close_quietly(port)
                    return
                self._port = port
                backoff, last_failure = RECONNECT_INITIAL_S, ""
                framer.reset()
                self._report(SerialEvent.CONNECTED, f"reconnected to {settings.path}")
                continue
            try:
                data = self._read_chunk(port, settings.terminator_bytes)
            except (OSError, TypeError, AttributeError) as exc:
                # TypeError/AttributeError: the port was closed under the read by close().
                if stop.is_set():
                    return
                self._port = None
                _close_quietly(port)
                framer.reset()
                self._report(SerialEvent.DISCONNECTED, f"lost {settings.path}: {exc}; reconnecting")
                continue
            codes = framer.feed(data, self._clock())
            for reason in framer.take_discards():
                self._report(SerialEvent.INPUT_DISCARDED, reason)
            for code in codes:
                self._deliver(code)

    @staticmethod
    def _read_chunk(port: Any, terminator: bytes | None) -> bytes:
        if terminator is not None:
            # Not readline(): CR-terminated scanners never send the LF it waits for.
            return port.read_until(terminator, READ_CHUNK)
        waiting = port.in_waiting
        return port.read(max(1, min(waiting, READ_CHUNK)))

    def _report(self, event: SerialEvent, detail: str) -> None:
        callback = self.on_status
        if callback is not None and not self._stop.is_set():
            callback(event, detail)


def _close_quietly(port: Any) -> None:
    """Close a port that may already be broken (pyserial's SerialException is an OSError)."""
    if port is None:
        return
    with contextlib.suppress(OSError, AttributeError, TypeError):
        port.close()


def _open_error(path: str, exc: Exception) -> DriverError:
    code = getattr(exc, "errno", None)
    if code in (errno.ENOENT, errno.ENODEV, errno.ENXIO):
        return DriverError(
            f"no serial device at {path}: is the scanner plugged in? "
            "('fieldpass device scanners' lists the ports)",
            code="scanner_not_found",
        )
    if code in (errno.EACCES, errno.EPERM):
        return DriverError(
            f"permission denied opening {path}: add the kiosk user to the 'dialout' group or "
            "install packaging/udev/70-fieldpass.rules, then log in again",
            code="scanner_permission_denied",
        )
    if code in (errno.EBUSY, errno.EAGAIN, errno.EWOULDBLOCK):
        return DriverError(
            f"{path} is in use by another program (another fieldpass, ModemManager, a "
            "serial console)",
            code="scanner_busy",
        )
    if code is None and "could not configure port" in str(exc).lower():
        return DriverError(f"{path} is not a serial device ({exc})", code="scanner_not_serial")
    return DriverError(f"cannot open {path}: {exc}", code="scanner_open_failed")


def _by_id_links(by_id_dir: Path) -> dict[str, str]:
    """Map each real device node to its stable ``/dev/serial/by-id`` name."""
    links: dict[str, str] = {}
    try:
        entries = sorted(by_id_dir.iterdir())
    except OSError:
        return links
    for entry in entries:
        links.setdefault(os.path.realpath(entry), str(entry))
    return links


def list_serial_ports(*, by_id_dir: Path = Path("/dev/serial/by-id")) -> list[dict[str, object]]:
    """The serial ports on this host, for ``fieldpass device scanners``.

    Each entry: ``device`` (/dev/ttyACM0), ``by_id`` (the stable name, or None), ``spec``
    (what to pass to --scanner: the by-id name when there is one), ``description``,
    ``vid``/``pid`` (4-digit hex or None), ``serial_number``, ``manufacturer``, ``product``.
    """
    if pyserial is None:
        raise DriverUnavailable("listing serial ports needs pyserial", code="scanner_unavailable")
    from serial.tools import list_ports

    links = _by_id_links(by_id_dir)
    ports: list[dict[str, object]] = []
    for info in sorted(list_ports.comports(), key=lambda port: port.device):
        by_id = links.get(os.path.realpath(info.device))
        description = info.description if info.description not in ("", "n/a") else None
        ports.append(
            {
                "device": info.device,
                "by_id": by_id,
                "spec": f"serial:{by_id or info.device}",
                "description": description,
                "vid": None if info.vid is None else f"{info.vid:04x}",
                "pid": None if info.pid is None else f"{info.pid:04x}",
                "serial_number": info.serial_number,
                "manufacturer": info.manufacturer,
                "product": info.product,
            }
        )
    return ports
