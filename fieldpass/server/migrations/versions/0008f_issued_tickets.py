"""Offline reach: petrol kiosks certified as ticket issuers (issuer number), and tickets
first known from a gate's scan of a kiosk-signed code, awaiting the kiosk's sale.

Revision ID: 0008f
Revises: 0008b
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008f"
down_revision = "0008b"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("issuer_number", sa.Integer(), nullable=True))
        batch_op.create_unique_constraint(
            batch_op.f("uq_devices_issuer_number"), ["issuer_number"]
        )
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("issued_by", sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column("issued_at", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("sale_arrived_at", sa.BigInteger(), nullable=True))
    op.create_index(
        "ix_tickets_awaiting_sale",
        "tickets",
        ["issued_by"],
        sqlite_where=sa.text("issued_by IS NOT NULL AND sale_arrived_at IS NULL"),
        postgresql_where=sa.text("issued_by IS NOT NULL AND sale_arrived_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_tickets_awaiting_sale", table_name="tickets")
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_column("sale_arrived_at")
        batch_op.drop_column("issued_at")
        batch_op.drop_column("issued_by")
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_devices_issuer_number"), type_="unique")
        batch_op.drop_column("issuer_number")
