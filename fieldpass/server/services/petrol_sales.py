"""Ingest of ``petrol_sale`` events: a PIN redeemed at a kiosk, possibly hours offline.

Runs inside the push transaction. A sale is never refused once its payload is valid (the
customer has paid and holds printed tickets): its tickets are created VALID in the
event's ``tickets`` and reach the gates through the gate slice, the PIN becomes USED and
the seats SOLD. What does not fit is kept and flagged for an admin:

- the PIN already redeemed (at another kiosk while both were offline): both sales stay,
  one ``pin_redeemed_twice`` conflict per PIN names the devices;
- anything else (PIN unknown, cancelled or expired before the sale, seats the kiosk did
  not hold, a barcode already taken): one ``petrol_sale_problem`` conflict per sale.

The PIN update is a compare-and-set (``WHERE status IN ('ACTIVE', 'EXPIRED')``), so of two
concurrent pushes redeeming one PIN on PostgreSQL exactly one wins; the other waits on the
row lock, then sees the winner's committed sale and raises the conflict.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from fieldpass.server import schema
from fieldpass.server.services import changes, conflicts, seats
from fieldpass.server.services.common import audit, dumps, loads
from fieldpass.server.services.pins import pin_tombstones
from fieldpass.server.services.tickets import ticket_change
from fieldpass.sync.clock import to_iso
from fieldpass.sync.conflicts import ConflictKind
from fieldpass.sync.events import Event
from fieldpass.sync.payloads import PetrolSalePayload


def apply_sales(
    conn: sa.Connection,
    device: Any,
    sales: list[tuple[Event, PetrolSalePayload]],
    offset: int,
    received_at: int,
) -> tuple[int, list[changes.NewChange]]:
    """Apply each sale in seq order; returns (conflicts raised, changes to emit)."""
    raised = 0
    out: list[changes.NewChange] = []
    for event, payload in sales:
        count, new = _apply_sale(conn, device, event, payload, offset, received_at)
        raised += count
        out += new
    return raised, out


def _side(
    device_id: str, seq: int, sold_at: int, barcodes: list[str], sale_id: int
) -> dict[str, Any]:
    return {
        "device_id": device_id,
        "seq": seq,
        "sold_at": to_iso(sold_at),
        "barcodes": barcodes,
        "sale_id": sale_id,  # what ``conflicts resolve --refund-sale`` takes
    }


def _apply_sale(
    conn: sa.Connection,
    device: Any,
    event: Event,
    payload: PetrolSalePayload,
    offset: int,
    received_at: int,
) -> tuple[int, list[changes.NewChange]]:
    org_id = device.organization_id
    sold_at = event.device_time + offset
    ev = schema.events
    own_event = conn.execute(
        sa.select(ev.c.id).where(ev.c.id == payload.event_id, ev.c.organization_id == org_id)
    ).first()
    if own_event is None:  # never write into an event of another organization
        row = _problem_row(
            device, event, payload, ["the event is not this organization's"], received_at
        )
        return conflicts.record(conn, [row]), []
    problems: list[str] = []
    conflict_rows: list[dict[str, Any]] = []
    redeemed_twice = False
    out: list[changes.NewChange] = []

    # tickets first: they are what the customer holds
    t = schema.tickets
    barcodes = [ticket.barcode for ticket in payload.tickets]
    existing = conn.execute(
        sa.select(t.c.barcode, t.c.issued_by, t.c.sale_arrived_at).where(
            t.c.event_id == payload.event_id, t.c.barcode.in_(barcodes)
        )
    ).all()
    # a ticket a gate admitted from this kiosk's signed code before the sale came: the
    # sale is the one it was waiting for, not a barcode taken
    awaited = {b for b, by, arrived in existing if by == device.id and arrived is None}
    taken = {b for b, _by, _arrived in existing} - awaited
    if awaited:
        conn.execute(
            sa.update(t)
            .where(t.c.event_id == payload.event_id, t.c.barcode.in_(awaited))
            .values(sale_arrived_at=received_at, updated_at=received_at)
        )
    rows = [
        {
            "event_id": payload.event_id,
            "barcode": ticket.barcode,
            "sector": ticket.sector,
            "row": ticket.row,
            "seat": ticket.seat,
            "holder": ticket.holder_name,
            "status": "VALID",
            "status_reason": "",
        }
        for ticket in payload.tickets
        if ticket.barcode not in taken and ticket.barcode not in awaited
    ]
    if taken:
        problems.append(f"barcode(s) already taken: {', '.join(sorted(taken))}")
    if rows:
        conn.execute(
            sa.insert(t),
            [
                {**row, "signed": False, "created_at": received_at, "updated_at": received_at}
                for row in rows
            ],
        )
        out += [ticket_change(row) for row in rows]

    # seats of the kiosk's blocks
    missing, seat_changes = seats.sell_kiosk_seats(
        conn,
        device.id,
        payload.event_id,
        [(s.sector, s.row, s.seat) for s in payload.seats],
        now=received_at,
    )
    out += seat_changes
    if missing:
        labels = ", ".join(f"{s}/{r}/{n}" for s, r, n in missing)
        problems.append(f"seat(s) not held unsold by this kiosk: {labels}")

    # the PIN
    p = schema.petrol_pins
    pin = conn.execute(
        sa.select(p).where(p.c.id == payload.pin_id, p.c.organization_id == org_id)
    ).first()
    if pin is None or pin.event_id != payload.event_id or pin.pin != payload.pin:
        problems.append(f"PIN {payload.pin} ({payload.pin_id}) is not a PIN of this event")
    elif pin.status == "EXPIRED" and sold_at >= pin.expires_at:
        problems.append(f"PIN {payload.pin} had expired at {to_iso(pin.expires_at)}")
    elif pin.status == "CANCELLED":
        problems.append(f"PIN {payload.pin} was cancelled: {pin.cancellation_reason or ''}")
    else:
        # ACTIVE, or EXPIRED by the sweep after a sale made before expiry: becomes USED
        won = conn.execute(
            sa.update(p)
            .where(p.c.id == pin.id, p.c.status.in_(("ACTIVE", "EXPIRED")))
            .values(status="USED", used_at=sold_at, updated_at=received_at)
        ).rowcount
        if won:
            used = {**pin._mapping, "status": "USED"}
            out += pin_tombstones(conn, [used])
        else:
            redeemed_twice = True

    ps = schema.petrol_sales
    sale_id = conn.execute(
        sa.insert(ps).values(
            organization_id=org_id,
            event_id=payload.event_id,
            pin_id=payload.pin_id,
            device_id=device.id,
            seq=event.seq,
            payment_method=payload.payment.method,
            payment_reference=payload.payment.reference,
            amount_cents=payload.payment.amount_cents,
            tendered_cents=payload.payment.tendered_cents,
            ticket_count=len(payload.tickets),
            barcodes=dumps(barcodes),
            sold_at=sold_at,
            received_at=received_at,
            reservation_id=payload.reservation_id,
            documents=None if payload.documents is None else dumps(payload.documents),
        )
    ).inserted_primary_key[0]
    if redeemed_twice:
        conflict_rows.append(
            _twice_row(conn, device, event, payload, sold_at, received_at, sale_id)
        )
    audit(
        conn,
        org_id=org_id,
        actor=device.id,
        action="petrol.sale",
        subject=payload.pin_id,
        at=received_at,
        details={"seq": event.seq, "tickets": len(payload.tickets)},
    )
    if problems:
        conflict_rows.append(_problem_row(device, event, payload, problems, received_at))
    return conflicts.record(conn, conflict_rows), out


def _twice_row(
    conn: sa.Connection,
    device: Any,
    event: Event,
    payload: PetrolSalePayload,
    sold_at: int,
    now: int,
    sale_id: int,
) -> dict[str, Any]:
    ps = schema.petrol_sales
    first = conn.execute(
        sa.select(ps)
        .where(ps.c.pin_id == payload.pin_id, ps.c.id != sale_id)
        .order_by(ps.c.sold_at, ps.c.id)
        .limit(1)
    ).first()
    barcodes = [ticket.barcode for ticket in payload.tickets]
    second = _side(device.id, event.seq, sold_at, barcodes, sale_id)
    details: dict[str, Any] = {"pin_id": payload.pin_id, "pin": payload.pin, "second": second}
    devices = [device.id]
    if first is not None:
        details["first"] = _side(
            first.device_id, first.seq, first.sold_at, loads(first.barcodes), first.id
        )
        devices = list(dict.fromkeys([first.device_id, device.id]))
    return {
        "kind": ConflictKind.PIN_REDEEMED_TWICE.value,
        "organization_id": device.organization_id,
        "event_id": payload.event_id,
        "subject": payload.pin,
        "devices": dumps(devices),
        "details": dumps(details),
        "dedup_key": f"pin_redeemed_twice:{payload.pin_id}",
        "created_at": now,
    }


def _problem_row(
    device: Any, event: Event, payload: PetrolSalePayload, problems: list[str], now: int
) -> dict[str, Any]:
    return {
        "kind": ConflictKind.PETROL_SALE_PROBLEM.value,
        "organization_id": device.organization_id,
        "event_id": payload.event_id,
        "subject": payload.pin,
        "devices": dumps([device.id]),
        "details": dumps(
            {
                "pin_id": payload.pin_id,
                "pin": payload.pin,
                "device_id": device.id,
                "seq": event.seq,
                "problems": problems,
                "barcodes": [ticket.barcode for ticket in payload.tickets],
            }
        ),
        "dedup_key": f"petrol_sale_problem:{device.id}:{event.seq}",
        "created_at": now,
    }
