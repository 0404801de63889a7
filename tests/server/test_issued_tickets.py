"""Issue 12 at the server: petrol kiosks certified as ticket issuers, gates admitting their
signed tickets before the sale arrives, and the reconciliation that follows (SQLite and
PostgreSQL)."""

from __future__ import annotations

import sqlalchemy as sa

from fieldpass.server import schema
from fieldpass.server.db import server_signing_key
from fieldpass.sync import signing
from fieldpass.sync.issued import IssuedTicket, IssuerCertificate, certificate_verifies
from fieldpass.sync.issued import encode_issued_ticket as sign_ticket
from tests.server.conftest import PII_KEY
from tests.server.helpers import T0
from tests.server.test_petrol_sale_ingest import _kiosk, sale

MINUTE = 60_000


def _issuer(changes: list[dict]) -> dict:
    (issuer,) = [c for c in changes if c["entity"] == "issuer"]
    return issuer


def _code(kiosk, number: int, barcode: str, issued_ms: int, seat: str = "1") -> str:
    ticket = IssuedTicket(
        i=number, b=barcode, s="A", r="A", n=seat, h="Ana Horvat", t=issued_ms // 1000
    )
    return sign_ticket(kiosk.device.key, ticket)


def _gate(harness, admin, event, gate):
    device = harness.device("gate-1")
    device.approve(admin, event["id"], gate["id"])
    return device


def _conflicts(engine, kind: str) -> list:
    with engine.connect() as conn:
        c = schema.conflicts
        return conn.execute(sa.select(c.c.subject).where(c.c.kind == kind)).scalars().all()


def test_an_approved_kiosk_is_certified_to_every_device_of_the_event(harness, engine):
    admin, event, gate, kiosk, _pin = _kiosk(harness)
    gate_device = _gate(harness, admin, event, gate)
    for device in (gate_device, kiosk.device):
        change = _issuer(device.pull_all()[0])
        data = change["data"]
        assert (data["device_id"], data["event_id"]) == (kiosk.id, event["id"])
        assert data["public_key"] == signing.public_key_text(kiosk.device.key)
        certificate = IssuerCertificate(**{k: v for k, v in data.items() if k != "signature"})
        server_key = server_signing_key(engine, PII_KEY).public_key()
        assert certificate_verifies(server_key, certificate, data["signature"])
    # a revoked kiosk's certificate comes down as a tombstone with the revocation time
    _, cursor = gate_device.pull_all()
    admin.post(f"/v1/devices/{kiosk.id}/revoke")
    after, _ = gate_device.pull_all(cursor)
    tombstone = _issuer(after)
    assert tombstone["op"] == "tombstone" and tombstone["data"]["revoked_at"] >= T0


def test_a_gate_admits_a_kiosk_ticket_before_the_sale_and_the_sale_completes_it(harness, engine):
    admin, event, gate, kiosk, pin = _kiosk(harness)
    number = _issuer(kiosk.device.pull_all()[0])["data"]["issuer_number"]
    gate_device = _gate(harness, admin, event, gate)
    barcode = sale(pin, [("A", "1")])["tickets"][0]["barcode"]
    code = _code(kiosk, number, barcode, harness.clock())
    scan = gate_device.scan(barcode, signed=True, signed_code=code)
    result = gate_device.push([scan])
    assert result.status_code == 200 and result.json["conflicts"] == 0, result.text
    with engine.connect() as conn:
        t = schema.tickets
        issued_by, arrived = conn.execute(
            sa.select(t.c.issued_by, t.c.sale_arrived_at).where(t.c.barcode == barcode)
        ).one()
    assert (issued_by, arrived) == (kiosk.id, None)
    # the kiosk's sale arrives: the ticket it was waiting for, not "a barcode taken"
    harness.clock.advance(MINUTE)
    pushed = kiosk.device.push([kiosk.device.event("petrol_sale", sale(pin, [("A", "1")]))])
    assert pushed.status_code == 200 and pushed.json["conflicts"] == 0, pushed.text
    with engine.connect() as conn:
        count, arrived = conn.execute(
            sa.select(sa.func.count(), sa.func.max(t.c.sale_arrived_at)).where(
                t.c.barcode == barcode
            )
        ).one()
    assert count == 1 and arrived is not None
    assert _conflicts(engine, "issued_ticket_without_sale") == []


def test_a_kiosk_ticket_whose_sale_never_comes_is_raised(harness, engine):
    admin, event, gate, kiosk, pin = _kiosk(harness)
    number = _issuer(kiosk.device.pull_all()[0])["data"]["issuer_number"]
    gate_device = _gate(harness, admin, event, gate)
    code = _code(kiosk, number, "PFORGED00001", harness.clock())
    assert (
        gate_device.push(
            [gate_device.scan("PFORGED00001", signed=True, signed_code=code)]
        ).status_code
        == 200
    )
    harness.clock.advance(10 * MINUTE)  # the kiosk pushes events made after the issue time
    later = kiosk.device.event("petrol_sale", sale(pin, [("A", "2")]))
    assert kiosk.device.push([later]).status_code == 200
    assert _conflicts(engine, "issued_ticket_without_sale") == ["PFORGED00001"]
    assert (
        kiosk.device.push([kiosk.device.event("session_open", {"operator": "x"})]).status_code
        == 200
    )
    assert _conflicts(engine, "issued_ticket_without_sale") == ["PFORGED00001"]  # raised once


def test_a_ticket_issued_after_the_kiosk_was_revoked_is_not_admitted_by_the_server(harness, engine):
    admin, event, gate, kiosk, pin = _kiosk(harness)
    number = _issuer(kiosk.device.pull_all()[0])["data"]["issuer_number"]
    gate_device = _gate(harness, admin, event, gate)
    before = _code(kiosk, number, "PBEFORE00001", harness.clock())
    harness.clock.advance(MINUTE)
    admin.post(f"/v1/devices/{kiosk.id}/revoke")
    harness.clock.advance(MINUTE)
    after = _code(kiosk, number, "PAFTER000001", harness.clock(), seat="2")
    scans = [
        gate_device.scan("PBEFORE00001", signed=True, signed_code=before),
        gate_device.scan("PAFTER000001", signed=True, signed_code=after),
    ]
    result = gate_device.push(scans)
    assert result.status_code == 200 and result.json["conflicts"] == 1, result.text
    assert _conflicts(engine, "revoked_issuer") == ["PAFTER000001"]
    with engine.connect() as conn:
        t = schema.tickets
        known = set(conn.execute(sa.select(t.c.barcode).where(t.c.issued_by == kiosk.id)).scalars())
    assert known == {"PBEFORE00001"}  # sold while trusted: it stands, awaiting its sale


def test_a_code_not_signed_by_the_kiosk_is_refused(harness, engine):
    admin, event, gate, kiosk, pin = _kiosk(harness)
    number = _issuer(kiosk.device.pull_all()[0])["data"]["issuer_number"]
    gate_device = _gate(harness, admin, event, gate)
    forged = sign_ticket(
        signing.generate_private_key(),
        IssuedTicket(i=number, b="PFAKE0000001", s="A", r="A", n="9", h="X", t=T0 // 1000),
    )
    result = gate_device.push([gate_device.scan("PFAKE0000001", signed=True, signed_code=forged)])
    assert result.status_code == 200 and result.json["conflicts"] == 1
    assert _conflicts(engine, "unverified_ticket") == ["PFAKE0000001"]
