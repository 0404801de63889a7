"""A deadline on reading a request body, so a slow client cannot hold a server thread.

Twelve sockets trickling partial POST bodies used to keep every gunicorn thread blocked
in ``recv`` and ``/v1/health`` timed out. A socket timeout cannot stop that (it restarts
at every byte that arrives), so one watchdog thread per process shuts down the read side
of a client socket whose body is not in when its deadline passes: the blocked read
returns at once, the request is answered 408 and its thread is free again.

The deadline is ``grace + size / min_rate`` (10 s plus one second per 50 KB by default),
so a large ticket import on a slow link still gets through. Behind the packaged nginx
(packaging/nginx) bodies arrive whole and fast, and this never fires; it is the bare
server's own protection.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from gunicorn.http.errors import ParseException

#: What reading a body can raise when the client goes away or its read side was shut down.
READ_ERRORS: tuple[type[BaseException], ...] = (OSError, ParseException)


@dataclass(order=True)
class _Watch:
    deadline: float
    order: int
    sock: socket.socket = field(compare=False)
    fired: bool = field(default=False, compare=False)
    done: bool = field(default=False, compare=False)


class BodyDeadlines:
    """Watches body reads of one process; ``watch`` is used around each read."""

    def __init__(self, *, grace_s: float = 10.0, min_rate: float = 50_000.0) -> None:
        self.grace_s = grace_s
        self.min_rate = min_rate
        self._heap: list[_Watch] = []
        self._order = itertools.count()
        self._lock = threading.Condition()
        self._thread: threading.Thread | None = None

    def seconds_for(self, size: int) -> float:
        return self.grace_s + max(0, size) / self.min_rate

    @contextlib.contextmanager
    def watch(self, sock: socket.socket, size: int) -> Iterator[Callable[[], bool]]:
        """Around a body read of ``size`` bytes; yields "did the deadline pass?"."""
        entry = _Watch(time.monotonic() + self.seconds_for(size), next(self._order), sock)
        with self._lock:
            heapq.heappush(self._heap, entry)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="fieldpass-body-deadlines", daemon=True
                )
                self._thread.start()
            self._lock.notify()
        try:
            yield lambda: entry.fired
        finally:
            with self._lock:
                entry.done = True

    def _run(self) -> None:
        while True:
            with self._lock:
                while self._heap and self._heap[0].done:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._lock.wait()
                    continue
                wait = self._heap[0].deadline - time.monotonic()
                if wait > 0:
                    self._lock.wait(wait)
                    continue
                entry = heapq.heappop(self._heap)
                entry.fired = True
            with contextlib.suppress(OSError):  # the client may have gone already
                entry.sock.shutdown(socket.SHUT_RD)
