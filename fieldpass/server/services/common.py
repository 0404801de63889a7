"""Small helpers shared by the services: JSON text columns, audit entries, validation."""

from __future__ import annotations

from typing import Any

import msgspec
import sqlalchemy as sa

from fieldpass.server import schema
from fieldpass.server.errors import ApiError
from fieldpass.sync.clock import from_iso

_encoder = msgspec.json.Encoder()


def dumps(value: Any) -> str:
    return _encoder.encode(value).decode()


def loads(text: str | None) -> Any:
    return None if text is None else msgspec.json.decode(text)


#: Below this many rows COPY's set-up costs more than it saves.
COPY_MIN_ROWS = 20


def insert_rows(conn: sa.Connection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    """Append many rows (all with the same keys) in the caller's transaction.

    On PostgreSQL this is one COPY: psycopg runs an executemany INSERT as one statement
    per row, which made batched pushes several times slower than on SQLite. Columns left
    out take their server defaults either way.
    """
    if not rows:
        return
    if conn.dialect.name != "postgresql" or len(rows) < COPY_MIN_ROWS:
        conn.execute(sa.insert(table), rows)
        return
    columns = list(rows[0])
    names = ", ".join(f'"{name}"' for name in columns)
    cursor = conn.connection.driver_connection.cursor()
    with cursor, cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row([row[name] for name in columns])


def audit(
    conn: sa.Connection,
    *,
    org_id: str | None,
    actor: str,
    action: str,
    subject: str,
    at: int,
    details: dict[str, Any] | None = None,
) -> None:
    """Append one audit entry (the table is never updated or deleted from)."""
    conn.execute(
        sa.insert(schema.audit_log).values(
            organization_id=org_id,
            actor=actor,
            action=action,
            subject=subject,
            details=dumps(details or {}),
            at=at,
        )
    )


def clean_text(value: str, field: str, *, max_length: int, required: bool = True) -> str:
    """Strip and bound user text; refuse control characters so logs and screens stay sane."""
    text = value.strip()
    if required and not text:
        raise ApiError("invalid", f"{field} is required")
    if len(text) > max_length:
        raise ApiError("invalid", f"{field} is longer than {max_length} characters")
    if not text.isprintable():
        raise ApiError("invalid", f"{field} contains control characters")
    return text


def parse_time(value: str | None, field: str) -> int | None:
    if value is None:
        return None
    try:
        return from_iso(value)
    except (ValueError, OverflowError) as exc:
        raise ApiError("invalid", f"{field}: not an ISO 8601 time: {value[:40]!r}") from exc
