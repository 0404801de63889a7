"""Rate limit and progressive lockout of admin logins, per account and per client address.

Each failed login counts against its account and its source address. From the
``limit``-th failure on (5 per account, 20 per address) the key is locked, for one minute
first and twice as long at each further failure, up to an hour; failures older than an
hour are forgotten. While either key is locked a login is answered 429 with Retry-After
and the password is not even checked, so the right password does not work during a
lockout. Each attempt is counted before its password is checked, in the transaction that
checks the lock, so parallel guesses get no more checks than sequential ones; a successful
login then clears its account's failures and takes its one attempt back from its address
(one valid account must not reset an address trying many). Kept in the database, so every
gunicorn worker and every server process sees the same counts.
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


def begin_attempt(conn: sa.Connection, keys: list[ThrottleKey], now: int) -> int | None:
    """Start a login attempt in the caller's transaction: when a key is locked, the time
    it stays locked until (nothing counted, the password must not be checked); otherwise
    None, and the attempt is already counted as a failure, so parallel guesses cannot all
    pass the check before any failure is recorded (``succeeded`` takes it back)."""
    rows = [_locked_row(conn, item.key, now) for item in keys]
    locked = [row.locked_until for row in rows if row.locked_until and row.locked_until > now]
    if locked:
        return int(max(locked))
    for item, row in zip(keys, rows, strict=True):
        failures = 1 if now - row.last_failure_at > FORGET_AFTER_MS else row.failures + 1
        _store(conn, item, failures, now, now)
    return None


def succeeded(conn: sa.Connection, keys: list[ThrottleKey], now: int) -> None:
    """The attempt begun with ``begin_attempt`` had the right password: its account's
    failures are cleared, and its address's count forgets this one attempt."""
    account, *others = keys
    conn.execute(
        sa.delete(schema.login_throttles).where(schema.login_throttles.c.key == account.key)
    )
    for item in others:
        row = _locked_row(conn, item.key, now)
        _store(conn, item, max(0, row.failures - 1), row.last_failure_at, now)


def _locked_row(conn: sa.Connection, key: str, now: int):
    lt = schema.login_throttles
    insert = postgresql.insert if is_postgres(conn) else sqlite.insert
    conn.execute(
        insert(lt)
        .values(key=key, failures=0, last_failure_at=now)
        .on_conflict_do_nothing(index_elements=["key"])
    )
    return conn.execute(sa.select(lt).where(lt.c.key == key).with_for_update()).one()


def _store(
    conn: sa.Connection, item: ThrottleKey, failures: int, last_failure_at: int, now: int
) -> None:
    lock = lock_ms(failures, item.limit)
    conn.execute(
        sa.update(schema.login_throttles)
        .where(schema.login_throttles.c.key == item.key)
        .values(
            failures=failures,
            last_failure_at=last_failure_at,
            locked_until=last_failure_at + lock if lock else None,
        )
    )
