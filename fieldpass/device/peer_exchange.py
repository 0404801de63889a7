"""LAN exchange of admissions between the gates of one event (``fieldpass.sync.peers``).

Each gate runs a small HTTP endpoint for its peers and a sender thread that hands every
peer the admitting scans it has not acknowledged yet, in bounded batches, a fraction of a
second after they are made. A peer that does not answer keeps its place: what it missed
goes when it is back, and a receiver ignores what it already holds, so partitions heal
without duplicates. Peers are configured (``--peers HOST:PORT,…``) and, with
``--discover``, found by a UDP beacon on the local network; either way a peer is
believed only for what it can prove (its server-signed certificate and its own event
signatures). Threads here touch the store only through its own thread-safe methods.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import msgspec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from fieldpass.device.errors import DeviceError
from fieldpass.device.identity import DeviceIdentity
from fieldpass.device.store import CLOCK_OFFSET_MS, Store
from fieldpass.sync import signing
from fieldpass.sync.clock import Clock, system_clock
from fieldpass.sync.events import Event
from fieldpass.sync.payloads import PayloadError, ScanPayload, validate_payload
from fieldpass.sync.peers import (
    MAX_PEER_BODY,
    MAX_PEER_EVENTS,
    PEER_PATH,
    PEER_PROTOCOL,
    PeerAck,
    PeerBatch,
    PeerCredential,
    PeerRefusal,
    check_event,
    check_sender,
)

log = logging.getLogger("fieldpass.peers")
PEERS_META = "peers"  # the last known peer states, for `device status`
DISCOVERY_PORT = 47474
RETRY_S = 0.5  # an unreachable peer is tried again after this
HEARTBEAT_S = 5.0  # a peer with nothing new hears from us this often
MAX_PARALLEL_SENDS = 16  # peers sent to at once (one request per peer at a time)
_batch_decoder = msgspec.json.Decoder(PeerBatch)
_ack_decoder = msgspec.json.Decoder(PeerAck)
_encoder = msgspec.json.Encoder()


def parse_address(text: str) -> tuple[str, int]:
    """``HOST:PORT`` -> (host, port); DeviceError ``invalid`` if it is not one."""
    host, sep, port = text.strip().rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise DeviceError("invalid", f"a peer address is HOST:PORT, got {text[:60]!r}")
    return host.strip("[]"), int(port)


@dataclass
class PeerState:
    address: str
    sent_seq: int = 0  # our events up to here are acknowledged by this peer
    reachable: bool = False
    last_ok_at: int | None = None
    last_error: str | None = None
    discovered: bool = False
    next_try_at: float = 0.0  # monotonic: an unreachable peer is not retried before
    next_heartbeat_at: float = 0.0  # monotonic: an empty batch checks a quiet peer

    def as_json(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "reachable": self.reachable,
            "last_ok_at": self.last_ok_at,
            "sent_seq": self.sent_seq,
            "last_error": self.last_error,
            "discovered": self.discovered,
        }


@dataclass
class ExchangeStats:
    sent_events: int = 0
    sent_bytes: int = 0
    received_events: int = 0
    accepted_admissions: int = 0
    refused_batches: int = 0
    peers: dict[str, PeerState] = field(default_factory=dict)


class PeerExchange:
    """The LAN side of one gate: receive peers' admissions, send our own."""

    def __init__(
        self,
        store: Store,
        identity: DeviceIdentity,
        *,
        peers: list[str],
        listen: str | None = None,
        discover: bool = False,
        discovery_address: str = "255.255.255.255",
        clock: Clock = system_clock,
        interval_s: float = 0.2,
        timeout_s: float = 2.0,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        if identity.certificate is None or identity.certificate_issued_at is None:
            raise DeviceError(
                "no_certificate",
                "this gate has no server certificate yet: run `fieldpass device sync` once",
            )
        if identity.server_public_key is None or identity.organization_id is None:
            raise DeviceError("not_approved", "only an approved gate exchanges with peers")
        self.store = store
        self.identity = identity
        self.clock = clock
        self.interval_s = interval_s
        self.timeout_s = timeout_s
        self.on_change = on_change
        self.server_key: Ed25519PublicKey = signing.public_key_from_text(identity.server_public_key)
        self.credential = PeerCredential(
            device_id=identity.device_id,
            public_key=identity.public_key or "",
            role="gate",
            organization_id=identity.organization_id,
            issued_at=identity.certificate_issued_at,
            signature=identity.certificate,
        )
        self.stats = ExchangeStats()
        for address in peers:
            parse_address(address)
            self.stats.peers[address] = PeerState(address)
        self.listen = parse_address(listen) if listen else None
        self.discover = discover
        self.discovery_address = discovery_address
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._server: ThreadingHTTPServer | None = None
        self._http = httpx.Client(timeout=timeout_s)
        self._last_published = 0.0

    # -- life cycle --------------------------------------------------------------------------

    def start(self) -> None:
        if self.listen is not None:
            self._server = ThreadingHTTPServer(self.listen, self._handler())
            self._server.daemon_threads = True
            self._spawn(self._server.serve_forever, "peer-server")
        self._spawn(self._send_loop, "peer-sender")
        if self.discover and self.listen is not None:
            self._spawn(self._discovery_loop, "peer-discovery")

    @property
    def port(self) -> int | None:
        return None if self._server is None else self._server.server_address[1]

    def _spawn(self, target: Callable[[], None], name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._http.close()

    def reachable(self) -> tuple[int, int]:
        """(reachable peers, known peers) for the status bar."""
        with self._lock:
            states = list(self.stats.peers.values())
        return sum(1 for s in states if s.reachable), len(states)

    # -- receiving ---------------------------------------------------------------------------

    def receive(self, body: bytes) -> PeerAck:
        """Check a peer's batch and record the admissions in it; PeerRefusal if the batch
        must not be believed (nothing of it is recorded then)."""
        try:
            batch = _batch_decoder.decode(body)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise PeerRefusal(f"not a peer batch: {exc}") from None
        if batch.protocol != PEER_PROTOCOL:
            raise PeerRefusal(f"peer protocol {batch.protocol} is not {PEER_PROTOCOL}")
        if len(batch.events) > MAX_PEER_EVENTS:
            raise PeerRefusal(f"more than {MAX_PEER_EVENTS} events in one batch")
        if batch.sender.device_id == self.identity.device_id:
            raise PeerRefusal("a batch from this gate itself")
        key = check_sender(batch.sender, self.server_key, self.identity.organization_id or "")
        rows = []
        gates = {}
        for event in batch.events:
            check_event(event, batch.sender.device_id, key)
            row = self._admission(event, batch, gates)
            if row is not None:
                rows.append(row)
        accepted = self.store.record_peer_admissions(rows)
        with self._lock:
            self.stats.received_events += len(batch.events)
            self.stats.accepted_admissions += accepted
        if accepted and self.on_change is not None:
            self.on_change()
        return PeerAck(accepted=accepted, known=len(rows) - accepted)

    def _admission(self, event: Event, batch: PeerBatch, gates: dict) -> tuple | None:
        if event.kind != "scan":
            return None
        try:
            payload = validate_payload("scan", event.payload)
        except PayloadError:
            return None
        if (
            not isinstance(payload, ScanPayload)
            or payload.moved is None
            or not payload.barcode
            or payload.event_id != self.identity.event_id
        ):
            return None
        gate_id = payload.gate_id
        if gate_id not in gates:
            row = self.store.gate_row(gate_id)
            gates[gate_id] = row[1] if row else (gate_id or "another gate")
        return (
            f"{event.device_id}:{event.seq}",
            payload.barcode,
            payload.event_id,
            payload.moved,
            event.device_time + batch.clock_offset_ms,
            event.device_id,
            gate_id,
            f"{gates[gate_id]} (via LAN)",
            0,
        )

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        exchange = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length") or 0)
                if self.path != PEER_PATH or not 0 < length <= MAX_PEER_BODY:
                    self._answer(404 if self.path != PEER_PATH else 413, {"error": "refused"})
                    return
                body = self.rfile.read(length)
                try:
                    ack = exchange.receive(body)
                except PeerRefusal as exc:
                    with exchange._lock:
                        exchange.stats.refused_batches += 1
                    log.warning("refused a peer batch: %s", exc)
                    self._answer(403, {"error": str(exc)[:200]})
                    return
                self._answer(200, msgspec.to_builtins(ack))

            def _answer(self, status: int, body: dict[str, Any]) -> None:
                data = _encoder.encode(body)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler

    # -- sending -----------------------------------------------------------------------------

    def _send_loop(self) -> None:
        """Every interval, each peer not already being sent to gets its own request in the
        pool, so one slow or lost peer never holds up the others."""
        in_flight: dict[str, Future[int]] = {}
        with ThreadPoolExecutor(max_workers=MAX_PARALLEL_SENDS, thread_name_prefix="peer") as pool:
            while not self._stop.is_set():
                last = self.store.last_seq()
                offset = self.store.get_meta(CLOCK_OFFSET_MS) or 0
                with self._lock:
                    states = list(self.stats.peers.values())
                for state in states:
                    running = in_flight.get(state.address)
                    if running is not None and not running.done():
                        continue
                    in_flight[state.address] = pool.submit(self._send_to, state, last, offset)
                self._publish()
                self._wake.wait(self.interval_s)
                self._wake.clear()

    def poke(self) -> None:
        """A scan was just recorded in this process: send it now, not at the next tick."""
        self._wake.set()

    def send_once(self) -> int:
        """One round to every peer in turn (what the loop does in parallel); returns the
        events sent."""
        with self._lock:
            states = list(self.stats.peers.values())
        last = self.store.last_seq()
        offset = self.store.get_meta(CLOCK_OFFSET_MS) or 0
        return sum(self._send_to(state, last, offset) for state in states)

    def _send_to(self, state: PeerState, last: int, offset: int) -> int:
        """The admitting scans ``state``'s peer has not acknowledged (at most
        MAX_PEER_EVENTS); with nothing new, an empty batch now and then, which keeps its
        reachability current; an unreachable peer is retried after RETRY_S."""
        now = time.monotonic()
        behind = state.sent_seq < last
        if now < state.next_try_at or (not behind and now < state.next_heartbeat_at):
            return 0
        try:
            window = (
                self.store.events_after(self.identity.device_id, state.sent_seq, MAX_PEER_EVENTS)
                if behind
                else []
            )
        except sqlite3.Error:
            log.exception("cannot read the outbox for the LAN exchange")
            return 0
        events = [e for e in window if e.kind == "scan" and e.payload.get("moved")]
        batch = PeerBatch(
            protocol=PEER_PROTOCOL, sender=self.credential, clock_offset_ms=offset, events=events
        )
        body = _encoder.encode(batch)
        try:
            response = self._http.post(
                f"http://{state.address}{PEER_PATH}",
                content=body,
                headers={"Content-Type": "application/json"},
            )
            ok = response.status_code == 200
            error = None if ok else f"HTTP {response.status_code}: {response.text[:120]}"
        except httpx.HTTPError as exc:
            ok, error = False, f"unreachable: {type(exc).__name__}"
        with self._lock:
            state.reachable, state.last_error = ok, error
            if not ok:
                state.next_try_at = now + RETRY_S
                return 0
            state.sent_seq = window[-1].seq if window else state.sent_seq
            state.last_ok_at = self.clock()
            state.next_try_at = 0.0
            state.next_heartbeat_at = now + HEARTBEAT_S
            self.stats.sent_events += len(events)
            self.stats.sent_bytes += len(body)
        return len(events)

    def _publish(self) -> None:
        """Peer states into the store every few seconds, for `device status`."""
        now = time.monotonic()
        if now - self._last_published < 2.0:
            return
        self._last_published = now
        with self._lock:
            states = [s.as_json() for s in self.stats.peers.values()]
        self.store.set_meta(**{PEERS_META: json.dumps(states)})

    # -- discovery ---------------------------------------------------------------------------

    def _discovery_loop(self) -> None:
        """Announce this gate and learn the others of its event (UDP broadcast)."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        sock.bind(("", DISCOVERY_PORT))
        sock.settimeout(0.5)
        beacon = json.dumps(
            {
                "fieldpass": "gate",
                "device_id": self.identity.device_id,
                "event_id": self.identity.event_id,
                "port": self.port,
            }
        ).encode()
        next_beacon = 0.0
        try:
            while not self._stop.is_set():
                if time.monotonic() >= next_beacon:
                    with contextlib.suppress(OSError):
                        sock.sendto(beacon, (self.discovery_address, DISCOVERY_PORT))
                    next_beacon = time.monotonic() + 3.0
                try:
                    data, (host, _port) = sock.recvfrom(2048)
                except (TimeoutError, OSError):
                    continue
                self._heard(data, host)
        finally:
            sock.close()

    def _heard(self, data: bytes, host: str) -> None:
        try:
            beacon = json.loads(data)
            device_id, event_id, port = beacon["device_id"], beacon["event_id"], int(beacon["port"])
        except (ValueError, KeyError, TypeError):
            return
        if beacon.get("fieldpass") != "gate" or device_id == self.identity.device_id:
            return
        if event_id != self.identity.event_id or not 0 < port < 65536:
            return
        address = f"{host}:{port}"
        with self._lock:
            if address not in self.stats.peers:
                self.stats.peers[address] = PeerState(address, discovered=True)
