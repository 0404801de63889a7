"""Database setup: engines for SQLite and PostgreSQL, migrations, server identity, admins.

``init_db`` creates or migrates the schema with the Alembic scripts shipped in
``fieldpass/server/migrations`` (no alembic.ini needed) and makes sure the server has
an epoch id; secrets an older database held in clear are sealed with the key file.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from argon2 import PasswordHasher
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fieldpass.server import keys, schema
from fieldpass.server.config import new_uuid
from fieldpass.sync import signing
from fieldpass.sync.clock import Clock, system_clock

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
HEAD_REVISION = "0008f"
_READ_ONLY = "fieldpass_read_only"


class DatabaseError(Exception):
    """A database that cannot be used as asked (bad URL, unknown admin, ...)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def normalise_url(url: str) -> str:
    """Accept plain ``postgresql://`` URLs and run them on the psycopg 3 driver."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def make_engine(url: str) -> sa.Engine:
    """An engine with the per-connection settings Fieldpass relies on.

    SQLite: WAL, foreign keys, busy_timeout, and ``BEGIN IMMEDIATE`` for write
    transactions so two writers queue on the lock instead of failing on upgrade;
    read transactions (see ``reading``) stay deferred and never block writers.
    """
    url = normalise_url(url)
    if url.startswith("sqlite"):
        if url in ("sqlite://", "sqlite:///:memory:"):
            raise DatabaseError("invalid", "use a SQLite file URL, e.g. sqlite:///path/server.db")
        engine = sa.create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        if engine.url.database:
            create_private_file(Path(engine.url.database))

        @sa.event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection, _record) -> None:
            dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @sa.event.listens_for(engine, "begin")
        def _on_begin(conn: sa.Connection) -> None:
            read_only = conn.get_execution_options().get(_READ_ONLY, False)
            conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

        return engine
    if url.startswith("postgresql"):
        return sa.create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)
    raise DatabaseError("invalid", f"unsupported database URL {url.split(':', 1)[0]!r}")


def create_private_file(path: Path) -> None:
    """Create ``path`` empty and readable by its owner only (0600) unless it exists, so
    SQLite opens a database (and makes its -wal/-shm files) that others cannot read."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    os.close(fd)


@contextmanager
def reading(engine: sa.Engine) -> Iterator[sa.Connection]:
    """A connection for reads only (deferred transaction on SQLite)."""
    with engine.connect() as conn:
        conn = conn.execution_options(**{_READ_ONLY: True})
        yield conn


def is_postgres(conn: sa.Connection | sa.Engine) -> bool:
    return conn.dialect.name == "postgresql"


def alembic_config(conn: sa.Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = conn
    return config


@dataclass(frozen=True)
class InitResult:
    revision_before: str | None
    revision_after: str
    epoch: str
    created_identity: bool


def current_revision(engine: sa.Engine) -> str | None:
    with reading(engine) as conn:
        return MigrationContext.configure(conn).get_current_revision()


def init_db(url_or_engine: str | sa.Engine, key: bytes | None = None) -> InitResult:
    """Create the schema or migrate it to head, then ensure epoch and change counter, and
    (given the key file's ``key``) seal any secret an older database holds in clear."""
    engine = make_engine(url_or_engine) if isinstance(url_or_engine, str) else url_or_engine
    before = current_revision(engine)
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "head")
    with engine.begin() as conn:
        created = _ensure_identity(conn)
        if key is not None:
            seal_legacy_secrets(conn, key)
        epoch = get_meta(conn, "epoch")
    if isinstance(url_or_engine, str):
        engine.dispose()
    return InitResult(before, HEAD_REVISION, epoch or "", created)


def _ensure_identity(conn: sa.Connection) -> bool:
    created = False
    if get_meta(conn, "epoch") is None:
        set_meta(conn, "epoch", uuid.uuid4().hex[:12])
        created = True
    counter = conn.execute(sa.select(schema.change_counter.c.value)).first()
    if counter is None:
        conn.execute(sa.insert(schema.change_counter).values(id=1, value=0))
    return created


def seal_legacy_secrets(conn: sa.Connection, master: bytes) -> int:
    """Seal what a database from before keys left it holds in clear (the server signing
    key, events' ticket signing keys) with the key file's key; returns how many."""
    sealed = 0
    legacy = get_meta(conn, keys.LEGACY_SIGNING_KEY_META)
    if legacy is not None:
        if get_meta(conn, keys.SIGNING_KEY_META) is None:
            key = signing.private_key_from_text(legacy)
            set_meta(conn, keys.SIGNING_KEY_META, keys.seal_signing_key(master, key))
        conn.execute(
            sa.delete(schema.server_meta).where(
                schema.server_meta.c.key == keys.LEGACY_SIGNING_KEY_META
            )
        )
        sealed += 1
    e = schema.events
    for event_id, stored in conn.execute(sa.select(e.c.id, e.c.ticket_private_key)).all():
        if keys.is_sealed(stored):
            continue
        key = signing.private_key_from_text(stored)
        conn.execute(
            sa.update(e)
            .where(e.c.id == event_id)
            .values(ticket_private_key=keys.seal_ticket_key(master, event_id, key))
        )
        sealed += 1
    return sealed


def server_signing_key(engine: sa.Engine, master: bytes) -> Ed25519PrivateKey:
    """The server's signing key: the original one sealed in the database if this server
    had one before keys left the database (sealed now if still in clear), else the one
    derived from the key file's key."""
    with reading(engine) as conn:
        sealed = get_meta(conn, keys.SIGNING_KEY_META)
        legacy = get_meta(conn, keys.LEGACY_SIGNING_KEY_META)
    if sealed is None and legacy is not None:
        with engine.begin() as conn:
            seal_legacy_secrets(conn, master)
            sealed = get_meta(conn, keys.SIGNING_KEY_META)
    if sealed is not None:
        return keys.open_signing_key(master, sealed)
    return keys.derive_signing_key(master)


def get_meta(conn: sa.Connection, key: str) -> str | None:
    return conn.execute(
        sa.select(schema.server_meta.c.value).where(schema.server_meta.c.key == key)
    ).scalar_one_or_none()


def set_meta(conn: sa.Connection, key: str, value: str) -> None:
    updated = conn.execute(
        sa.update(schema.server_meta).where(schema.server_meta.c.key == key).values(value=value)
    ).rowcount
    if not updated:
        conn.execute(sa.insert(schema.server_meta).values(key=key, value=value))


def new_epoch(engine: sa.Engine) -> str:
    """Declare the database restored from a backup: devices re-pull and re-push."""
    epoch = uuid.uuid4().hex[:12]
    with engine.begin() as conn:
        set_meta(conn, "epoch", epoch)
        conn.execute(
            sa.insert(schema.audit_log).values(
                actor="system",
                action="epoch.new",
                subject=epoch,
                details="{}",
                at=system_clock(),
            )
        )
    return epoch


def create_admin(
    engine: sa.Engine,
    email: str,
    password: str,
    org_name: str = "Default",
    *,
    role: str = "owner",
    hasher: PasswordHasher | None = None,
    clock: Clock = system_clock,
    reset_password: bool = False,
) -> dict[str, str]:
    """Create a user and make it ``role`` of ``org_name``.

    An existing e-mail is refused unless ``reset_password``: then that user gets the new
    password (and the role in ``org_name``), and every session it had is ended.
    """
    from fieldpass.server.services.passwords import PasswordRefused, check_password

    email = email.strip().lower()
    if "@" not in email or len(email) > 320:
        raise DatabaseError("invalid", f"not an email address: {email!r}")
    try:
        check_password(password, email)
    except PasswordRefused as exc:
        raise DatabaseError("invalid", str(exc)) from None
    if role not in ("owner", "admin", "viewer"):
        raise DatabaseError("invalid", f"unknown role {role!r}")
    now = clock()
    password_hash = (hasher or PasswordHasher()).hash(password)
    with engine.begin() as conn:
        org_id = conn.execute(
            sa.select(schema.organizations.c.id).where(schema.organizations.c.name == org_name)
        ).scalar_one_or_none()
        if org_id is None:
            org_id = new_uuid()
            conn.execute(
                sa.insert(schema.organizations).values(id=org_id, name=org_name, created_at=now)
            )
        user_id = conn.execute(
            sa.select(schema.users.c.id).where(schema.users.c.email == email)
        ).scalar_one_or_none()
        if user_id is not None and not reset_password:
            raise DatabaseError(
                "exists",
                f"an admin with the e-mail {email} already exists"
                " (give --reset-password to set a new password for it)",
            )
        if user_id is None:
            user_id = new_uuid()
            conn.execute(
                sa.insert(schema.users).values(
                    id=user_id, email=email, password_hash=password_hash, created_at=now
                )
            )
        else:
            conn.execute(
                sa.update(schema.users)
                .where(schema.users.c.id == user_id)
                .values(password_hash=password_hash)
            )
            conn.execute(
                sa.delete(schema.admin_tokens).where(schema.admin_tokens.c.user_id == user_id)
            )
        member = conn.execute(
            sa.select(schema.memberships.c.id).where(
                schema.memberships.c.user_id == user_id,
                schema.memberships.c.organization_id == org_id,
            )
        ).first()
        if member is None:
            conn.execute(
                sa.insert(schema.memberships).values(
                    user_id=user_id, organization_id=org_id, role=role
                )
            )
        conn.execute(
            sa.insert(schema.audit_log).values(
                organization_id=org_id,
                actor="system",
                action="admin.reset_password" if reset_password else "admin.create",
                subject=email,
                details=json.dumps({"role": role}),
                at=now,
            )
        )
    return {"user_id": user_id, "organization_id": org_id, "email": email}
