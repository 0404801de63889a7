"""The electronic raffle schema (seed 002), the seed's organization/venue/jurisdiction
tables and columns, print logs, and the RSU's raffle on ``devices``.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 22:15:05.267116
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "address",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("address_type", sa.String(length=50), nullable=False),
        sa.Column("street_line_1", sa.String(length=500), nullable=False),
        sa.Column("street_line_2", sa.String(length=500), nullable=True),
        sa.Column("city", sa.String(length=255), nullable=False),
        sa.Column("state_province", sa.String(length=100), nullable=False),
        sa.Column("postal_code", sa.String(length=20), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("created_by", sa.String(length=36), nullable=True),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_by", sa.String(length=36), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_address")),
    )
    with op.batch_alter_table("address", schema=None) as batch_op:
        batch_op.create_index("idx_address_type", ["address_type"], unique=False)

    op.create_table(
        "contact",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("contact_type", sa.String(length=50), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("email", sa.String(length=255), nullable=True),
        sa.Column("phone", sa.String(length=50), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("created_by", sa.String(length=36), nullable=True),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_by", sa.String(length=36), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact")),
    )
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.create_index("idx_contact_type", ["contact_type"], unique=False)

    op.create_table(
        "customer",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("email", sa.String(length=255), nullable=True),
        sa.Column("phone", sa.String(length=50), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer")),
    )
    op.create_table(
        "entity_attribute",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("entity_type", sa.String(length=50), nullable=False),
        sa.Column("entity_id", sa.String(length=36), nullable=False),
        sa.Column("attribute_name", sa.String(length=100), nullable=False),
        sa.Column("attribute_value", sa.Text(), nullable=True),
        sa.Column("data_type", sa.String(length=20), server_default="string", nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("created_by", sa.String(length=36), nullable=True),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_by", sa.String(length=36), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_entity_attribute")),
        sa.UniqueConstraint(
            "entity_type",
            "entity_id",
            "attribute_name",
            name=op.f("uq_entity_attribute_entity_type_entity_id_attribute_name"),
        ),
    )
    with op.batch_alter_table("entity_attribute", schema=None) as batch_op:
        batch_op.create_index(
            "idx_entity_attribute_entity", ["entity_type", "entity_id"], unique=False
        )
        batch_op.create_index("idx_entity_attribute_name", ["attribute_name"], unique=False)

    op.create_table(
        "jurisdiction_regulation",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("max_prize_value_cents", sa.BigInteger(), nullable=True),
        sa.Column("max_ticket_price_cents", sa.BigInteger(), nullable=True),
        sa.Column("max_event_duration_hours", sa.Integer(), nullable=True),
        sa.Column("data_retention_years", sa.Integer(), server_default="7", nullable=False),
        sa.Column("allows_online_sales", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("created_by", sa.String(length=36), nullable=True),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_by", sa.String(length=36), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jurisdiction_regulation")),
    )
    op.create_table(
        "license",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("license_type", sa.String(length=100), nullable=False),
        sa.Column("license_number", sa.String(length=100), nullable=False),
        sa.Column("issuing_authority", sa.String(length=255), nullable=False),
        sa.Column("issue_date", sa.BigInteger(), nullable=False),
        sa.Column("expiry_date", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.String(length=20), server_default="active", nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("created_by", sa.String(length=36), nullable=True),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_by", sa.String(length=36), nullable=True),
        sa.CheckConstraint(
            "status IN ('active', 'suspended', 'expired', 'revoked')",
            name=op.f("ck_license_license_status"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_license")),
    )
    with op.batch_alter_table("license", schema=None) as batch_op:
        batch_op.create_index("idx_license_status", ["status"], unique=False)
        batch_op.create_index("idx_license_type", ["license_type"], unique=False)

    op.create_table(
        "organization_setting",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column(
            "default_revenue_calculation_method",
            sa.String(length=50),
            server_default="gross_revenue",
            nullable=True,
        ),
        sa.Column(
            "allows_online_ticket_sales", sa.Boolean(), server_default=sa.true(), nullable=False
        ),
        sa.Column("max_event_duration_hours", sa.Integer(), nullable=True),
        sa.Column("max_concurrent_events", sa.Integer(), server_default="5", nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("created_by", sa.String(length=36), nullable=True),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_by", sa.String(length=36), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organization_setting")),
    )
    op.create_table(
        "jurisdiction",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("code", sa.String(length=50), nullable=False),
        sa.Column("type", sa.String(length=50), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("parent_jurisdiction_id", sa.String(length=36), nullable=True),
        sa.Column("primary_contact_id", sa.String(length=36), nullable=True),
        sa.Column("current_regulations_id", sa.String(length=36), nullable=True),
        sa.Column("is_active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("created_by", sa.String(length=36), nullable=True),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_by", sa.String(length=36), nullable=True),
        sa.ForeignKeyConstraint(
            ["current_regulations_id"],
            ["jurisdiction_regulation.id"],
            name=op.f("fk_jurisdiction_current_regulations_id_jurisdiction_regulation"),
        ),
        sa.ForeignKeyConstraint(
            ["parent_jurisdiction_id"],
            ["jurisdiction.id"],
            name=op.f("fk_jurisdiction_parent_jurisdiction_id_jurisdiction"),
        ),
        sa.ForeignKeyConstraint(
            ["primary_contact_id"],
            ["contact.id"],
            name=op.f("fk_jurisdiction_primary_contact_id_contact"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jurisdiction")),
        sa.UniqueConstraint("code", name=op.f("uq_jurisdiction_code")),
    )
    with op.batch_alter_table("jurisdiction", schema=None) as batch_op:
        batch_op.create_index("idx_jurisdiction_active", ["is_active"], unique=False)
        batch_op.create_index("idx_jurisdiction_code", ["code"], unique=False)
        batch_op.create_index("idx_jurisdiction_parent", ["parent_jurisdiction_id"], unique=False)

    op.create_table(
        "ticket_package",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("organization_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("ticket_count", sa.Integer(), nullable=False),
        sa.Column("price_cents", sa.BigInteger(), nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("display_order", sa.Integer(), server_default="0", nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("created_by", sa.String(length=36), nullable=True),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_by", sa.String(length=36), nullable=True),
        sa.CheckConstraint("price_cents >= 0", name=op.f("ck_ticket_package_price_not_negative")),
        sa.CheckConstraint(
            "ticket_count > 0", name=op.f("ck_ticket_package_ticket_count_positive")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_ticket_package_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_package")),
    )
    op.create_table(
        "organization_venue",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("organization_id", sa.String(length=36), nullable=False),
        sa.Column("venue_id", sa.String(length=36), nullable=False),
        sa.Column(
            "relationship_type", sa.String(length=50), server_default="authorized", nullable=False
        ),
        sa.Column("authorized_date", sa.BigInteger(), nullable=False),
        sa.Column("authorized_by", sa.String(length=36), nullable=True),
        sa.Column("is_active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_by", sa.String(length=36), nullable=True),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_organization_venue_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["venue_id"],
            ["venues.id"],
            name=op.f("fk_organization_venue_venue_id_venues"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organization_venue")),
        sa.UniqueConstraint(
            "organization_id",
            "venue_id",
            name=op.f("uq_organization_venue_organization_id_venue_id"),
        ),
    )
    with op.batch_alter_table("organization_venue", schema=None) as batch_op:
        batch_op.create_index("idx_organization_venue_active", ["is_active"], unique=False)
        batch_op.create_index("idx_organization_venue_org", ["organization_id"], unique=False)
        batch_op.create_index("idx_organization_venue_venue", ["venue_id"], unique=False)

    op.create_table(
        "raffle_event",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("organization_id", sa.String(length=36), nullable=False),
        sa.Column("venue_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("event_identifier", sa.String(length=100), nullable=True),
        sa.Column("state", sa.String(length=50), server_default="created", nullable=False),
        sa.Column("sales_start_time", sa.BigInteger(), nullable=True),
        sa.Column("sales_end_time", sa.BigInteger(), nullable=True),
        sa.Column("draw_time", sa.BigInteger(), nullable=True),
        sa.Column("claim_deadline", sa.BigInteger(), nullable=True),
        sa.Column("jackpot_seed_cents", sa.BigInteger(), server_default="0", nullable=True),
        sa.Column(
            "revenue_calculation_method",
            sa.String(length=50),
            server_default="gross_revenue",
            nullable=False,
        ),
        sa.Column("max_tickets", sa.Integer(), nullable=True),
        sa.Column("license_id", sa.String(length=36), nullable=True),
        sa.Column("reconciliation_confirmed_at", sa.BigInteger(), nullable=True),
        sa.Column("reconciliation_confirmed_by", sa.String(length=36), nullable=True),
        sa.Column("reconciliation_override_reason", sa.Text(), nullable=True),
        sa.Column("cancellation_reason", sa.Text(), nullable=True),
        sa.Column("suspension_reason", sa.Text(), nullable=True),
        sa.Column("suspended_from_state", sa.String(length=50), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("created_by", sa.String(length=36), nullable=True),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_by", sa.String(length=36), nullable=True),
        sa.CheckConstraint(
            "state != 'cancelled' OR cancellation_reason IS NOT NULL",
            name=op.f("ck_raffle_event_cancellation_reason"),
        ),
        sa.CheckConstraint(
            "state != 'suspended' OR suspension_reason IS NOT NULL",
            name=op.f("ck_raffle_event_suspension_reason"),
        ),
        sa.CheckConstraint(
            "state IN ('created', 'configured', 'active', 'sales_closed', 'reconciling', 'reconciled', 'drawing_ready', 'completed', 'cancelled', 'suspended')",
            name=op.f("ck_raffle_event_raffle_state"),
        ),
        sa.CheckConstraint(
            "state NOT IN ('reconciled', 'drawing_ready', 'completed') OR (reconciliation_confirmed_at IS NOT NULL AND reconciliation_confirmed_by IS NOT NULL)",
            name=op.f("ck_raffle_event_reconciliation_data"),
        ),
        sa.ForeignKeyConstraint(
            ["license_id"], ["license.id"], name=op.f("fk_raffle_event_license_id_license")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_raffle_event_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["venue_id"], ["venues.id"], name=op.f("fk_raffle_event_venue_id_venues")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_raffle_event")),
        sa.UniqueConstraint("event_identifier", name=op.f("uq_raffle_event_event_identifier")),
    )
    with op.batch_alter_table("raffle_event", schema=None) as batch_op:
        batch_op.create_index(
            "idx_raffle_event_dates", ["sales_start_time", "sales_end_time"], unique=False
        )
        batch_op.create_index("idx_raffle_event_org", ["organization_id"], unique=False)
        batch_op.create_index("idx_raffle_event_state", ["state"], unique=False)
        batch_op.create_index("idx_raffle_event_venue", ["venue_id"], unique=False)

    op.create_table(
        "draw",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("raffle_event_id", sa.String(length=36), nullable=False),
        sa.Column("state", sa.String(length=50), server_default="pending", nullable=False),
        sa.Column("draw_time", sa.BigInteger(), nullable=True),
        sa.Column("rng_seed", sa.String(length=255), nullable=True),
        sa.Column("verification_checksum", sa.String(length=255), nullable=True),
        sa.Column("conducted_by", sa.String(length=36), nullable=True),
        sa.Column("seed_commitment", sa.String(length=64), nullable=True),
        sa.Column("sealed_seed", sa.Text(), nullable=True),
        sa.Column("committed_at", sa.BigInteger(), nullable=True),
        sa.Column("committed_by", sa.String(length=36), nullable=True),
        sa.Column("beacon", sa.String(length=500), nullable=True),
        sa.Column("revenue_cents", sa.BigInteger(), nullable=True),
        sa.Column("record", sa.Text(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("created_by", sa.String(length=36), nullable=True),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_by", sa.String(length=36), nullable=True),
        sa.CheckConstraint(
            "state != 'completed' OR (draw_time IS NOT NULL AND conducted_by IS NOT NULL)",
            name=op.f("ck_draw_completed_data"),
        ),
        sa.CheckConstraint(
            "state IN ('pending', 'generating', 'completed')", name=op.f("ck_draw_draw_state")
        ),
        sa.ForeignKeyConstraint(
            ["raffle_event_id"],
            ["raffle_event.id"],
            name=op.f("fk_draw_raffle_event_id_raffle_event"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_draw")),
        sa.UniqueConstraint("raffle_event_id", name=op.f("uq_draw_raffle_event_id")),
    )
    with op.batch_alter_table("draw", schema=None) as batch_op:
        batch_op.create_index("idx_draw_state", ["state"], unique=False)

    op.create_table(
        "prize",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("raffle_event_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("prize_type", sa.String(length=50), nullable=False),
        sa.Column("value_cents", sa.BigInteger(), nullable=True),
        sa.Column("percentage", sa.Numeric(precision=5, scale=2), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("winner_count", sa.Integer(), server_default="1", nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("created_by", sa.String(length=36), nullable=True),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_by", sa.String(length=36), nullable=True),
        sa.CheckConstraint(
            "(prize_type = 'fixed' AND value_cents IS NOT NULL AND percentage IS NULL) OR (prize_type = 'percentage' AND percentage IS NOT NULL AND value_cents IS NULL)",
            name=op.f("ck_prize_prize_value"),
        ),
        sa.CheckConstraint("winner_count >= 1", name=op.f("ck_prize_winner_count_positive")),
        sa.ForeignKeyConstraint(
            ["raffle_event_id"],
            ["raffle_event.id"],
            name=op.f("fk_prize_raffle_event_id_raffle_event"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prize")),
        sa.UniqueConstraint(
            "raffle_event_id", "position", name=op.f("uq_prize_raffle_event_id_position")
        ),
    )
    op.create_table(
        "raffle_exception",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("raffle_event_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("details", sa.Text(), server_default="{}", nullable=False),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["raffle_event_id"],
            ["raffle_event.id"],
            name=op.f("fk_raffle_exception_raffle_event_id_raffle_event"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_raffle_exception")),
    )
    with op.batch_alter_table("raffle_exception", schema=None) as batch_op:
        batch_op.create_index("ix_raffle_exception_raffle", ["raffle_event_id", "at"], unique=False)

    op.create_table(
        "raffle_ticket_package",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("raffle_event_id", sa.String(length=36), nullable=False),
        sa.Column("ticket_package_id", sa.String(length=36), nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("display_order", sa.Integer(), server_default="0", nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("created_by", sa.String(length=36), nullable=True),
        sa.ForeignKeyConstraint(
            ["raffle_event_id"],
            ["raffle_event.id"],
            name=op.f("fk_raffle_ticket_package_raffle_event_id_raffle_event"),
        ),
        sa.ForeignKeyConstraint(
            ["ticket_package_id"],
            ["ticket_package.id"],
            name=op.f("fk_raffle_ticket_package_ticket_package_id_ticket_package"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_raffle_ticket_package")),
        sa.UniqueConstraint(
            "raffle_event_id",
            "ticket_package_id",
            name=op.f("uq_raffle_ticket_package_raffle_event_id_ticket_package_id"),
        ),
    )
    op.create_table(
        "rsu",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("organization_id", sa.String(length=36), nullable=False),
        sa.Column("device_identifier", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("state", sa.String(length=50), server_default="registered", nullable=False),
        sa.Column("max_offline_tickets", sa.Integer(), server_default="100", nullable=False),
        sa.Column("last_sync_at", sa.BigInteger(), nullable=True),
        sa.Column("is_active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("raffle_event_id", sa.String(length=36), nullable=True),
        sa.Column("terminal_number", sa.Integer(), nullable=False),
        sa.Column("close_seq", sa.BigInteger(), nullable=True),
        sa.Column("closed_at", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("created_by", sa.String(length=36), nullable=True),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_by", sa.String(length=36), nullable=True),
        sa.CheckConstraint(
            "state IN ('registered', 'enrolled', 'active', 'closing', 'closed', 'reconciled', 'suspended', 'error')",
            name=op.f("ck_rsu_rsu_state"),
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_rsu_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["raffle_event_id"],
            ["raffle_event.id"],
            name=op.f("fk_rsu_raffle_event_id_raffle_event"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rsu")),
        sa.UniqueConstraint("device_identifier", name=op.f("uq_rsu_device_identifier")),
        sa.UniqueConstraint("terminal_number", name=op.f("uq_rsu_terminal_number")),
    )
    with op.batch_alter_table("rsu", schema=None) as batch_op:
        batch_op.create_index("idx_rsu_org", ["organization_id"], unique=False)
        batch_op.create_index("idx_rsu_state", ["state"], unique=False)

    op.create_table(
        "raffle_order",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("raffle_event_id", sa.String(length=36), nullable=False),
        sa.Column("customer_id", sa.String(length=36), nullable=True),
        sa.Column("ticket_package_id", sa.String(length=36), nullable=False),
        sa.Column("ticket_count", sa.Integer(), nullable=False),
        sa.Column("total_amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("validation_number", sa.String(length=100), nullable=False),
        sa.Column("payment_status", sa.String(length=50), server_default="pending", nullable=False),
        sa.Column("payment_method", sa.String(length=20), nullable=True),
        sa.Column("payment_reference", sa.String(length=255), nullable=True),
        sa.Column("source", sa.String(length=50), nullable=False),
        sa.Column("rsu_id", sa.String(length=36), nullable=True),
        sa.Column("device_seq", sa.BigInteger(), nullable=True),
        sa.Column("draw_numbers", sa.Text(), nullable=False),
        sa.Column("sold_at", sa.BigInteger(), nullable=False),
        sa.Column("voided_at", sa.BigInteger(), nullable=True),
        sa.Column("voided_by", sa.String(length=36), nullable=True),
        sa.Column("void_reason", sa.Text(), nullable=True),
        sa.Column("reprint_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("created_by", sa.String(length=36), nullable=True),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_by", sa.String(length=36), nullable=True),
        sa.CheckConstraint(
            "payment_status IN ('pending', 'completed', 'failed', 'refunded')",
            name=op.f("ck_raffle_order_payment_status"),
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customer.id"], name=op.f("fk_raffle_order_customer_id_customer")
        ),
        sa.ForeignKeyConstraint(
            ["raffle_event_id"],
            ["raffle_event.id"],
            name=op.f("fk_raffle_order_raffle_event_id_raffle_event"),
        ),
        sa.ForeignKeyConstraint(["rsu_id"], ["rsu.id"], name=op.f("fk_raffle_order_rsu_id_rsu")),
        sa.ForeignKeyConstraint(
            ["ticket_package_id"],
            ["ticket_package.id"],
            name=op.f("fk_raffle_order_ticket_package_id_ticket_package"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_raffle_order")),
        sa.UniqueConstraint("rsu_id", "device_seq", name=op.f("uq_raffle_order_rsu_id_device_seq")),
        sa.UniqueConstraint("validation_number", name=op.f("uq_raffle_order_validation_number")),
    )
    with op.batch_alter_table("raffle_order", schema=None) as batch_op:
        batch_op.create_index("idx_order_customer", ["customer_id"], unique=False)
        batch_op.create_index("idx_order_payment_status", ["payment_status"], unique=False)
        batch_op.create_index("idx_order_raffle", ["raffle_event_id"], unique=False)

    op.create_table(
        "rsu_allocation",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("raffle_event_id", sa.String(length=36), nullable=False),
        sa.Column("rsu_id", sa.String(length=36), nullable=False),
        sa.Column("start_number", sa.Integer(), nullable=False),
        sa.Column("end_number", sa.Integer(), nullable=False),
        sa.Column("tickets_sold", sa.Integer(), server_default="0", nullable=False),
        sa.Column("tickets_voided", sa.Integer(), server_default="0", nullable=False),
        sa.Column("allocated_at", sa.BigInteger(), nullable=False),
        sa.Column("allocated_by", sa.String(length=36), nullable=True),
        sa.Column("deallocated_at", sa.BigInteger(), nullable=True),
        sa.Column("deallocated_by", sa.String(length=36), nullable=True),
        sa.Column("is_active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.CheckConstraint(
            "end_number >= start_number", name=op.f("ck_rsu_allocation_number_range")
        ),
        sa.CheckConstraint(
            "tickets_sold + tickets_voided <= (end_number - start_number + 1)",
            name=op.f("ck_rsu_allocation_allocation_counts"),
        ),
        sa.ForeignKeyConstraint(
            ["raffle_event_id"],
            ["raffle_event.id"],
            name=op.f("fk_rsu_allocation_raffle_event_id_raffle_event"),
        ),
        sa.ForeignKeyConstraint(["rsu_id"], ["rsu.id"], name=op.f("fk_rsu_allocation_rsu_id_rsu")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rsu_allocation")),
    )
    with op.batch_alter_table("rsu_allocation", schema=None) as batch_op:
        batch_op.create_index(
            "ix_rsu_allocation_raffle_rsu", ["raffle_event_id", "rsu_id"], unique=False
        )
        batch_op.create_index(
            "ux_rsu_allocation_active_range",
            ["raffle_event_id", "start_number", "end_number"],
            unique=True,
            sqlite_where=sa.text("is_active"),
            postgresql_where=sa.text("is_active"),
        )

    op.create_table(
        "print_logs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("organization_id", sa.String(length=36), nullable=False),
        sa.Column("device_id", sa.String(length=36), nullable=True),
        sa.Column("seq", sa.BigInteger(), nullable=True),
        sa.Column("subject_kind", sa.String(length=20), nullable=False),
        sa.Column("subject_id", sa.String(length=100), nullable=False),
        sa.Column("agent_id", sa.String(length=100), nullable=True),
        sa.Column("reason", sa.String(length=255), nullable=False),
        sa.Column("identity_verified", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("verification_document_type", sa.String(length=100), nullable=True),
        sa.Column("print_location", sa.String(length=255), nullable=True),
        sa.Column("printed_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["device_id"], ["devices.id"], name=op.f("fk_print_logs_device_id_devices")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_print_logs")),
        sa.UniqueConstraint("device_id", "seq", name=op.f("uq_print_logs_device_id_seq")),
    )
    with op.batch_alter_table("print_logs", schema=None) as batch_op:
        batch_op.create_index("ix_print_logs_agent", ["agent_id"], unique=False)
        batch_op.create_index("ix_print_logs_subject", ["subject_kind", "subject_id"], unique=False)

    op.create_table(
        "raffle_ticket",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("raffle_event_id", sa.String(length=36), nullable=False),
        sa.Column("draw_number", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=50), server_default="available", nullable=False),
        sa.Column("allocated_to_rsu_id", sa.String(length=36), nullable=True),
        sa.Column("allocated_at", sa.BigInteger(), nullable=True),
        sa.Column("allocation_id", sa.String(length=36), nullable=True),
        sa.Column("order_id", sa.String(length=36), nullable=True),
        sa.Column("sold_at", sa.BigInteger(), nullable=True),
        sa.Column("sold_by", sa.String(length=36), nullable=True),
        sa.Column("voided_at", sa.BigInteger(), nullable=True),
        sa.Column("voided_by", sa.String(length=36), nullable=True),
        sa.Column("voided_reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "state != 'sold' OR (order_id IS NOT NULL AND sold_at IS NOT NULL)",
            name=op.f("ck_raffle_ticket_sold_data"),
        ),
        sa.CheckConstraint(
            "state != 'voided' OR (voided_at IS NOT NULL AND voided_by IS NOT NULL AND voided_reason IS NOT NULL)",
            name=op.f("ck_raffle_ticket_voided_data"),
        ),
        sa.CheckConstraint(
            "state IN ('available', 'allocated', 'sold', 'voided', 'winner', 'claimed')",
            name=op.f("ck_raffle_ticket_ticket_state"),
        ),
        sa.ForeignKeyConstraint(
            ["allocated_to_rsu_id"],
            ["rsu.id"],
            name=op.f("fk_raffle_ticket_allocated_to_rsu_id_rsu"),
        ),
        sa.ForeignKeyConstraint(
            ["allocation_id"],
            ["rsu_allocation.id"],
            name=op.f("fk_raffle_ticket_allocation_id_rsu_allocation"),
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["raffle_order.id"], name=op.f("fk_raffle_ticket_order_id_raffle_order")
        ),
        sa.ForeignKeyConstraint(
            ["raffle_event_id"],
            ["raffle_event.id"],
            name=op.f("fk_raffle_ticket_raffle_event_id_raffle_event"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_raffle_ticket")),
        sa.UniqueConstraint(
            "raffle_event_id",
            "draw_number",
            name=op.f("uq_raffle_ticket_raffle_event_id_draw_number"),
        ),
    )
    with op.batch_alter_table("raffle_ticket", schema=None) as batch_op:
        batch_op.create_index("idx_ticket_allocation", ["allocation_id"], unique=False)
        batch_op.create_index("idx_ticket_order", ["order_id"], unique=False)
        batch_op.create_index("idx_ticket_state", ["raffle_event_id", "state"], unique=False)

    op.create_table(
        "draw_result",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("draw_id", sa.String(length=36), nullable=False),
        sa.Column("prize_id", sa.String(length=36), nullable=False),
        sa.Column(
            "winning_ticket_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
        ),
        sa.Column("prize_value_cents", sa.BigInteger(), nullable=False),
        sa.Column("pick_index", sa.Integer(), nullable=False),
        sa.Column("claim_status", sa.String(length=50), server_default="unclaimed", nullable=False),
        sa.Column("claimed_at", sa.BigInteger(), nullable=True),
        sa.Column("claimed_by", sa.String(length=36), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "claim_status != 'claimed' OR (claimed_at IS NOT NULL AND claimed_by IS NOT NULL)",
            name=op.f("ck_draw_result_claimed_data"),
        ),
        sa.CheckConstraint(
            "claim_status IN ('unclaimed', 'claimed')", name=op.f("ck_draw_result_claim_status")
        ),
        sa.ForeignKeyConstraint(["draw_id"], ["draw.id"], name=op.f("fk_draw_result_draw_id_draw")),
        sa.ForeignKeyConstraint(
            ["prize_id"], ["prize.id"], name=op.f("fk_draw_result_prize_id_prize")
        ),
        sa.ForeignKeyConstraint(
            ["winning_ticket_id"],
            ["raffle_ticket.id"],
            name=op.f("fk_draw_result_winning_ticket_id_raffle_ticket"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_draw_result")),
    )
    with op.batch_alter_table("draw_result", schema=None) as batch_op:
        batch_op.create_index("idx_draw_result_claim_status", ["claim_status"], unique=False)
        batch_op.create_index("idx_draw_result_draw", ["draw_id"], unique=False)
        batch_op.create_index("idx_draw_result_ticket", ["winning_ticket_id"], unique=False)

    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("raffle_event_id", sa.String(length=36), nullable=True))

    with op.batch_alter_table("organizations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("description", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "organization_type", sa.String(length=50), server_default="club", nullable=False
            )
        )
        batch_op.add_column(sa.Column("tax_id_number", sa.String(length=50), nullable=True))
        batch_op.add_column(sa.Column("primary_venue_id", sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column("mailing_address_id", sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column("primary_contact_id", sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column("gaming_license_id", sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column("current_settings_id", sa.String(length=36), nullable=True))
        batch_op.add_column(
            sa.Column("is_active", sa.Boolean(), server_default=sa.true(), nullable=False)
        )
        batch_op.create_index("idx_organization_active", ["is_active"], unique=False)
        batch_op.create_index("idx_organization_primary_venue", ["primary_venue_id"], unique=False)
        batch_op.create_index("idx_organization_tax_id", ["tax_id_number"], unique=False)
        batch_op.create_index("idx_organization_type", ["organization_type"], unique=False)

    with op.batch_alter_table("venues", schema=None) as batch_op:
        batch_op.add_column(sa.Column("jurisdiction_id", sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column("parent_venue_id", sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column("description", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("venue_identifier", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("capacity", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("physical_address_id", sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column("primary_contact_id", sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column("venue_permit_id", sa.String(length=36), nullable=True))
        batch_op.add_column(
            sa.Column("is_active", sa.Boolean(), server_default=sa.true(), nullable=False)
        )
        batch_op.create_index("idx_venue_active", ["is_active"], unique=False)
        batch_op.create_index("idx_venue_jurisdiction", ["jurisdiction_id"], unique=False)
        batch_op.create_index("idx_venue_parent", ["parent_venue_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("venues", schema=None) as batch_op:
        batch_op.drop_index("idx_venue_parent")
        batch_op.drop_index("idx_venue_jurisdiction")
        batch_op.drop_index("idx_venue_active")
        batch_op.drop_column("is_active")
        batch_op.drop_column("venue_permit_id")
        batch_op.drop_column("primary_contact_id")
        batch_op.drop_column("physical_address_id")
        batch_op.drop_column("capacity")
        batch_op.drop_column("venue_identifier")
        batch_op.drop_column("description")
        batch_op.drop_column("parent_venue_id")
        batch_op.drop_column("jurisdiction_id")

    with op.batch_alter_table("organizations", schema=None) as batch_op:
        batch_op.drop_index("idx_organization_type")
        batch_op.drop_index("idx_organization_tax_id")
        batch_op.drop_index("idx_organization_primary_venue")
        batch_op.drop_index("idx_organization_active")
        batch_op.drop_column("is_active")
        batch_op.drop_column("current_settings_id")
        batch_op.drop_column("gaming_license_id")
        batch_op.drop_column("primary_contact_id")
        batch_op.drop_column("mailing_address_id")
        batch_op.drop_column("primary_venue_id")
        batch_op.drop_column("tax_id_number")
        batch_op.drop_column("organization_type")
        batch_op.drop_column("description")

    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.drop_column("raffle_event_id")

    with op.batch_alter_table("draw_result", schema=None) as batch_op:
        batch_op.drop_index("idx_draw_result_ticket")
        batch_op.drop_index("idx_draw_result_draw")
        batch_op.drop_index("idx_draw_result_claim_status")

    op.drop_table("draw_result")
    with op.batch_alter_table("raffle_ticket", schema=None) as batch_op:
        batch_op.drop_index("idx_ticket_state")
        batch_op.drop_index("idx_ticket_order")
        batch_op.drop_index("idx_ticket_allocation")

    op.drop_table("raffle_ticket")
    with op.batch_alter_table("print_logs", schema=None) as batch_op:
        batch_op.drop_index("ix_print_logs_subject")
        batch_op.drop_index("ix_print_logs_agent")

    op.drop_table("print_logs")
    with op.batch_alter_table("rsu_allocation", schema=None) as batch_op:
        batch_op.drop_index("ix_rsu_allocation_raffle_rsu")

    op.drop_table("rsu_allocation")
    with op.batch_alter_table("raffle_order", schema=None) as batch_op:
        batch_op.drop_index("idx_order_raffle")
        batch_op.drop_index("idx_order_payment_status")
        batch_op.drop_index("idx_order_customer")

    op.drop_table("raffle_order")
    with op.batch_alter_table("rsu", schema=None) as batch_op:
        batch_op.drop_index("idx_rsu_state")
        batch_op.drop_index("idx_rsu_org")

    op.drop_table("rsu")
    op.drop_table("raffle_ticket_package")
    with op.batch_alter_table("raffle_exception", schema=None) as batch_op:
        batch_op.drop_index("ix_raffle_exception_raffle")

    op.drop_table("raffle_exception")
    op.drop_table("prize")
    with op.batch_alter_table("draw", schema=None) as batch_op:
        batch_op.drop_index("idx_draw_state")

    op.drop_table("draw")
    with op.batch_alter_table("raffle_event", schema=None) as batch_op:
        batch_op.drop_index("idx_raffle_event_venue")
        batch_op.drop_index("idx_raffle_event_state")
        batch_op.drop_index("idx_raffle_event_org")
        batch_op.drop_index("idx_raffle_event_dates")

    op.drop_table("raffle_event")
    with op.batch_alter_table("organization_venue", schema=None) as batch_op:
        batch_op.drop_index("idx_organization_venue_venue")
        batch_op.drop_index("idx_organization_venue_org")
        batch_op.drop_index("idx_organization_venue_active")

    op.drop_table("organization_venue")
    op.drop_table("ticket_package")
    with op.batch_alter_table("jurisdiction", schema=None) as batch_op:
        batch_op.drop_index("idx_jurisdiction_parent")
        batch_op.drop_index("idx_jurisdiction_code")
        batch_op.drop_index("idx_jurisdiction_active")

    op.drop_table("jurisdiction")
    op.drop_table("organization_setting")
    with op.batch_alter_table("license", schema=None) as batch_op:
        batch_op.drop_index("idx_license_type")
        batch_op.drop_index("idx_license_status")

    op.drop_table("license")
    op.drop_table("jurisdiction_regulation")
    with op.batch_alter_table("entity_attribute", schema=None) as batch_op:
        batch_op.drop_index("idx_entity_attribute_name")
        batch_op.drop_index("idx_entity_attribute_entity")

    op.drop_table("entity_attribute")
    op.drop_table("customer")
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.drop_index("idx_contact_type")

    op.drop_table("contact")
    with op.batch_alter_table("address", schema=None) as batch_op:
        batch_op.drop_index("idx_address_type")

    op.drop_table("address")
