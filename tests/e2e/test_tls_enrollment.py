"""A device enrolls over TLS with a private CA (``--ca``), against real gunicorn serving
HTTPS, and refuses a server whose certificate its CA did not sign."""

from __future__ import annotations

import datetime
import ipaddress
import os
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from fieldpass.server.keys import KEY_FILE_ENV
from tests.e2e.conftest import Fieldpass, free_port

pytestmark = pytest.mark.e2e


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _write_ca_and_server_cert(folder: Path) -> tuple[Path, Path, Path]:
    """(CA certificate, server certificate, server key) for 127.0.0.1, as PEM files."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("Fieldpass test CA"))
        .issuer_name(_name("Fieldpass test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("127.0.0.1"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    paths = folder / "ca.pem", folder / "server.pem", folder / "server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


def test_enroll_over_tls_with_a_private_ca(cli: Fieldpass, tmp_path: Path):
    ca, cert, key = _write_ca_and_server_cert(tmp_path)
    db_url = f"sqlite:///{tmp_path / 'server.sqlite'}"
    cli.run("server", "init", "--db", db_url)
    port = free_port()
    env = {
        **cli.env,
        "FIELDPASS_DB": db_url,
        KEY_FILE_ENV: str(tmp_path / "server.sqlite.key"),
    }
    log = (tmp_path / "gunicorn.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "fieldpass.server.wsgi:application",
         "--bind", f"127.0.0.1:{port}", "--certfile", str(cert), "--keyfile", str(key)],
        env=env, stdout=log, stderr=subprocess.STDOUT, cwd=os.getcwd(),
    )  # fmt: skip
    url = f"https://127.0.0.1:{port}"
    trusted = ssl.create_default_context(cafile=str(ca))
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{url}/v1/health", verify=trusted, timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline and server.poll() is None
                time.sleep(0.1)
        untrusted = cli.run(
            "device", "enroll", "--server", url, "--role", "gate", "--name", "No CA",
            "--home", str(tmp_path / "no-ca"), check=False,
        )  # fmt: skip
        assert untrusted.returncode == 1 and "certificate" in untrusted.stderr.lower()
        assert "Traceback" not in untrusted.stderr
        enrolled = cli.json(
            "device", "enroll", "--server", url, "--role", "gate", "--name", "TLS gate",
            "--ca", str(ca), "--home", str(tmp_path / "gate"),
        )  # fmt: skip
        assert enrolled["status"] == "pending" and enrolled["code"]
        assert (tmp_path / "gate" / "server-ca.pem").read_bytes() == ca.read_bytes()
        # later requests use the same CA: the status poll of a pending device works
        status = cli.run("device", "sync", "--home", str(tmp_path / "gate"), check=False)
        assert "not approved yet" in status.stderr
    finally:
        server.terminate()
        server.wait(timeout=15)
        log.close()
