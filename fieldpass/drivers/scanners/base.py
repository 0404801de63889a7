"""The scanner interface: open, deliver decoded codes to a callback, close.

Codes arrive on the scanner's own reader thread (keyboard wedge excepted), so the
callback must only hand the code over (e.g. ``app.call_from_thread``), never touch UI.
Nothing here opens hardware until ``open()`` is called.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable

from fieldpass.drivers.errors import DriverError

#: Receives one decoded code per read, on the scanner's reader thread.
OnCode = Callable[[str], None]
#: Receives a reader-thread failure (the thread then stops); same thread rules as OnCode.
OnError = Callable[[DriverError], None]


class Scanner(ABC):
    """A source of decoded codes."""

    #: The spec string this scanner was made from, for status lines.
    spec: str = ""
    #: True when codes arrive as typed keys in the app's code input instead of via on_code.
    feeds_input: bool = False

    def __init__(self, on_code: OnCode, on_error: OnError | None = None) -> None:
        self._on_code = on_code
        self._on_error = on_error
        self._opened = False

    @classmethod
    def is_usable(cls) -> bool:
        """Whether this transport's optional dependencies are present on this host."""
        return not cls.missing_dependencies()

    @classmethod
    def missing_dependencies(cls) -> str:
        """What this host lacks for this transport (empty when usable), said for people."""
        return ""

    @property
    def is_open(self) -> bool:
        return self._opened

    @abstractmethod
    def open(self) -> None:
        """Acquire the device and start delivering codes. Raises DriverError."""

    @abstractmethod
    def close(self) -> None:
        """Stop delivering codes and release the device; safe to call twice."""

    def __enter__(self) -> Scanner:
        self.open()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class ThreadedScanner(Scanner):
    """A scanner whose reads happen on one long-lived daemon reader thread.

    Subclasses implement ``_acquire``/``_release`` (hardware) and ``_read_loop`` (which
    returns when ``stop`` is set). Serial and camera transports share this lifecycle.
    """

    thread_name = "scanner-reader"

    def __init__(self, on_code: OnCode, on_error: OnError | None = None) -> None:
        super().__init__(on_code, on_error)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def open(self) -> None:
        if self._opened:
            return
        self._acquire()
        self._stop.clear()
        thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)
        self._opened = True
        thread.start()
        # Published only once started: wait_stopped() and close() may join it at once.
        self._thread = thread

    def close(self) -> None:
        if not self._opened:
            return
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=2.0)
        self._opened = False
        self._release()

    def wait_stopped(self, timeout: float) -> bool:
        """Block until the reader thread has ended (tests and shutdown); True if it has."""
        thread = self._thread
        if thread is None:
            return True
        thread.join(timeout)
        return not thread.is_alive()

    def _run(self) -> None:
        try:
            self._read_loop(self._stop)
        except DriverError as exc:
            if self._on_error is None:
                raise
            self._on_error(exc)

    def _deliver(self, code: str) -> None:
        if not self._stop.is_set():
            self._on_code(code)

    def _acquire(self) -> None:
        """Open the hardware; default: nothing to open."""

    def _release(self) -> None:
        """Release the hardware; default: nothing to release."""

    @abstractmethod
    def _read_loop(self, stop: threading.Event) -> None:
        """Read codes and ``_deliver`` each until ``stop`` is set."""
