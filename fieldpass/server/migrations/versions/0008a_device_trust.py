"""Trust the network: one-time enrollment challenges, token hand-out once, enrollment
sources (rate limit), events' ticket signing keys sealed (wider column).

Revision ID: 0008a
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008a"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "device_challenges",
        sa.Column("challenge_hash", sa.String(length=64), nullable=False),
        sa.Column("device_id", sa.String(length=36), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["device_id"], ["devices.id"], name=op.f("fk_device_challenges_device_id_devices")
        ),
        sa.PrimaryKeyConstraint("challenge_hash", name=op.f("pk_device_challenges")),
    )
    op.create_index("ix_device_challenges_device", "device_challenges", ["device_id"])
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("token_issued_at", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("enroll_source", sa.String(length=64), nullable=True))
        batch_op.create_index("ix_devices_enroll_source", ["enroll_source", "enrolled_at"])
    # devices approved before this revision already collected their token
    op.execute("UPDATE devices SET token_issued_at = approved_at WHERE token_hash IS NOT NULL")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.alter_column(
            "ticket_private_key",
            existing_type=sa.String(length=64),
            type_=sa.Text(),
            existing_nullable=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.alter_column(
            "ticket_private_key",
            existing_type=sa.Text(),
            type_=sa.String(length=64),
            existing_nullable=False,
        )
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.drop_index("ix_devices_enroll_source")
        batch_op.drop_column("enroll_source")
        batch_op.drop_column("token_issued_at")
    op.drop_index("ix_device_challenges_device", table_name="device_challenges")
    op.drop_table("device_challenges")
