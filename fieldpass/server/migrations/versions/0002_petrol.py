"""Petrol kiosks: PINs (petrol_pins), deeplinks (petrol_deeplinks), seats and seat blocks.

Seats are per event (sector rows/seats); seat_blocks allocate seats to petrol kiosks.
The active-PIN uniqueness is a partial unique index on both SQLite and PostgreSQL.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 20:37:17.038524
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('petrol_deeplinks',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('event_id', sa.String(length=36), nullable=False),
    sa.Column('deeplink_url', sa.String(length=500), nullable=False),
    sa.Column('qr_code_data', sa.String(length=255), nullable=False),
    sa.Column('is_active', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.Column('created_at', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_petrol_deeplinks_event_id_events')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_petrol_deeplinks')),
    sa.UniqueConstraint('event_id', name=op.f('uq_petrol_deeplinks_event_id'))
    )
    op.create_table('petrol_pins',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('organization_id', sa.String(length=36), nullable=False),
    sa.Column('event_id', sa.String(length=36), nullable=False),
    sa.Column('pin', sa.String(length=5), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('ticket_holders_json', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=20), server_default='ACTIVE', nullable=False),
    sa.Column('expires_at', sa.BigInteger(), nullable=False),
    sa.Column('created_by', sa.String(length=36), nullable=False),
    sa.Column('created_at', sa.BigInteger(), nullable=False),
    sa.Column('updated_at', sa.BigInteger(), nullable=False),
    sa.Column('used_at', sa.BigInteger(), nullable=True),
    sa.Column('cancelled_at', sa.BigInteger(), nullable=True),
    sa.Column('cancellation_reason', sa.String(length=255), nullable=True),
    sa.CheckConstraint("status IN ('ACTIVE', 'USED', 'EXPIRED', 'CANCELLED')", name=op.f('ck_petrol_pins_status_values')),
    sa.CheckConstraint('quantity BETWEEN 1 AND 10', name=op.f('ck_petrol_pins_quantity_range')),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_petrol_pins_event_id_events')),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_petrol_pins_organization_id_organizations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_petrol_pins'))
    )
    with op.batch_alter_table('petrol_pins', schema=None) as batch_op:
        batch_op.create_index('ix_petrol_pins_event_status', ['event_id', 'status'], unique=False)
        batch_op.create_index('ix_petrol_pins_org_pin', ['organization_id', 'pin'], unique=False)
        batch_op.create_index('ix_petrol_pins_org_status_expires', ['organization_id', 'status', 'expires_at'], unique=False)
        batch_op.create_index('ux_petrol_pins_active_pin', ['organization_id', 'pin'], unique=True, sqlite_where=sa.text("status = 'ACTIVE'"), postgresql_where=sa.text("status = 'ACTIVE'"))

    op.create_table('seat_blocks',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('event_id', sa.String(length=36), nullable=False),
    sa.Column('device_id', sa.String(length=36), nullable=False),
    sa.Column('sector_id', sa.Integer(), nullable=False),
    sa.Column('rows_spec', sa.String(length=200), nullable=False),
    sa.Column('seats_spec', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=20), server_default='ACTIVE', nullable=False),
    sa.Column('seat_count', sa.Integer(), nullable=False),
    sa.Column('returned_count', sa.Integer(), server_default='0', nullable=False),
    sa.Column('created_by', sa.String(length=36), nullable=False),
    sa.Column('created_at', sa.BigInteger(), nullable=False),
    sa.Column('returned_at', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['device_id'], ['devices.id'], name=op.f('fk_seat_blocks_device_id_devices')),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_seat_blocks_event_id_events')),
    sa.ForeignKeyConstraint(['sector_id'], ['sectors.id'], name=op.f('fk_seat_blocks_sector_id_sectors')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_seat_blocks'))
    )
    with op.batch_alter_table('seat_blocks', schema=None) as batch_op:
        batch_op.create_index('ix_seat_blocks_device', ['device_id'], unique=False)
        batch_op.create_index('ix_seat_blocks_event_status', ['event_id', 'status'], unique=False)

    op.create_table('seats',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('event_id', sa.String(length=36), nullable=False),
    sa.Column('sector_id', sa.Integer(), nullable=False),
    sa.Column('row_identifier', sa.String(length=10), nullable=False),
    sa.Column('seat_number', sa.String(length=10), nullable=False),
    sa.Column('seat_type', sa.String(length=20), server_default='STANDARD', nullable=False),
    sa.Column('status', sa.String(length=20), server_default='AVAILABLE', nullable=False),
    sa.Column('block_id', sa.String(length=36), nullable=True),
    sa.Column('created_at', sa.BigInteger(), nullable=False),
    sa.Column('updated_at', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['block_id'], ['seat_blocks.id'], name=op.f('fk_seats_block_id_seat_blocks')),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_seats_event_id_events')),
    sa.ForeignKeyConstraint(['sector_id'], ['sectors.id'], name=op.f('fk_seats_sector_id_sectors')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_seats')),
    sa.UniqueConstraint('sector_id', 'row_identifier', 'seat_number', name=op.f('uq_seats_sector_id_row_identifier_seat_number'))
    )
    with op.batch_alter_table('seats', schema=None) as batch_op:
        batch_op.create_index('ix_seats_block', ['block_id'], unique=False)
        batch_op.create_index('ix_seats_event_status', ['event_id', 'status'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('seats', schema=None) as batch_op:
        batch_op.drop_index('ix_seats_event_status')
        batch_op.drop_index('ix_seats_block')

    op.drop_table('seats')
    with op.batch_alter_table('seat_blocks', schema=None) as batch_op:
        batch_op.drop_index('ix_seat_blocks_event_status')
        batch_op.drop_index('ix_seat_blocks_device')

    op.drop_table('seat_blocks')
    with op.batch_alter_table('petrol_pins', schema=None) as batch_op:
        batch_op.drop_index('ux_petrol_pins_active_pin', sqlite_where=sa.text("status = 'ACTIVE'"), postgresql_where=sa.text("status = 'ACTIVE'"))
        batch_op.drop_index('ix_petrol_pins_org_status_expires')
        batch_op.drop_index('ix_petrol_pins_org_pin')
        batch_op.drop_index('ix_petrol_pins_event_status')

    op.drop_table('petrol_pins')
    op.drop_table('petrol_deeplinks')
