"""Server configuration, loaded once at the entry point and injected into ``create_app``."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

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
    enroll_status_skew_ms: int = 10 * 60 * 1000
    #: AES-256-GCM key sealing PIN holders' personal data (from the key file, never from
    #: the database); None: the server runs, but anything touching holder data is refused.
    pii_key: bytes | None = field(default=None, repr=False)
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
