"""Role-scoped change log: ``changes.audience`` (NULL = every device of the event,
``gate`` = the gate slice, ``device:<id>`` = one device).

Existing changes other than ``event`` are the gate slice (gates, tickets, admissions),
so they are backfilled as ``gate``; ``event`` changes stay visible to every device.
The (event_id, seq) index is replaced by (event_id, seq, audience).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 21:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("changes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("audience", sa.String(length=60), nullable=True))
    op.execute("UPDATE changes SET audience = 'gate' WHERE entity <> 'event'")
    with op.batch_alter_table("changes", schema=None) as batch_op:
        batch_op.drop_index("ix_changes_event_seq")
        batch_op.create_index(
            "ix_changes_event_seq_audience", ["event_id", "seq", "audience"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("changes", schema=None) as batch_op:
        batch_op.drop_index("ix_changes_event_seq_audience")
        batch_op.create_index("ix_changes_event_seq", ["event_id", "seq"], unique=False)
        batch_op.drop_column("audience")
