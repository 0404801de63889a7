"""Admin login (argon2 passwords, throttled), bearer tokens (stored as SHA-256 only) and
the sessions they open: listed and revoked per organization, ended by logout.

A session is one admin token row; admins see and revoke it by its ``session_id`` (a
random id that is neither the token nor its hash), with the user's e-mail, when it was
created, when it expires, when it was last used and the address that logged in.
"""

from __future__ import annotations

import hashlib
import math
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from fieldpass.server import schema
from fieldpass.server.db import reading
from fieldpass.server.errors import ApiError, not_found
from fieldpass.server.services import login_throttle
from fieldpass.server.services.common import audit
from fieldpass.sync.clock import to_iso

_hasher = PasswordHasher()
# Verified when the email is unknown, so a wrong email costs as much as a wrong password.
_DUMMY_HASH = _hasher.hash("fieldpass-no-such-user")
#: ``last_used_at`` is written at most this often per session (one write, not one per request).
LAST_USED_RESOLUTION_MS = 60_000


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


@dataclass(frozen=True)
class AdminIdentity:
    user_id: str
    organization_id: str
    role: str
    session_id: str | None = None
    token_hash: str | None = None


def login(
    engine: sa.Engine, email: str, password: str, *, now: int, ttl_ms: int, source: str = ""
) -> dict:
    """A new session for a right e-mail and password; throttled per account and address."""
    email = email.strip().lower()
    keys = login_throttle.keys_for(email, source)
    with engine.begin() as conn:
        until = login_throttle.begin_attempt(conn, keys, now)
    if until is not None:  # locked: the password is not even looked at
        seconds = max(1, math.ceil((until - now) / 1000))
        raise ApiError(
            "rate_limited",
            f"too many failed logins for this account or address: try again in {seconds} s",
            headers={"Retry-After": str(seconds)},
        )
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
    if not ok or row is None:  # the failure was counted by begin_attempt
        raise ApiError("unauthorized", "wrong email or password")
    token = new_token()
    session_id = str(uuid.uuid4())
    expires_at = now + ttl_ms
    with engine.begin() as conn:
        login_throttle.succeeded(conn, keys, now)
        conn.execute(
            sa.insert(schema.admin_tokens).values(
                token_hash=token_hash(token),
                user_id=row.id,
                organization_id=row.organization_id,
                role=row.role,
                created_at=now,
                expires_at=expires_at,
                session_id=session_id,
                last_used_at=now,
                source=source[:64] or None,
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
            details={"session_id": session_id, "source": source[:64]},
        )
    return {
        "token": token,
        "session_id": session_id,
        "expires_at": to_iso(expires_at),
        "user": {"id": row.id, "email": email, "organization_id": row.organization_id},
    }


def admin_for_token(engine: sa.Engine, token: str, *, now: int) -> AdminIdentity:
    hashed = token_hash(token)
    tokens = schema.admin_tokens
    with reading(engine) as conn:
        row = conn.execute(sa.select(tokens).where(tokens.c.token_hash == hashed)).first()
    if row is None or row.expires_at < now:
        raise ApiError("unauthorized", "unknown or expired admin token: log in again")
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_RESOLUTION_MS:
        with engine.begin() as conn:
            conn.execute(
                sa.update(tokens).where(tokens.c.token_hash == hashed).values(last_used_at=now)
            )
    return AdminIdentity(row.user_id, row.organization_id, row.role, row.session_id, hashed)


def logout(engine: sa.Engine, identity: AdminIdentity, *, now: int) -> dict[str, Any]:
    """End the caller's own session on the server: its token stops working at once."""
    with engine.begin() as conn:
        conn.execute(
            sa.delete(schema.admin_tokens).where(
                schema.admin_tokens.c.token_hash == identity.token_hash
            )
        )
        audit(
            conn,
            org_id=identity.organization_id,
            actor=identity.user_id,
            action="admin.logout",
            subject=identity.session_id or "",
            at=now,
        )
    return {"session_id": identity.session_id, "status": "logged_out"}


def list_sessions(engine: sa.Engine, identity: AdminIdentity, *, now: int) -> list[dict]:
    """The organization's unexpired sessions, newest first."""
    tokens, users = schema.admin_tokens, schema.users
    with reading(engine) as conn:
        rows = conn.execute(
            sa.select(tokens, users.c.email)
            .join(users, users.c.id == tokens.c.user_id)
            .where(
                tokens.c.organization_id == identity.organization_id,
                tokens.c.expires_at >= now,
            )
            .order_by(tokens.c.created_at.desc(), tokens.c.session_id)
        ).all()
    return [
        {
            "id": row.session_id,
            "email": row.email,
            "role": row.role,
            "created_at": to_iso(row.created_at),
            "expires_at": to_iso(row.expires_at),
            "last_used_at": to_iso(row.last_used_at),
            "source": row.source,
            "current": row.session_id == identity.session_id,
        }
        for row in rows
    ]


def revoke_session(
    engine: sa.Engine, identity: AdminIdentity, session_id: str, *, now: int
) -> dict[str, Any]:
    """End one session of the caller's organization (its token stops working at once)."""
    tokens = schema.admin_tokens
    with engine.begin() as conn:
        deleted = conn.execute(
            sa.delete(tokens).where(
                tokens.c.session_id == session_id,
                tokens.c.organization_id == identity.organization_id,
            )
        ).rowcount
        if not deleted:
            raise not_found(f"session {session_id[:40]!r}")
        audit(
            conn,
            org_id=identity.organization_id,
            actor=identity.user_id,
            action="admin.session_revoke",
            subject=session_id,
            at=now,
        )
    return {"id": session_id, "status": "revoked"}
