"""Initial schema: tenancy, events, tickets, devices, sync bookkeeping, conflicts, audit.

Revision ID: 0001
Revises: 
Create Date: 2026-11-25 11:46:19.695908
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit_log',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('organization_id', sa.String(length=36), nullable=True),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('action', sa.String(length=60), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('details', sa.Text(), server_default='{}', nullable=False),
    sa.Column('at', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    op.create_table('change_counter',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('value', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_change_counter'))
    )
    op.create_table('changes',
    sa.Column('seq', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('organization_id', sa.String(length=36), nullable=False),
    sa.Column('event_id', sa.String(length=36), nullable=False),
    sa.Column('entity', sa.String(length=20), nullable=False),
    sa.Column('entity_key', sa.String(length=200), nullable=False),
    sa.Column('op', sa.String(length=10), nullable=False),
    sa.Column('data', sa.Text(), nullable=False),
    sa.Column('created_at', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_changes'))
    )
    with op.batch_alter_table('changes', schema=None) as batch_op:
        batch_op.create_index('ix_changes_event_seq', ['event_id', 'seq'], unique=False)

    op.create_table('conflicts',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('organization_id', sa.String(length=36), nullable=True),
    sa.Column('event_id', sa.String(length=36), nullable=True),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('devices', sa.Text(), nullable=False),
    sa.Column('details', sa.Text(), nullable=False),
    sa.Column('dedup_key', sa.String(length=400), nullable=False),
    sa.Column('created_at', sa.BigInteger(), nullable=False),
    sa.Column('resolved_at', sa.BigInteger(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_conflicts')),
    sa.UniqueConstraint('dedup_key', name=op.f('uq_conflicts_dedup_key'))
    )
    with op.batch_alter_table('conflicts', schema=None) as batch_op:
        batch_op.create_index('ix_conflicts_org_event', ['organization_id', 'event_id'], unique=False)

    op.create_table('organizations',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=20), server_default='active', nullable=False),
    sa.Column('created_at', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_organizations'))
    )
    op.create_table('server_meta',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_server_meta'))
    )
    op.create_table('users',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('password_hash', sa.String(length=200), nullable=False),
    sa.Column('name', sa.String(length=200), server_default='', nullable=False),
    sa.Column('status', sa.String(length=20), server_default='active', nullable=False),
    sa.Column('last_login_at', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('email', name=op.f('uq_users_email'))
    )
    op.create_table('admin_tokens',
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('organization_id', sa.String(length=36), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.BigInteger(), nullable=False),
    sa.Column('expires_at', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_admin_tokens_organization_id_organizations')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_admin_tokens_user_id_users')),
    sa.PrimaryKeyConstraint('token_hash', name=op.f('pk_admin_tokens'))
    )
    op.create_table('memberships',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('organization_id', sa.String(length=36), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_memberships_organization_id_organizations')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_memberships_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_memberships')),
    sa.UniqueConstraint('user_id', 'organization_id', name=op.f('uq_memberships_user_id_organization_id'))
    )
    op.create_table('venues',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('organization_id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_venues_organization_id_organizations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_venues')),
    sa.UniqueConstraint('organization_id', 'name', name=op.f('uq_venues_organization_id_name'))
    )
    op.create_table('events',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('organization_id', sa.String(length=36), nullable=False),
    sa.Column('venue_id', sa.String(length=36), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('starts_at', sa.BigInteger(), nullable=False),
    sa.Column('ends_at', sa.BigInteger(), nullable=True),
    sa.Column('valid_from', sa.BigInteger(), nullable=True),
    sa.Column('valid_until', sa.BigInteger(), nullable=True),
    sa.Column('status', sa.String(length=20), server_default='active', nullable=False),
    sa.Column('ticket_private_key', sa.String(length=64), nullable=False),
    sa.Column('ticket_public_key', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_events_organization_id_organizations')),
    sa.ForeignKeyConstraint(['venue_id'], ['venues.id'], name=op.f('fk_events_venue_id_venues')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_events'))
    )
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_events_organization_id'), ['organization_id'], unique=False)

    op.create_table('gates',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('event_id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('sectors', sa.Text(), nullable=True),
    sa.Column('created_at', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_gates_event_id_events')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_gates'))
    )
    with op.batch_alter_table('gates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_gates_event_id'), ['event_id'], unique=False)

    op.create_table('sectors',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('event_id', sa.String(length=36), nullable=False),
    sa.Column('code', sa.String(length=50), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_sectors_event_id_events')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sectors')),
    sa.UniqueConstraint('event_id', 'code', name=op.f('uq_sectors_event_id_code'))
    )
    op.create_table('tickets',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('event_id', sa.String(length=36), nullable=False),
    sa.Column('barcode', sa.String(length=64), nullable=False),
    sa.Column('sector', sa.String(length=50), server_default='', nullable=False),
    sa.Column('row', sa.String(length=20), server_default='', nullable=False),
    sa.Column('seat', sa.String(length=20), server_default='', nullable=False),
    sa.Column('holder', sa.String(length=200), server_default='', nullable=False),
    sa.Column('status', sa.String(length=20), server_default='VALID', nullable=False),
    sa.Column('status_reason', sa.String(length=500), server_default='', nullable=False),
    sa.Column('signed', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('first_entry_at', sa.BigInteger(), nullable=True),
    sa.Column('first_entry_gate', sa.String(length=36), nullable=True),
    sa.Column('first_entry_device', sa.String(length=36), nullable=True),
    sa.Column('created_at', sa.BigInteger(), nullable=False),
    sa.Column('updated_at', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_tickets_event_id_events')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tickets')),
    sa.UniqueConstraint('event_id', 'barcode', name=op.f('uq_tickets_event_id_barcode'))
    )
    op.create_table('devices',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('organization_id', sa.String(length=36), nullable=True),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('public_key', sa.String(length=64), nullable=False),
    sa.Column('enroll_code', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=True),
    sa.Column('event_id', sa.String(length=36), nullable=True),
    sa.Column('gate_id', sa.String(length=36), nullable=True),
    sa.Column('enrolled_at', sa.BigInteger(), nullable=False),
    sa.Column('approved_at', sa.BigInteger(), nullable=True),
    sa.Column('revoked_at', sa.BigInteger(), nullable=True),
    sa.Column('accepted_seq', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('last_hash', sa.String(length=64), nullable=True),
    sa.Column('last_seen_at', sa.BigInteger(), nullable=True),
    sa.Column('last_push_at', sa.BigInteger(), nullable=True),
    sa.Column('last_pull_at', sa.BigInteger(), nullable=True),
    sa.Column('clock_offset_ms', sa.BigInteger(), nullable=True),
    sa.Column('round_trip_ms', sa.BigInteger(), nullable=True),
    sa.Column('unsynced_estimate', sa.Integer(), server_default='0', nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_devices_event_id_events')),
    sa.ForeignKeyConstraint(['gate_id'], ['gates.id'], name=op.f('fk_devices_gate_id_gates')),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_devices_organization_id_organizations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_devices')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_devices_token_hash'))
    )
    with op.batch_alter_table('devices', schema=None) as batch_op:
        batch_op.create_index('ux_devices_pending_code', ['enroll_code'], unique=True, sqlite_where=sa.text("status = 'pending'"), postgresql_where=sa.text("status = 'pending'"))

    op.create_table('extra_barcodes',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('event_id', sa.String(length=36), nullable=False),
    sa.Column('barcode', sa.String(length=64), nullable=False),
    sa.Column('is_used', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('used_at', sa.BigInteger(), nullable=True),
    sa.Column('assigned_ticket_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['assigned_ticket_id'], ['tickets.id'], name=op.f('fk_extra_barcodes_assigned_ticket_id_tickets')),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_extra_barcodes_event_id_events')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_extra_barcodes')),
    sa.UniqueConstraint('event_id', 'barcode', name=op.f('uq_extra_barcodes_event_id_barcode'))
    )
    op.create_table('admissions',
    sa.Column('device_id', sa.String(length=36), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('event_id', sa.String(length=36), nullable=False),
    sa.Column('barcode', sa.String(length=64), nullable=False),
    sa.Column('direction', sa.String(length=3), nullable=False),
    sa.Column('at', sa.BigInteger(), nullable=False),
    sa.Column('gate_id', sa.String(length=36), nullable=True),
    sa.ForeignKeyConstraint(['device_id'], ['devices.id'], name=op.f('fk_admissions_device_id_devices')),
    sa.PrimaryKeyConstraint('device_id', 'seq', name=op.f('pk_admissions'))
    )
    with op.batch_alter_table('admissions', schema=None) as batch_op:
        batch_op.create_index('ix_admissions_event_barcode', ['event_id', 'barcode'], unique=False)

    op.create_table('ingested_events',
    sa.Column('device_id', sa.String(length=36), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('device_time', sa.BigInteger(), nullable=False),
    sa.Column('received_at', sa.BigInteger(), nullable=False),
    sa.Column('corrected_time', sa.BigInteger(), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.Column('signature', sa.String(length=128), nullable=False),
    sa.ForeignKeyConstraint(['device_id'], ['devices.id'], name=op.f('fk_ingested_events_device_id_devices')),
    sa.PrimaryKeyConstraint('device_id', 'seq', name=op.f('pk_ingested_events'))
    )
    op.create_table('scan_sessions',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('device_id', sa.String(length=36), nullable=False),
    sa.Column('opened_seq', sa.BigInteger(), nullable=False),
    sa.Column('closed_seq', sa.BigInteger(), nullable=True),
    sa.Column('operator', sa.String(length=100), server_default='', nullable=False),
    sa.Column('gate_id', sa.String(length=36), nullable=True),
    sa.Column('mode', sa.String(length=20), nullable=True),
    sa.Column('opened_at', sa.BigInteger(), nullable=False),
    sa.Column('closed_at', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['device_id'], ['devices.id'], name=op.f('fk_scan_sessions_device_id_devices')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scan_sessions'))
    )
    op.create_table('scans',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('device_id', sa.String(length=36), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('event_id', sa.String(length=36), nullable=False),
    sa.Column('gate_id', sa.String(length=36), nullable=True),
    sa.Column('code', sa.String(length=256), nullable=False),
    sa.Column('barcode', sa.String(length=64), nullable=True),
    sa.Column('mode', sa.String(length=10), nullable=False),
    sa.Column('result', sa.String(length=20), nullable=False),
    sa.Column('moved', sa.String(length=3), nullable=True),
    sa.Column('device_time', sa.BigInteger(), nullable=False),
    sa.Column('corrected_time', sa.BigInteger(), nullable=False),
    sa.Column('received_at', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['device_id'], ['devices.id'], name=op.f('fk_scans_device_id_devices')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scans')),
    sa.UniqueConstraint('device_id', 'seq', name=op.f('uq_scans_device_id_seq'))
    )
    with op.batch_alter_table('scans', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_scans_event_id'), ['event_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('scans', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_scans_event_id'))

    op.drop_table('scans')
    op.drop_table('scan_sessions')
    op.drop_table('ingested_events')
    with op.batch_alter_table('admissions', schema=None) as batch_op:
        batch_op.drop_index('ix_admissions_event_barcode')

    op.drop_table('admissions')
    op.drop_table('extra_barcodes')
    with op.batch_alter_table('devices', schema=None) as batch_op:
        batch_op.drop_index('ux_devices_pending_code', sqlite_where=sa.text("status = 'pending'"), postgresql_where=sa.text("status = 'pending'"))

    op.drop_table('devices')
    op.drop_table('tickets')
    op.drop_table('sectors')
    with op.batch_alter_table('gates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_gates_event_id'))

    op.drop_table('gates')
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_events_organization_id'))

    op.drop_table('events')
    op.drop_table('venues')
    op.drop_table('memberships')
    op.drop_table('admin_tokens')
    op.drop_table('users')
    op.drop_table('server_meta')
    op.drop_table('organizations')
    with op.batch_alter_table('conflicts', schema=None) as batch_op:
        batch_op.drop_index('ix_conflicts_org_event')

    op.drop_table('conflicts')
    with op.batch_alter_table('changes', schema=None) as batch_op:
        batch_op.drop_index('ix_changes_event_seq')

    op.drop_table('changes')
    op.drop_table('change_counter')
    op.drop_table('audit_log')
