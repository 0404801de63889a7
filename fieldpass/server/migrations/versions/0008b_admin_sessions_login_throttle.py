"""Admin sessions (a session id, last use, source address on admin_tokens) and the login
throttle (failed logins per account and per client address).

Revision ID: 0008b
Revises: 0008a
Create Date: 2026-12-03 06:30:00
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from alembic import op

revision = "0008b"
down_revision = "0008a"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_throttles",
        sa.Column("key", sa.String(length=400), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", sa.BigInteger(), nullable=False),
        sa.Column("locked_until", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_login_throttles")),
    )
    with op.batch_alter_table("admin_tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("session_id", sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column("last_used_at", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("source", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(
            batch_op.f("uq_admin_tokens_session_id"), ["session_id"]
        )
    tokens = sa.table("admin_tokens", sa.column("token_hash"), sa.column("session_id"))
    conn = op.get_bind()
    for (token_hash,) in conn.execute(sa.select(tokens.c.token_hash)).all():
        conn.execute(
            sa.update(tokens)
            .where(tokens.c.token_hash == token_hash)
            .values(session_id=str(uuid.uuid4()))
        )


def downgrade() -> None:
    with op.batch_alter_table("admin_tokens", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_admin_tokens_session_id"), type_="unique")
        batch_op.drop_column("source")
        batch_op.drop_column("last_used_at")
        batch_op.drop_column("session_id")
    op.drop_table("login_throttles")
