"""Login-throttle figures for the closing note of issue 9 ("Trust the network").

    .venv/bin/python bench/login.py                 # 8 parallel guessers for 10 s
    .venv/bin/python bench/login.py --clients 16 --seconds 20

A real server (``fieldpass server init``, ``create-admin``, ``serve``: gunicorn, 2 workers
x 4 threads, SQLite) on loopback; ``--clients`` threads send wrong-password logins as fast
as they can, first all for one account, then each for a new account from one address.
Printed: how many guesses the server accepted (checked the password: 401) and at what
rate before the lockout, how many it refused unchecked (429) after, and the right
password's answer during the lockout. Progress to stderr, figures to stdout.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import httpx

PASSWORD = "bench-login-password-1"
EMAIL = "admin@bench.test"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _guess(url: str, seconds: float, clients: int, emails) -> tuple[Counter, list[float]]:
    """Wrong-password logins from ``clients`` threads for ``seconds``; status counts and
    the times (since start) of the accepted (401) ones."""
    counts: Counter = Counter()
    accepted_at: list[float] = []
    lock = threading.Lock()
    started = time.perf_counter()
    stop = started + seconds

    def worker(index: int) -> None:
        with httpx.Client(base_url=url, timeout=30) as http:
            n = 0
            while time.perf_counter() < stop:
                n += 1
                email = emails(index, n)
                answer = http.post(
                    "/v1/auth/login", json={"email": email, "password": "wrong guess!!"}
                )
                with lock:
                    counts[answer.status_code] += 1
                    if answer.status_code == 401:
                        accepted_at.append(time.perf_counter() - started)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return counts, sorted(accepted_at)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="fieldpass-login-bench-"))
    env = {
        **os.environ,
        "FIELDPASS_ADMIN_PASSWORD": PASSWORD,
        "XDG_CONFIG_HOME": str(work / "config"),
        "XDG_DATA_HOME": str(work / "data"),
    }
    db_url = f"sqlite:///{work / 'server.sqlite'}"
    command = [sys.executable, "-m", "fieldpass", "server"]
    for extra in (["init", "--db", db_url], ["create-admin", "--db", db_url, "--email", EMAIL]):
        subprocess.run(command + extra, env=env, check=True, capture_output=True)
    url = f"http://127.0.0.1:{_free_port()}"
    with (work / "server.log").open("w") as log:
        server = subprocess.Popen(
            command + ["serve", "--db", db_url, "--bind", url.removeprefix("http://")],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                print("server did not start", file=sys.stderr)
                return 1
            time.sleep(0.1)
        print(
            f"guessing one account with {args.clients} clients for {args.seconds} s",
            file=sys.stderr,
        )
        counts, accepted = _guess(url, args.seconds, args.clients, lambda i, n: EMAIL)
        right = httpx.post(f"{url}/v1/auth/login", json={"email": EMAIL, "password": PASSWORD})
        span = accepted[-1] if accepted else 0.0
        rate = len(accepted) / span if span else float("nan")
        print(
            f"one account: {len(accepted)} guesses checked (401) in {span:.2f} s "
            f"({rate:.1f}/s before the lockout), then {counts[429]} refused unchecked (429) "
            f"in the rest of {args.seconds:.0f} s; the right password during the lockout: "
            f"HTTP {right.status_code} Retry-After {right.headers.get('Retry-After')}"
        )
        print(f"guessing new accounts from one address for {args.seconds} s", file=sys.stderr)
        counts, accepted = _guess(
            url, args.seconds, args.clients, lambda i, n: f"guess-{i}-{n}@bench.test"
        )
        span = accepted[-1] if accepted else 0.0
        rate = len(accepted) / span if span else float("nan")
        print(
            f"one address, many accounts (it already had the first run's failures): "
            f"{len(accepted)} guesses checked in {span:.2f} s "
            f"({rate:.1f}/s before the lockout), then {counts[429]} refused (429); "
            f"other answers: {dict((k, v) for k, v in counts.items() if k not in (401, 429))}"
        )
        print("(shared CPU: rates are noisy; every check is one argon2 verification)")
    finally:
        server.terminate()
        server.wait(timeout=20)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
