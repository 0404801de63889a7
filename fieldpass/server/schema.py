"""The server schema (SQLAlchemy Core, one MetaData); Alembic migrations are derived from it.

Times are integer epoch milliseconds (BIGINT) so SQLite and PostgreSQL behave the same;
JSON columns are stored as text so pulled change data can be spliced without re-parsing.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
    }
)

Ms = sa.BigInteger  # epoch milliseconds


def _id() -> sa.Column:
    return sa.Column("id", sa.String(36), primary_key=True)


def _serial() -> sa.Column:
    return sa.Column("id", sa.Integer, primary_key=True, autoincrement=True)


organizations = sa.Table(
    "organizations",
    metadata,
    _id(),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("status", sa.String(20), nullable=False, server_default="active"),
    sa.Column("created_at", Ms, nullable=False),
)

users = sa.Table(
    "users",
    metadata,
    _id(),
    sa.Column("email", sa.String(320), nullable=False, unique=True),
    sa.Column("password_hash", sa.String(200), nullable=False),
    sa.Column("name", sa.String(200), nullable=False, server_default=""),
    sa.Column("status", sa.String(20), nullable=False, server_default="active"),
    sa.Column("last_login_at", Ms),
    sa.Column("created_at", Ms, nullable=False),
)

memberships = sa.Table(
    "memberships",
    metadata,
    _serial(),
    sa.Column("user_id", sa.String(36), sa.ForeignKey("users.id"), nullable=False),
    sa.Column("organization_id", sa.String(36), sa.ForeignKey("organizations.id"), nullable=False),
    sa.Column("role", sa.String(20), nullable=False),  # owner | admin | viewer
    sa.UniqueConstraint("user_id", "organization_id"),
)

admin_tokens = sa.Table(
    "admin_tokens",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("user_id", sa.String(36), sa.ForeignKey("users.id"), nullable=False),
    sa.Column("organization_id", sa.String(36), sa.ForeignKey("organizations.id"), nullable=False),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("created_at", Ms, nullable=False),
    sa.Column("expires_at", Ms, nullable=False),
)

server_meta = sa.Table(
    "server_meta",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

venues = sa.Table(
    "venues",
    metadata,
    _id(),
    sa.Column("organization_id", sa.String(36), sa.ForeignKey("organizations.id"), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.UniqueConstraint("organization_id", "name"),
)

events = sa.Table(
    "events",
    metadata,
    _id(),
    sa.Column(
        "organization_id",
        sa.String(36),
        sa.ForeignKey("organizations.id"),
        nullable=False,
        index=True,
    ),
    sa.Column("venue_id", sa.String(36), sa.ForeignKey("venues.id")),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("starts_at", Ms, nullable=False),
    sa.Column("ends_at", Ms),
    sa.Column("valid_from", Ms),
    sa.Column("valid_until", Ms),
    sa.Column("status", sa.String(20), nullable=False, server_default="active"),
    sa.Column("ticket_private_key", sa.String(64), nullable=False),
    sa.Column("ticket_public_key", sa.String(64), nullable=False),
    sa.Column("created_at", Ms, nullable=False),
)

gates = sa.Table(
    "gates",
    metadata,
    _id(),
    sa.Column("event_id", sa.String(36), sa.ForeignKey("events.id"), nullable=False, index=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("sectors", sa.Text),  # JSON list of sector codes; NULL = all sectors
    sa.Column("created_at", Ms, nullable=False),
)

sectors = sa.Table(
    "sectors",
    metadata,
    _serial(),
    sa.Column("event_id", sa.String(36), sa.ForeignKey("events.id"), nullable=False),
    sa.Column("code", sa.String(50), nullable=False),
    sa.UniqueConstraint("event_id", "code"),
)

tickets = sa.Table(
    "tickets",
    metadata,
    _serial(),
    sa.Column("event_id", sa.String(36), sa.ForeignKey("events.id"), nullable=False),
    sa.Column("barcode", sa.String(64), nullable=False),
    sa.Column("sector", sa.String(50), nullable=False, server_default=""),
    sa.Column("row", sa.String(20), nullable=False, server_default=""),
    sa.Column("seat", sa.String(20), nullable=False, server_default=""),
    sa.Column("holder", sa.String(200), nullable=False, server_default=""),
    sa.Column("status", sa.String(20), nullable=False, server_default="VALID"),
    sa.Column("status_reason", sa.String(500), nullable=False, server_default=""),
    sa.Column("signed", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("first_entry_at", Ms),
    sa.Column("first_entry_gate", sa.String(36)),
    sa.Column("first_entry_device", sa.String(36)),
    sa.Column("created_at", Ms, nullable=False),
    sa.Column("updated_at", Ms, nullable=False),
    sa.UniqueConstraint("event_id", "barcode"),
)

extra_barcodes = sa.Table(
    "extra_barcodes",
    metadata,
    _serial(),
    sa.Column("event_id", sa.String(36), sa.ForeignKey("events.id"), nullable=False),
    sa.Column("barcode", sa.String(64), nullable=False),
    sa.Column("is_used", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("used_at", Ms),
    sa.Column("assigned_ticket_id", sa.Integer, sa.ForeignKey("tickets.id")),
    sa.Column("created_at", Ms, nullable=False),
    sa.UniqueConstraint("event_id", "barcode"),
)

devices = sa.Table(
    "devices",
    metadata,
    _id(),
    sa.Column("organization_id", sa.String(36), sa.ForeignKey("organizations.id")),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("public_key", sa.String(64), nullable=False),
    sa.Column("enroll_code", sa.String(16), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),  # pending | approved | revoked
    sa.Column("token_hash", sa.String(64), unique=True),
    sa.Column("event_id", sa.String(36), sa.ForeignKey("events.id")),
    sa.Column("gate_id", sa.String(36), sa.ForeignKey("gates.id")),
    sa.Column("enrolled_at", Ms, nullable=False),
    sa.Column("approved_at", Ms),
    sa.Column("revoked_at", Ms),
    sa.Column("accepted_seq", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("last_hash", sa.String(64)),
    sa.Column("last_seen_at", Ms),
    sa.Column("last_push_at", Ms),
    sa.Column("last_pull_at", Ms),
    sa.Column("clock_offset_ms", sa.BigInteger),
    sa.Column("round_trip_ms", sa.BigInteger),
    sa.Column("unsynced_estimate", sa.Integer, nullable=False, server_default="0"),
)
sa.Index(
    "ux_devices_pending_code",
    devices.c.enroll_code,
    unique=True,
    sqlite_where=devices.c.status == "pending",
    postgresql_where=devices.c.status == "pending",
)

scan_sessions = sa.Table(
    "scan_sessions",
    metadata,
    _serial(),
    sa.Column("device_id", sa.String(36), sa.ForeignKey("devices.id"), nullable=False),
    sa.Column("opened_seq", sa.BigInteger, nullable=False),
    sa.Column("closed_seq", sa.BigInteger),
    sa.Column("operator", sa.String(100), nullable=False, server_default=""),
    sa.Column("gate_id", sa.String(36)),
    sa.Column("mode", sa.String(20)),
    sa.Column("opened_at", Ms, nullable=False),
    sa.Column("closed_at", Ms),
)

scans = sa.Table(
    "scans",
    metadata,
    _serial(),
    sa.Column("device_id", sa.String(36), sa.ForeignKey("devices.id"), nullable=False),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("event_id", sa.String(36), nullable=False, index=True),
    sa.Column("gate_id", sa.String(36)),
    sa.Column("code", sa.String(256), nullable=False),
    sa.Column("barcode", sa.String(64)),
    sa.Column("mode", sa.String(10), nullable=False),
    sa.Column("result", sa.String(20), nullable=False),
    sa.Column("moved", sa.String(3)),
    sa.Column("device_time", Ms, nullable=False),
    sa.Column("corrected_time", Ms, nullable=False),
    sa.Column("received_at", Ms, nullable=False),
    sa.UniqueConstraint("device_id", "seq"),
)

admissions = sa.Table(
    "admissions",
    metadata,
    sa.Column("device_id", sa.String(36), sa.ForeignKey("devices.id"), primary_key=True),
    sa.Column("seq", sa.BigInteger, primary_key=True),
    sa.Column("event_id", sa.String(36), nullable=False),
    sa.Column("barcode", sa.String(64), nullable=False),
    sa.Column("direction", sa.String(3), nullable=False),  # in | out
    sa.Column("at", Ms, nullable=False),  # server-corrected time
    sa.Column("gate_id", sa.String(36)),
    sa.Index("ix_admissions_event_barcode", "event_id", "barcode"),
)

ingested_events = sa.Table(
    "ingested_events",
    metadata,
    sa.Column("device_id", sa.String(36), sa.ForeignKey("devices.id"), primary_key=True),
    sa.Column("seq", sa.BigInteger, primary_key=True),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("device_time", Ms, nullable=False),
    sa.Column("received_at", Ms, nullable=False),
    sa.Column("corrected_time", Ms, nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.Column("signature", sa.String(128), nullable=False),
)

changes = sa.Table(
    "changes",
    metadata,
    sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("organization_id", sa.String(36), nullable=False),
    sa.Column("event_id", sa.String(36), nullable=False),
    sa.Column("entity", sa.String(20), nullable=False),
    sa.Column("entity_key", sa.String(200), nullable=False),
    sa.Column("op", sa.String(10), nullable=False),
    sa.Column("data", sa.Text, nullable=False),  # JSON object, spliced verbatim into pulls
    sa.Column("created_at", Ms, nullable=False),
    # Who may pull the change (fieldpass.server.services.changes): NULL = every device of
    # the event, "gate" = the gate slice (gates, tickets, admissions), "device:<id>" = one
    # device only (a petrol kiosk's seat blocks, seats and PINs sealed for it).
    sa.Column("audience", sa.String(60)),
    # The pull reads (event_id, seq > cursor) in seq order and filters on the audience:
    # the audience is in the index so that filter never needs the table rows.
    sa.Index("ix_changes_event_seq_audience", "event_id", "seq", "audience"),
)

change_counter = sa.Table(
    "change_counter",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("value", sa.BigInteger, nullable=False),
)

conflicts = sa.Table(
    "conflicts",
    metadata,
    _serial(),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("organization_id", sa.String(36)),
    sa.Column("event_id", sa.String(36)),
    sa.Column("subject", sa.String(200), nullable=False),
    sa.Column("devices", sa.Text, nullable=False),  # JSON list of device ids
    sa.Column("details", sa.Text, nullable=False),  # JSON object
    sa.Column("dedup_key", sa.String(400), nullable=False, unique=True),
    sa.Column("created_at", Ms, nullable=False),
    sa.Column("resolved_at", Ms),
    sa.Column("resolved_by", sa.String(36)),  # user id
    sa.Column("resolution", sa.String(500)),
    sa.Index("ix_conflicts_org_event", "organization_id", "event_id"),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    _serial(),
    sa.Column("organization_id", sa.String(36)),
    sa.Column("actor", sa.String(100), nullable=False),
    sa.Column("action", sa.String(60), nullable=False),
    sa.Column("subject", sa.String(200), nullable=False),
    sa.Column("details", sa.Text, nullable=False, server_default="{}"),
    sa.Column("at", Ms, nullable=False),
)

# -- petrol kiosks (seed E12) and the seats they sell ------------------------------------
#
# Seats belong to an event, like the ``sectors`` they sit in: this schema has no venue
# layout template (a venue's sectors are created per event by ticket imports and
# ``sector add``), so one ``seats`` row is both the seat map entry and the event's seat
# inventory (the seed's seats + match_seat_inventory). A venue template can later be
# copied into an event's seats without changing this table.

seat_blocks = sa.Table(
    "seat_blocks",
    metadata,
    _id(),
    sa.Column("event_id", sa.String(36), sa.ForeignKey("events.id"), nullable=False),
    sa.Column("device_id", sa.String(36), sa.ForeignKey("devices.id"), nullable=False),
    sa.Column("sector_id", sa.Integer, sa.ForeignKey("sectors.id"), nullable=False),
    sa.Column("rows_spec", sa.String(200), nullable=False),
    sa.Column("seats_spec", sa.String(200), nullable=False),
    sa.Column("status", sa.String(20), nullable=False, server_default="ACTIVE"),  # | RETURNED
    sa.Column("seat_count", sa.Integer, nullable=False),
    sa.Column("returned_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("created_by", sa.String(36), nullable=False),
    sa.Column("created_at", Ms, nullable=False),
    sa.Column("returned_at", Ms),
    sa.Index("ix_seat_blocks_event_status", "event_id", "status"),
    sa.Index("ix_seat_blocks_device", "device_id"),
)

seats = sa.Table(
    "seats",
    metadata,
    _serial(),
    sa.Column("event_id", sa.String(36), sa.ForeignKey("events.id"), nullable=False),
    sa.Column("sector_id", sa.Integer, sa.ForeignKey("sectors.id"), nullable=False),
    sa.Column("row_identifier", sa.String(10), nullable=False),
    sa.Column("seat_number", sa.String(10), nullable=False),
    sa.Column("seat_type", sa.String(20), nullable=False, server_default="STANDARD"),
    # AVAILABLE | ALLOCATED (in an active block, unsold) | SOLD (by the block's kiosk)
    sa.Column("status", sa.String(20), nullable=False, server_default="AVAILABLE"),
    sa.Column("block_id", sa.String(36), sa.ForeignKey("seat_blocks.id")),
    sa.Column("created_at", Ms, nullable=False),
    sa.Column("updated_at", Ms, nullable=False),
    sa.UniqueConstraint("sector_id", "row_identifier", "seat_number"),
    sa.Index("ix_seats_event_status", "event_id", "status"),
    sa.Index("ix_seats_block", "block_id"),
)

petrol_pins = sa.Table(
    "petrol_pins",
    metadata,
    _id(),
    sa.Column("organization_id", sa.String(36), sa.ForeignKey("organizations.id"), nullable=False),
    sa.Column("event_id", sa.String(36), sa.ForeignKey("events.id"), nullable=False),  # match_id
    sa.Column("pin", sa.String(5), nullable=False),
    sa.Column("quantity", sa.Integer, nullable=False),
    # Sealed JSON list of holders (fieldpass.sync.sealing, associated data = the row id).
    sa.Column("ticket_holders_json", sa.Text, nullable=False),
    sa.Column("status", sa.String(20), nullable=False, server_default="ACTIVE"),
    sa.Column("expires_at", Ms, nullable=False),
    sa.Column("created_by", sa.String(36), nullable=False),
    sa.Column("created_at", Ms, nullable=False),
    sa.Column("updated_at", Ms, nullable=False),
    sa.Column("used_at", Ms),
    sa.Column("cancelled_at", Ms),
    sa.Column("cancellation_reason", sa.String(255)),
    sa.CheckConstraint("quantity BETWEEN 1 AND 10", name="quantity_range"),
    sa.CheckConstraint(
        "status IN ('ACTIVE', 'USED', 'EXPIRED', 'CANCELLED')", name="status_values"
    ),
    sa.Index("ix_petrol_pins_event_status", "event_id", "status"),
    sa.Index("ix_petrol_pins_org_pin", "organization_id", "pin"),
    sa.Index("ix_petrol_pins_org_status_expires", "organization_id", "status", "expires_at"),
)
# The seed's UNIQUE (pin), narrowed: a PIN value is unique among the ACTIVE PINs of an
# organization, so values are reused once a PIN is used, expired or cancelled.
sa.Index(
    "ux_petrol_pins_active_pin",
    petrol_pins.c.organization_id,
    petrol_pins.c.pin,
    unique=True,
    sqlite_where=petrol_pins.c.status == "ACTIVE",
    postgresql_where=petrol_pins.c.status == "ACTIVE",
)

#: A petrol kiosk's sale as ingested (seed E12 petrol_sales, reduced to what the kiosk
#: event carries: no reservation or order rows yet). ``pin_id`` is not a foreign key so a
#: sale of a PIN the server does not know is still kept (and flagged as a conflict).
petrol_sales = sa.Table(
    "petrol_sales",
    metadata,
    _serial(),
    sa.Column("organization_id", sa.String(36), nullable=False),
    sa.Column("event_id", sa.String(36), nullable=False),
    sa.Column("pin_id", sa.String(36), nullable=False),
    sa.Column("device_id", sa.String(36), sa.ForeignKey("devices.id"), nullable=False),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("payment_method", sa.String(10), nullable=False),  # cash | card
    sa.Column("payment_reference", sa.String(255)),
    sa.Column("amount_cents", sa.BigInteger, nullable=False),
    sa.Column("tendered_cents", sa.BigInteger),
    sa.Column("ticket_count", sa.Integer, nullable=False),
    sa.Column("barcodes", sa.Text, nullable=False),  # JSON list
    sa.Column("sold_at", Ms, nullable=False),  # server-corrected device time
    sa.Column("received_at", Ms, nullable=False),
    sa.UniqueConstraint("device_id", "seq"),
    sa.Index("ix_petrol_sales_pin", "pin_id"),
    sa.Index("ix_petrol_sales_event", "event_id"),
)


petrol_deeplinks = sa.Table(
    "petrol_deeplinks",
    metadata,
    _id(),
    sa.Column("event_id", sa.String(36), sa.ForeignKey("events.id"), nullable=False),  # match_id
    sa.Column("deeplink_url", sa.String(500), nullable=False),
    sa.Column("qr_code_data", sa.String(255), nullable=False),
    sa.Column("is_active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("created_at", Ms, nullable=False),
    sa.UniqueConstraint("event_id"),
)
