"""Petrol: price categories and sector prices, the event's VAT rate, kiosk seat
reservations, sale reservation/documents/refund columns, integration tokens.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25 22:54:27.055941
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "integration_tokens",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("organization_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("last_used_at", sa.BigInteger(), nullable=True),
        sa.Column("revoked_at", sa.BigInteger(), nullable=True),
        sa.Column("revoked_by", sa.String(length=36), nullable=True),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_integration_tokens_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_integration_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_integration_tokens_token_hash")),
    )
    with op.batch_alter_table("integration_tokens", schema=None) as batch_op:
        batch_op.create_index("ix_integration_tokens_org", ["organization_id"], unique=False)

    op.create_table(
        "price_categories",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("price_cents", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), server_default="EUR", nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.id"], name=op.f("fk_price_categories_event_id_events")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_price_categories")),
        sa.UniqueConstraint("event_id", "name", name=op.f("uq_price_categories_event_id_name")),
    )
    op.create_table(
        "petrol_reservations",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("organization_id", sa.String(length=36), nullable=False),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("pin_id", sa.String(length=36), nullable=False),
        sa.Column("device_id", sa.String(length=36), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=True),
        sa.Column("seats", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), server_default="RESERVED", nullable=False),
        sa.Column("reserved_at", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.Column("identity_verified_at", sa.BigInteger(), nullable=True),
        sa.Column("completed_at", sa.BigInteger(), nullable=True),
        sa.Column("ended_at", sa.BigInteger(), nullable=True),
        sa.Column("cancellation_reason", sa.String(length=255), nullable=True),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "status IN ('RESERVED', 'IDENTITY_VERIFIED', 'COMPLETED', 'CANCELLED', 'EXPIRED')",
            name=op.f("ck_petrol_reservations_status_values"),
        ),
        sa.ForeignKeyConstraint(
            ["device_id"], ["devices.id"], name=op.f("fk_petrol_reservations_device_id_devices")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_petrol_reservations")),
    )
    with op.batch_alter_table("petrol_reservations", schema=None) as batch_op:
        batch_op.create_index("ix_petrol_reservations_pin", ["pin_id"], unique=False)
        batch_op.create_index("ix_petrol_reservations_status", ["status"], unique=False)

    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("vat_basis_points", sa.Integer(), server_default="2500", nullable=False)
        )

    with op.batch_alter_table("petrol_sales", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reservation_id", sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column("documents", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("refunded_at", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("refunded_by", sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column("refund_note", sa.String(length=500), nullable=True))

    with op.batch_alter_table("sectors", schema=None) as batch_op:
        batch_op.add_column(sa.Column("price_category_id", sa.String(length=36), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sectors", schema=None) as batch_op:
        batch_op.drop_column("price_category_id")

    with op.batch_alter_table("petrol_sales", schema=None) as batch_op:
        batch_op.drop_column("refund_note")
        batch_op.drop_column("refunded_by")
        batch_op.drop_column("refunded_at")
        batch_op.drop_column("documents")
        batch_op.drop_column("reservation_id")

    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_column("vat_basis_points")

    with op.batch_alter_table("petrol_reservations", schema=None) as batch_op:
        batch_op.drop_index("ix_petrol_reservations_status")
        batch_op.drop_index("ix_petrol_reservations_pin")

    op.drop_table("petrol_reservations")
    op.drop_table("price_categories")
    with op.batch_alter_table("integration_tokens", schema=None) as batch_op:
        batch_op.drop_index("ix_integration_tokens_org")

    op.drop_table("integration_tokens")
