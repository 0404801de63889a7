"""Issue 12, part 1, against the real server app in-process: a petrol kiosk and a gate both
offline after their first sync; the kiosk sells; the gate admits the printed code, then
answers ALREADY_USED; after both sync the server holds one sale and one admission."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from fieldpass.server import schema
from fieldpass.sync.checkin import ScanResult
from fieldpass.sync.issued import ISSUED_PREFIX
from tests.device.test_petrol_sync import ANA, EXPIRES, make_device, server  # noqa: F401
from tests.device.test_sync_real_server import setup_event


@pytest.fixture
def offline_pair(server, tmp_path):  # noqa: F811 - the fixture imported above
    event_id, gates = setup_event(server, tickets=5)
    server.admin(
        "POST", f"/v1/events/{event_id}/sectors", json={"name": "P", "rows": "A-B", "seats": "1-4"}
    )
    server.admin(
        "POST",
        f"/v1/events/{event_id}/pins/import",
        content=f"pin,quantity,expires_at,holder_1\n54321,1,{EXPIRES},{ANA}\n",
        headers={"Content-Type": "text/csv"},
    )
    _, kiosk = make_device(server, tmp_path, "kiosk", "petrol", event_id)
    _, gate = make_device(server, tmp_path, "gate", "gate", event_id, gates["North"], debounce_ms=0)
    server.admin(
        "POST",
        f"/v1/events/{event_id}/seat-blocks",
        json={"device_id": kiosk.identity.device_id, "sector": "P", "rows": "A"},
    )
    for ctx in (kiosk, gate):
        assert ctx.sync.sync_once().error is None
    yield kiosk, gate
    kiosk.close()
    gate.close()


def test_a_ticket_sold_offline_enters_offline_once(server, offline_pair):  # noqa: F811
    kiosk, gate = offline_pair
    # from here on neither device reaches the server
    sale = kiosk.petrol.redeem("54321", identity_verified=True, cash_cents=10_000)
    (ticket,) = sale.tickets
    assert ticket.code.startswith(ISSUED_PREFIX) and ticket.qr_text == ticket.code
    assert len(ticket.code) < 220  # fits a QR a 58 mm printer prints (version 10)
    assert gate.store.ticket(ticket.barcode) is None  # the gate never heard of the sale
    first = gate.gate.check_in(ticket.code)
    assert first.result is ScanResult.VALID and first.holder == "Ana Horvat"
    assert (first.sector, first.row, first.seat) == ("P", "A", "1")
    again = gate.gate.check_in(ticket.code)
    assert again.result is ScanResult.ALREADY_USED and again.first_entry_gate == "North"
    # both come back online: one sale, one admission, no conflict
    for ctx in (gate, kiosk, gate):
        assert ctx.sync.sync_once().error is None
    with server.engine.connect() as conn:
        sales = conn.execute(sa.select(sa.func.count()).select_from(schema.petrol_sales)).scalar()
        admissions = conn.execute(
            sa.select(sa.func.count()).where(schema.admissions.c.barcode == ticket.barcode)
        ).scalar()
        conflicts = conn.execute(sa.select(schema.conflicts.c.kind)).scalars().all()
    assert (sales, admissions, conflicts) == (1, 1, [])
    assert gate.gate.check_in(ticket.barcode).result is ScanResult.ALREADY_USED


def test_a_revoked_kiosks_ticket_is_refused_once_the_gate_knows(server, offline_pair):  # noqa: F811
    kiosk, gate = offline_pair
    server.admin("POST", f"/v1/devices/{kiosk.identity.device_id}/revoke")
    assert gate.sync.sync_once().error is None  # the certificate's tombstone arrives
    sale = kiosk.petrol.redeem("54321", identity_verified=True, cash_cents=10_000)
    outcome = gate.gate.check_in(sale.tickets[0].code)
    assert outcome.result is ScanResult.REVOKED and "revoked" in outcome.reason
