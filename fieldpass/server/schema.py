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
    # What admins see and revoke a session by (never the token or its hash).
    sa.Column("session_id", sa.String(36), unique=True),
    sa.Column("last_used_at", Ms),
    sa.Column("source", sa.String(64)),  # the client address that logged in
)

#: Failed admin logins per account ("account:<email>") and per client address
#: ("source:<address>"), for the rate limit and progressive lockout
#: (``fieldpass.server.services.login_throttle``); in the database so every worker sees it.
login_throttles = sa.Table(
    "login_throttles",
    metadata,
    sa.Column("key", sa.String(400), primary_key=True),
    sa.Column("failures", sa.Integer, nullable=False),
    sa.Column("last_failure_at", Ms, nullable=False),
    sa.Column("locked_until", Ms),
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
    # sealed with the key file's key (fieldpass.server.keys.seal_ticket_key)
    sa.Column("ticket_private_key", sa.Text, nullable=False),
    sa.Column("ticket_public_key", sa.String(64), nullable=False),
    sa.Column("created_at", Ms, nullable=False),
    # VAT included in the event's ticket prices, in hundredths of a percent (2500 = 25.00%,
    # the Croatian PDV rate); set per event at creation (seed fee_configurations).
    sa.Column("vat_basis_points", sa.Integer, nullable=False, server_default="2500"),
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
    # The sector's price for this event (seed match_sectors.price_category_id). No foreign
    # key: SQLite could only add one by rebuilding ``sectors``, which seats refer to.
    sa.Column("price_category_id", sa.String(36)),
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
    # A ticket first known from a gate's scan of a kiosk-signed code (FP2): the kiosk that
    # signed it, when (its corrected clock), and when the kiosk's sale of it arrived.
    sa.Column("issued_by", sa.String(36)),
    sa.Column("issued_at", Ms),
    sa.Column("sale_arrived_at", Ms),
    sa.UniqueConstraint("event_id", "barcode"),
)
sa.Index(
    "ix_tickets_awaiting_sale",
    tickets.c.issued_by,
    sqlite_where=tickets.c.issued_by.isnot(None) & tickets.c.sale_arrived_at.is_(None),
    postgresql_where=tickets.c.issued_by.isnot(None) & tickets.c.sale_arrived_at.is_(None),
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
    # An RSU's raffle (its pulls read the raffle's changes; ``event_id`` stays NULL).
    sa.Column("raffle_event_id", sa.String(36)),
    # When the bearer token was handed out (once; again only to a proof of the key).
    sa.Column("token_issued_at", Ms),
    # The address the enrollment came from (enrollments are rate-limited per source).
    sa.Column("enroll_source", sa.String(64)),
    # A petrol kiosk certified to sign the tickets it issues (fieldpass.sync.issued).
    sa.Column("issuer_number", sa.Integer, unique=True),
)
sa.Index("ix_devices_enroll_source", devices.c.enroll_source, devices.c.enrolled_at)

#: One-time challenges a device signs to prove its key (enrollment status, token reissue).
device_challenges = sa.Table(
    "device_challenges",
    metadata,
    sa.Column("challenge_hash", sa.String(64), primary_key=True),
    sa.Column("device_id", sa.String(36), sa.ForeignKey("devices.id"), nullable=False),
    sa.Column("expires_at", Ms, nullable=False),
    sa.Index("ix_device_challenges_device", "device_id"),
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
    # ACTIVE -> RETURNING (the kiosk releases its unsold seats) -> RETURNED
    sa.Column("status", sa.String(20), nullable=False, server_default="ACTIVE"),
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
    # The kiosk's reservation this sale completed (petrol_reservations.id), if reported.
    sa.Column("reservation_id", sa.String(36)),
    sa.Column("documents", sa.Text),  # JSON list: identity document type per ticket
    # An admin's refund (a PIN redeemed twice): the sale's tickets are then REFUNDED.
    sa.Column("refunded_at", Ms),
    sa.Column("refunded_by", sa.String(36)),
    sa.Column("refund_note", sa.String(500)),
    sa.UniqueConstraint("device_id", "seq"),
    sa.Index("ix_petrol_sales_pin", "pin_id"),
    sa.Index("ix_petrol_sales_event", "event_id"),
)

#: Seat reservations a petrol kiosk made for a PIN (seed E12 petrol_reservations), as the
#: kiosk reports them: ``id`` is the kiosk's reservation id, ``device_id`` stands for the
#: seed's staff_id (the kiosk), ``seats`` is a JSON list of {sector,row,seat}. The seats
#: are held on the kiosk, from its own block; the server records what happened to them.
#: ``pin_id`` carries no foreign key, like petrol_sales, so nothing a kiosk did is lost.
petrol_reservations = sa.Table(
    "petrol_reservations",
    metadata,
    _id(),
    sa.Column("organization_id", sa.String(36), nullable=False),
    sa.Column("event_id", sa.String(36), nullable=False),
    sa.Column("pin_id", sa.String(36), nullable=False),
    sa.Column("device_id", sa.String(36), sa.ForeignKey("devices.id"), nullable=False),
    sa.Column("seq", sa.BigInteger),  # the device event that reported the reservation
    sa.Column("seats", sa.Text, nullable=False),
    sa.Column("status", sa.String(20), nullable=False, server_default="RESERVED"),
    sa.Column("reserved_at", Ms, nullable=False),  # server-corrected device times
    sa.Column("expires_at", Ms, nullable=False),
    sa.Column("identity_verified_at", Ms),
    sa.Column("completed_at", Ms),
    sa.Column("ended_at", Ms),  # cancelled or expired
    sa.Column("cancellation_reason", sa.String(255)),
    sa.Column("updated_at", Ms, nullable=False),
    sa.CheckConstraint(
        "status IN ('RESERVED', 'IDENTITY_VERIFIED', 'COMPLETED', 'CANCELLED', 'EXPIRED')",
        name="status_values",
    ),
    sa.Index("ix_petrol_reservations_pin", "pin_id"),
    sa.Index("ix_petrol_reservations_status", "status"),
)

#: Match-specific price categories (seed price_categories); a sector points at one.
#: ``price_cents`` is the seed's DECIMAL price in cents (integers on both databases).
price_categories = sa.Table(
    "price_categories",
    metadata,
    _id(),
    sa.Column("event_id", sa.String(36), sa.ForeignKey("events.id"), nullable=False),  # match
    sa.Column("name", sa.String(50), nullable=False),
    sa.Column("price_cents", sa.BigInteger, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False, server_default="EUR"),
    sa.Column("created_at", Ms, nullable=False),
    sa.UniqueConstraint("event_id", "name"),
)

#: Organization-scoped tokens for the mobile app's backend (creates PINs); only the
#: SHA-256 of a token is stored, like admin and device tokens.
integration_tokens = sa.Table(
    "integration_tokens",
    metadata,
    _id(),
    sa.Column("organization_id", sa.String(36), sa.ForeignKey("organizations.id"), nullable=False),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created_by", sa.String(36), nullable=False),
    sa.Column("created_at", Ms, nullable=False),
    sa.Column("last_used_at", Ms),
    sa.Column("revoked_at", Ms),
    sa.Column("revoked_by", sa.String(36)),
    sa.Index("ix_integration_tokens_org", "organization_id"),
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


#: Emergency and repeated prints of a ticket or a raffle receipt (seed E9/E10
#: print_logs), as devices report them. ``subject_kind`` says what ``subject_id`` names.
print_logs = sa.Table(
    "print_logs",
    metadata,
    _serial(),
    sa.Column("organization_id", sa.String(36), nullable=False),
    sa.Column("device_id", sa.String(36), sa.ForeignKey("devices.id")),
    sa.Column("seq", sa.BigInteger),  # the device event that reported the print
    sa.Column("subject_kind", sa.String(20), nullable=False),  # ticket | raffle_order
    sa.Column("subject_id", sa.String(100), nullable=False),  # barcode | validation number
    sa.Column("agent_id", sa.String(100)),  # operator at the device, or admin user id
    sa.Column("reason", sa.String(255), nullable=False),
    sa.Column("identity_verified", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("verification_document_type", sa.String(100)),
    sa.Column("print_location", sa.String(255)),
    sa.Column("printed_at", Ms, nullable=False),
    sa.UniqueConstraint("device_id", "seq"),
    sa.Index("ix_print_logs_subject", "subject_kind", "subject_id"),
    sa.Index("ix_print_logs_agent", "agent_id"),
)


# -- the electronic raffle system (seed 002) ---------------------------------------------
#
# Table and column names follow the seed, with these differences and their reasons:
# * ``user_reference`` is ``users`` (our own accounts, no Cognito); ``*_by`` columns hold
#   a user id, or for what a device did, the device id (so they carry no foreign key).
# * ``organization``/``venue`` are the existing ``organizations``/``venues``, given the
#   seed's columns.
# * ``order`` is ``raffle_order`` and ``ticket`` is ``raffle_ticket``: ``order`` is an SQL
#   keyword and ``tickets`` already holds the gate tickets.
# * ``raffle_ticket.id`` is a BIGINT identity, not a UUID: configure creates up to
#   1,000,000 rows in one ``INSERT … SELECT`` on the database, which generates the ids.
# * Times are epoch milliseconds, like every other table here.
# * Extra columns are marked "(ours)".

addresses = sa.Table(
    "address",
    metadata,
    _id(),
    sa.Column("address_type", sa.String(50), nullable=False),  # physical | mailing
    sa.Column("street_line_1", sa.String(500), nullable=False),
    sa.Column("street_line_2", sa.String(500)),
    sa.Column("city", sa.String(255), nullable=False),
    sa.Column("state_province", sa.String(100), nullable=False),
    sa.Column("postal_code", sa.String(20), nullable=False),
    sa.Column("country", sa.String(2), nullable=False),
    sa.Column("created_at", Ms, nullable=False),
    sa.Column("created_by", sa.String(36)),
    sa.Column("updated_at", Ms, nullable=False),
    sa.Column("updated_by", sa.String(36)),
    sa.Index("idx_address_type", "address_type"),
)

contacts = sa.Table(
    "contact",
    metadata,
    _id(),
    sa.Column("contact_type", sa.String(50), nullable=False),  # primary | regulatory | emergency
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("email", sa.String(255)),
    sa.Column("phone", sa.String(50)),
    sa.Column("created_at", Ms, nullable=False),
    sa.Column("created_by", sa.String(36)),
    sa.Column("updated_at", Ms, nullable=False),
    sa.Column("updated_by", sa.String(36)),
    sa.Index("idx_contact_type", "contact_type"),
)

licenses = sa.Table(
    "license",
    metadata,
    _id(),
    sa.Column("license_type", sa.String(100), nullable=False),  # venue_permit | charitable_gaming
    sa.Column("license_number", sa.String(100), nullable=False),
    sa.Column("issuing_authority", sa.String(255), nullable=False),
    sa.Column("issue_date", Ms, nullable=False),
    sa.Column("expiry_date", Ms),
    sa.Column("status", sa.String(20), nullable=False, server_default="active"),
    sa.Column("created_at", Ms, nullable=False),
    sa.Column("created_by", sa.String(36)),
    sa.Column("updated_at", Ms, nullable=False),
    sa.Column("updated_by", sa.String(36)),
    sa.CheckConstraint(
        "status IN ('active', 'suspended', 'expired', 'revoked')", name="license_status"
    ),
    sa.Index("idx_license_type", "license_type"),
    sa.Index("idx_license_status", "status"),
)

jurisdiction_regulations = sa.Table(
    "jurisdiction_regulation",
    metadata,
    _id(),
    sa.Column("max_prize_value_cents", sa.BigInteger),
    sa.Column("max_ticket_price_cents", sa.BigInteger),
    sa.Column("max_event_duration_hours", sa.Integer),
    sa.Column("data_retention_years", sa.Integer, nullable=False, server_default="7"),
    sa.Column("allows_online_sales", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("created_at", Ms, nullable=False),
    sa.Column("created_by", sa.String(36)),
    sa.Column("updated_at", Ms, nullable=False),
    sa.Column("updated_by", sa.String(36)),
)

jurisdictions = sa.Table(
    "jurisdiction",
    metadata,
    _id(),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("code", sa.String(50), nullable=False, unique=True),  # e.g. "CA-US"
    sa.Column("type", sa.String(50), nullable=False),  # state | province | country | local
    sa.Column("country", sa.String(2), nullable=False),
    sa.Column("parent_jurisdiction_id", sa.String(36), sa.ForeignKey("jurisdiction.id")),
    sa.Column("primary_contact_id", sa.String(36), sa.ForeignKey("contact.id")),
    sa.Column("current_regulations_id", sa.String(36), sa.ForeignKey("jurisdiction_regulation.id")),
    sa.Column("is_active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("created_at", Ms, nullable=False),
    sa.Column("created_by", sa.String(36)),
    sa.Column("updated_at", Ms, nullable=False),
    sa.Column("updated_by", sa.String(36)),
    sa.Index("idx_jurisdiction_code", "code"),
    sa.Index("idx_jurisdiction_parent", "parent_jurisdiction_id"),
    sa.Index("idx_jurisdiction_active", "is_active"),
)

organization_settings = sa.Table(
    "organization_setting",
    metadata,
    _id(),
    sa.Column("default_revenue_calculation_method", sa.String(50), server_default="gross_revenue"),
    sa.Column("allows_online_ticket_sales", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("max_event_duration_hours", sa.Integer),
    sa.Column("max_concurrent_events", sa.Integer, server_default="5"),
    sa.Column("created_at", Ms, nullable=False),
    sa.Column("created_by", sa.String(36)),
    sa.Column("updated_at", Ms, nullable=False),
    sa.Column("updated_by", sa.String(36)),
)

#: The seed's organization columns, added to ``organizations`` (see the note above).
for _column in (
    sa.Column("description", sa.Text),
    sa.Column("organization_type", sa.String(50), nullable=False, server_default="club"),
    sa.Column("tax_id_number", sa.String(50)),
    sa.Column("primary_venue_id", sa.String(36)),
    sa.Column("mailing_address_id", sa.String(36)),
    sa.Column("primary_contact_id", sa.String(36)),
    sa.Column("gaming_license_id", sa.String(36)),
    sa.Column("current_settings_id", sa.String(36)),
    sa.Column("is_active", sa.Boolean, nullable=False, server_default=sa.true()),
):
    organizations.append_column(_column)
sa.Index("idx_organization_primary_venue", organizations.c.primary_venue_id)
sa.Index("idx_organization_type", organizations.c.organization_type)
sa.Index("idx_organization_active", organizations.c.is_active)
sa.Index("idx_organization_tax_id", organizations.c.tax_id_number)

#: The seed's venue columns, added to ``venues``.
for _column in (
    sa.Column("jurisdiction_id", sa.String(36)),
    sa.Column("parent_venue_id", sa.String(36)),
    sa.Column("description", sa.Text),
    sa.Column("venue_identifier", sa.String(100)),
    sa.Column("capacity", sa.Integer),
    sa.Column("physical_address_id", sa.String(36)),
    sa.Column("primary_contact_id", sa.String(36)),
    sa.Column("venue_permit_id", sa.String(36)),
    sa.Column("is_active", sa.Boolean, nullable=False, server_default=sa.true()),
):
    venues.append_column(_column)
sa.Index("idx_venue_jurisdiction", venues.c.jurisdiction_id)
sa.Index("idx_venue_parent", venues.c.parent_venue_id)
sa.Index("idx_venue_active", venues.c.is_active)

organization_venues = sa.Table(
    "organization_venue",
    metadata,
    _id(),
    sa.Column(
        "organization_id",
        sa.String(36),
        sa.ForeignKey("organizations.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column(
        "venue_id", sa.String(36), sa.ForeignKey("venues.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("relationship_type", sa.String(50), nullable=False, server_default="authorized"),
    sa.Column("authorized_date", Ms, nullable=False),
    sa.Column("authorized_by", sa.String(36)),
    sa.Column("is_active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("created_at", Ms, nullable=False),
    sa.Column("updated_at", Ms, nullable=False),
    sa.Column("updated_by", sa.String(36)),
    sa.UniqueConstraint("organization_id", "venue_id"),
    sa.Index("idx_organization_venue_org", "organization_id"),
    sa.Index("idx_organization_venue_venue", "venue_id"),
    sa.Index("idx_organization_venue_active", "is_active"),
)

entity_attributes = sa.Table(
    "entity_attribute",
    metadata,
    _id(),
    sa.Column("entity_type", sa.String(50), nullable=False),  # jurisdiction | venue | organization
    sa.Column("entity_id", sa.String(36), nullable=False),
    sa.Column("attribute_name", sa.String(100), nullable=False),
    sa.Column("attribute_value", sa.Text),
    sa.Column("data_type", sa.String(20), server_default="string"),
    sa.Column("created_at", Ms, nullable=False),
    sa.Column("created_by", sa.String(36)),
    sa.Column("updated_at", Ms, nullable=False),
    sa.Column("updated_by", sa.String(36)),
    sa.UniqueConstraint("entity_type", "entity_id", "attribute_name"),
    sa.Index("idx_entity_attribute_entity", "entity_type", "entity_id"),
    sa.Index("idx_entity_attribute_name", "attribute_name"),
)

RAFFLE_STATES = (
    "created",
    "configured",
    "active",
    "sales_closed",
    "reconciling",
    "reconciled",
    "drawing_ready",
    "completed",
    "cancelled",
    "suspended",
)

raffle_events = sa.Table(
    "raffle_event",
    metadata,
    _id(),
    sa.Column("organization_id", sa.String(36), sa.ForeignKey("organizations.id"), nullable=False),
    sa.Column("venue_id", sa.String(36), sa.ForeignKey("venues.id"), nullable=False),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("description", sa.Text),
    sa.Column("event_identifier", sa.String(100), unique=True),
    sa.Column("state", sa.String(50), nullable=False, server_default="created"),
    sa.Column("sales_start_time", Ms),
    sa.Column("sales_end_time", Ms),
    sa.Column("draw_time", Ms),
    sa.Column("claim_deadline", Ms),  # (ours) printed on receipts as "claim by"
    sa.Column("jackpot_seed_cents", sa.BigInteger, server_default="0"),
    sa.Column(
        "revenue_calculation_method", sa.String(50), nullable=False, server_default="gross_revenue"
    ),
    sa.Column("max_tickets", sa.Integer),
    sa.Column("license_id", sa.String(36), sa.ForeignKey("license.id")),  # (ours)
    sa.Column("reconciliation_confirmed_at", Ms),
    sa.Column("reconciliation_confirmed_by", sa.String(36)),
    sa.Column("reconciliation_override_reason", sa.Text),  # (ours)
    sa.Column("cancellation_reason", sa.Text),
    sa.Column("suspension_reason", sa.Text),
    sa.Column("suspended_from_state", sa.String(50)),  # (ours) where resume returns to
    sa.Column("created_at", Ms, nullable=False),
    sa.Column("created_by", sa.String(36)),
    sa.Column("updated_at", Ms, nullable=False),
    sa.Column("updated_by", sa.String(36)),
    sa.CheckConstraint(
        "state IN (" + ", ".join(f"'{s}'" for s in RAFFLE_STATES) + ")", name="raffle_state"
    ),
    sa.CheckConstraint(
        "state NOT IN ('reconciled', 'drawing_ready', 'completed') OR "
        "(reconciliation_confirmed_at IS NOT NULL AND reconciliation_confirmed_by IS NOT NULL)",
        name="reconciliation_data",
    ),
    sa.CheckConstraint(
        "state != 'cancelled' OR cancellation_reason IS NOT NULL", name="cancellation_reason"
    ),
    sa.CheckConstraint(
        "state != 'suspended' OR suspension_reason IS NOT NULL", name="suspension_reason"
    ),
    sa.Index("idx_raffle_event_state", "state"),
    sa.Index("idx_raffle_event_org", "organization_id"),
    sa.Index("idx_raffle_event_venue", "venue_id"),
    sa.Index("idx_raffle_event_dates", "sales_start_time", "sales_end_time"),
)

ticket_packages = sa.Table(
    "ticket_package",
    metadata,
    _id(),
    sa.Column("organization_id", sa.String(36), sa.ForeignKey("organizations.id"), nullable=False),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("description", sa.Text),
    sa.Column("ticket_count", sa.Integer, nullable=False),
    sa.Column("price_cents", sa.BigInteger, nullable=False),
    sa.Column("is_active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("display_order", sa.Integer, nullable=False, server_default="0"),
    sa.Column("created_at", Ms, nullable=False),
    sa.Column("created_by", sa.String(36)),
    sa.Column("updated_at", Ms, nullable=False),
    sa.Column("updated_by", sa.String(36)),
    sa.CheckConstraint("ticket_count > 0", name="ticket_count_positive"),
    sa.CheckConstraint("price_cents >= 0", name="price_not_negative"),
)

raffle_ticket_packages = sa.Table(
    "raffle_ticket_package",
    metadata,
    _id(),
    sa.Column("raffle_event_id", sa.String(36), sa.ForeignKey("raffle_event.id"), nullable=False),
    sa.Column(
        "ticket_package_id", sa.String(36), sa.ForeignKey("ticket_package.id"), nullable=False
    ),
    sa.Column("is_active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("display_order", sa.Integer, nullable=False, server_default="0"),
    sa.Column("created_at", Ms, nullable=False),
    sa.Column("created_by", sa.String(36)),
    sa.UniqueConstraint("raffle_event_id", "ticket_package_id"),
)

prizes = sa.Table(
    "prize",
    metadata,
    _id(),
    sa.Column("raffle_event_id", sa.String(36), sa.ForeignKey("raffle_event.id"), nullable=False),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("description", sa.Text),
    sa.Column("prize_type", sa.String(50), nullable=False),  # fixed | percentage
    sa.Column("value_cents", sa.BigInteger),
    sa.Column("percentage", sa.Numeric(5, 2)),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("winner_count", sa.Integer, nullable=False, server_default="1"),
    sa.Column("created_at", Ms, nullable=False),
    sa.Column("created_by", sa.String(36)),
    sa.Column("updated_at", Ms, nullable=False),
    sa.Column("updated_by", sa.String(36)),
    sa.CheckConstraint(
        "(prize_type = 'fixed' AND value_cents IS NOT NULL AND percentage IS NULL) OR "
        "(prize_type = 'percentage' AND percentage IS NOT NULL AND value_cents IS NULL)",
        name="prize_value",
    ),
    sa.CheckConstraint("winner_count >= 1", name="winner_count_positive"),
    sa.UniqueConstraint("raffle_event_id", "position"),
)

RSU_STATES = (
    "registered",
    "enrolled",
    "active",
    "closing",
    "closed",
    "reconciled",
    "suspended",
    "error",
)

#: One row per RSU device (``id`` = ``device_identifier`` = ``devices.id``).
rsus = sa.Table(
    "rsu",
    metadata,
    _id(),
    sa.Column("organization_id", sa.String(36), sa.ForeignKey("organizations.id"), nullable=False),
    sa.Column("device_identifier", sa.String(255), nullable=False, unique=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("state", sa.String(50), nullable=False, server_default="registered"),
    sa.Column("max_offline_tickets", sa.Integer, nullable=False, server_default="100"),
    sa.Column("last_sync_at", Ms),
    sa.Column("is_active", sa.Boolean, nullable=False, server_default=sa.true()),
    # (ours) the raffle the RSU sells for, its terminal number (the first digits of its
    # validation numbers, unique, so two RSUs can never make the same one offline), and
    # the seq of its close event for that raffle
    sa.Column("raffle_event_id", sa.String(36), sa.ForeignKey("raffle_event.id")),
    sa.Column("terminal_number", sa.Integer, nullable=False, unique=True),
    sa.Column("close_seq", sa.BigInteger),
    sa.Column("closed_at", Ms),
    sa.Column("created_at", Ms, nullable=False),
    sa.Column("created_by", sa.String(36)),
    sa.Column("updated_at", Ms, nullable=False),
    sa.Column("updated_by", sa.String(36)),
    sa.CheckConstraint(
        "state IN (" + ", ".join(f"'{s}'" for s in RSU_STATES) + ")", name="rsu_state"
    ),
    sa.Index("idx_rsu_state", "state"),
    sa.Index("idx_rsu_org", "organization_id"),
)

rsu_allocations = sa.Table(
    "rsu_allocation",
    metadata,
    _id(),
    sa.Column("raffle_event_id", sa.String(36), sa.ForeignKey("raffle_event.id"), nullable=False),
    sa.Column("rsu_id", sa.String(36), sa.ForeignKey("rsu.id"), nullable=False),
    sa.Column("start_number", sa.Integer, nullable=False),
    sa.Column("end_number", sa.Integer, nullable=False),
    sa.Column("tickets_sold", sa.Integer, nullable=False, server_default="0"),
    sa.Column("tickets_voided", sa.Integer, nullable=False, server_default="0"),
    sa.Column("allocated_at", Ms, nullable=False),
    sa.Column("allocated_by", sa.String(36)),
    sa.Column("deallocated_at", Ms),
    sa.Column("deallocated_by", sa.String(36)),
    sa.Column("is_active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.CheckConstraint("end_number >= start_number", name="number_range"),
    sa.CheckConstraint(
        "tickets_sold + tickets_voided <= (end_number - start_number + 1)",
        name="allocation_counts",
    ),
    sa.Index("ix_rsu_allocation_raffle_rsu", "raffle_event_id", "rsu_id"),
)
# The seed's UNIQUE (raffle_event_id, start_number, end_number), narrowed to active
# allocations: a range returned by deallocation can be allocated again with the same bounds.
sa.Index(
    "ux_rsu_allocation_active_range",
    rsu_allocations.c.raffle_event_id,
    rsu_allocations.c.start_number,
    rsu_allocations.c.end_number,
    unique=True,
    sqlite_where=rsu_allocations.c.is_active,
    postgresql_where=rsu_allocations.c.is_active,
)

customers = sa.Table(
    "customer",
    metadata,
    _id(),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("email", sa.String(255)),
    sa.Column("phone", sa.String(50)),
    sa.Column("created_at", Ms, nullable=False),
    sa.Column("updated_at", Ms, nullable=False),
)

raffle_orders = sa.Table(
    "raffle_order",
    metadata,
    _id(),  # the order id the RSU generated
    sa.Column("raffle_event_id", sa.String(36), sa.ForeignKey("raffle_event.id"), nullable=False),
    sa.Column("customer_id", sa.String(36), sa.ForeignKey("customer.id")),
    sa.Column(
        "ticket_package_id", sa.String(36), sa.ForeignKey("ticket_package.id"), nullable=False
    ),
    sa.Column("ticket_count", sa.Integer, nullable=False),
    sa.Column("total_amount_cents", sa.BigInteger, nullable=False),
    sa.Column("validation_number", sa.String(100), nullable=False, unique=True),
    sa.Column("payment_status", sa.String(50), nullable=False, server_default="pending"),
    sa.Column("payment_method", sa.String(20)),  # (ours) cash | card | online
    sa.Column("payment_reference", sa.String(255)),
    sa.Column("source", sa.String(50), nullable=False),  # online | rsu
    sa.Column("rsu_id", sa.String(36), sa.ForeignKey("rsu.id")),
    # (ours) the RSU event that reported the sale, the numbers it reported (JSON list, kept
    # as reported even when some were refused), when it was sold (server-corrected device
    # time) and its void
    sa.Column("device_seq", sa.BigInteger),
    sa.Column("draw_numbers", sa.Text, nullable=False),
    sa.Column("sold_at", Ms, nullable=False),
    sa.Column("voided_at", Ms),
    sa.Column("voided_by", sa.String(36)),
    sa.Column("void_reason", sa.Text),
    sa.Column("reprint_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("created_at", Ms, nullable=False),
    sa.Column("created_by", sa.String(36)),
    sa.Column("updated_at", Ms, nullable=False),
    sa.Column("updated_by", sa.String(36)),
    sa.CheckConstraint(
        "payment_status IN ('pending', 'completed', 'failed', 'refunded')",
        name="payment_status",
    ),
    sa.UniqueConstraint("rsu_id", "device_seq"),
    sa.Index("idx_order_raffle", "raffle_event_id"),
    sa.Index("idx_order_payment_status", "payment_status"),
    sa.Index("idx_order_customer", "customer_id"),
)

raffle_tickets = sa.Table(
    "raffle_ticket",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("raffle_event_id", sa.String(36), sa.ForeignKey("raffle_event.id"), nullable=False),
    sa.Column("draw_number", sa.Integer, nullable=False),
    sa.Column("state", sa.String(50), nullable=False, server_default="available"),
    sa.Column("allocated_to_rsu_id", sa.String(36), sa.ForeignKey("rsu.id")),
    sa.Column("allocated_at", Ms),
    sa.Column("allocation_id", sa.String(36), sa.ForeignKey("rsu_allocation.id")),
    sa.Column("order_id", sa.String(36), sa.ForeignKey("raffle_order.id")),
    sa.Column("sold_at", Ms),
    sa.Column("sold_by", sa.String(36)),
    sa.Column("voided_at", Ms),
    sa.Column("voided_by", sa.String(36)),
    sa.Column("voided_reason", sa.Text),
    sa.Column("created_at", Ms, nullable=False),
    sa.Column("updated_at", Ms, nullable=False),
    sa.UniqueConstraint("raffle_event_id", "draw_number"),
    sa.CheckConstraint(
        "state IN ('available', 'allocated', 'sold', 'voided', 'winner', 'claimed')",
        name="ticket_state",
    ),
    sa.CheckConstraint(
        "state != 'sold' OR (order_id IS NOT NULL AND sold_at IS NOT NULL)", name="sold_data"
    ),
    sa.CheckConstraint(
        "state != 'voided' OR "
        "(voided_at IS NOT NULL AND voided_by IS NOT NULL AND voided_reason IS NOT NULL)",
        name="voided_data",
    ),
    sa.Index("idx_ticket_state", "raffle_event_id", "state"),
    sa.Index("idx_ticket_order", "order_id"),
    sa.Index("idx_ticket_allocation", "allocation_id"),
)

draws = sa.Table(
    "draw",
    metadata,
    _id(),
    sa.Column(
        "raffle_event_id",
        sa.String(36),
        sa.ForeignKey("raffle_event.id"),
        nullable=False,
        unique=True,
    ),
    sa.Column("state", sa.String(50), nullable=False, server_default="pending"),
    sa.Column("draw_time", Ms),
    sa.Column("rng_seed", sa.String(255)),  # revealed at the draw (hex)
    sa.Column("verification_checksum", sa.String(255)),
    sa.Column("conducted_by", sa.String(36)),
    # (ours) the seed commitment made before sales close: the seed is kept sealed with the
    # server key until the draw; the beacon typed at the draw; the exported draw record
    sa.Column("seed_commitment", sa.String(64)),
    sa.Column("sealed_seed", sa.Text),
    sa.Column("committed_at", Ms),
    sa.Column("committed_by", sa.String(36)),
    sa.Column("beacon", sa.String(500)),
    sa.Column("revenue_cents", sa.BigInteger),
    sa.Column("record", sa.Text),  # canonical JSON of the draw (fieldpass.sync.draw)
    sa.Column("created_at", Ms, nullable=False),
    sa.Column("created_by", sa.String(36)),
    sa.Column("updated_at", Ms, nullable=False),
    sa.Column("updated_by", sa.String(36)),
    sa.CheckConstraint("state IN ('pending', 'generating', 'completed')", name="draw_state"),
    sa.CheckConstraint(
        "state != 'completed' OR (draw_time IS NOT NULL AND conducted_by IS NOT NULL)",
        name="completed_data",
    ),
    sa.Index("idx_draw_state", "state"),
)

draw_results = sa.Table(
    "draw_result",
    metadata,
    _id(),
    sa.Column("draw_id", sa.String(36), sa.ForeignKey("draw.id"), nullable=False),
    sa.Column("prize_id", sa.String(36), sa.ForeignKey("prize.id"), nullable=False),
    sa.Column(
        "winning_ticket_id",
        sa.BigInteger().with_variant(sa.Integer, "sqlite"),
        sa.ForeignKey("raffle_ticket.id"),
        nullable=False,
    ),
    sa.Column("prize_value_cents", sa.BigInteger, nullable=False),
    sa.Column("pick_index", sa.Integer, nullable=False),  # (ours) order of the pick
    sa.Column("claim_status", sa.String(50), nullable=False, server_default="unclaimed"),
    sa.Column("claimed_at", Ms),
    sa.Column("claimed_by", sa.String(36)),
    sa.Column("created_at", Ms, nullable=False),
    sa.Column("updated_at", Ms, nullable=False),
    sa.CheckConstraint("claim_status IN ('unclaimed', 'claimed')", name="claim_status"),
    sa.CheckConstraint(
        "claim_status != 'claimed' OR (claimed_at IS NOT NULL AND claimed_by IS NOT NULL)",
        name="claimed_data",
    ),
    sa.Index("idx_draw_result_draw", "draw_id"),
    sa.Index("idx_draw_result_ticket", "winning_ticket_id"),
    sa.Index("idx_draw_result_claim_status", "claim_status"),
)

#: Every change to a raffle's integrity parameters, override and void, for the
#: exceptions report (GLI-31): who, when, what, before and after.
raffle_exceptions = sa.Table(
    "raffle_exception",
    metadata,
    _serial(),
    sa.Column("raffle_event_id", sa.String(36), sa.ForeignKey("raffle_event.id"), nullable=False),
    sa.Column("kind", sa.String(40), nullable=False),  # parameter_change | override | void | …
    sa.Column("actor", sa.String(100), nullable=False),  # user id or device id
    sa.Column("subject", sa.String(200), nullable=False),
    sa.Column("details", sa.Text, nullable=False, server_default="{}"),  # JSON
    sa.Column("at", Ms, nullable=False),
    sa.Index("ix_raffle_exception_raffle", "raffle_event_id", "at"),
)
