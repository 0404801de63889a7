"""Issue 9 point 5: slow clients do not starve the server.

Before: 12 sockets sending partial POST bodies held every gunicorn thread and each
``/v1/health`` timed out. Now (1) through the packaged nginx (packaging/nginx, Debian's
nginx started as a process with the config rendered for test ports and paths) health stays
fast while 12 clients trickle their bodies, and (2) the bare gunicorn answers a body that
does not arrive in time with 408 and frees the thread for the next request.

The measured p99 is printed (``pytest -s``); the only timing asserted is the issue's bound.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import shutil
import socket
import ssl
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.e2e.conftest import EMAIL, Fieldpass, free_port, start_gunicorn

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
PACKAGED_CONF = REPO / "packaging" / "nginx" / "fieldpass.conf"
SLOW_CLIENTS = 12
HEALTH_SAMPLES = 60


def _nginx() -> str:
    path = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("nginx is not installed: scripts/test.sh installs nginx-light")
        pytest.skip("nginx is not installed (apt-get install nginx-light)")
    return path


def _self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def render_packaged_conf(
    *, https_port: int, http_port: int, upstream: str, cert: Path, key: Path, logs: Path
) -> str:
    """The packaged site config with this test's ports and paths (every value replaced is
    one the config marks EDIT or a log path; IPv6 listens dropped: no IPv6 here)."""
    text = PACKAGED_CONF.read_text()
    replacements = {
        "server 127.0.0.1:8080;": f"server {upstream};",
        "listen 443 ssl http2;": f"listen 127.0.0.1:{https_port} ssl http2;",
        "listen 80;": f"listen 127.0.0.1:{http_port};",
        "/etc/ssl/fieldpass/fullchain.pem": str(cert),
        "/etc/ssl/fieldpass/privkey.pem": str(key),
        "/var/log/nginx/fieldpass.access.log": str(logs / "access.log"),
        "/var/log/nginx/fieldpass.error.log": str(logs / "error.log"),
    }
    for old, new in replacements.items():
        assert old in text, f"the packaged config no longer has {old!r}"
        text = text.replace(old, new)
    return "\n".join(line for line in text.splitlines() if "listen [::]" not in line) + "\n"


def _main_conf(root: Path, site: Path) -> Path:
    """A minimal nginx.conf around the site file, everything under ``root``."""
    temp = {name: root / name for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi")}
    for path in temp.values():
        path.mkdir()
    user = "user root;\n" if os.geteuid() == 0 else ""
    conf = root / "nginx.conf"
    conf.write_text(
        f"{user}worker_processes 1;\npid {root / 'nginx.pid'};\n"
        f"error_log {root / 'main-error.log'} warn;\n"
        "events { worker_connections 512; }\n"
        "http {\n"
        f"  client_body_temp_path {temp['body']};\n  proxy_temp_path {temp['proxy']};\n"
        f"  fastcgi_temp_path {temp['fastcgi']};\n  uwsgi_temp_path {temp['uwsgi']};\n"
        f"  scgi_temp_path {temp['scgi']};\n  access_log off;\n"
        f"  include {site};\n"
        "}\n"
    )
    return conf


@pytest.fixture
def nginx_front(cli: Fieldpass, tmp_path: Path) -> Iterator[tuple[str, Path, Path]]:
    """gunicorn (as `fieldpass server serve` runs it) behind the packaged nginx: (https
    URL, the CA file to trust, nginx's access log)."""
    nginx = _nginx()
    db_url = f"sqlite:///{tmp_path / 'server.sqlite'}"
    cli.run("server", "init", "--db", db_url)
    cli.run("server", "create-admin", "--db", db_url, "--email", EMAIL)
    upstream = f"127.0.0.1:{free_port()}"
    gunicorn = start_gunicorn(cli, db_url, f"http://{upstream}", tmp_path / "server.log")
    root = tmp_path / "nginx"
    root.mkdir()
    cert, key = _self_signed(root)
    https_port = free_port()
    site = root / "fieldpass.conf"
    site.write_text(
        render_packaged_conf(
            https_port=https_port,
            http_port=free_port(),
            upstream=upstream,
            cert=cert,
            key=key,
            logs=root,
        )
    )
    conf = _main_conf(root, site)
    checked = subprocess.run([nginx, "-t", "-c", str(conf)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    process = subprocess.Popen(
        [nginx, "-c", str(conf), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    url = f"https://localhost:{https_port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
            try:
                health = httpx.get(f"{url}/v1/health", verify=_trusting(cert), timeout=1)
                if health.status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "nginx did not come up"
            time.sleep(0.1)
        yield url, cert, root / "access.log"
    finally:
        process.terminate()
        process.wait(timeout=15)
        gunicorn.terminate()
        gunicorn.wait(timeout=20)


def _trickle(host: str, port: int, tls: bool, stop: threading.Event, answers: list) -> None:
    """One slow client: a POST announcing 100 kB, then one byte every half second."""
    with socket.create_connection((host, port), timeout=30) as raw:
        sock: socket.socket = raw
        if tls:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            sock = context.wrap_socket(raw, server_hostname="localhost")
        sock.sendall(
            b"POST /v1/auth/login HTTP/1.1\r\nHost: localhost\r\n"
            b"Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"
        )
        sock.settimeout(0.5)
        while not stop.is_set():
            try:
                sock.sendall(b" ")
                data = sock.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                break
            if data:  # the answer: read it to its end (the server closes the connection)
                sock.settimeout(5)
                with contextlib.suppress(OSError):
                    while more := sock.recv(4096):
                        data += more
                answers.append(data)
            break  # answered, or the server closed the connection


def _trusting(cert: Path) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(cert))


def _health_p99(url: str, verify: ssl.SSLContext) -> tuple[float, float, int]:
    """(p99, median, failures) of /v1/health latencies in seconds."""
    latencies, failures = [], 0
    with httpx.Client(verify=verify, timeout=5) as http:
        for _ in range(HEALTH_SAMPLES):
            started = time.perf_counter()
            try:
                ok = http.get(f"{url}/v1/health").status_code == 200
            except httpx.TransportError:
                ok = False
            latencies.append(time.perf_counter() - started if ok else 5.0)
            failures += not ok
            time.sleep(0.1)
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    return p99, statistics.median(latencies), failures


def test_health_stays_fast_through_nginx_while_twelve_clients_trickle_bodies(nginx_front):
    url, cert, access_log = nginx_front
    port = int(url.rsplit(":", 1)[1])
    stop = threading.Event()
    answers: list[bytes] = []
    clients = [
        threading.Thread(target=_trickle, args=("127.0.0.1", port, True, stop, answers))
        for _ in range(SLOW_CLIENTS)
    ]
    for client in clients:
        client.start()
    time.sleep(1.0)  # every slow client is connected and trickling
    try:
        p99, median, failures = _health_p99(url, _trusting(cert))
    finally:
        stop.set()
        for client in clients:
            client.join(timeout=10)
    print(
        f"\n/v1/health through nginx with {SLOW_CLIENTS} slow-body clients: "
        f"p99 {p99 * 1000:.1f} ms, median {median * 1000:.1f} ms, "
        f"{HEALTH_SAMPLES} requests, {failures} failed (shared CPU: noisy)"
    )
    assert failures == 0
    assert p99 < 1.0  # the bound
    httpx.get(f"{url}/v1/health", params={"search": "Ana Horvat"}, verify=_trusting(cert))
    time.sleep(0.2)
    log = access_log.read_text()
    assert "/v1/health" in log and "Horvat" not in log and "search=" not in log


def test_bare_gunicorn_answers_a_late_body_408_and_frees_the_thread(cli: Fieldpass, tmp_path):
    db_url = f"sqlite:///{tmp_path / 'server.sqlite'}"
    cli.run("server", "init", "--db", db_url)
    port = free_port()
    log_path = tmp_path / "server.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "fieldpass", "server", "serve", "--db", db_url]
        + ["--bind", f"127.0.0.1:{port}"]
        + ["--workers", "1", "--threads", "2", "--body-timeout", "1"],
        env=cli.env,
        stdout=log_path.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, log_path.read_text()
            try:
                if httpx.get(f"{url}/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
            assert time.monotonic() < deadline, log_path.read_text()
        stop = threading.Event()
        answers: list[bytes] = []
        slow = [
            threading.Thread(target=_trickle, args=("127.0.0.1", port, False, stop, answers))
            for _ in range(2)  # as many as the worker has threads
        ]
        started = time.monotonic()
        for client in slow:
            client.start()
        for client in slow:
            client.join(timeout=15)
        waited = time.monotonic() - started
        stop.set()
        assert len(answers) == 2, answers
        assert all(a.startswith(b"HTTP/1.1 408") for a in answers), answers
        assert all(b"request_timeout" in a for a in answers)
        # both threads are free again: the next request is answered at once
        assert httpx.get(f"{url}/v1/health", timeout=5).status_code == 200
        print(f"\nbare gunicorn: 2 slow bodies answered 408 after {waited:.1f} s (deadline 3 s)")
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_serve_speaks_tls_with_certfile_and_keyfile(cli: Fieldpass, tmp_path):
    cert, key = _self_signed(tmp_path)
    db_url = f"sqlite:///{tmp_path / 'server.sqlite'}"
    cli.run("server", "init", "--db", db_url)
    port = free_port()
    log_path = tmp_path / "server.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "fieldpass", "server", "serve", "--db", db_url]
        + ["--bind", f"127.0.0.1:{port}", "--workers", "1"]
        + ["--certfile", str(cert), "--keyfile", str(key)],
        env=cli.env,
        stdout=log_path.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, log_path.read_text()
            try:
                answer = httpx.get(
                    f"https://localhost:{port}/v1/health", verify=_trusting(cert), timeout=1
                )
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, log_path.read_text()
                time.sleep(0.1)
        assert answer.status_code == 200 and answer.json()["status"] == "ok"
        with pytest.raises(httpx.TransportError):  # plain HTTP is not spoken on that port
            httpx.get(f"http://127.0.0.1:{port}/v1/health", timeout=2).raise_for_status()
    finally:
        process.terminate()
        process.wait(timeout=20)
