"""The ``network:HOST[:PORT]`` printer: raw ESC/POS over TCP (port 9100 by default).

One connection per job and per status query, as raw-socket print backends do: printers
drop idle connections, and a write into a connection the printer already closed can
"succeed" while the bytes are lost. Each job ends with a half-close and a short wait for
the printer to close its side, so closing never discards unsent data.
"""

from __future__ import annotations

import select
import socket
from typing import Any

from fieldpass.drivers.printers.escpos_lib import load_escpos
from fieldpass.drivers.printers.transport import EscposPrinter

DEFAULT_PORT = 9100
#: How long to wait for the printer to close its side after a job.
DRAIN_TIMEOUT_S = 2.0


class NetworkPrinter(EscposPrinter):
    """An Ethernet/Wi-Fi receipt printer (or socat in front of one)."""

    kind = "network"
    answers_status = True
    connect_per_job = True

    def __init__(
        self, spec: str, profile: Any, *, host: str, port: int = DEFAULT_PORT, **kwargs: Any
    ) -> None:
        super().__init__(spec, profile, **kwargs)
        self.host = host
        self.port = port

    def _make_device(self) -> Any:
        return load_escpos().printer.Network(host=self.host, port=self.port, timeout=self.timeout)

    def _open_device(self, device: Any) -> None:
        # python-escpos' Network.open() is IPv4-only and leaks the socket when connect
        # fails; create_connection() resolves IPv6 too and closes on failure.
        device.device = socket.create_connection((self.host, self.port), timeout=self.timeout)

    def _query(self, device: Any, command: bytes) -> bytes | None:
        sock: socket.socket = device._device
        _drain_pending(sock)
        sock.sendall(command)
        sock.settimeout(self.status_timeout)
        try:
            answer = sock.recv(16)
        except TimeoutError:
            return None
        finally:
            sock.settimeout(self.timeout)
        if not answer:
            raise ConnectionResetError("the printer closed the connection")
        return answer[:1]

    def _before_close(self, device: Any) -> None:
        sock: socket.socket = device._device
        sock.shutdown(socket.SHUT_WR)
        sock.settimeout(DRAIN_TIMEOUT_S)
        try:
            while sock.recv(256):
                pass
        except TimeoutError:
            pass


def _drain_pending(sock: socket.socket) -> None:
    """Discard bytes already waiting (automatic status or late answers)."""
    while select.select([sock], [], [], 0)[0]:
        if not sock.recv(256):
            raise ConnectionResetError("the printer closed the connection")
