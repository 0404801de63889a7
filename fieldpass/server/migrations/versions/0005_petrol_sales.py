"""Petrol sales ingested from kiosks.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 22:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "petrol_sales",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("organization_id", sa.String(length=36), nullable=False),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("pin_id", sa.String(length=36), nullable=False),
        sa.Column("device_id", sa.String(length=36), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("payment_method", sa.String(length=10), nullable=False),
        sa.Column("payment_reference", sa.String(length=255), nullable=True),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("tendered_cents", sa.BigInteger(), nullable=True),
        sa.Column("ticket_count", sa.Integer(), nullable=False),
        sa.Column("barcodes", sa.Text(), nullable=False),
        sa.Column("sold_at", sa.BigInteger(), nullable=False),
        sa.Column("received_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["device_id"], ["devices.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("device_id", "seq"),
    )
    op.create_index("ix_petrol_sales_pin", "petrol_sales", ["pin_id"])
    op.create_index("ix_petrol_sales_event", "petrol_sales", ["event_id"])


def downgrade() -> None:
    op.drop_index("ix_petrol_sales_event", table_name="petrol_sales")
    op.drop_index("ix_petrol_sales_pin", table_name="petrol_sales")
    op.drop_table("petrol_sales")
