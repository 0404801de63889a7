"""Shared pieces of the benchmarks: stats, a real gunicorn server, seeding, devices.

Everything here drives Fieldpass through its public services and its real HTTP path;
nothing in ``fieldpass/`` is patched. Timing helpers wrap *instances* the benchmark
owns (a device's store or sync client), never classes or modules.
"""

from __future__ import annotations

import math
import os
import random
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
DEFAULT_PG_URL = "postgresql://fieldpass:fieldpass@127.0.0.1:55432/fieldpass_test"
ADMIN_EMAIL = "bench@example.org"
ADMIN_PASSWORD = "bench-password-1"
#: Start of the event in every seeded database (tickets need no validity window).
EVENT_STARTS = "2026-05-28T18:00:00Z"


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# -- statistics -----------------------------------------------------------------------------


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..1) of an already sorted list."""
    if not sorted_values:
        return float("nan")
    rank = max(1, math.ceil(q * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


@dataclass
class Summary:
    count: int
    mean: float
    p50: float
    p90: float
    p99: float
    max: float

    @classmethod
    def of(cls, values: list[float]) -> Summary:
        ordered = sorted(values)
        if not ordered:
            nan = float("nan")
            return cls(0, nan, nan, nan, nan, nan)
        return cls(
            count=len(ordered),
            mean=sum(ordered) / len(ordered),
            p50=percentile(ordered, 0.50),
            p90=percentile(ordered, 0.90),
            p99=percentile(ordered, 0.99),
            max=ordered[-1],
        )

    def ms(self, digits: int = 2) -> str:
        return (
            f"p50 {self.p50:.{digits}f} / p99 {self.p99:.{digits}f} / "
            f"max {self.max:.{digits}f} ms (n={self.count})"
        )


# -- process memory -------------------------------------------------------------------------


def proc_status_kb(pid: int | str = "self") -> dict[str, int]:
    """VmRSS / VmHWM / VmSize (kB) from /proc/PID/status."""
    values: dict[str, int] = {}
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return values
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM", "VmSize", "RssAnon", "RssFile"):
            values[key] = int(rest.split()[0])
    return values


# -- CPU accounting -------------------------------------------------------------------------

_TICK = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[1].split()  # [0] is field 3 (state)


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of one process (0 if it is gone)."""
    fields = _stat_fields(pid)
    return 0.0 if fields is None else (int(fields[11]) + int(fields[12])) / _TICK


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat_fields(int(entry.name))
            if fields is not None and int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


class CpuMeter:
    """CPU seconds spent by this process (the devices), the gunicorn master and workers,
    and the PostgreSQL backends serving the bench database, between two snapshots."""

    def __init__(self, gunicorn_pid: int, engine: Any = None) -> None:
        self.gunicorn_pid = gunicorn_pid
        self.engine = engine if engine is not None and engine.dialect.name == "postgresql" else None

    def _pg_pids(self) -> list[int]:
        if self.engine is None:
            return []
        import sqlalchemy as sa

        with self.engine.connect() as conn:
            return list(
                conn.execute(
                    sa.text(
                        "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                        " AND pid <> pg_backend_pid()"
                    )
                ).scalars()
            )

    def snapshot(self) -> dict[str, Any]:
        times = os.times()
        server = [self.gunicorn_pid, *children_of(self.gunicorn_pid)]
        return {
            "wall": time.perf_counter(),
            "client": times.user + times.system,
            "server": {pid: process_cpu(pid) for pid in server},
            "db": {pid: process_cpu(pid) for pid in self._pg_pids()},
        }

    def since(self, before: dict[str, Any]) -> str:
        after = self.snapshot()

        def delta(key: str) -> float:
            return sum(v - before[key].get(pid, 0.0) for pid, v in after[key].items())

        wall = after["wall"] - before["wall"]
        text = (
            f"CPU s over {wall:.2f} s wall: bench/devices {after['client'] - before['client']:.2f}"
            f", gunicorn {delta('server'):.2f}"
        )
        if self.engine is not None:
            text += f", postgres backends {delta('db'):.2f}"
        return text


# -- databases ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def throwaway_pg_database(base_url: str) -> Iterator[str]:
    """CREATE a fresh database next to ``base_url``'s, yield its URL, DROP it after."""
    import sqlalchemy as sa

    from fieldpass.server.db import normalise_url

    admin = sa.create_engine(normalise_url(base_url), isolation_level="AUTOCOMMIT")
    name = f"fieldpass_bench_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        url = (
            sa.engine.make_url(normalise_url(base_url))
            .set(database=name)
            .render_as_string(hide_password=False)
        )
        yield url
    finally:
        try:
            for attempt in range(5):  # pooled connections of this process may linger briefly
                try:
                    with admin.connect() as conn:
                        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                    break
                except sa.exc.DBAPIError:
                    if attempt == 4:
                        log(f"could not drop PostgreSQL database {name}; drop it by hand")
                        raise
                    time.sleep(1.0)
        finally:
            admin.dispose()


def pg_reachable(base_url: str) -> str | None:
    """None if PostgreSQL at ``base_url`` answers, else a one-line reason."""
    import sqlalchemy as sa

    from fieldpass.server.db import normalise_url

    try:
        engine = sa.create_engine(normalise_url(base_url), connect_args={"connect_timeout": 3})
        try:
            with engine.connect() as conn:
                conn.exec_driver_sql("SELECT 1")
        finally:
            engine.dispose()
    except Exception as exc:  # noqa: BLE001 - any failure means "skip PostgreSQL"
        return str(exc).strip().splitlines()[0][:160]
    return None


# -- seeded server --------------------------------------------------------------------------


def barcode_of(index: int) -> str:
    return f"FP{index:010d}"


_FIRST = ("Ana", "Ivan", "Marko", "Petra", "Luka", "Maja", "Josip", "Iva", "Tomislav", "Lea")
_LAST = ("Horvat", "Kovač", "Babić", "Marić", "Jurić", "Novak", "Knežević", "Vuković")


def holder_of(index: int) -> str:
    return f"{_FIRST[index % len(_FIRST)]} {_LAST[(index // 7) % len(_LAST)]} {index}"


def ticket_status_of(index: int) -> str:
    """About 1% of the event's tickets are refunded/cancelled (pulled as tombstones)."""
    if index % 100 == 37:
        return "REFUNDED"
    if index % 100 == 73:
        return "CANCELLED"
    return "VALID"


def tickets_csv(count: int) -> bytes:
    lines = ["barcode,sector,row,seat,holder_name,status"]
    for i in range(count):
        sector = "ABCDEFGH"[i % 8]
        lines.append(
            f"{barcode_of(i)},{sector},{(i // 30) % 40 + 1},{i % 30 + 1},"
            f"{holder_of(i)},{ticket_status_of(i)}"
        )
    return ("\n".join(lines) + "\n").encode()


@dataclass
class SeededServer:
    """A server database with one admin, one event, one gate and N tickets."""

    url: str
    label: str
    engine: Any
    org_id: str
    user_id: str
    event_id: str
    gate_id: str
    tickets: int
    seed_seconds: float
    import_seconds: float


def init_database(url: str) -> tuple[Any, bytes]:
    """(engine, key): the server's key file (made next to the database, as `server init`
    does) and the schema; the key seals event keys and signs every answer to a device."""
    from fieldpass.server.db import init_db, make_engine
    from fieldpass.server.keys import ensure_key_file, load_key, resolve_key_path

    path = resolve_key_path(url)
    ensure_key_file(path)
    key = load_key(path)
    engine = make_engine(url)
    init_db(engine, key)
    return engine, key


def seed_server(url: str, label: str, tickets: int) -> SeededServer:
    """init_db + admin + event + gate + ticket import, all through the server services."""
    from argon2 import PasswordHasher

    from fieldpass.server.config import new_uuid
    from fieldpass.server.db import create_admin
    from fieldpass.server.services import events as event_services
    from fieldpass.server.services import tickets as ticket_services
    from fieldpass.sync.clock import system_clock

    t0 = time.perf_counter()
    engine, key = init_database(url)
    admin = create_admin(
        engine,
        ADMIN_EMAIL,
        ADMIN_PASSWORD,
        "Bench",
        hasher=PasswordHasher(time_cost=1, memory_cost=8, parallelism=1),
    )
    org_id, user_id = admin["organization_id"], admin["user_id"]
    event = event_services.create_event(
        engine,
        org_id,
        user_id,
        event_services.EventCreate(name="Bench final", starts_at=EVENT_STARTS, venue="Maksimir"),
        now=system_clock(),
        new_id=new_uuid,
        key=key,
    )
    gate = event_services.create_gate(
        engine,
        org_id,
        user_id,
        event["id"],
        event_services.GateCreate(name="North"),
        now=system_clock(),
        new_id=new_uuid,
    )
    body = tickets_csv(tickets)
    t1 = time.perf_counter()
    result = ticket_services.import_tickets(
        engine, org_id, user_id, event["id"], body, now=system_clock()
    )
    t2 = time.perf_counter()
    assert result["total"] == tickets, result
    return SeededServer(
        url=url,
        label=label,
        engine=engine,
        org_id=org_id,
        user_id=user_id,
        event_id=event["id"],
        gate_id=gate["id"],
        tickets=tickets,
        seed_seconds=t2 - t0,
        import_seconds=t2 - t1,
    )


class GunicornServer:
    """``python -m fieldpass server serve`` in a subprocess (falls back to plain gunicorn)."""

    def __init__(self, db_url: str, workdir: Path, workers: int = 2) -> None:
        self.db_url = db_url
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / f"gunicorn-{self.port}.log"
        self.workers = workers
        self.proc: subprocess.Popen | None = None
        self.how = ""

    def _commands(self) -> list[tuple[str, list[str], dict[str, str]]]:
        from fieldpass.server.keys import KEY_FILE_ENV, resolve_key_path

        bind = f"127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "FIELDPASS_DB": self.db_url,
            KEY_FILE_ENV: str(resolve_key_path(self.db_url)),
        }
        return [
            (
                "fieldpass server serve",
                [
                    PYTHON,
                    "-m",
                    "fieldpass",
                    "server",
                    "serve",
                    "--db",
                    self.db_url,
                    "--bind",
                    bind,
                    "--workers",
                    str(self.workers),
                    "--enroll-limit",
                    "1000000",  # every bench device enrolls from this machine
                ],
                env,
            ),
            (
                "gunicorn fieldpass.server.wsgi:application",
                [
                    PYTHON,
                    "-m",
                    "gunicorn",
                    "fieldpass.server.wsgi:application",
                    "--bind",
                    bind,
                    "--workers",
                    str(self.workers),
                    "--threads",
                    "4",
                    "--worker-class",
                    "gthread",
                ],
                env,
            ),
        ]

    def start(self, timeout: float = 30.0) -> None:
        failures = []
        for how, argv, env in self._commands():
            log_file = self.log_path.open("ab")
            self.proc = subprocess.Popen(
                argv, cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT
            )
            log_file.close()
            if self._wait_ready(timeout):
                self.how = how
                return
            failures.append(f"{how}: exit {self.proc.poll()}")
            self.stop()
        tail = self.log_path.read_text(errors="replace")[-2000:]
        raise RuntimeError(f"server did not start ({'; '.join(failures)}):\n{tail}")

    def _wait_ready(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                return False
            try:
                if httpx.get(self.base_url + "/v1/health", timeout=1.0).status_code < 500:
                    return True
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        return False

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)  # gunicorn master stops its own workers
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)

    def __enter__(self) -> GunicornServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


# -- devices --------------------------------------------------------------------------------


class TimedTransport(httpx.HTTPTransport):
    """An httpx transport that records (method, path, seconds) of every request."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.samples: list[tuple[str, str, float]] = []
        self.bytes_in = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        t0 = time.perf_counter()
        response = super().handle_request(request)
        body = response.read()  # time the whole answer, not just its headers
        self.bytes_in += len(body)
        self.samples.append((request.method, request.url.path, time.perf_counter() - t0))
        return response


@dataclass
class BenchDevice:
    home: Any
    ctx: Any
    transport: TimedTransport
    http: httpx.Client
    notes: dict[str, Any] = field(default_factory=dict)

    def close(self) -> None:
        self.ctx.close()
        self.http.close()


PENDING_TTL_MS = 24 * 3600 * 1000


def enroll_device(server: SeededServer, base_url: str, home_dir: Path, name: str) -> Any:
    """Enroll over HTTP, approve through the server service, poll for the token."""
    from fieldpass.device.enrollment import enroll, refresh_enrollment
    from fieldpass.device.home import DeviceHome
    from fieldpass.server.services.enrollment import ApproveRequest, approve
    from fieldpass.sync.clock import system_clock

    home = DeviceHome.resolve(home_dir)
    with httpx.Client(timeout=30.0) as http:
        identity = enroll(home, base_url, "gate", name, http=http)
        approve(
            server.engine,
            server.org_id,
            server.user_id,
            ApproveRequest(code=identity.code, event_id=server.event_id, gate_id=server.gate_id),
            now=system_clock(),
            pending_ttl_ms=PENDING_TTL_MS,
        )
        identity = refresh_enrollment(home, http=http)
    if identity.status != "approved":
        raise RuntimeError(f"device {name} not approved: {identity.status}")
    return home


def open_bench_device(home: Any, timeout: float = 60.0) -> BenchDevice:
    from fieldpass.device.context import open_device

    transport = TimedTransport()
    http = httpx.Client(transport=transport, timeout=timeout)
    ctx = open_device(home, http=http)
    ctx.sync.timeout = timeout
    return BenchDevice(home=home, ctx=ctx, transport=transport, http=http)


def scan_payloads(
    event_id: str,
    gate_id: str | None,
    count: int,
    first_ticket: int,
    seed: int,
    tickets: int = 10**9,
):
    """Realistic scan payloads (as GateService would record them): mostly first entries
    of distinct tickets (from ``first_ticket`` on, wrapping at ``tickets``), some
    already-used re-reads, unknown and malformed codes."""
    from fieldpass.sync.payloads import ScanPayload, payload_dict

    rng = random.Random(seed)
    admitted: list[str] = []
    next_ticket = first_ticket
    out = []
    for _ in range(count):
        roll = rng.random()
        if roll < 0.70 or not admitted:
            barcode = barcode_of(next_ticket % tickets)
            next_ticket += 1
            admitted.append(barcode)
            payload = ScanPayload(
                event_id=event_id,
                mode="entry",
                result="VALID",
                code=barcode,
                code_length=len(barcode),
                barcode=barcode,
                gate_id=gate_id,
                moved="in",
            )
        elif roll < 0.85:
            barcode = rng.choice(admitted)
            payload = ScanPayload(
                event_id=event_id,
                mode="entry",
                result="ALREADY_USED",
                code=barcode,
                code_length=len(barcode),
                barcode=barcode,
                gate_id=gate_id,
                reason="already inside",
            )
        elif roll < 0.95:
            barcode = f"NOPE{rng.randrange(10**9):09d}"
            payload = ScanPayload(
                event_id=event_id,
                mode="entry",
                result="UNKNOWN",
                code=barcode,
                code_length=len(barcode),
                barcode=barcode,
                gate_id=gate_id,
                reason="not a ticket of this event",
            )
        else:
            payload = ScanPayload(
                event_id=event_id,
                mode="entry",
                result="INVALID",
                code="bad code!",
                code_length=9,
                gate_id=gate_id,
                reason="not a ticket barcode",
            )
        out.append(payload_dict(payload))
    return out, next_ticket


def append_scan_events(ctx: Any, payloads: list[dict[str, Any]], start_time: int) -> None:
    """Write outbox events for ``payloads`` in one transaction (the real chain + signature).

    Used to give a device a large backlog quickly; GateService.check_in writes the same
    events one transaction per scan (figure 1 measures that path).
    """
    with ctx.store.transaction() as conn:
        for index, payload in enumerate(payloads):
            ctx.store.append_event(
                conn,
                ctx.key,
                device_id=ctx.identity.device_id,
                kind="scan",
                device_time=start_time + index * 250,
                payload=payload,
            )
