"""Tickets: all-or-nothing CSV import, revocation (tombstones), signed tickets, search."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec
import sqlalchemy as sa

from fieldpass.server import keys, schema
from fieldpass.server.db import is_postgres, reading
from fieldpass.server.errors import ApiError, not_found
from fieldpass.server.services import changes
from fieldpass.server.services.common import audit, clean_text, dumps, insert_rows
from fieldpass.server.services.csv_import import (
    RowError,
    decode_csv,
    invalid_rows,
    read_records,
)
from fieldpass.server.services.events import require_event
from fieldpass.sync.checkin import REVOKED_STATUSES
from fieldpass.sync.clock import to_iso
from fieldpass.sync.codes import (
    SIGNED_PREFIX,
    InvalidCode,
    SignedTicket,
    encode_signed_ticket,
    parse_code,
)

CSV_COLUMNS = ("barcode", "sector", "row", "seat", "holder_name", "status")
REQUIRED_COLUMNS = ("barcode", "sector")
TICKET_STATUSES = frozenset({"VALID"}) | REVOKED_STATUSES
REVOKE_STATUSES = ("REVOKED", "CANCELLED", "REFUNDED", "BLACKLISTED")
#: Imports at least this large refresh PostgreSQL's statistics of the tickets table.
ANALYZE_AFTER_ROWS = 1000
_LIMITS = {"sector": 50, "row": 20, "seat": 20, "holder_name": 200}


@dataclass(frozen=True)
class TicketRow:
    line: int
    barcode: str
    sector: str
    row: str
    seat: str
    holder: str
    status: str


def validate_ticket_csv(text: str) -> tuple[list[TicketRow], list[RowError]]:
    """Check every row of an import file; returns the rows and every problem found.

    Pure, so the CLI and the server agree; the import is refused if any error exists.
    """
    found = read_records(
        text,
        allowed=CSV_COLUMNS,
        required=REQUIRED_COLUMNS,
        expected_header=",".join(CSV_COLUMNS),
    )
    errors = found.errors
    rows: list[TicketRow] = []
    seen: dict[str, int] = {}
    for line, values in found.records:
        row_errors = _check_row(values)
        barcode = values["barcode"]
        if not row_errors:
            if barcode in seen:
                row_errors.append(f"duplicate barcode {barcode!r} (also on line {seen[barcode]})")
            else:
                seen[barcode] = line
        if row_errors:
            errors.extend(RowError(line, message) for message in row_errors)
            continue
        rows.append(
            TicketRow(
                line=line,
                barcode=barcode,
                sector=values["sector"],
                row=values.get("row", ""),
                seat=values.get("seat", ""),
                holder=values.get("holder_name", ""),
                status=(values.get("status") or "VALID").upper(),
            )
        )
    if not rows and not errors:
        errors.append(RowError(max(found.last_line, 1), "the file has no ticket rows"))
    errors.sort(key=lambda error: error.line)  # structural and row problems, in file order
    return rows, errors


def _check_row(values: dict[str, str]) -> list[str]:
    problems = []
    barcode = values["barcode"]
    if not barcode:
        problems.append("barcode is required")
    elif barcode.startswith(SIGNED_PREFIX):
        problems.append("barcode: signed-ticket codes cannot be imported")
    else:
        try:
            parse_code(barcode)
        except InvalidCode as exc:
            problems.append(f"barcode: {exc}")
    if not values["sector"]:
        problems.append("sector is required")
    for name, limit in _LIMITS.items():
        value = values.get(name, "")
        if len(value) > limit:
            problems.append(f"{name} is longer than {limit} characters")
        elif not value.isprintable():
            problems.append(f"{name} contains control characters")
    status = (values.get("status") or "VALID").upper()
    if status not in TICKET_STATUSES:
        allowed = ", ".join(sorted(TICKET_STATUSES))
        problems.append(f"unknown status {status[:30]!r} (one of {allowed})")
    return problems


def ticket_change(ticket: dict[str, Any]) -> changes.NewChange:
    """The pulled form of a ticket: an upsert while admissible, else a tombstone."""
    if ticket["status"] in REVOKED_STATUSES:
        data = {
            "barcode": ticket["barcode"],
            "event_id": ticket["event_id"],
            "status": ticket["status"],
            "status_reason": ticket["status_reason"],
        }
        return changes.NewChange(
            ticket["event_id"], "ticket", ticket["barcode"], "tombstone", dumps(data)
        )
    data = {
        "barcode": ticket["barcode"],
        "event_id": ticket["event_id"],
        "sector": ticket["sector"],
        "row": ticket["row"],
        "seat": ticket["seat"],
        "holder": ticket["holder"],
        "status": ticket["status"],
        "status_reason": ticket["status_reason"],
    }
    return changes.NewChange(ticket["event_id"], "ticket", ticket["barcode"], "upsert", dumps(data))


def import_tickets(
    engine: sa.Engine, org_id: str, actor: str, event_id: str, body: bytes, *, now: int
) -> dict[str, int]:
    """Validate the whole file, then insert/update every row in one transaction."""
    rows, errors = validate_ticket_csv(decode_csv(body))
    if errors:
        raise invalid_rows(errors)
    t = schema.tickets
    with engine.begin() as conn:
        require_event(conn, org_id, event_id)
        existing = dict(
            conn.execute(sa.select(t.c.barcode, t.c.id).where(t.c.event_id == event_id)).all()
        )
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        new_changes: list[changes.NewChange] = []
        for row in rows:
            ticket = {
                "event_id": event_id,
                "barcode": row.barcode,
                "sector": row.sector,
                "row": row.row,
                "seat": row.seat,
                "holder": row.holder,
                "status": row.status,
                "status_reason": "" if row.status == "VALID" else row.status.lower(),
                "updated_at": now,
            }
            ticket_id = existing.get(row.barcode)
            if ticket_id is None:
                inserts.append({**ticket, "created_at": now})
            else:
                updates.append({**ticket, "ticket_id": ticket_id})
            new_changes.append(ticket_change(ticket))
        insert_rows(conn, t, inserts)
        if updates:
            conn.execute(
                sa.update(t)
                .where(t.c.id == sa.bindparam("ticket_id"))
                .values(
                    sector=sa.bindparam("sector"),
                    row=sa.bindparam("row"),
                    seat=sa.bindparam("seat"),
                    holder=sa.bindparam("holder"),
                    status=sa.bindparam("status"),
                    status_reason=sa.bindparam("status_reason"),
                    updated_at=sa.bindparam("updated_at"),
                ),
                updates,
            )
        _ensure_sectors(conn, event_id, {row.sector for row in rows})
        audit(
            conn,
            org_id=org_id,
            actor=actor,
            action="tickets.import",
            subject=event_id,
            at=now,
            details={"imported": len(inserts), "updated": len(updates)},
        )
        changes.emit(conn, org_id, new_changes, now)
    if is_postgres(engine) and len(rows) >= ANALYZE_AFTER_ROWS:
        # Fresh planner statistics: without them PostgreSQL scans the whole event's
        # tickets on every push until autovacuum gets round to it.
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE tickets")
    return {"imported": len(inserts), "updated": len(updates), "total": len(rows)}


def _ensure_sectors(conn: sa.Connection, event_id: str, codes: set[str]) -> None:
    s = schema.sectors
    known = set(conn.execute(sa.select(s.c.code).where(s.c.event_id == event_id)).scalars())
    missing = sorted(codes - known)
    if missing:
        conn.execute(sa.insert(s), [{"event_id": event_id, "code": code} for code in missing])


def ticket_view(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "barcode": row.barcode,
        "event_id": row.event_id,
        "sector": row.sector,
        "row": row.row,
        "seat": row.seat,
        "holder": row.holder,
        "status": row.status,
        "status_reason": row.status_reason,
        "first_entry_at": to_iso(row.first_entry_at),
        "first_entry_gate": row.first_entry_gate,
        "first_entry_device": row.first_entry_device,
    }


class RevokeRequest(msgspec.Struct, forbid_unknown_fields=True):
    reason: str
    status: str = "REVOKED"


def revoke_ticket(
    engine: sa.Engine,
    org_id: str,
    actor: str,
    event_id: str,
    barcode: str,
    body: RevokeRequest,
    *,
    now: int,
) -> dict[str, Any]:
    reason = clean_text(body.reason, "reason", max_length=500)
    status = body.status.strip().upper()
    if status not in REVOKE_STATUSES:
        raise ApiError("invalid", f"status must be one of {', '.join(REVOKE_STATUSES)}")
    t = schema.tickets
    with engine.begin() as conn:
        require_event(conn, org_id, event_id)
        ticket_id = revoke_in(
            conn, org_id, actor, event_id, barcode, status=status, reason=reason, now=now
        )
        if ticket_id is None:
            raise not_found(f"ticket {barcode[:64]!r}")
        updated = conn.execute(sa.select(t).where(t.c.id == ticket_id)).one()
    return ticket_view(updated)


def revoke_in(
    conn: sa.Connection,
    org_id: str,
    actor: str,
    event_id: str,
    barcode: str,
    *,
    status: str,
    reason: str,
    now: int,
) -> int | None:
    """In the caller's transaction: set the ticket's status, emit its tombstone for the
    gates, audit; the ticket id, or None if the event has no such ticket."""
    t = schema.tickets
    row = conn.execute(sa.select(t).where(t.c.event_id == event_id, t.c.barcode == barcode)).first()
    if row is None:
        return None
    conn.execute(
        sa.update(t)
        .where(t.c.id == row.id)
        .values(status=status, status_reason=reason, updated_at=now)
    )
    ticket = {**row._asdict(), "status": status, "status_reason": reason}
    changes.emit(conn, org_id, [ticket_change(ticket)], now)
    audit(
        conn,
        org_id=org_id,
        actor=actor,
        action="ticket.revoke",
        subject=f"{event_id}:{barcode}",
        at=now,
        details={"status": status, "reason": reason},
    )
    return row.id


class SignedTicketRequest(msgspec.Struct, forbid_unknown_fields=True):
    barcode: str
    sector: str = ""
    row: str = ""
    seat: str = ""
    holder: str = ""


def issue_signed_ticket(
    engine: sa.Engine,
    org_id: str,
    actor: str,
    event_id: str,
    body: SignedTicketRequest,
    *,
    now: int,
    key: bytes,
) -> dict[str, str]:
    """Sign a ticket with the event's key and store it, so gates accept it even offline."""
    barcode = body.barcode.strip()
    try:
        if barcode.startswith(SIGNED_PREFIX):
            raise InvalidCode("a barcode cannot start with FP1.")
        parse_code(barcode)
    except InvalidCode as exc:
        raise ApiError("invalid", f"barcode: {exc}") from exc
    sector = clean_text(body.sector, "sector", max_length=50, required=False)
    row_text = clean_text(body.row, "row", max_length=20, required=False)
    seat = clean_text(body.seat, "seat", max_length=20, required=False)
    holder = clean_text(body.holder, "holder", max_length=200, required=False)
    t = schema.tickets
    with engine.begin() as conn:
        event = require_event(conn, org_id, event_id)
        taken = conn.execute(
            sa.select(t.c.id).where(t.c.event_id == event_id, t.c.barcode == barcode)
        ).first()
        if taken is not None:
            raise ApiError("conflict", f"ticket {barcode!r} already exists for this event")
        signed = SignedTicket(
            b=barcode,
            e=event_id,
            s=sector,
            r=row_text,
            n=seat,
            h=holder,
            vf=event.valid_from,
            vt=event.valid_until,
        )
        ticket_key = keys.open_ticket_key(key, event_id, event.ticket_private_key)
        code = encode_signed_ticket(ticket_key, signed)
        ticket = {
            "event_id": event_id,
            "barcode": barcode,
            "sector": sector,
            "row": row_text,
            "seat": seat,
            "holder": holder,
            "status": "VALID",
            "status_reason": "",
        }
        conn.execute(sa.insert(t).values(**ticket, signed=True, created_at=now, updated_at=now))
        if sector:
            _ensure_sectors(conn, event_id, {sector})
        changes.emit(conn, org_id, [ticket_change(ticket)], now)
        audit(conn, org_id=org_id, actor=actor, action="ticket.sign", subject=barcode, at=now)
    return {"code": code}


def search_tickets(
    engine: sa.Engine, org_id: str, event_id: str, search: str, limit: int
) -> list[dict[str, Any]]:
    t = schema.tickets
    limit = max(1, min(limit, 500))
    query = sa.select(t).where(t.c.event_id == event_id)
    text = search.strip()
    if text:
        escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(
            sa.or_(
                t.c.barcode.like(escaped + "%", escape="\\"),
                sa.func.lower(t.c.holder).like("%" + escaped.lower() + "%", escape="\\"),
            )
        )
    with reading(engine) as conn:
        require_event(conn, org_id, event_id)
        rows = conn.execute(query.order_by(t.c.barcode).limit(limit)).all()
    return [ticket_view(row) for row in rows]
