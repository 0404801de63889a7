"""Server configuration, loaded once at the entry point and injected into ``create_app``."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fieldpass.sync.clock import Clock, system_clock
from fieldpass.sync.messages import MAX_BODY_BYTES
from fieldpass.sync.pins import generate_pin


def new_uuid() -> str:
    return str(uuid.uuid4())


@dataclass(frozen=True)
class ServerConfig:
    """Everything the app needs besides the engine; clock and ids injectable for tests."""

    clock: Clock = system_clock
    new_id: Callable[[], str] = new_uuid
    max_body_bytes: int = MAX_BODY_BYTES
    max_import_bytes: int = 64 * 1024 * 1024
    admin_token_ttl_ms: int = 12 * 3600 * 1000
    #: An enrollment challenge must be answered within this time, and only once.
    enroll_challenge_ttl_ms: int = 5 * 60 * 1000
    #: A pending enrollment not approved within this time is void (and purged).
    enroll_pending_ttl_ms: int = 24 * 3600 * 1000
    #: Enrollments accepted per source address per hour (anonymous route: bounded).
    enroll_per_source_per_hour: int = 100
    #: The key file's key: seals PIN holders' personal data and the server's secrets in
    #: the database, and the server's signing key derives from it (never from the
    #: database). None: the server runs, but refuses devices and holder data.
    pii_key: bytes | None = field(default=None, repr=False)
    #: Signs device certificates and every answer to a device; ``create_app`` sets it
    #: from ``pii_key`` (``fieldpass.server.keys``) unless a test injects one.
    signing_key: Ed25519PrivateKey | None = field(default=None, repr=False)
    #: PIN generator (injectable so tests can force collisions).
    new_pin: Callable[[], str] = generate_pin
    #: Where the mobile app's petrol deeplinks point; the event id and a token are added.
    petrol_deeplink_base: str = "fieldpass://petrol"
    #: Peers whose X-Forwarded-For names the client (a reverse proxy on this host, like the
    #: nginx of packaging/); the login throttle counts failures per client address.
    trusted_proxies: frozenset[str] = frozenset({"127.0.0.1", "::1"})
    #: A request body must arrive within this grace plus one second per ``body_min_rate``
    #: bytes, or it is answered 408 and its thread freed (``body_deadline``).
    body_grace_ms: int = 10_000
    body_min_rate: float = 50_000.0
