"""Petrol PINs: create, import (all or nothing), list, cancel; holders sealed at rest.

Uniqueness: a PIN value is unique among the ACTIVE PINs of an organization. Every write
takes the organization's PIN lock first (PostgreSQL: a transaction-scoped advisory lock;
SQLite: the database write lock every transaction takes with ``BEGIN IMMEDIATE``), then
checks and inserts; the partial unique index ``ux_petrol_pins_active_pin`` backs this up.

Expiry: chosen as *sweep on write, compute on read*. Every PIN write first marks the
organization's ACTIVE PINs past ``expires_at`` as EXPIRED in the same transaction (so an
expired value is free again and the unique index stays truthful); reads report
``effective_status`` so a PIN is shown EXPIRED the moment it expires, before any sweep.

Holders are sealed with AES-256-GCM (``fieldpass.sync.sealing``) under the key from the
server's key file; the associated data is the PIN row id, so a sealed value moved to
another row does not open. Without a key, anything reading or writing holders is
refused with ``key_missing`` (cancelling, which needs no holder data, still works).

Change log: every approved petrol kiosk of the PIN's event gets each PIN as a
``petrol_pin`` change addressed to it alone (``changes.device_audience``), its holders
re-sealed for that device (``fieldpass.sync.sealing.seal_for_device``), so the change
carries ciphertext only and a gate never receives it. Cancelled and expired PINs go to the
same kiosks as tombstones (no holder data). A kiosk approved later gets the event's ACTIVE
PINs in its approval transaction (``initial_pin_changes``); approval takes the same
organization PIN lock as PIN writers, so a PIN created concurrently reaches it either
through its approval or through the PIN write, never through neither.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import msgspec
import sqlalchemy as sa

from fieldpass.server import schema
from fieldpass.server.db import is_postgres, reading
from fieldpass.server.errors import ApiError, not_found
from fieldpass.server.services import changes
from fieldpass.server.services.common import audit, clean_text, dumps, insert_rows, loads
from fieldpass.server.services.csv_import import RowError, decode_csv, invalid_rows, read_records
from fieldpass.server.services.events import require_event
from fieldpass.sync import sealing
from fieldpass.sync.bounds import Int32
from fieldpass.sync.clock import from_iso, to_iso
from fieldpass.sync.identity import Holder, HolderError, make_holder, parse_holder
from fieldpass.sync.pins import (
    MAX_QUANTITY,
    PIN_STATUSES,
    PinRuleError,
    check_quantity,
    check_transition,
    effective_status,
    is_pin,
)

#: Above this many ACTIVE PINs an organization's 100,000 values get too crowded to draw from.
MAX_ACTIVE_PINS = 80_000
#: Random draws before giving up on finding a free value (each hits with p >= 0.2).
MAX_PIN_ATTEMPTS = 100
MAX_LIST = 100_000
DEFAULT_CANCEL_REASON = "cancelled by an admin"
HOLDER_COLUMNS = tuple(f"holder_{n}" for n in range(1, MAX_QUANTITY + 1))
PIN_CSV_COLUMNS = ("pin", "quantity", "expires_at", *HOLDER_COLUMNS)
PIN_CSV_REQUIRED = ("quantity", "holder_1")

PIN_ENTITY = "petrol_pin"

PinGenerator = Callable[[], str]


class HolderIn(msgspec.Struct, forbid_unknown_fields=True):
    full_name: str
    date_of_birth: str
    nationality: str
    document_number: str
    document_type: str | None = None  # informative; derived from the number and nationality


class PinCreate(msgspec.Struct, forbid_unknown_fields=True):
    quantity: Int32
    holders: list[HolderIn]
    expires_at: str | None = None
    pin: str | None = None


class PinCancel(msgspec.Struct, forbid_unknown_fields=True):
    reason: str = ""


# -- holders at rest ---------------------------------------------------------------------


def require_key(key: bytes | None) -> bytes:
    if key is None:
        raise ApiError(
            "key_missing",
            "this server has no key for PIN holder data: create it with `fieldpass server "
            "init` (or point --key-file / $FIELDPASS_KEY_FILE at it) and restart the server",
        )
    return key


def _associated_data(pin_id: str) -> bytes:
    return f"fieldpass:petrol_pins:{pin_id}".encode()


def seal_holders(key: bytes, pin_id: str, holders: list[Holder]) -> str:
    plaintext = dumps([holder.to_dict() for holder in holders]).encode()
    return sealing.seal(key, plaintext, _associated_data(pin_id))


def open_holders(key: bytes, pin_id: str, sealed: str) -> list[Holder]:
    try:
        plaintext = sealing.unseal(key, sealed, _associated_data(pin_id))
    except sealing.SealError as exc:
        if exc.code == "wrong_key":
            raise ApiError(
                "key_mismatch",
                f"PIN {pin_id} was sealed with another key than this server's key file",
            ) from None
        raise ApiError("key_mismatch", f"PIN {pin_id}: holder data cannot be opened") from None
    return [Holder.from_dict(item) for item in loads(plaintext.decode())]


# -- rules shared by create and import ----------------------------------------------------


def _today(now: int) -> date:
    return datetime.fromtimestamp(now / 1000, tz=UTC).date()


def _rule_error(exc: PinRuleError | HolderError) -> ApiError:
    return ApiError(exc.code, exc.message)


def _lock_org_pins(conn: sa.Connection, org_id: str) -> None:
    """Serialise PIN writers of one organization until this transaction ends."""
    if is_postgres(conn):
        digest = hashlib.sha256(f"fieldpass:petrol_pins:{org_id}".encode()).digest()
        conn.execute(
            sa.text("SELECT pg_advisory_xact_lock(:key)"),
            {"key": int.from_bytes(digest[:8], "big", signed=True)},
        )
    # SQLite: the transaction already holds the database write lock (BEGIN IMMEDIATE).


def expire_pins(conn: sa.Connection, org_id: str, now: int) -> list[dict[str, Any]]:
    """Mark the organization's ACTIVE PINs past their expiry EXPIRED; returns them.

    Call under the organization's PIN lock (the selected rows are the updated rows).
    """
    p = schema.petrol_pins
    expired = (p.c.organization_id == org_id, p.c.status == "ACTIVE", p.c.expires_at <= now)
    rows = conn.execute(
        sa.select(p.c.id, p.c.event_id, p.c.pin, p.c.quantity, p.c.expires_at).where(*expired)
    ).all()
    if rows:
        conn.execute(sa.update(p).where(*expired).values(status="EXPIRED", updated_at=now))
    return [{**row._mapping, "status": "EXPIRED"} for row in rows]


def sweep_expired(engine: sa.Engine, org_id: str, now: int) -> int:
    """Expire the organization's PINs past expiry and tell the kiosks; how many expired.

    Run before a petrol kiosk's pull, so an expiry reaches kiosks without waiting for the
    next PIN write (the kiosk also refuses a PIN past ``expires_at`` by itself).
    """
    p = schema.petrol_pins
    with reading(engine) as conn:
        due = conn.execute(
            sa.select(p.c.id)
            .where(p.c.organization_id == org_id, p.c.status == "ACTIVE", p.c.expires_at <= now)
            .limit(1)
        ).first()
    if due is None:  # the common case: no write transaction, no lock
        return 0
    with engine.begin() as conn:
        _lock_org_pins(conn, org_id)
        expired = expire_pins(conn, org_id, now)
        changes.emit(conn, org_id, pin_tombstones(conn, expired), now)
    return len(expired)


# -- the change log: PINs for the petrol kiosks of their event ------------------------------


def petrol_devices(conn: sa.Connection, event_ids: set[str]) -> dict[str, list[str]]:
    """Approved petrol kiosks of each event (event id -> device ids)."""
    if not event_ids:
        return {}
    d = schema.devices
    rows = conn.execute(
        sa.select(d.c.event_id, d.c.id)
        .where(
            d.c.role == changes.PETROL_ROLE,
            d.c.status == "approved",
            d.c.event_id.in_(sorted(event_ids)),
        )
        .order_by(d.c.id)
    ).all()
    found: dict[str, list[str]] = {}
    for event_id, device_id in rows:
        found.setdefault(event_id, []).append(device_id)
    return found


def _pin_change_data(pin: Any) -> dict[str, Any]:
    """What every PIN change says besides holders (no personal data)."""
    return {
        "id": pin["id"],
        "pin": pin["pin"],
        "event_id": pin["event_id"],
        "quantity": pin["quantity"],
        "status": pin["status"],
        "expires_at": pin["expires_at"],
    }


def _open_sealed(key: bytes, pin_id: str, sealed: str) -> bytes:
    try:
        return sealing.unseal(key, sealed, _associated_data(pin_id))
    except sealing.SealError:
        raise ApiError(
            "key_mismatch", f"PIN {pin_id}: holder data cannot be opened with this server's key"
        ) from None


def pin_upserts(
    key: bytes, pins: list[Any], devices: dict[str, list[str]]
) -> list[changes.NewChange]:
    """One ``petrol_pin`` upsert per (PIN, kiosk of its event), holders sealed for the kiosk.

    ``pins`` are mappings with the petrol_pins columns (status ACTIVE).
    """
    device_keys: dict[str, bytes] = {}
    out: list[changes.NewChange] = []
    for pin in pins:
        kiosks = devices.get(pin["event_id"], [])
        if not kiosks:
            continue
        plaintext = _open_sealed(key, pin["id"], pin["ticket_holders_json"])
        for device_id in kiosks:
            device_key = device_keys.get(device_id)
            if device_key is None:
                device_key = device_keys[device_id] = sealing.device_key(key, device_id)
            data = _pin_change_data(pin)
            data["holders"] = sealing.seal_for_device(device_key, device_id, pin["id"], plaintext)
            out.append(
                changes.NewChange(
                    pin["event_id"],
                    PIN_ENTITY,
                    pin["id"],
                    "upsert",
                    dumps(data),
                    audience=changes.device_audience(device_id),
                )
            )
    return out


def pin_tombstones(conn: sa.Connection, pins: list[Any]) -> list[changes.NewChange]:
    """``petrol_pin`` tombstones (cancelled, expired) for the kiosks of each PIN's event."""
    if not pins:
        return []
    devices = petrol_devices(conn, {pin["event_id"] for pin in pins})
    return [
        changes.NewChange(
            pin["event_id"],
            PIN_ENTITY,
            pin["id"],
            "tombstone",
            dumps(_pin_change_data(pin)),
            audience=changes.device_audience(device_id),
        )
        for pin in pins
        for device_id in devices.get(pin["event_id"], [])
    ]


def initial_pin_changes(
    conn: sa.Connection, org_id: str, event_id: str, device_id: str, *, key: bytes | None, now: int
) -> list[changes.NewChange]:
    """For a petrol kiosk being approved: the event's ACTIVE PINs, sealed for it, plus the
    tombstones of PINs this call expires. Takes the organization's PIN lock."""
    _lock_org_pins(conn, org_id)
    expired = expire_pins(conn, org_id, now)
    p = schema.petrol_pins
    active = conn.execute(
        sa.select(p)
        .where(p.c.event_id == event_id, p.c.status == "ACTIVE")
        .order_by(p.c.created_at, p.c.id)
    ).all()
    out = pin_tombstones(conn, expired)
    if active:
        rows = [row._mapping for row in active]
        out += pin_upserts(require_key(key), rows, {event_id: [device_id]})
    return out


def _active_pins(conn: sa.Connection, org_id: str) -> set[str]:
    p = schema.petrol_pins
    return set(
        conn.execute(
            sa.select(p.c.pin).where(p.c.organization_id == org_id, p.c.status == "ACTIVE")
        ).scalars()
    )


def _check_room(active: int, adding: int) -> None:
    if active + adding > MAX_ACTIVE_PINS:
        raise ApiError(
            "pin_space_full",
            f"the organization has {active} active PINs; {adding} more would exceed "
            f"{MAX_ACTIVE_PINS} (cancel unused PINs or let them expire)",
        )


def _draw_pin(new_pin: PinGenerator, taken: set[str]) -> str:
    for _ in range(MAX_PIN_ATTEMPTS):
        candidate = new_pin()
        if not is_pin(candidate):
            raise ValueError(f"the PIN generator produced {candidate!r}")
        if candidate not in taken:
            return candidate
    raise ApiError(
        "pin_space_full", f"no free PIN found in {MAX_PIN_ATTEMPTS} random draws; try again"
    )


def _expiry(expires_at: int | None, event: Any, now: int) -> int:
    """The PIN's expiry: as given (must be in the future), else the event's start."""
    if expires_at is None:
        if event.starts_at <= now:
            raise ApiError("invalid", "the event has started: give expires_at explicitly")
        return event.starts_at
    if expires_at <= now:
        raise ApiError("invalid", f"expires_at {to_iso(expires_at)} is not in the future")
    return expires_at


def _holders_for(quantity: int, holders: list[Holder]) -> None:
    if len(holders) != quantity:
        raise ApiError(
            "invalid_holder",
            f"quantity is {quantity} but {len(holders)} holder(s) given: one holder per ticket",
        )


# -- views -------------------------------------------------------------------------------


def pin_view(
    row: Any, now: int, *, key: bytes | None = None, masked: bool = False, holders: bool = True
) -> dict[str, Any]:
    view = {
        "id": row.id,
        "pin": row.pin,
        "event_id": row.event_id,
        "quantity": row.quantity,
        "status": effective_status(row.status, row.expires_at, now),
        "expires_at": to_iso(row.expires_at),
        "created_at": to_iso(row.created_at),
        "used_at": to_iso(row.used_at),
        "cancelled_at": to_iso(row.cancelled_at),
        "cancellation_reason": row.cancellation_reason,
    }
    if holders:
        opened = open_holders(require_key(key), row.id, row.ticket_holders_json)
        view["holders"] = [h.masked() if masked else h.to_dict() for h in opened]
    return view


# -- create ------------------------------------------------------------------------------


def create_pin(
    engine: sa.Engine,
    org_id: str,
    actor: str,
    event_id: str,
    body: PinCreate,
    *,
    key: bytes | None,
    now: int,
    new_id: Callable[[], str],
    new_pin: PinGenerator,
) -> dict[str, Any]:
    key = require_key(key)
    try:
        quantity = check_quantity(body.quantity)
        holders = [
            make_holder(
                h.full_name, h.date_of_birth, h.nationality, h.document_number, today=_today(now)
            )
            for h in body.holders
        ]
        wanted = None if body.pin in (None, "") else body.pin
        if wanted is not None and not is_pin(wanted):
            raise PinRuleError("invalid_pin", f"a PIN is exactly 5 digits, got {wanted[:20]!r}")
    except (PinRuleError, HolderError) as exc:
        raise _rule_error(exc) from None
    _holders_for(quantity, holders)
    expires_at = _parse_time(body.expires_at, "expires_at")
    p = schema.petrol_pins
    pin_id = new_id()
    try:
        with engine.begin() as conn:
            event = require_event(conn, org_id, event_id)
            expires_at = _expiry(expires_at, event, now)
            _lock_org_pins(conn, org_id)
            expired = expire_pins(conn, org_id, now)
            active = _active_pins(conn, org_id)
            _check_room(len(active), 1)
            if wanted is not None and wanted in active:
                raise ApiError("pin_taken", f"PIN {wanted} is already active in this organization")
            pin = wanted or _draw_pin(new_pin, active)
            conn.execute(
                sa.insert(p).values(
                    id=pin_id,
                    organization_id=org_id,
                    event_id=event_id,
                    pin=pin,
                    quantity=quantity,
                    ticket_holders_json=seal_holders(key, pin_id, holders),
                    status="ACTIVE",
                    expires_at=expires_at,
                    created_by=actor,
                    created_at=now,
                    updated_at=now,
                )
            )
            audit(
                conn,
                org_id=org_id,
                actor=actor,
                action="pin.create",
                subject=pin_id,
                at=now,
                details={"event_id": event_id, "quantity": quantity},  # never the holders
            )
            row = conn.execute(sa.select(p).where(p.c.id == pin_id)).one()
            kiosks = petrol_devices(conn, {event_id})
            new_changes = pin_tombstones(conn, expired)
            new_changes += pin_upserts(key, [row._mapping], kiosks)
            changes.emit(conn, org_id, new_changes, now)
    except sa.exc.IntegrityError as exc:
        if not _is_active_pin_clash(exc):
            raise
        # Only reachable if something bypassed the lock: the partial unique index held.
        raise ApiError("pin_taken", "that PIN became active concurrently; try again") from exc
    return pin_view(row, now, key=key)


def _is_active_pin_clash(exc: sa.exc.IntegrityError) -> bool:
    text = str(exc.orig)
    return (
        "ux_petrol_pins_active_pin" in text
        or "petrol_pins.organization_id, petrol_pins.pin" in text
    )


def _parse_time(value: str | None, field: str) -> int | None:
    if value is None or not value.strip():
        return None
    try:
        return from_iso(value)
    except (ValueError, OverflowError):
        raise ApiError("invalid", f"{field}: not an ISO 8601 time: {value[:40]!r}") from None


# -- import ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PinRow:
    line: int
    pin: str | None
    quantity: int
    expires_at: int | None
    holders: list[Holder]


def validate_pin_csv(text: str, *, now: int) -> tuple[list[PinRow], list[RowError]]:
    """Check every row of a PIN import; returns the rows and every problem found.

    Header: ``pin,quantity,expires_at,holder_1,...,holder_10`` (``pin`` and ``expires_at``
    optional, as are holder columns beyond those needed); each holder cell is
    ``NAME;YYYY-MM-DD;NATIONALITY;OIB_OR_PASSPORT``.
    """
    found = read_records(
        text,
        allowed=PIN_CSV_COLUMNS,
        required=PIN_CSV_REQUIRED,
        expected_header="pin,quantity,expires_at,holder_1,...,holder_10",
    )
    today = _today(now)
    rows: list[PinRow] = []
    errors = found.errors
    seen: dict[str, int] = {}
    for line, values in found.records:
        row, problems = _check_pin_row(line, values, today, now)
        if row is not None and row.pin is not None:
            if row.pin in seen:
                problems.append(f"duplicate pin {row.pin} (also on line {seen[row.pin]})")
            else:
                seen[row.pin] = line
        if problems:
            errors.extend(RowError(line, message) for message in problems)
        elif row is not None:
            rows.append(row)
    if not rows and not errors:
        errors.append(RowError(max(found.last_line, 1), "the file has no PIN rows"))
    errors.sort(key=lambda error: error.line)  # structural and row problems, in file order
    return rows, errors


def _check_pin_row(
    line: int, values: dict[str, str], today: date, now: int
) -> tuple[PinRow | None, list[str]]:
    problems: list[str] = []
    pin = values.get("pin") or None
    if pin is not None and not is_pin(pin):
        problems.append(f"pin: a PIN is exactly 5 digits, got {pin[:20]!r}")
    quantity = 0
    raw_quantity = values["quantity"]
    if not (raw_quantity.isascii() and raw_quantity.isdigit() and len(raw_quantity) <= 3):
        problems.append(f"quantity: not a whole number: {raw_quantity[:20]!r}")
    else:
        try:
            quantity = check_quantity(int(raw_quantity))
        except PinRuleError as exc:
            problems.append(exc.message)
    expires_at = None
    if values.get("expires_at"):
        try:
            expires_at = from_iso(values["expires_at"])
        except (ValueError, OverflowError):
            problems.append(f"expires_at: not an ISO 8601 time: {values['expires_at'][:40]!r}")
        else:
            if expires_at <= now:
                problems.append(f"expires_at {values['expires_at'][:40]} is not in the future")
    holders: list[Holder] = []
    for column in HOLDER_COLUMNS:
        cell = values.get(column, "")
        if not cell:
            continue
        try:
            holders.append(parse_holder(cell, today=today))
        except HolderError as exc:
            problems.append(f"{column}: {exc.message}")
    if quantity and not problems and len(holders) != quantity:
        problems.append(
            f"quantity is {quantity} but {len(holders)} holder(s) given: one holder per ticket"
        )
    if problems:
        return None, problems
    return PinRow(line, pin, quantity, expires_at, holders), []


def import_pins(
    engine: sa.Engine,
    org_id: str,
    actor: str,
    event_id: str,
    body: bytes,
    *,
    key: bytes | None,
    now: int,
    new_id: Callable[[], str],
    new_pin: PinGenerator,
) -> dict[str, Any]:
    """Validate the whole file, then create every PIN in one transaction (or none)."""
    key = require_key(key)
    rows, errors = validate_pin_csv(decode_csv(body), now=now)
    if errors:
        raise invalid_rows(errors)
    p = schema.petrol_pins
    created: list[dict[str, Any]] = []
    with engine.begin() as conn:
        event = require_event(conn, org_id, event_id)
        if event.starts_at <= now and any(row.expires_at is None for row in rows):
            raise invalid_rows(
                [
                    RowError(row.line, "the event has started: give expires_at")
                    for row in rows
                    if row.expires_at is None
                ]
            )
        _lock_org_pins(conn, org_id)
        expired = expire_pins(conn, org_id, now)
        active = _active_pins(conn, org_id)
        clashes = [
            RowError(row.line, f"pin {row.pin} is already active in this organization")
            for row in rows
            if row.pin is not None and row.pin in active
        ]
        if clashes:
            raise invalid_rows(clashes)
        _check_room(len(active), len(rows))
        taken = active | {row.pin for row in rows if row.pin is not None}
        inserts = []
        for row in rows:
            pin = row.pin
            if pin is None:
                pin = _draw_pin(new_pin, taken)
                taken.add(pin)
            pin_id = new_id()
            inserts.append(
                {
                    "id": pin_id,
                    "organization_id": org_id,
                    "event_id": event_id,
                    "pin": pin,
                    "quantity": row.quantity,
                    "ticket_holders_json": seal_holders(key, pin_id, row.holders),
                    "status": "ACTIVE",
                    "expires_at": row.expires_at or event.starts_at,
                    "created_by": actor,
                    "created_at": now,
                    "updated_at": now,
                }
            )
            created.append({"line": row.line, "id": pin_id, "pin": pin})
        insert_rows(conn, p, inserts)
        audit(
            conn,
            org_id=org_id,
            actor=actor,
            action="pins.import",
            subject=event_id,
            at=now,
            details={"imported": len(inserts)},
        )
        new_changes = pin_tombstones(conn, expired)
        new_changes += pin_upserts(key, inserts, petrol_devices(conn, {event_id}))
        changes.emit(conn, org_id, new_changes, now)
    return {"imported": len(created), "pins": created}


# -- list and cancel ---------------------------------------------------------------------


def list_pins(
    engine: sa.Engine,
    org_id: str,
    event_id: str,
    *,
    status: str | None,
    key: bytes | None,
    masked: bool,
    now: int,
    limit: int = MAX_LIST,
) -> list[dict[str, Any]]:
    """The event's PINs with holders (masked for viewers), by effective status."""
    key = require_key(key)
    p = schema.petrol_pins
    query = sa.select(p).where(p.c.organization_id == org_id, p.c.event_id == event_id)
    if status:
        wanted = status.strip().upper()
        if wanted not in PIN_STATUSES:
            raise ApiError("invalid", f"status must be one of {', '.join(PIN_STATUSES)}")
        if wanted == "ACTIVE":
            query = query.where(p.c.status == "ACTIVE", p.c.expires_at > now)
        elif wanted == "EXPIRED":
            query = query.where(
                sa.or_(
                    p.c.status == "EXPIRED", sa.and_(p.c.status == "ACTIVE", p.c.expires_at <= now)
                )
            )
        else:
            query = query.where(p.c.status == wanted)
    limit = max(1, min(limit, MAX_LIST))
    with reading(engine) as conn:
        require_event(conn, org_id, event_id)
        rows = conn.execute(query.order_by(p.c.created_at, p.c.id).limit(limit)).all()
    return [pin_view(row, now, key=key, masked=masked) for row in rows]


def _find_pin(conn: sa.Connection, org_id: str, ref: str) -> Any:
    """A PIN by value (the ACTIVE one, else the latest with that value) or by id."""
    p = schema.petrol_pins
    if is_pin(ref):
        return conn.execute(
            sa.select(p)
            .where(p.c.organization_id == org_id, p.c.pin == ref)
            .order_by((p.c.status == "ACTIVE").desc(), p.c.created_at.desc(), p.c.id.desc())
            .limit(1)
        ).first()
    return conn.execute(sa.select(p).where(p.c.organization_id == org_id, p.c.id == ref)).first()


def cancel_pin(
    engine: sa.Engine, org_id: str, actor: str, ref: str, body: PinCancel, *, now: int
) -> dict[str, Any]:
    """ACTIVE -> CANCELLED; any other status is refused with ``invalid_transition``."""
    reason = clean_text(body.reason, "reason", max_length=255, required=False)
    reason = reason or DEFAULT_CANCEL_REASON
    p = schema.petrol_pins
    with engine.begin() as conn:
        _lock_org_pins(conn, org_id)
        expired = expire_pins(conn, org_id, now)
        row = _find_pin(conn, org_id, ref.strip())
        if row is None:
            raise not_found(f"PIN {ref[:40]!r}")
        try:
            check_transition(row.status, "CANCELLED")
        except PinRuleError as exc:
            raise ApiError(exc.code, f"PIN {row.pin}: {exc.message}") from None
        updated = conn.execute(
            sa.update(p)
            .where(p.c.id == row.id, p.c.status == "ACTIVE")
            .values(
                status="CANCELLED", cancelled_at=now, cancellation_reason=reason, updated_at=now
            )
        ).rowcount
        if updated != 1:  # cannot happen under the lock; refuse rather than guess
            raise ApiError("invalid_transition", f"PIN {row.pin} changed concurrently")
        audit(
            conn,
            org_id=org_id,
            actor=actor,
            action="pin.cancel",
            subject=row.id,
            at=now,
            details={"pin": row.pin, "reason": reason},
        )
        row = conn.execute(sa.select(p).where(p.c.id == row.id)).one()
        changes.emit(conn, org_id, pin_tombstones(conn, [*expired, row._mapping]), now)
    return pin_view(row, now, holders=False)
