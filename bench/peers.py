"""Offline reach figures (issue 12): LAN exchange between gates, kiosk-signed tickets.

- scan at gate A -> the admission in the stores of the 7 other gates of 8, each gate a
  real ``fieldpass device peers`` process on loopback (p50/p99 over every delivery);
- bytes per 1,000 admitting scans sent to one peer (the batches as the sender builds them);
- a kiosk-signed ticket: code length, verification time, and the gate's check_in of it.

    .venv/bin/python bench/peers.py [--gates 8] [--scans 60]
"""

from __future__ import annotations

import argparse
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness  # noqa: E402
from bench.harness import Summary, log  # noqa: E402


def _entered(home: Path, barcode: str) -> bool:
    conn = sqlite3.connect(f"file:{home / 'store.sqlite'}?mode=ro", uri=True, timeout=5)
    try:
        return (
            conn.execute("SELECT 1 FROM ticket_presence WHERE barcode = ?", (barcode,)).fetchone()
            is not None
        )
    finally:
        conn.close()


def lan_figures(gates: int, scans: int, workdir: Path) -> None:
    from fieldpass.device.context import open_device
    from fieldpass.device.peer_exchange import PeerExchange
    from fieldpass.sync.peers import PEER_PROTOCOL, PeerBatch

    url = f"sqlite:///{workdir / 'server.sqlite'}"
    server = harness.seed_server(url, "sqlite", max(scans * 2, 1000))
    srv = harness.GunicornServer(url, workdir)
    srv.start()
    homes = []
    try:
        for index in range(gates):
            home = harness.enroll_device(
                server, srv.base_url, workdir / f"gate-{index}", f"G{index}"
            )
            ctx = open_device(home)
            assert ctx.sync.sync_once().error is None
            ctx.close()
            homes.append(home)
    finally:
        srv.stop()  # from here the gates have only the LAN
    ports = [harness.free_port() for _ in homes]
    daemons = []
    for index, home in enumerate(homes):
        peers = ",".join(f"127.0.0.1:{p}" for i, p in enumerate(ports) if i != index)
        daemons.append(
            subprocess.Popen(
                [
                    harness.PYTHON,
                    "-m",
                    "fieldpass",
                    "device",
                    "peers",
                    "--home",
                    str(home.root),
                    "--listen",
                    f"127.0.0.1:{ports[index]}",
                    "--peers",
                    peers,
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )  # fmt: skip
        )
    time.sleep(2.0)  # every daemon listening
    latencies: list[float] = []
    a = open_device(homes[0], debounce_ms=0)
    try:
        admitted, n = 0, -1
        while admitted < scans:
            n += 1
            barcode = harness.barcode_of(n)
            if a.gate.check_in(barcode).result.value != "VALID":  # committed when it returns
                continue  # a revoked or cancelled ticket of the seed: nothing to share
            admitted += 1
            t0 = time.perf_counter()
            waiting = set(range(1, len(homes)))
            while waiting:
                for index in list(waiting):
                    if _entered(homes[index].root, barcode):
                        latencies.append((time.perf_counter() - t0) * 1000)
                        waiting.discard(index)
                if time.perf_counter() - t0 > 30:
                    raise RuntimeError(f"{barcode} did not reach gates {sorted(waiting)}")
                time.sleep(0.002)
        events = [
            e for e in a.store.events_after(a.identity.device_id, 0, 10_000) if e.kind == "scan"
        ]
        exchange = PeerExchange(a.store, a.identity, peers=[])
        size = 0
        for start in range(0, len(events), 200):
            batch = PeerBatch(
                protocol=PEER_PROTOCOL,
                sender=exchange.credential,
                clock_offset_ms=0,
                events=events[start : start + 200],
            )
            size += len(msgspec.json.encode(batch))
    finally:
        a.close()
        for daemon in daemons:
            daemon.send_signal(signal.SIGTERM)
        for daemon in daemons:
            daemon.wait(timeout=10)
    s = Summary.of(latencies)
    print(
        f"LAN: scan at A -> admission at each of {gates - 1} other gates ({gates} gates, "
        f"{scans} scans, {len(latencies)} deliveries): p50 {s.p50:.0f} ms, p99 {s.p99:.0f} ms, "
        f"max {s.max:.0f} ms"
    )
    per_1000 = size / len(events) * 1000
    print(
        f"LAN: {per_1000 / 1000:.0f} kB per 1,000 admitting scans to one peer "
        f"(x{gates - 1} peers = {per_1000 * (gates - 1) / 1e6:.2f} MB from one gate)"
    )


def issued_ticket_figures(samples: int = 5_000) -> None:
    from fieldpass.sync import signing
    from fieldpass.sync.codes import Issuer, parse_code
    from fieldpass.sync.issued import IssuedTicket, encode_issued_ticket

    key = signing.generate_private_key()
    issuer = Issuer(4711, "kiosk", key.public_key(), "event", 0, 2**62)
    codes = [
        encode_issued_ticket(
            key,
            IssuedTicket(
                i=4711,
                b=f"P{n:011d}",
                s="Istok",
                r="12",
                n=str(n % 40 + 1),
                h=harness.holder_of(n)[:40],
                t=1_780_000_000 + n,
            ),
        )
        for n in range(256)
    ]
    issuers = {4711: issuer}
    times = []
    for index in range(samples):
        code = codes[index % len(codes)]
        t0 = time.perf_counter_ns()
        parse_code(code, None, issuers)
        times.append((time.perf_counter_ns() - t0) / 1e6)
    s = Summary.of(times)
    lengths = sorted(len(c) for c in codes)
    print(
        f"kiosk-signed ticket code: {lengths[0]}-{lengths[-1]} characters (QR version 8-9 at "
        f"ECC L, ~25 mm on 58 mm paper); verify mean {s.mean * 1000:.0f} µs, "
        f"p99 {s.p99 * 1000:.0f} µs (n={samples})"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--gates", type=int, default=8)
    parser.add_argument("--scans", type=int, default=60)
    args = parser.parse_args(argv)
    issued_ticket_figures()
    with tempfile.TemporaryDirectory(prefix="fieldpass-peers-") as tmp:
        log(f"{args.gates} gates, {args.scans} scans")
        lan_figures(args.gates, args.scans, Path(tmp))
    return 0


if __name__ == "__main__":
    sys.exit(main())
