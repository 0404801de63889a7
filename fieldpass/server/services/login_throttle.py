"""Rate limit and progressive lockout of admin logins, per account and per client address.

Each failed login counts against its account and its source address. From the
``limit``-th failure on (5 per account, 20 per address) the key is locked, for one minute
first and twice as long at each further failure, up to an hour; failures older than an
hour are forgotten. While either key is locked a login is answered 429 with Retry-After
and the password is not even checked, so the right password does not work during a
lockout. A successful login clears its account's failures (not its address's: one valid
account must not reset an address trying many). Kept in the database, so every gunicorn
worker and every server process sees the same counts.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from fieldpass.server import schema
from fieldpass.server.db import is_postgres

ACCOUNT_LIMIT = 5
SOURCE_LIMIT = 20
FIRST_LOCK_MS = 60_000
MAX_LOCK_MS = 3_600_000
FORGET_AFTER_MS = 3_600_000


@dataclass(frozen=True)
class ThrottleKey:
    key: str
    limit: int


def keys_for(email: str, source: str) -> list[ThrottleKey]:
    return [
        ThrottleKey(f"account:{email[:320]}", ACCOUNT_LIMIT),
        ThrottleKey(f"source:{source[:64]}", SOURCE_LIMIT),
    ]


def lock_ms(failures: int, limit: int) -> int:
    """How long ``failures`` lock a key whose limit is ``limit`` (0: not locked). Pure."""
    if failures < limit:
        return 0
    return min(MAX_LOCK_MS, FIRST_LOCK_MS * 2 ** min(failures - limit, 16))


def locked_until(conn: sa.Connection, keys: list[ThrottleKey], now: int) -> int | None:
    """The latest time one of ``keys`` stays locked until, or None when none is locked."""
    lt = schema.login_throttles
    until = conn.execute(
        sa.select(sa.func.max(lt.c.locked_until)).where(
            lt.c.key.in_([k.key for k in keys]), lt.c.locked_until > now
        )
    ).scalar_one_or_none()
    return None if until is None else int(until)


def record_failure(conn: sa.Connection, keys: list[ThrottleKey], now: int) -> None:
    """Count one failed login against every key (in the caller's transaction)."""
    lt = schema.login_throttles
    insert = postgresql.insert if is_postgres(conn) else sqlite.insert
    for item in keys:
        conn.execute(
            insert(lt)
            .values(key=item.key, failures=0, last_failure_at=now)
            .on_conflict_do_nothing(index_elements=["key"])
        )
        row = conn.execute(sa.select(lt).where(lt.c.key == item.key).with_for_update()).one()
        failures = 1 if now - row.last_failure_at > FORGET_AFTER_MS else row.failures + 1
        lock = lock_ms(failures, item.limit)
        conn.execute(
            sa.update(lt)
            .where(lt.c.key == item.key)
            .values(
                failures=failures,
                last_failure_at=now,
                locked_until=now + lock if lock else None,
            )
        )


def clear(conn: sa.Connection, key: ThrottleKey) -> None:
    lt = schema.login_throttles
    conn.execute(sa.delete(lt).where(lt.c.key == key.key))
