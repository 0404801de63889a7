"""Petrol kiosks certified to sign the tickets they issue, so gates admit them offline.

Approving a petrol kiosk certifies its key for the event (``IssuerCertificate``, signed
with the server key) under a short issuer number; the certificate goes to every device
of the event (a pulled ``issuer`` change), and revoking the kiosk sends it again as a
tombstone with the revocation time. At ingest the server checks a kiosk-signed code the
same way a gate does, against the kiosk's registered key, and keeps track of tickets it
learnt from a gate before the kiosk's sale arrived (``tickets.issued_by``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from fieldpass.server import schema
from fieldpass.server.services import changes
from fieldpass.server.services.common import dumps
from fieldpass.sync import signing
from fieldpass.sync.clock import to_iso
from fieldpass.sync.conflicts import ConflictKind
from fieldpass.sync.issued import IssuerCertificate, sign_certificate

HOUR_MS = 3_600_000
#: A certificate holds from a little before approval (clocks differ) until two days after
#: the match (late scans at exits, delayed pushes).
VALID_BEFORE_MS = HOUR_MS
VALID_AFTER_MATCH_MS = 48 * HOUR_MS


def certify(
    conn: sa.Connection,
    device: Any,
    event: Any,
    key: Ed25519PrivateKey,
    *,
    now: int,
) -> changes.NewChange:
    """Give the petrol kiosk ``device`` an issuer number for ``event`` and its certificate
    (the change to emit). Numbers come from the change counter: unique without a race,
    since it serialises writers."""
    number = changes.allocate_seqs(conn, 1)
    end = event.ends_at or event.starts_at or now
    certificate = IssuerCertificate(
        device_id=device.id,
        issuer_number=number,
        public_key=device.public_key,
        event_id=event.id,
        valid_from=now - VALID_BEFORE_MS,
        valid_until=max(end, now) + VALID_AFTER_MATCH_MS,
        issued_at=now,
    )
    conn.execute(
        sa.update(schema.devices)
        .where(schema.devices.c.id == device.id)
        .values(issuer_number=number)
    )
    data = {**_fields(certificate), "signature": sign_certificate(key, certificate)}
    return changes.NewChange(
        event.id, "issuer", str(number), "upsert", dumps(data), audience=changes.AUDIENCE_ALL
    )


def revoked(conn: sa.Connection, device: Any, *, now: int) -> list[changes.NewChange]:
    """The tombstone of a revoked kiosk's certificate (none if it never had one)."""
    if device.issuer_number is None or device.event_id is None:
        return []
    data = {
        "device_id": device.id,
        "issuer_number": device.issuer_number,
        "public_key": device.public_key,
        "event_id": device.event_id,
        "revoked_at": now,
    }
    return [
        changes.NewChange(
            device.event_id,
            "issuer",
            str(device.issuer_number),
            "tombstone",
            dumps(data),
            audience=changes.AUDIENCE_ALL,
        )
    ]


@dataclass(frozen=True)
class KnownIssuer:
    device_id: str
    public_key: Ed25519PublicKey
    revoked_at: int | None


def of_event(conn: sa.Connection, event_id: str) -> dict[int, KnownIssuer]:
    """The event's certified kiosks by issuer number (revoked ones with the time)."""
    d = schema.devices
    rows = conn.execute(
        sa.select(d.c.issuer_number, d.c.id, d.c.public_key, d.c.revoked_at, d.c.status).where(
            d.c.event_id == event_id, d.c.issuer_number.isnot(None)
        )
    ).all()
    return {
        number: KnownIssuer(
            device_id,
            signing.public_key_from_text(key),
            (revoked_at or 0) if status == "revoked" else None,
        )
        for number, device_id, key, revoked_at, status in rows
    }


def _fields(certificate: IssuerCertificate) -> dict[str, Any]:
    return {
        "device_id": certificate.device_id,
        "issuer_number": certificate.issuer_number,
        "public_key": certificate.public_key,
        "event_id": certificate.event_id,
        "valid_from": certificate.valid_from,
        "valid_until": certificate.valid_until,
        "issued_at": certificate.issued_at,
    }


#: Kiosk clocks are corrected at each sync, not perfectly: a sale is missing only when the
#: kiosk has pushed events this much later than the ticket's issue time.
MISSING_SALE_MARGIN_MS = 5 * 60 * 1000


def missing_sales(
    conn: sa.Connection, device: Any, pushed_up_to: int, *, now: int
) -> list[dict[str, Any]]:
    """Conflict rows for tickets a gate admitted from ``device``'s signed code whose sale
    should have arrived by now: the kiosk pushed its events past the issue time (in seq
    order, so the sale would have come first) and none of them sold the ticket."""
    t = schema.tickets
    overdue = conn.execute(
        sa.select(t.c.event_id, t.c.barcode, t.c.issued_at).where(
            t.c.issued_by == device.id,
            t.c.sale_arrived_at.is_(None),
            t.c.issued_at <= pushed_up_to - MISSING_SALE_MARGIN_MS,
        )
    ).all()
    return [
        {
            "kind": ConflictKind.ISSUED_TICKET_WITHOUT_SALE.value,
            "organization_id": device.organization_id,
            "event_id": event_id,
            "subject": barcode,
            "devices": dumps([device.id]),
            "details": dumps(
                {
                    "issuer": device.id,
                    "barcode": barcode,
                    "issued_at": to_iso(issued_at),
                    "problem": "a gate admitted this kiosk-signed ticket; the kiosk has synced "
                    "past its issue time and never reported selling it",
                }
            ),
            "dedup_key": f"issued_ticket_without_sale:{event_id}:{barcode}",
            "created_at": now,
        }
        for event_id, barcode, issued_at in overdue
    ]
