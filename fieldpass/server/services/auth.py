"""Admin login (argon2 passwords) and bearer tokens (stored as SHA-256 only)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from fieldpass.server import schema
from fieldpass.server.db import reading
from fieldpass.server.errors import ApiError
from fieldpass.server.services.common import audit
from fieldpass.sync.clock import to_iso

_hasher = PasswordHasher()
# Verified when the email is unknown, so a wrong email costs as much as a wrong password.
_DUMMY_HASH = _hasher.hash("fieldpass-no-such-user")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


@dataclass(frozen=True)
class AdminIdentity:
    user_id: str
    organization_id: str
    role: str


def login(engine: sa.Engine, email: str, password: str, *, now: int, ttl_ms: int) -> dict:
    email = email.strip().lower()
    with reading(engine) as conn:
        row = conn.execute(
            sa.select(
                schema.users.c.id,
                schema.users.c.password_hash,
                schema.memberships.c.organization_id,
                schema.memberships.c.role,
            )
            .join(schema.memberships, schema.memberships.c.user_id == schema.users.c.id)
            .where(schema.users.c.email == email, schema.users.c.status == "active")
            .order_by(schema.memberships.c.id)
            .limit(1)
        ).first()
    try:
        _hasher.verify(row.password_hash if row else _DUMMY_HASH, password)
        ok = row is not None
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok or row is None:
        raise ApiError("unauthorized", "wrong email or password")
    token = new_token()
    expires_at = now + ttl_ms
    with engine.begin() as conn:
        conn.execute(
            sa.insert(schema.admin_tokens).values(
                token_hash=token_hash(token),
                user_id=row.id,
                organization_id=row.organization_id,
                role=row.role,
                created_at=now,
                expires_at=expires_at,
            )
        )
        conn.execute(
            sa.update(schema.users).where(schema.users.c.id == row.id).values(last_login_at=now)
        )
        audit(
            conn,
            org_id=row.organization_id,
            actor=row.id,
            action="admin.login",
            subject=email,
            at=now,
        )
    return {
        "token": token,
        "expires_at": to_iso(expires_at),
        "user": {"id": row.id, "email": email, "organization_id": row.organization_id},
    }


def admin_for_token(engine: sa.Engine, token: str, *, now: int) -> AdminIdentity:
    with reading(engine) as conn:
        row = conn.execute(
            sa.select(schema.admin_tokens).where(
                schema.admin_tokens.c.token_hash == token_hash(token)
            )
        ).first()
    if row is None or row.expires_at < now:
        raise ApiError("unauthorized", "unknown or expired admin token: log in again")
    return AdminIdentity(row.user_id, row.organization_id, row.role)
