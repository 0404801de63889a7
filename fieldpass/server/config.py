"""Server configuration, loaded once at the entry point and injected into ``create_app``."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from fieldpass.sync.clock import Clock, system_clock
from fieldpass.sync.messages import MAX_BODY_BYTES


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
