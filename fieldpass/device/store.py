"""The device's local SQLite store: pulled slice, own scans, presence and the outbox.

One file in WAL mode with ``synchronous=FULL`` so a committed scan survives power loss.
Connections are per thread (Textual workers and the UI thread both use the store).
Every multi-row change is one transaction. Nothing in the outbox is ever deleted.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fieldpass.device.errors import DeviceError
from fieldpass.device.raffle_store import (
    RAFFLE_ENTITIES,
    RAFFLE_MIGRATION,
    RAFFLE_PULLED_TABLES,
    apply_raffle_run,
)
from fieldpass.sync import signing
from fieldpass.sync.clock import Clock, system_clock
from fieldpass.sync.codes import Issuer
from fieldpass.sync.events import GENESIS_HASH, Event, build_event
from fieldpass.sync.messages import Change
from fieldpass.sync.payloads import PayloadError, payload_dict, validate_payload
from fieldpass.sync.seating import seat_sort_key

if TYPE_CHECKING:
    import sqlite_utils

BUSY_TIMEOUT_MS = 5000

#: Schema migrations, applied in order; PRAGMA user_version is the index of the last one.
MIGRATIONS: list[str] = [
    # 1: initial schema
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
    CREATE TABLE events (
        id TEXT PRIMARY KEY, organization_id TEXT, name TEXT NOT NULL DEFAULT '',
        venue TEXT, starts_at INTEGER, ends_at INTEGER, valid_from INTEGER,
        valid_until INTEGER, ticket_public_key TEXT, status TEXT
    );
    CREATE TABLE gates (
        id TEXT PRIMARY KEY, event_id TEXT, name TEXT NOT NULL DEFAULT '', sectors TEXT
    );
    CREATE TABLE tickets (
        barcode TEXT PRIMARY KEY, event_id TEXT NOT NULL, sector TEXT NOT NULL DEFAULT '',
        "row" TEXT NOT NULL DEFAULT '', seat TEXT NOT NULL DEFAULT '',
        holder TEXT NOT NULL DEFAULT '', status TEXT NOT NULL DEFAULT 'VALID',
        status_reason TEXT NOT NULL DEFAULT ''
    ) WITHOUT ROWID;
    CREATE INDEX tickets_holder ON tickets (lower(holder));
    CREATE TABLE admissions (
        key TEXT PRIMARY KEY, barcode TEXT NOT NULL, event_id TEXT,
        direction TEXT NOT NULL CHECK (direction IN ('in', 'out')), at INTEGER NOT NULL,
        device_id TEXT, gate_id TEXT, gate_name TEXT, own INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX admissions_barcode ON admissions (barcode);
    CREATE TABLE ticket_presence (
        barcode TEXT PRIMARY KEY, inside INTEGER NOT NULL DEFAULT 0,
        first_entry_at INTEGER, first_entry_gate TEXT, first_entry_device TEXT,
        first_entry_key TEXT, last_move_at INTEGER, last_move_key TEXT,
        entries INTEGER NOT NULL DEFAULT 0, exits INTEGER NOT NULL DEFAULT 0
    ) WITHOUT ROWID;
    CREATE INDEX ticket_presence_inside ON ticket_presence (inside) WHERE inside = 1;
    -- Presence is derived from admissions by this trigger, so it is updated in the same
    -- transaction as the admission, whatever order admissions arrive in:
    -- first entry = earliest entry (ties by key); inside = direction of the latest move.
    CREATE TRIGGER admissions_presence AFTER INSERT ON admissions BEGIN
        INSERT OR IGNORE INTO ticket_presence (barcode) VALUES (NEW.barcode);
        UPDATE ticket_presence SET
            inside = CASE WHEN last_move_at IS NULL OR NEW.at > last_move_at
                     OR (NEW.at = last_move_at AND NEW.key > last_move_key)
                     THEN NEW.direction = 'in' ELSE inside END,
            last_move_key = CASE WHEN last_move_at IS NULL OR NEW.at > last_move_at
                     OR (NEW.at = last_move_at AND NEW.key > last_move_key)
                     THEN NEW.key ELSE last_move_key END,
            last_move_at = CASE WHEN last_move_at IS NULL OR NEW.at > last_move_at
                     OR (NEW.at = last_move_at AND NEW.key > last_move_key)
                     THEN NEW.at ELSE last_move_at END,
            first_entry_gate = CASE WHEN NEW.direction = 'in' AND (first_entry_at IS NULL
                     OR NEW.at < first_entry_at
                     OR (NEW.at = first_entry_at AND NEW.key < first_entry_key))
                     THEN NEW.gate_name ELSE first_entry_gate END,
            first_entry_device = CASE WHEN NEW.direction = 'in' AND (first_entry_at IS NULL
                     OR NEW.at < first_entry_at
                     OR (NEW.at = first_entry_at AND NEW.key < first_entry_key))
                     THEN NEW.device_id ELSE first_entry_device END,
            first_entry_key = CASE WHEN NEW.direction = 'in' AND (first_entry_at IS NULL
                     OR NEW.at < first_entry_at
                     OR (NEW.at = first_entry_at AND NEW.key < first_entry_key))
                     THEN NEW.key ELSE first_entry_key END,
            first_entry_at = CASE WHEN NEW.direction = 'in' AND (first_entry_at IS NULL
                     OR NEW.at < first_entry_at
                     OR (NEW.at = first_entry_at AND NEW.key < first_entry_key))
                     THEN NEW.at ELSE first_entry_at END,
            entries = entries + (NEW.direction = 'in'),
            exits = exits + (NEW.direction = 'out')
        WHERE barcode = NEW.barcode;
    END;
    CREATE TABLE scans (
        seq INTEGER PRIMARY KEY, code TEXT NOT NULL, code_length INTEGER NOT NULL,
        barcode TEXT, mode TEXT NOT NULL, result TEXT NOT NULL, reason TEXT NOT NULL,
        moved TEXT, holder TEXT NOT NULL DEFAULT '', sector TEXT NOT NULL DEFAULT '',
        "row" TEXT NOT NULL DEFAULT '', seat TEXT NOT NULL DEFAULT '',
        first_entry_at INTEGER, first_entry_gate TEXT, scanned_at INTEGER NOT NULL
    );
    CREATE INDEX scans_code ON scans (code, seq);
    CREATE TABLE scan_counters (
        id INTEGER PRIMARY KEY CHECK (id = 1), admitted INTEGER NOT NULL DEFAULT 0,
        rejected INTEGER NOT NULL DEFAULT 0, scans INTEGER NOT NULL DEFAULT 0
    );
    INSERT INTO scan_counters (id) VALUES (1);
    CREATE TABLE outbox (
        seq INTEGER PRIMARY KEY, kind TEXT NOT NULL, device_time INTEGER NOT NULL,
        payload TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL,
        signature TEXT NOT NULL, pushed INTEGER NOT NULL DEFAULT 0
    );
    """,
    # 2: petrol kiosk slice: PINs (holders kept sealed for this device, opened only with
    # the holders key file next to device.key), the kiosk's seat blocks and their seats
    """
    CREATE TABLE petrol_pins (
        id TEXT PRIMARY KEY, pin TEXT NOT NULL, event_id TEXT, quantity INTEGER,
        status TEXT NOT NULL, expires_at INTEGER, holders_sealed TEXT
    );
    CREATE INDEX petrol_pins_pin ON petrol_pins (pin);
    CREATE TABLE seat_blocks (
        id TEXT PRIMARY KEY, event_id TEXT, sector TEXT NOT NULL DEFAULT '',
        rows_spec TEXT NOT NULL DEFAULT '', seats_spec TEXT NOT NULL DEFAULT '',
        status TEXT NOT NULL, seat_count INTEGER
    );
    CREATE TABLE seats (
        id TEXT PRIMARY KEY, block_id TEXT NOT NULL, event_id TEXT,
        sector TEXT NOT NULL DEFAULT '', "row" TEXT NOT NULL, seat TEXT NOT NULL,
        status TEXT NOT NULL
    );
    CREATE INDEX seats_block ON seats (block_id);
    """,
    # 3: petrol sales made here (own data: kept across re-pulls, never deleted); a PIN or
    # seat found here is used/sold whatever a later pull says
    """
    CREATE TABLE petrol_sales (
        seq INTEGER PRIMARY KEY, pin_id TEXT NOT NULL, pin TEXT NOT NULL, event_id TEXT,
        payment_method TEXT NOT NULL, amount_cents INTEGER NOT NULL, tendered_cents INTEGER,
        reference TEXT, sold_at INTEGER NOT NULL
    );
    CREATE INDEX petrol_sales_pin ON petrol_sales (pin_id);
    CREATE TABLE petrol_tickets (
        barcode TEXT PRIMARY KEY, seq INTEGER NOT NULL, event_id TEXT,
        sector TEXT NOT NULL, "row" TEXT NOT NULL, seat TEXT NOT NULL
    );
    CREATE UNIQUE INDEX petrol_tickets_seat ON petrol_tickets (event_id, sector, "row", seat);
    """,
    # raffle sale unit: the pulled raffle slice and the orders sold here (raffle_store.py)
    RAFFLE_MIGRATION,
    # petrol: seat prices of a block (VAT included), reservations with expiry and the seats
    # they hold (one hold per seat: two reservations never take one seat), what a ticket
    # needs to be reprinted (holder name, purged after the match; document checked; price)
    """
    ALTER TABLE seat_blocks ADD COLUMN price_cents INTEGER;
    ALTER TABLE seat_blocks ADD COLUMN vat_percent TEXT;
    CREATE TABLE petrol_reservations (
        id TEXT PRIMARY KEY, seq INTEGER NOT NULL, pin_id TEXT NOT NULL, pin TEXT NOT NULL,
        event_id TEXT, seats TEXT NOT NULL, reserved_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL, status TEXT NOT NULL
            CHECK (status IN ('ACTIVE', 'SOLD', 'EXPIRED', 'CANCELLED')),
        ended_at INTEGER, end_seq INTEGER
    );
    CREATE INDEX petrol_reservations_active ON petrol_reservations (status, expires_at);
    CREATE TABLE petrol_seat_holds (
        event_id TEXT, sector TEXT NOT NULL, "row" TEXT NOT NULL, seat TEXT NOT NULL,
        reservation_id TEXT NOT NULL
    );
    CREATE UNIQUE INDEX petrol_seat_holds_seat
        ON petrol_seat_holds (event_id, sector, "row", seat);
    ALTER TABLE petrol_sales ADD COLUMN reservation_id TEXT;
    ALTER TABLE petrol_tickets ADD COLUMN holder TEXT;
    ALTER TABLE petrol_tickets ADD COLUMN document_type TEXT;
    ALTER TABLE petrol_tickets ADD COLUMN price_cents INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE petrol_tickets ADD COLUMN vat_percent TEXT;
    """,
    # petrol: seat blocks this kiosk released to the server (own data, kept across
    # re-pulls: a block is released once, with the outbox seq of its event)
    """
    CREATE TABLE petrol_block_releases (
        block_id TEXT PRIMARY KEY, seq INTEGER NOT NULL, released_at INTEGER NOT NULL,
        seats INTEGER NOT NULL
    );
    """,
    # devices the server certified to issue tickets for the event (kiosk-issued tickets
    # verify offline at the gate); the code a kiosk printed on each ticket it issued
    """
    CREATE TABLE issuers (
        number INTEGER PRIMARY KEY, device_id TEXT NOT NULL, public_key TEXT NOT NULL,
        event_id TEXT NOT NULL, valid_from INTEGER NOT NULL, valid_until INTEGER NOT NULL,
        revoked_at INTEGER
    );
    ALTER TABLE petrol_tickets ADD COLUMN code TEXT;
    """,
]

#: Meta keys.
CURSOR = "cursor"
EPOCH = "epoch"
LAST_SYNC_AT = "last_sync_at"
LAST_PUSH_AT = "last_push_at"
LAST_PULL_AT = "last_pull_at"
ONLINE = "online"
LAST_ERROR = "last_error"
LAST_ERROR_CODE = "last_error_code"  # e.g. unverified_answer, store_damaged, offline
ACCEPTED_SEQ = "accepted_seq"
FORK_SEQ = "fork_seq"
CLOCK_OFFSET_MS = "clock_offset_ms"
ROUND_TRIP_MS = "round_trip_ms"
LAST_CLOCK_SAMPLE = "last_clock_sample"
ASSIGNMENT = "assignment"
STORE_ID = "store_id"  # also in device.json: the store belongs to this identity

_INT_META = {
    LAST_SYNC_AT,
    LAST_PUSH_AT,
    LAST_PULL_AT,
    ACCEPTED_SEQ,
    FORK_SEQ,
    CLOCK_OFFSET_MS,
    ROUND_TRIP_MS,
}


@dataclass(frozen=True)
class DeviceStatus:
    """What the device knows about its sync state (``online`` is the last known state)."""

    unsynced: int
    last_sync_at: int | None
    last_push_at: int | None
    last_pull_at: int | None
    cursor: str | None
    epoch: str | None
    online: bool | None
    last_error: str | None
    accepted_seq: int
    fork_seq: int | None
    last_seq: int
    clock_offset_ms: int
    tickets: int
    last_error_code: str | None = None


@dataclass(frozen=True)
class AppendedEvent:
    """An event just written to the outbox inside the caller's transaction."""

    seq: int
    hash: str


@dataclass(frozen=True)
class PinRecord:
    """A pulled petrol PIN; ``holders_sealed`` opens with the device's holders key
    (``fieldpass.sync.sealing.open_for_device``) and is None once the PIN is not ACTIVE."""

    id: str
    pin: str
    event_id: str | None
    quantity: int | None
    status: str
    expires_at: int | None
    holders_sealed: str | None


@dataclass(frozen=True)
class SeatRecord:
    id: str
    block_id: str
    sector: str
    row: str
    seat: str
    status: str


_payload_encoder = msgspec.json.Encoder(order="sorted")
_payload_decoder = msgspec.json.Decoder(dict[str, Any])

_TICKET_UPSERT = (
    'INSERT INTO tickets (barcode, event_id, sector, "row", seat, holder, status, status_reason)'
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (barcode) DO UPDATE SET"
    ' event_id = excluded.event_id, sector = excluded.sector, "row" = excluded."row",'
    " seat = excluded.seat, holder = excluded.holder, status = excluded.status,"
    " status_reason = excluded.status_reason"
)
_TICKET_TOMBSTONE = (
    "INSERT INTO tickets (barcode, event_id, status, status_reason) VALUES (?, ?, ?, ?)"
    " ON CONFLICT (barcode) DO UPDATE SET event_id = excluded.event_id,"
    " status = excluded.status, status_reason = excluded.status_reason"
)
_EVENT_UPSERT = (
    "INSERT OR REPLACE INTO events (id, organization_id, name, venue, starts_at, ends_at,"
    " valid_from, valid_until, ticket_public_key, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_GATE_UPSERT = "INSERT OR REPLACE INTO gates (id, event_id, name, sectors) VALUES (?, ?, ?, ?)"
_ADMISSION_INSERT = (
    "INSERT OR IGNORE INTO admissions (key, barcode, event_id, direction, at, device_id,"
    " gate_id, gate_name, own) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


_PIN_UPSERT = (
    "INSERT INTO petrol_pins (id, pin, event_id, quantity, status, expires_at, holders_sealed)"
    " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET pin = excluded.pin,"
    " event_id = excluded.event_id, quantity = excluded.quantity, status = excluded.status,"
    " expires_at = excluded.expires_at, holders_sealed = excluded.holders_sealed"
)
_BLOCK_UPSERT = (
    "INSERT OR REPLACE INTO seat_blocks (id, event_id, sector, rows_spec, seats_spec, status,"
    " seat_count, price_cents, vat_percent) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_SEAT_UPSERT = (
    'INSERT OR REPLACE INTO seats (id, block_id, event_id, sector, "row", seat, status)'
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
)
#: Pulled tables, emptied when the server's epoch or the device's assignment changes.
PULLED_TABLES = (
    "tickets",
    "gates",
    "events",
    "admissions",
    "ticket_presence",
    "petrol_pins",
    "seat_blocks",
    "seats",
    "issuers",
    *RAFFLE_PULLED_TABLES,
)


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _ticket_row(c: Change) -> tuple:
    d = c.data
    return (
        c.key,
        _text(d.get("event_id")),
        _text(d.get("sector")),
        _text(d.get("row")),
        _text(d.get("seat")),
        _text(d.get("holder")),
        _text(d.get("status")) or "VALID",
        _text(d.get("status_reason")),
    )


def _ticket_tombstone_row(c: Change) -> tuple:
    d = c.data
    return (
        c.key,
        _text(d.get("event_id")),
        _text(d.get("status")) or "REVOKED",
        _text(d.get("status_reason")),
    )


def _event_row(c: Change) -> tuple:
    d = c.data
    return (
        c.key,
        d.get("organization_id"),
        _text(d.get("name")),
        d.get("venue"),
        _int_or_none(d.get("starts_at")),
        _int_or_none(d.get("ends_at")),
        _int_or_none(d.get("valid_from")),
        _int_or_none(d.get("valid_until")),
        d.get("ticket_public_key"),
        d.get("status"),
    )


def _gate_row(c: Change) -> tuple:
    d = c.data
    sectors = d.get("sectors")
    if not isinstance(sectors, list):
        sectors = None  # null (or anything unexpected) means every sector
    encoded = None if sectors is None else msgspec.json.encode([str(s) for s in sectors]).decode()
    return (c.key, d.get("event_id"), _text(d.get("name")), encoded)


def _admission_row(c: Change) -> tuple | None:
    d = c.data
    direction = d.get("direction")
    at = _int_or_none(d.get("at"))
    barcode = d.get("barcode")
    if direction not in ("in", "out") or at is None or not isinstance(barcode, str):
        return None  # not an admission this protocol version understands: skip, keep going
    return (
        c.key,
        barcode,
        d.get("event_id"),
        direction,
        at,
        d.get("device_id"),
        d.get("gate_id"),
        d.get("gate_name"),
        0,
    )


def _pin_row(c: Change) -> tuple | None:
    """A PIN upsert or tombstone; a tombstone keeps status but drops the sealed holders."""
    d = c.data
    pin = d.get("pin")
    status = d.get("status")
    if not isinstance(pin, str) or not isinstance(status, str):
        return None
    sealed = d.get("holders") if c.op == "upsert" else None
    return (
        c.key,
        pin,
        d.get("event_id"),
        _int_or_none(d.get("quantity")),
        status,
        _int_or_none(d.get("expires_at")),
        sealed if isinstance(sealed, str) else None,
    )


def _block_row(c: Change) -> tuple:
    d = c.data
    status = _text(d.get("status")) or ("ACTIVE" if c.op == "upsert" else "RETURNED")
    return (
        c.key,
        d.get("event_id"),
        _text(d.get("sector")),
        _text(d.get("rows")),
        _text(d.get("seats")),
        status,
        _int_or_none(d.get("seat_count")),
        _int_or_none(d.get("price_cents")),  # VAT included; None: not priced by the server
        d.get("vat_percent") if isinstance(d.get("vat_percent"), str) else None,
    )


def _seat_row(c: Change) -> tuple | None:
    d = c.data
    block_id, row, seat = d.get("block_id"), d.get("row"), d.get("seat")
    if not all(isinstance(v, str) for v in (block_id, row, seat)):
        return None
    return (
        c.key,
        block_id,
        d.get("event_id"),
        _text(d.get("sector")),
        row,
        seat,
        _text(d.get("status")) or "ALLOCATED",
    )


_ISSUER_UPSERT = (
    "INSERT OR REPLACE INTO issuers (number, device_id, public_key, event_id, valid_from,"
    " valid_until, revoked_at) VALUES (?, ?, ?, ?, ?, ?, NULL)"
)
_ISSUER_REVOKE = (
    "INSERT INTO issuers (number, device_id, public_key, event_id, valid_from, valid_until,"
    " revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (number) DO UPDATE SET"
    " revoked_at = excluded.revoked_at"
)


def _issuer_row(c: Change) -> tuple | None:
    """An issuer certificate (upsert) or its revocation (tombstone: ``revoked_at``)."""
    d = c.data
    number = _int_or_none(d.get("issuer_number"))
    if number is None or not isinstance(d.get("device_id"), str):
        return None
    base = (
        number,
        d["device_id"],
        _text(d.get("public_key")),
        _text(d.get("event_id")),
        _int_or_none(d.get("valid_from")) or 0,
        _int_or_none(d.get("valid_until")) or 0,
    )
    if c.op == "upsert":
        return base
    return (*base, _int_or_none(d.get("revoked_at")) or 0)


class Store:
    """Domain operations over the device database; safe to share across threads."""

    def __init__(self, path: Path, clock: Clock = system_clock) -> None:
        self.path = Path(path)
        self.clock = clock
        self.device_id = ""  # set by open_device / GateService: the owner of the outbox
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        # Writers of this process queue here, first come first served, instead of polling
        # SQLite's busy handler (which sleeps 1, 2, 5, 10... ms and is not fair): a scan
        # waits at most for the one transaction ahead of it. Other processes still meet
        # the busy timeout.
        self._write_lock = threading.Lock()
        #: bumped when pulled issuer certificates change (the gate reloads its cache)
        self.issuers_generation = 0

    @classmethod
    def open(cls, path: Path, clock: Clock = system_clock) -> Store:
        """Open (creating, 0600, and migrating) the store; DeviceError ``store_corrupt`` if
        unusable."""
        _create_private(Path(path))
        store = cls(path, clock)
        try:
            store._migrate()
        except sqlite3.DatabaseError as exc:
            store.close()
            raise DeviceError("store_corrupt", f"cannot open store {path}: {exc}") from exc
        return store

    def quick_check(self) -> str:
        """``ok``, or what SQLite's quick_check found damaged (pages, indexes, structure)."""
        try:
            rows = self.conn.execute("PRAGMA quick_check(5)").fetchall()
        except sqlite3.DatabaseError as exc:
            return str(exc)
        problems = [row[0] for row in rows if row[0] != "ok"]
        return "; ".join(problems) if problems else "ok"

    # -- connections and transactions -------------------------------------------------

    @property
    def conn(self) -> sqlite3.Connection:
        """This thread's connection (autocommit mode; transactions are explicit)."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            # check_same_thread=False only so close() can close every thread's connection;
            # each connection is still used by the thread that opened it.
            conn = sqlite3.connect(
                self.path,
                isolation_level=None,
                timeout=BUSY_TIMEOUT_MS / 1000,
                check_same_thread=False,
            )
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA foreign_keys = ON")
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    @property
    def db(self) -> sqlite_utils.Database:
        """sqlite-utils view of this thread's connection (for reads and tooling)."""
        db = getattr(self._local, "db", None)
        if db is None:
            import sqlite_utils  # only for tooling: keeps it (and numpy) out of every scan process

            db = self._local.db = sqlite_utils.Database(self.conn)
        return db

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT; rolls back on any exception."""
        conn = self.conn
        if conn.in_transaction:
            yield conn  # nested use joins the outer transaction
            return
        with self._write_lock:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
        self._local = threading.local()

    def _migrate(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = self.conn
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > len(MIGRATIONS):
            raise DeviceError(
                "store_corrupt", f"store schema {version} is newer than this software"
            )
        for number in range(version, len(MIGRATIONS)):
            conn.execute("BEGIN IMMEDIATE")
            try:
                for statement in _split_sql(MIGRATIONS[number]):
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {number + 1}")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def schema_version(self) -> int:
        return self.conn.execute("PRAGMA user_version").fetchone()[0]

    def integrity_check(self) -> str:
        return self.conn.execute("PRAGMA integrity_check").fetchone()[0]

    # -- meta ----------------------------------------------------------------------------

    def get_meta(self, key: str) -> Any:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        if row is None or row[0] is None:
            return None
        return int(row[0]) if key in _INT_META else row[0]

    def server_time(self, device_time: int) -> int:
        """``device_time`` corrected by the last offset to the server's clock the sync
        measured (0 before the first sync): what rules about server times compare."""
        return device_time + (self.get_meta(CLOCK_OFFSET_MS) or 0)

    def set_meta(self, **values: Any) -> None:
        with self.transaction() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                [(k, None if v is None else str(v)) for k, v in values.items()],
            )

    # -- pulled data ---------------------------------------------------------------------

    def apply_changes(
        self,
        changes: list[Change],
        cursor: str,
        epoch: str,
        after: Callable[[sqlite3.Connection], object] | None = None,
    ) -> None:
        """Apply one pulled page and its cursor in one transaction (resumable after a kill).

        Consecutive changes of the same entity and op are written with one executemany,
        which keeps server order while avoiding per-row round trips. ``after`` runs in the
        same transaction once the page is written: what the page makes the device do
        (e.g. release a returned seat block) commits with the page, or neither does.
        """
        with self.transaction() as conn:
            start = 0
            total = len(changes)
            while start < total:
                first = changes[start]
                end = start + 1
                while (
                    end < total
                    and changes[end].entity == first.entity
                    and changes[end].op == first.op
                ):
                    end += 1
                self._apply_run(conn, first.entity, first.op, changes[start:end])
                start = end
            if after is not None:
                after(conn)
            conn.executemany(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                [(CURSOR, cursor), (EPOCH, epoch)],
            )
        if any(c.entity == "issuer" for c in changes):
            self.issuers_generation += 1

    @staticmethod
    def _apply_run(conn: sqlite3.Connection, entity: str, op: str, run: list[Change]) -> None:
        upsert = op == "upsert"
        if entity == "ticket":
            if upsert:
                conn.executemany(_TICKET_UPSERT, [_ticket_row(c) for c in run])
            else:
                conn.executemany(_TICKET_TOMBSTONE, [_ticket_tombstone_row(c) for c in run])
        elif entity == "event":
            if upsert:
                conn.executemany(_EVENT_UPSERT, [_event_row(c) for c in run])
            else:
                conn.executemany("DELETE FROM events WHERE id = ?", [(c.key,) for c in run])
        elif entity == "gate":
            if upsert:
                conn.executemany(_GATE_UPSERT, [_gate_row(c) for c in run])
            else:
                conn.executemany("DELETE FROM gates WHERE id = ?", [(c.key,) for c in run])
        elif entity == "admission" and upsert:
            rows = [row for c in run if (row := _admission_row(c)) is not None]
            conn.executemany(_ADMISSION_INSERT, rows)
        elif entity == "petrol_pin":
            conn.executemany(_PIN_UPSERT, [row for c in run if (row := _pin_row(c)) is not None])
        elif entity == "seat_block":
            conn.executemany(_BLOCK_UPSERT, [_block_row(c) for c in run])
        elif entity == "seat":
            if upsert:
                rows = [row for c in run if (row := _seat_row(c)) is not None]
                conn.executemany(_SEAT_UPSERT, rows)
            else:  # went back from the kiosk's block: no longer the kiosk's to sell
                conn.executemany("DELETE FROM seats WHERE id = ?", [(c.key,) for c in run])
        elif entity == "issuer":
            conn.executemany(
                _ISSUER_UPSERT if upsert else _ISSUER_REVOKE,
                [row for c in run if (row := _issuer_row(c)) is not None],
            )
        elif entity in RAFFLE_ENTITIES:
            apply_raffle_run(conn, entity, op, run)
        # other entities (device, admission tombstones): nothing a device keeps

    def issuers(self) -> dict[int, Issuer]:
        """The certified issuing devices this device pulled, by issuer number."""
        found: dict[int, Issuer] = {}
        for (
            number,
            device_id,
            key,
            event_id,
            valid_from,
            valid_until,
            revoked_at,
        ) in self.conn.execute(
            "SELECT number, device_id, public_key, event_id, valid_from, valid_until,"
            " revoked_at FROM issuers"
        ):
            try:
                public = signing.public_key_from_text(key)
            except (signing.EncodingError, ValueError):
                continue
            found[number] = Issuer(
                number, device_id, public, event_id, valid_from, valid_until, revoked_at
            )
        return found

    def issuer_of(self, device_id: str) -> tuple[int, int, int] | None:
        """(issuer number, valid_from, valid_until) of ``device_id``'s live certificate."""
        return self.conn.execute(
            "SELECT number, valid_from, valid_until FROM issuers"
            " WHERE device_id = ? AND revoked_at IS NULL ORDER BY number DESC LIMIT 1",
            (device_id,),
        ).fetchone()

    def reset_pulled_data(self) -> None:
        """The server's epoch changed: drop everything pulled and the cursor, keep own data.

        Presence is rebuilt from the device's own admissions by re-inserting them.
        """
        with self.transaction() as conn:
            own = conn.execute(
                "SELECT key, barcode, event_id, direction, at, device_id, gate_id, gate_name, own"
                " FROM admissions WHERE own = 1"
            ).fetchall()
            for table in PULLED_TABLES:
                conn.execute(f"DELETE FROM {table}")
            conn.executemany(_ADMISSION_INSERT, own)
            conn.execute("DELETE FROM meta WHERE key IN (?, ?)", (CURSOR, EPOCH))

    def ensure_assignment(
        self, event_id: str | None, gate_id: str | None, raffle_id: str | None = None
    ) -> bool:
        """Drop pulled data if the device was re-assigned (its cursor belongs to another
        slice); returns True when it did. An RSU has a raffle and no event."""
        assignment = f"{event_id or ''}/{gate_id or ''}"
        if raffle_id:
            assignment += f"/raffle:{raffle_id}"
        previous = self.get_meta(ASSIGNMENT)
        if previous == assignment:
            return False
        changed = previous is not None and self.get_meta(CURSOR) is not None
        if changed:
            self.reset_pulled_data()
        self.set_meta(**{ASSIGNMENT: assignment})
        return changed

    def record_peer_admissions(self, rows: list[tuple]) -> int:
        """Admissions another gate of the event made and sent over the LAN (already
        verified); returns how many were new. Keys are the server's (``device:seq``), so
        the same admission pulled later is not counted twice."""
        if not rows:
            return 0
        with self.transaction() as conn:
            return conn.executemany(_ADMISSION_INSERT, rows).rowcount

    # -- reads used by the gate ------------------------------------------------------------

    def ticket(self, barcode: str) -> tuple | None:
        cur = self.conn.execute(
            'SELECT barcode, event_id, sector, "row", seat, holder, status, status_reason'
            " FROM tickets WHERE barcode = ?",
            (barcode,),
        )
        return cur.fetchone()

    def presence(self, barcode: str) -> tuple | None:
        """(inside, first_entry_at, first_entry_gate, first_entry_device, entries, exits)."""
        return self.conn.execute(
            "SELECT inside, first_entry_at, first_entry_gate, first_entry_device, entries, exits"
            " FROM ticket_presence WHERE barcode = ?",
            (barcode,),
        ).fetchone()

    def event_row(self, event_id: str | None) -> tuple | None:
        """(id, name, valid_from, valid_until, ticket_public_key) of a pulled event."""
        if event_id is None:
            return None
        return self.conn.execute(
            "SELECT id, name, valid_from, valid_until, ticket_public_key FROM events WHERE id = ?",
            (event_id,),
        ).fetchone()

    def gate_row(self, gate_id: str | None) -> tuple[str, str, list[str] | None] | None:
        """(id, name, sectors or None) of a pulled gate."""
        if gate_id is None:
            return None
        row = self.conn.execute(
            "SELECT id, name, sectors FROM gates WHERE id = ?", (gate_id,)
        ).fetchone()
        if row is None:
            return None
        sectors = None if row[2] is None else msgspec.json.decode(row[2], type=list[str])
        return row[0], row[1], sectors

    def ticket_count(self) -> int:
        return self.conn.execute("SELECT COUNT(*) FROM tickets").fetchone()[0]

    def search_tickets(self, text: str, limit: int = 20) -> list[tuple]:
        """Tickets whose holder starts with (then contains) ``text``, or whose barcode is it."""
        text = text.encode("utf-8", "replace").decode("utf-8")  # lone surrogates cannot bind
        needle = text.strip().lower()
        if not needle or limit <= 0:
            return []
        cols = 'barcode, event_id, sector, "row", seat, holder, status, status_reason'
        found: dict[str, tuple] = {}
        row = self.conn.execute(f"SELECT {cols} FROM tickets WHERE barcode = ?", (text.strip(),))
        for r in row.fetchall():
            found[r[0]] = r
        if ord(needle[-1]) < 0x10FFFF:
            upper = needle[:-1] + chr(ord(needle[-1]) + 1)
            for r in self.conn.execute(
                f"SELECT {cols} FROM tickets WHERE lower(holder) >= ? AND lower(holder) < ?"
                " ORDER BY lower(holder) LIMIT ?",
                (needle, upper, limit),
            ):
                found.setdefault(r[0], r)
        if len(found) < limit:
            escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            for r in self.conn.execute(
                f"SELECT {cols} FROM tickets WHERE lower(holder) LIKE ? ESCAPE '\\'"
                " ORDER BY lower(holder) LIMIT ?",
                (f"%{escaped}%", limit),
            ):
                found.setdefault(r[0], r)
        return list(found.values())[:limit]

    def inside_count(self) -> int:
        return self.conn.execute(
            "SELECT COUNT(*) FROM ticket_presence WHERE inside = 1"
        ).fetchone()[0]

    def scan_counters(self) -> tuple[int, int, int]:
        """(admitted, rejected, scans) of this device."""
        return self.conn.execute(
            "SELECT admitted, rejected, scans FROM scan_counters WHERE id = 1"
        ).fetchone()

    def last_scan_of(self, code: str) -> tuple | None:
        """The newest own scan of exactly this (cut) code, for debouncing."""
        return self.conn.execute(
            'SELECT seq, code, barcode, mode, result, reason, holder, sector, "row", seat,'
            " first_entry_at, first_entry_gate, scanned_at FROM scans WHERE code = ?"
            " ORDER BY seq DESC LIMIT 1",
            (code,),
        ).fetchone()

    # -- reads used by the petrol kiosk ------------------------------------------------------

    def pin(self, pin: str) -> PinRecord | None:
        """The pulled PIN with this value: the ACTIVE one if any, else the latest expiring.

        A PIN value is reused once a PIN is no longer active, so several rows may share it.
        The stored status is as pulled; callers apply ``sync.pins.effective_status``.
        """
        row = self.conn.execute(
            "SELECT id, pin, event_id, quantity, status, expires_at, holders_sealed"
            " FROM petrol_pins WHERE pin = ?"
            " ORDER BY status = 'ACTIVE' DESC, expires_at DESC, id DESC LIMIT 1",
            (pin,),
        ).fetchone()
        return None if row is None else PinRecord(*row)

    def pin_count(self, status: str | None = None) -> int:
        if status is None:
            return self.conn.execute("SELECT COUNT(*) FROM petrol_pins").fetchone()[0]
        return self.conn.execute(
            "SELECT COUNT(*) FROM petrol_pins WHERE status = ?", (status,)
        ).fetchone()[0]

    def seat_blocks(self) -> list[tuple]:
        """(id, event_id, sector, rows_spec, seats_spec, status, seat_count) of each block."""
        return self.conn.execute(
            "SELECT id, event_id, sector, rows_spec, seats_spec, status, seat_count"
            " FROM seat_blocks ORDER BY id"
        ).fetchall()

    def seats_of_block(self, block_id: str) -> list[SeatRecord]:
        """The block's seats held by this kiosk, in seat order (row, then seat number)."""
        rows = [
            SeatRecord(*row)
            for row in self.conn.execute(
                'SELECT id, block_id, sector, "row", seat, status FROM seats WHERE block_id = ?',
                (block_id,),
            )
        ]
        return sorted(rows, key=lambda s: seat_sort_key(s.row, s.seat))

    def sellable_seats(self, event_id: str | None) -> list[SeatRecord]:
        """Unsold seats of this kiosk's ACTIVE blocks of ``event_id`` (never one this
        kiosk already sold, whatever a later pull said about it, nor one a reservation holds)."""
        return [
            SeatRecord(*row)
            for row in self.conn.execute(
                'SELECT s.id, s.block_id, s.sector, s."row", s.seat, s.status FROM seats s'
                " JOIN seat_blocks b ON b.id = s.block_id"
                " WHERE b.status = 'ACTIVE' AND s.status = 'ALLOCATED' AND s.event_id IS ?"
                " AND NOT EXISTS (SELECT 1 FROM petrol_tickets t WHERE t.event_id IS s.event_id"
                ' AND t.sector = s.sector AND t."row" = s."row" AND t.seat = s.seat)'
                " AND NOT EXISTS (SELECT 1 FROM petrol_seat_holds h WHERE h.event_id IS"
                ' s.event_id AND h.sector = s.sector AND h."row" = s."row" AND h.seat = s.seat)',
                (event_id,),
            )
        ]

    def wipe_holder_data(self) -> tuple[int, int]:
        """Delete every holder's personal data here (sealed PIN holders, ticket holder
        names); sales, tickets, seats and the outbox stay. Returns (pins, tickets) wiped.
        For a revoked kiosk: whoever holds it must not read who bought what."""
        with self.transaction() as conn:
            pins = conn.execute(
                "UPDATE petrol_pins SET holders_sealed = NULL WHERE holders_sealed IS NOT NULL"
            ).rowcount
            tickets = conn.execute(
                "UPDATE petrol_tickets SET holder = NULL WHERE holder IS NOT NULL"
            ).rowcount
        return pins, tickets

    def pin_sold_here(self, pin_id: str) -> int | None:
        """The outbox seq of this kiosk's sale of the PIN, if it sold it."""
        row = self.conn.execute(
            "SELECT seq FROM petrol_sales WHERE pin_id = ? ORDER BY seq LIMIT 1", (pin_id,)
        ).fetchone()
        return None if row is None else row[0]

    def petrol_totals(self, since_ms: int, until_ms: int) -> list[tuple[str, int, int]]:
        """(payment method, sales, amount in cents) of this kiosk's sales in [since, until)."""
        return [
            (method, count, amount)
            for method, count, amount in self.conn.execute(
                "SELECT payment_method, COUNT(*), COALESCE(SUM(amount_cents), 0)"
                " FROM petrol_sales WHERE sold_at >= ? AND sold_at < ?"
                " GROUP BY payment_method ORDER BY payment_method",
                (since_ms, until_ms),
            )
        ]

    # -- outbox ----------------------------------------------------------------------------

    def append_valid_event(
        self,
        conn: sqlite3.Connection,
        key: Ed25519PrivateKey,
        *,
        device_id: str,
        kind: str,
        device_time: int,
        payload: dict[str, Any],
        invalid_code: str,
    ) -> AppendedEvent:
        """``append_event`` after checking ``payload`` against its kind's schema: the
        server refuses what the schema refuses, so such an event is never queued; a
        refused payload is a DeviceError ``invalid_code`` and nothing is written."""
        try:
            checked = payload_dict(validate_payload(kind, payload))
        except PayloadError as exc:
            raise DeviceError(invalid_code, str(exc)) from None
        return self.append_event(
            conn, key, device_id=device_id, kind=kind, device_time=device_time, payload=checked
        )

    def append_event(
        self,
        conn: sqlite3.Connection,
        key: Ed25519PrivateKey,
        *,
        device_id: str,
        kind: str,
        device_time: int,
        payload: dict[str, Any],
    ) -> AppendedEvent:
        """Add the next chained, signed event; call inside ``transaction()``."""
        last = conn.execute("SELECT seq, hash FROM outbox ORDER BY seq DESC LIMIT 1").fetchone()
        seq, prev_hash = (1, GENESIS_HASH) if last is None else (last[0] + 1, last[1])
        event = build_event(
            key,
            device_id=device_id,
            seq=seq,
            kind=kind,
            device_time=device_time,
            payload=payload,
            prev_hash=prev_hash,
        )
        conn.execute(
            "INSERT INTO outbox (seq, kind, device_time, payload, prev_hash, hash, signature)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                seq,
                kind,
                device_time,
                _payload_encoder.encode(payload).decode("utf-8"),
                prev_hash,
                event.hash,
                event.signature,
            ),
        )
        return AppendedEvent(seq, event.hash)

    def events_after(self, device_id: str, after_seq: int, limit: int) -> list[Event]:
        """Outbox events with seq > ``after_seq`` in seq order, at most ``limit``."""
        rows = self.conn.execute(
            "SELECT seq, kind, device_time, payload, prev_hash, hash, signature FROM outbox"
            " WHERE seq > ? ORDER BY seq LIMIT ?",
            (after_seq, limit),
        ).fetchall()
        return [
            Event(
                device_id=device_id,
                seq=r[0],
                kind=r[1],
                device_time=r[2],
                payload=_payload_decoder.decode(r[3]),
                prev_hash=r[4],
                hash=r[5],
                signature=r[6],
            )
            for r in rows
        ]

    def pending_events(self, limit: int, device_id: str | None = None) -> list[Event]:
        """Events the server has not accepted yet, oldest first."""
        return self.events_after(device_id or self.device_id, self.accepted_seq(), limit)

    def last_seq(self) -> int:
        row = self.conn.execute("SELECT MAX(seq) FROM outbox").fetchone()
        return row[0] or 0

    def accepted_seq(self) -> int:
        return self.get_meta(ACCEPTED_SEQ) or 0

    def record_accepted(self, accepted_seq: int) -> None:
        """The server holds every event up to ``accepted_seq`` (it may be lower than before:
        a restored server lost events, which are then pushed again)."""
        with self.transaction() as conn:
            before = self.accepted_seq()
            # Only the rows whose state changes: the outbox keeps every event ever made.
            if accepted_seq >= before:
                conn.execute(
                    "UPDATE outbox SET pushed = 1 WHERE seq > ? AND seq <= ?",
                    (before, accepted_seq),
                )
            else:
                conn.execute("UPDATE outbox SET pushed = 0 WHERE seq > ?", (accepted_seq,))
            conn.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                (ACCEPTED_SEQ, str(accepted_seq)),
            )

    # -- status ----------------------------------------------------------------------------

    def status(self) -> DeviceStatus:
        meta = dict(self.conn.execute("SELECT key, value FROM meta").fetchall())

        def as_int(key: str) -> int | None:
            value = meta.get(key)
            return None if value is None else int(value)

        accepted = as_int(ACCEPTED_SEQ) or 0
        last_seq = self.last_seq()
        online = meta.get(ONLINE)
        return DeviceStatus(
            unsynced=max(last_seq - accepted, 0),
            last_sync_at=as_int(LAST_SYNC_AT),
            last_push_at=as_int(LAST_PUSH_AT),
            last_pull_at=as_int(LAST_PULL_AT),
            cursor=meta.get(CURSOR),
            epoch=meta.get(EPOCH),
            online=None if online is None else online == "1",
            last_error=meta.get(LAST_ERROR),
            accepted_seq=accepted,
            fork_seq=as_int(FORK_SEQ),
            last_seq=last_seq,
            clock_offset_ms=as_int(CLOCK_OFFSET_MS) or 0,
            tickets=self.ticket_count(),
            last_error_code=meta.get(LAST_ERROR_CODE),
        )


def _create_private(path: Path) -> None:
    """Create the store file readable by its owner only (SQLite gives its -wal and -shm
    files the same mode), unless it exists."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    os.close(fd)


def _split_sql(script: str) -> list[str]:
    """Split a migration into statements (sqlite3.complete_statement handles triggers)."""
    statements: list[str] = []
    buffer = ""
    for line in script.splitlines(keepends=True):
        if line.strip().startswith("--") and not buffer.strip():
            continue
        buffer += line
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        statements.append(buffer.strip())
    return statements
