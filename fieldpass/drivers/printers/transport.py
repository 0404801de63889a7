"""What every python-escpos backed printer shares: connect, send a rendered job, query status.

python-escpos printer objects are used as byte pipes (``_raw``) opened explicitly; the
document is rendered to bytes first (``render_escpos_job``), then written in one go. A
transport error closes the connection and raises PrintError; the next call reconnects,
so one failed print never leaves the printer object unusable.
"""

from __future__ import annotations

import contextlib
import errno
import termios
import threading
from abc import abstractmethod
from typing import Any, ClassVar

from fieldpass.drivers.printers.base import (
    STATUS_OFFLINE_CAUSE,
    STATUS_PAPER,
    STATUS_PRINTER,
    Printer,
    PrintError,
    PrinterStatus,
    PrintResult,
    status_from_answers,
)
from fieldpass.drivers.printers.document import Document, DocumentError
from fieldpass.drivers.printers.escpos_lib import load_escpos
from fieldpass.drivers.printers.profile import PrinterProfile
from fieldpass.drivers.printers.render import render_escpos_job

#: Seconds a write may take before the print is declared failed.
DEFAULT_TIMEOUT_S = 10.0
#: Seconds to wait for each status answer before calling the state unknown.
DEFAULT_STATUS_TIMEOUT_S = 0.5

_UNREACHABLE = {
    errno.ECONNREFUSED,
    errno.EHOSTUNREACH,
    errno.ENETUNREACH,
    errno.EHOSTDOWN,
    errno.ENOENT,
    errno.ENODEV,
    errno.ENXIO,
}
_GONE = {errno.EPIPE, errno.ECONNRESET, errno.ECONNABORTED, errno.EIO, errno.ENODEV}


class EscposPrinter(Printer):
    """A printer reached through a python-escpos printer class (one subclass per transport)."""

    kind: ClassVar[str] = ""
    #: Whether DLE EOT status queries can be asked and answered over this transport.
    answers_status: ClassVar[bool] = False
    #: Open a connection per job and status query (raw TCP printing) instead of holding it.
    connect_per_job: ClassVar[bool] = False

    def __init__(
        self,
        spec: str,
        profile: PrinterProfile,
        *,
        timeout: float = DEFAULT_TIMEOUT_S,
        status_timeout: float = DEFAULT_STATUS_TIMEOUT_S,
    ) -> None:
        super().__init__(profile)
        self.spec = spec
        self.timeout = timeout
        self.status_timeout = status_timeout
        self._lock = threading.Lock()
        self._device: Any = None
        self._opened = False

    # -- the interface ----------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        return self._opened

    def open(self) -> None:
        """Connect (for network printers: check the printer accepts a connection)."""
        with self._lock:
            if self._opened:
                return
            self._connect()
            if self.connect_per_job:
                self._disconnect()  # nothing was sent: no need to wait for the printer
            self._opened = True

    def close(self) -> None:
        with self._lock:
            self._disconnect(graceful=True)
            self._opened = False

    def print_document(self, document: Document) -> PrintResult:
        """Render ``document`` for this printer's profile and send it. Blocking."""
        try:
            job = render_escpos_job(document, self.profile)
        except DocumentError as exc:
            raise PrintError(exc.message, code=exc.code) from exc
        self.send(job.data)
        return PrintResult(len(job.data), job.notes)

    def send(self, data: bytes) -> None:
        """Send raw ESC/POS bytes in one write. Blocking; raises PrintError."""
        with self._lock:
            self._require_open()
            device = self._device if self._device is not None else self._connect()
            try:
                self._write(device, data)
            except self._io_errors() as exc:
                self._disconnect()
                raise self._error(exc, opening=False) from exc
            if self.connect_per_job:
                self._disconnect(graceful=True)

    def status(self) -> PrinterStatus:
        """Ask DLE EOT 1/2/4. UNKNOWN when the transport or printer cannot answer."""
        with self._lock:
            self._require_open()
            if not self.answers_status:
                return PrinterStatus.UNKNOWN
            try:
                device = self._device if self._device is not None else self._connect()
            except PrintError:
                return PrinterStatus.OFFLINE
            try:
                printer = self._query(device, STATUS_PRINTER)
                if printer is None:
                    return PrinterStatus.UNKNOWN
                cause = self._query(device, STATUS_OFFLINE_CAUSE)
                paper = self._query(device, STATUS_PAPER)
                return status_from_answers(printer, cause, paper)
            except self._io_errors():
                self._disconnect()
                return PrinterStatus.OFFLINE
            finally:
                if self.connect_per_job:
                    self._disconnect()

    # -- for transports ---------------------------------------------------------------

    @abstractmethod
    def _make_device(self) -> Any:
        """A python-escpos printer object for this transport, not yet opened."""

    def _open_device(self, device: Any) -> None:
        """Open the python-escpos printer (its own ``open()`` unless a transport knows better)."""
        device.open()

    def _after_open(self, device: Any) -> None:
        """Adjust the freshly opened device (timeouts, flow control)."""

    def _write(self, device: Any, data: bytes) -> None:
        device._raw(data)

    def _query(self, device: Any, command: bytes) -> bytes | None:
        """Send a real-time status command; the one-byte answer or None (no answer)."""
        raise NotImplementedError

    def _before_close(self, device: Any) -> None:
        """Let written data drain before closing (network: half-close and wait)."""

    # -- internals --------------------------------------------------------------------

    def _require_open(self) -> None:
        if not self._opened:
            raise PrintError(f"printer {self.spec} is not open", code="printer_not_open")

    @staticmethod
    def _io_errors() -> tuple[type[BaseException], ...]:
        # pyserial's SerialException and pyusb's USBError are OSErrors too.
        return (OSError, load_escpos().exceptions.Error)

    def _connect(self) -> Any:
        device = self._make_device()
        try:
            self._open_device(device)
            self._after_open(device)
        except (*self._io_errors(), RuntimeError) as exc:
            _close_device(device)
            raise self._error(exc, opening=True) from exc
        self._device = device
        return device

    def _disconnect(self, *, graceful: bool = False) -> None:
        device, self._device = self._device, None
        if device is None:
            return
        if graceful:
            try:
                self._before_close(device)
            except self._io_errors():
                pass  # closing anyway
        _close_device(device)

    def _error(self, exc: BaseException, *, opening: bool) -> PrintError:
        where = f"printer {self.spec}"
        cause = _root_os_error(exc)
        code = cause.errno if cause is not None else None
        text = str(exc).strip().replace("\n", " ")
        if isinstance(cause, TimeoutError) or "timed out" in text.lower() or "timeout" in text:
            return PrintError(
                f"{where} did not accept data in time (paper out, cover open, or off?)",
                code="printer_timeout",
            )
        if code == errno.EBUSY or "Resource busy" in text:
            return PrintError(
                f"{where} is busy: another program holds it (the usblp kernel driver or "
                "CUPS; see packaging/README.md)",
                code="printer_busy",
            )
        if code in (errno.EACCES, errno.EPERM) or "Access denied" in text:
            return PrintError(
                f"permission denied for {where}: install packaging/udev/70-fieldpass.rules "
                "and add the kiosk user to the fieldpass group",
                code="printer_permission",
            )
        if opening:
            return PrintError(f"cannot reach {where}: {text}", code="printer_unreachable")
        if code in _GONE or code in _UNREACHABLE:
            return PrintError(f"{where} went away while printing: {text}", code="printer_gone")
        return PrintError(f"printing on {where} failed: {text}", code="print_failed")


def _root_os_error(exc: BaseException) -> OSError | None:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and (
            current.errno is not None or isinstance(current, TimeoutError)
        ):
            return current
        current = current.__cause__ or current.__context__
    return None


def _close_device(device: Any) -> None:
    """Close a python-escpos printer that may be broken, so its ``__del__`` stays quiet.

    python-escpos' Serial.close() flushes first, which raises termios.error on an
    unplugged port and leaves the object "open" for ``__del__`` to fail on again.
    """
    try:
        device.close()
    except (OSError, RuntimeError, AttributeError, termios.error, load_escpos().exceptions.Error):
        handle = getattr(device, "_device", None)
        with contextlib.suppress(OSError, AttributeError, TypeError, termios.error):
            if handle:
                handle.close()
        device._device = False
