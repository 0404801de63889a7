"""Integration tokens: how the mobile app's backend creates PINs without an admin login.

A token belongs to one organization and may only use the integration routes
(``/v1/integration/...``); it is shown once at creation and stored as its SHA-256 only,
like admin and device tokens. Revoking is immediate and final.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgspec
import sqlalchemy as sa

from fieldpass.server import schema
from fieldpass.server.db import reading
from fieldpass.server.errors import ApiError, not_found
from fieldpass.server.services.auth import new_token, token_hash
from fieldpass.server.services.common import audit, clean_text
from fieldpass.sync.clock import to_iso

#: The token's last use is written at most this often (a write per request would cost more).
LAST_USED_PRECISION_MS = 60_000
TOKEN_PREFIX = "fpi_"


class TokenCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: str


@dataclass(frozen=True)
class IntegrationIdentity:
    token_id: str
    organization_id: str
    name: str


def token_view(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "created_at": to_iso(row.created_at),
        "created_by": row.created_by,
        "last_used_at": to_iso(row.last_used_at),
        "revoked_at": to_iso(row.revoked_at),
        "status": "revoked" if row.revoked_at is not None else "active",
    }


def create_token(
    engine: sa.Engine,
    org_id: str,
    actor: str,
    body: TokenCreate,
    *,
    now: int,
    new_id: Callable[[], str],
) -> dict[str, Any]:
    """A new token; the answer's ``token`` is the only time it is ever shown."""
    name = clean_text(body.name, "name", max_length=100)
    token = TOKEN_PREFIX + new_token()
    token_id = new_id()
    it = schema.integration_tokens
    with engine.begin() as conn:
        conn.execute(
            sa.insert(it).values(
                id=token_id,
                organization_id=org_id,
                name=name,
                token_hash=token_hash(token),
                created_by=actor,
                created_at=now,
            )
        )
        audit(
            conn,
            org_id=org_id,
            actor=actor,
            action="integration_token.create",
            subject=token_id,
            at=now,
            details={"name": name},
        )
        row = conn.execute(sa.select(it).where(it.c.id == token_id)).one()
    return {**token_view(row), "token": token}


def list_tokens(engine: sa.Engine, org_id: str) -> list[dict[str, Any]]:
    it = schema.integration_tokens
    with reading(engine) as conn:
        rows = conn.execute(
            sa.select(it).where(it.c.organization_id == org_id).order_by(it.c.created_at, it.c.id)
        ).all()
    return [token_view(row) for row in rows]


def revoke_token(
    engine: sa.Engine, org_id: str, actor: str, token_id: str, *, now: int
) -> dict[str, Any]:
    it = schema.integration_tokens
    with engine.begin() as conn:
        row = conn.execute(
            sa.select(it).where(it.c.id == token_id, it.c.organization_id == org_id)
        ).first()
        if row is None:
            raise not_found(f"integration token {token_id[:40]!r}")
        if row.revoked_at is not None:
            raise ApiError(
                "invalid_transition",
                f"integration token {row.name!r} was already revoked at {to_iso(row.revoked_at)}",
            )
        conn.execute(
            sa.update(it).where(it.c.id == row.id).values(revoked_at=now, revoked_by=actor)
        )
        audit(
            conn,
            org_id=org_id,
            actor=actor,
            action="integration_token.revoke",
            subject=row.id,
            at=now,
            details={"name": row.name},
        )
        row = conn.execute(sa.select(it).where(it.c.id == token_id)).one()
    return token_view(row)


def identity_for_token(engine: sa.Engine, token: str, *, now: int) -> IntegrationIdentity:
    """The organization an integration token acts for; 401 if unknown or revoked."""
    it = schema.integration_tokens
    with reading(engine) as conn:
        row = conn.execute(sa.select(it).where(it.c.token_hash == token_hash(token))).first()
    if row is None or row.revoked_at is not None:
        raise ApiError("unauthorized", "unknown or revoked integration token")
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_PRECISION_MS:
        with engine.begin() as conn:
            conn.execute(sa.update(it).where(it.c.id == row.id).values(last_used_at=now))
    return IntegrationIdentity(row.id, row.organization_id, row.name)


def find_pin(engine: sa.Engine, org_id: str, pin_id: str) -> Any:
    """The organization's PIN row with this id (no holders are read)."""
    p = schema.petrol_pins
    with reading(engine) as conn:
        row = conn.execute(
            sa.select(p).where(p.c.id == pin_id, p.c.organization_id == org_id)
        ).first()
    if row is None:
        raise not_found(f"PIN {pin_id[:40]!r}")
    return row
