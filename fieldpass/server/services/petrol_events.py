"""Ingest of a petrol kiosk's events in seq order: reservations, their end (expired or
cancelled), sales (``petrol_sales``) completing a reservation, emergency reprints, and the
release of a seat block the admin is taking back (``seats.release_block``).

Runs inside the push transaction. Like a sale, nothing a kiosk reports is refused once its
payload is valid: what does not fit (a reservation id another kiosk used, an end or a sale
for a reservation already ended, a reprint of a barcode this kiosk never sold) is kept in
``ingested_events`` and flagged as one ``petrol_sale_problem`` conflict per event.

Reservation rows keep the seed's life cycle: RESERVED -> COMPLETED (a sale) | EXPIRED |
CANCELLED. The kiosk reports no separate identity check (a sale cannot happen without
it), so a sale sets ``identity_verified_at`` and ``completed_at`` together. Times are the
kiosk's device times corrected by its clock offset.

A refund (an admin settling a PIN redeemed twice) marks the sale refunded and revokes its
tickets as REFUNDED; the gate pull carries the revocations. Its seats stay SOLD with the
kiosk's block: the kiosk may have been offline since, its store still holds them sold,
and reselling a seat whose revoked paper ticket is still in a customer's hand invites a
dispute at the gate; an admin can sell those seats through another channel if needed.
"""

from __future__ import annotations

from typing import Any

import msgspec
import sqlalchemy as sa

from fieldpass.server import schema
from fieldpass.server.errors import ApiError, not_found
from fieldpass.server.services import changes, conflicts, issuers, petrol_sales, seats
from fieldpass.server.services.common import audit, clean_text, dumps, loads
from fieldpass.server.services.tickets import revoke_in
from fieldpass.sync.conflicts import ConflictKind
from fieldpass.sync.events import Event
from fieldpass.sync.payloads import (
    PetrolReprintPayload,
    PetrolReservationEndPayload,
    PetrolReservationPayload,
    PetrolSalePayload,
    SeatBlockReleasedPayload,
)

PETROL_PAYLOADS = (
    PetrolSalePayload,
    PetrolReservationPayload,
    PetrolReservationEndPayload,
    PetrolReprintPayload,
    SeatBlockReleasedPayload,
)
OPEN_RESERVATION = ("RESERVED", "IDENTITY_VERIFIED")
REFUND_STATUS = "REFUNDED"


def is_petrol_event(payload: Any) -> bool:
    return isinstance(payload, PETROL_PAYLOADS)


def apply(
    conn: sa.Connection,
    device: Any,
    items: list[tuple[Event, Any]],
    offset: int,
    received_at: int,
) -> tuple[int, list[changes.NewChange]]:
    """Apply the kiosk's petrol events in seq order; returns (conflicts, changes to emit)."""
    raised = 0
    out: list[changes.NewChange] = []
    for event, payload in items:
        if isinstance(payload, PetrolSalePayload):
            count, new = petrol_sales.apply_sales(
                conn, device, [(event, payload)], offset, received_at
            )
            out += new
            raised += count + _complete(conn, device, event, payload, offset, received_at)
        elif isinstance(payload, PetrolReservationPayload):
            raised += _reserve(conn, device, event, payload, offset, received_at)
        elif isinstance(payload, PetrolReservationEndPayload):
            raised += _end(conn, device, event, payload, offset, received_at)
        elif isinstance(payload, PetrolReprintPayload):
            raised += _reprint(conn, device, event, payload, offset, received_at)
        elif isinstance(payload, SeatBlockReleasedPayload):
            count, new = _release(conn, device, event, payload, received_at)
            raised += count
            out += new
    if items:
        pushed_up_to = max(event.device_time for event, _ in items) + offset
        raised += conflicts.record(
            conn, issuers.missing_sales(conn, device, pushed_up_to, now=received_at)
        )
    return raised, out


def _problem(
    device: Any, event: Event, event_id: str | None, subject: str, problem: str, now: int
) -> dict[str, Any]:
    return {
        "kind": ConflictKind.PETROL_SALE_PROBLEM.value,
        "organization_id": device.organization_id,
        "event_id": event_id,
        "subject": subject[:200],
        "devices": dumps([device.id]),
        "details": dumps(
            {"device_id": device.id, "seq": event.seq, "kind": event.kind, "problems": [problem]}
        ),
        "dedup_key": f"petrol_event_problem:{device.id}:{event.seq}",
        "created_at": now,
    }


def _reservation(conn: sa.Connection, reservation_id: str) -> Any:
    r = schema.petrol_reservations
    return conn.execute(sa.select(r).where(r.c.id == reservation_id)).first()


def _reserve(
    conn: sa.Connection,
    device: Any,
    event: Event,
    payload: PetrolReservationPayload,
    offset: int,
    now: int,
) -> int:
    r, ev = schema.petrol_reservations, schema.events
    problem = None
    own_event = conn.execute(
        sa.select(ev.c.id).where(
            ev.c.id == payload.event_id, ev.c.organization_id == device.organization_id
        )
    ).first()
    if own_event is None:  # never record into an event of another organization
        problem = f"event {payload.event_id} is not this organization's"
    elif _reservation(conn, payload.reservation_id) is not None:
        problem = f"reservation id {payload.reservation_id} was already reported"
    if problem is not None:
        event_id = payload.event_id if own_event is not None else device.event_id
        row = _problem(device, event, event_id, payload.reservation_id, problem, now)
        return conflicts.record(conn, [row])
    seats = [msgspec.to_builtins(seat) for seat in payload.seats]
    conn.execute(
        sa.insert(r).values(
            id=payload.reservation_id,
            organization_id=device.organization_id,
            event_id=payload.event_id,
            pin_id=payload.pin_id,
            device_id=device.id,
            seq=event.seq,
            seats=dumps(seats),
            status="RESERVED",
            reserved_at=payload.reserved_at + offset,
            expires_at=payload.expires_at + offset,
            updated_at=now,
        )
    )
    return 0


def _end(
    conn: sa.Connection,
    device: Any,
    event: Event,
    payload: PetrolReservationEndPayload,
    offset: int,
    now: int,
) -> int:
    r = schema.petrol_reservations
    found = _reservation(conn, payload.reservation_id)
    problem = None
    if found is None or found.device_id != device.id:
        problem = f"reservation {payload.reservation_id} is not a reservation of this kiosk"
    elif found.status not in OPEN_RESERVATION:
        problem = f"reservation {payload.reservation_id} had already ended ({found.status})"
    if problem is not None:
        event_id = device.event_id if found is None else found.event_id
        row = _problem(device, event, event_id, payload.reservation_id, problem, now)
        return conflicts.record(conn, [row])
    conn.execute(
        sa.update(r)
        .where(r.c.id == found.id)
        .values(
            status="EXPIRED" if payload.outcome == "expired" else "CANCELLED",
            ended_at=payload.ended_at + offset,
            cancellation_reason=payload.reason[:255] or None,
            updated_at=now,
        )
    )
    return 0


def _complete(
    conn: sa.Connection,
    device: Any,
    event: Event,
    payload: PetrolSalePayload,
    offset: int,
    now: int,
) -> int:
    """The sale's reservation becomes COMPLETED (recorded from the sale if never reported)."""
    if payload.reservation_id is None:
        return 0
    r = schema.petrol_reservations
    sold_at = payload.sold_at + offset
    found = _reservation(conn, payload.reservation_id)
    if found is None:
        seats = [msgspec.to_builtins(seat) for seat in payload.seats]
        conn.execute(
            sa.insert(r).values(
                id=payload.reservation_id,
                organization_id=device.organization_id,
                event_id=payload.event_id,
                pin_id=payload.pin_id,
                device_id=device.id,
                seq=None,
                seats=dumps(seats),
                status="COMPLETED",
                reserved_at=sold_at,
                expires_at=sold_at,
                identity_verified_at=sold_at,
                completed_at=sold_at,
                updated_at=now,
            )
        )
        return 0
    if found.device_id != device.id:
        problem = f"the sale names reservation {found.id} of another kiosk"
        row = _problem(device, event, payload.event_id, payload.pin, problem, now)
        return conflicts.record(conn, [row])
    conn.execute(
        sa.update(r)
        .where(r.c.id == found.id)
        .values(
            status="COMPLETED",
            identity_verified_at=sold_at,
            completed_at=sold_at,
            updated_at=now,
        )
    )
    if found.pin_id != payload.pin_id:
        problem = f"reservation {found.id} was made for another PIN ({found.pin_id})"
    elif found.status not in OPEN_RESERVATION:
        problem = f"the sale completed reservation {found.id}, which had ended ({found.status})"
    else:
        return 0
    row = _problem(device, event, payload.event_id, payload.pin, problem, now)
    return conflicts.record(conn, [row])


def _release(
    conn: sa.Connection,
    device: Any,
    event: Event,
    payload: SeatBlockReleasedPayload,
    now: int,
) -> tuple[int, list[changes.NewChange]]:
    """The kiosk released a RETURNING block: free its unsold seats (``seats.release_block``);
    anything that does not fit is one conflict for the admin, the rest still applies."""
    released = [(seat.sector, seat.row, seat.seat) for seat in payload.seats]
    problems, new = seats.release_block(conn, device.id, payload.block_id, released, now=now)
    audit(
        conn,
        org_id=device.organization_id,
        actor=device.id,
        action="seats.released",
        subject=payload.block_id,
        at=now,
        details={"seq": event.seq, "released": len(released), "problems": problems},
    )
    if not problems:
        return 0, new
    row = _problem(device, event, device.event_id, payload.block_id, "; ".join(problems), now)
    return conflicts.record(conn, [row]), new


def sold_barcodes(conn: sa.Connection, device_id: str) -> set[str]:
    ps = schema.petrol_sales
    found: set[str] = set()
    for text in conn.execute(sa.select(ps.c.barcodes).where(ps.c.device_id == device_id)).scalars():
        found.update(loads(text))
    return found


def _reprint(
    conn: sa.Connection,
    device: Any,
    event: Event,
    payload: PetrolReprintPayload,
    offset: int,
    now: int,
) -> int:
    if payload.barcode not in sold_barcodes(conn, device.id):
        row = _problem(
            device,
            event,
            device.event_id,
            payload.barcode,
            f"reprint of ticket {payload.barcode}, which this kiosk never sold",
            now,
        )
        return conflicts.record(conn, [row])
    conn.execute(
        sa.insert(schema.print_logs).values(
            organization_id=device.organization_id,
            device_id=device.id,
            seq=event.seq,
            subject_kind="ticket",
            subject_id=payload.barcode,
            agent_id=payload.operator or None,
            reason=payload.reason,
            identity_verified=True,
            verification_document_type=payload.document_type,
            print_location=device.name,
            printed_at=payload.printed_at + offset,
        )
    )
    audit(
        conn,
        org_id=device.organization_id,
        actor=device.id,
        action="petrol.reprint",
        subject=payload.barcode,
        at=now,
        details={"seq": event.seq, "reason": payload.reason},
    )
    return 0


# -- refund of a sale (a PIN redeemed twice) ---------------------------------------------


def refund_sale(
    conn: sa.Connection,
    org_id: str,
    actor: str,
    sale_id: int,
    note: str,
    *,
    pin_id: str | None,
    now: int,
) -> dict[str, Any]:
    """In the caller's transaction: mark the sale refunded and revoke its tickets.

    ``pin_id``: the PIN the sale must be for (the conflict's), or None for any.
    """
    ps = schema.petrol_sales
    sale = conn.execute(
        sa.select(ps).where(ps.c.id == sale_id, ps.c.organization_id == org_id)
    ).first()
    if sale is None:
        raise not_found(f"petrol sale {sale_id}")
    if pin_id is not None and sale.pin_id != pin_id:
        raise ApiError(
            "invalid", f"petrol sale {sale_id} is not a sale of the conflict's PIN ({pin_id})"
        )
    if sale.refunded_at is not None:
        raise ApiError("conflict", f"petrol sale {sale_id} was already refunded")
    conn.execute(
        sa.update(ps)
        .where(ps.c.id == sale.id)
        .values(refunded_at=now, refunded_by=actor, refund_note=note)
    )
    revoked = []
    for barcode in loads(sale.barcodes):
        if revoke_in(
            conn,
            org_id,
            actor,
            sale.event_id,
            barcode,
            status=REFUND_STATUS,
            reason=f"petrol sale {sale_id} refunded: {note}"[:500],
            now=now,
        ):
            revoked.append(barcode)
    audit(
        conn,
        org_id=org_id,
        actor=actor,
        action="petrol.refund",
        subject=str(sale_id),
        at=now,
        details={"barcodes": revoked, "note": note},
    )
    return {"sale_id": sale_id, "device_id": sale.device_id, "revoked": revoked}


def resolve_with_refund(
    engine: sa.Engine,
    org_id: str,
    actor: str,
    conflict_id: int,
    sale_id: int,
    note: str,
    *,
    now: int,
) -> dict[str, Any]:
    """Settle a ``pin_redeemed_twice`` conflict by refunding one of its sales, at once."""
    note = clean_text(note, "resolution", max_length=500)
    c = schema.conflicts
    with engine.begin() as conn:
        row = conn.execute(
            sa.select(c).where(c.c.id == conflict_id, c.c.organization_id == org_id)
        ).first()
        if row is None:
            raise not_found(f"conflict {conflict_id}")
        if row.kind != ConflictKind.PIN_REDEEMED_TWICE.value:
            raise ApiError(
                "invalid",
                f"conflict {conflict_id} is a {row.kind}: only a pin_redeemed_twice conflict "
                "is settled with a refund",
            )
        details = loads(row.details) or {}
        refund = refund_sale(
            conn, org_id, actor, sale_id, note, pin_id=details.get("pin_id"), now=now
        )
        resolution = f"refunded petrol sale {sale_id}: {note}"[:500]
        view = conflicts.resolve_in(conn, org_id, actor, conflict_id, resolution, now=now)
    return {**view, "refund": refund}
