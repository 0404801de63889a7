"""The sync client against the REAL server WSGI app, in-process (httpx.WSGITransport)."""

from __future__ import annotations

import httpx
import pytest

from fieldpass.device.context import open_device
from fieldpass.device.enrollment import enroll, refresh_enrollment
from fieldpass.device.home import DeviceHome
from fieldpass.server.app import create_app
from fieldpass.server.config import ServerConfig
from fieldpass.server.db import create_admin, init_db, make_engine, new_epoch
from fieldpass.sync import sealing
from fieldpass.sync.checkin import ScanResult

ADMIN = ("admin@example.org", "correct horse battery")


class Server:
    """A real server on a SQLite file plus an admin session over the same transport."""

    def __init__(self, tmp_path, config: ServerConfig | None = None) -> None:
        self.engine = make_engine(f"sqlite:///{tmp_path / 'server.db'}")
        init_db(self.engine)
        create_admin(self.engine, *ADMIN)
        self.app = create_app(config or ServerConfig(pii_key=sealing.generate_key()), self.engine)
        self.http = httpx.Client(
            transport=httpx.WSGITransport(app=self.app), base_url="http://testserver"
        )
        token = self.admin("POST", "/v1/auth/login", json={"email": ADMIN[0], "password": ADMIN[1]})
        self.http.headers["Authorization"] = f"Bearer {token['token']}"

    def admin(self, method: str, path: str, expect: tuple[int, ...] = (200, 201), **kwargs):
        response = self.http.request(method, path, **kwargs)
        assert response.status_code in expect, response.text
        return response.json()

    def device_http(self) -> httpx.Client:
        """A client without the admin token (the device brings its own)."""
        return httpx.Client(transport=httpx.WSGITransport(app=self.app))

    def close(self) -> None:
        self.http.close()
        self.engine.dispose()


@pytest.fixture
def server(tmp_path):
    srv = Server(tmp_path)
    yield srv
    srv.close()


def setup_event(server: Server, tickets: int = 30) -> tuple[str, dict[str, str]]:
    event = server.admin(
        "POST", "/v1/events", json={"name": "Cup final", "starts_at": "2020-01-01T18:00:00Z"}
    )
    gates = {
        name: server.admin("POST", f"/v1/events/{event['id']}/gates", json={"name": name, **extra})[
            "id"
        ]
        for name, extra in (("North", {}), ("South", {}), ("West", {"sectors": ["W"]}))
    }
    rows = ["barcode,sector,row,seat,holder_name,status"]
    rows += [f"TKT{i:05d},A,1,{i},Holder {i},VALID" for i in range(tickets)]
    result = server.admin(
        "POST",
        f"/v1/events/{event['id']}/tickets/import",
        content="\n".join(rows) + "\n",
        headers={"Content-Type": "text/csv"},
    )
    assert result["total"] == tickets
    return event["id"], gates


def enroll_device(
    server: Server,
    tmp_path,
    name: str,
    event_id: str,
    gate_id: str | None = None,
    *,
    role: str = "gate",
    **open_options,
):
    """Enroll a device of ``role``, approve it and open it: (home, context)."""
    home = DeviceHome.resolve(tmp_path / name)
    http = server.device_http()
    identity = enroll(home, "http://testserver", role, name, http=http)
    server.admin(
        "POST",
        "/v1/devices/approve",
        json={"code": identity.code, "event_id": event_id, "gate_id": gate_id},
    )
    assert refresh_enrollment(home, http=http).status == "approved"
    return home, open_device(home, http=http, **open_options)


def make_device(server: Server, tmp_path, name: str, event_id: str, gate_id: str):
    return enroll_device(server, tmp_path, name, event_id, gate_id)[1]


def test_enroll_pull_scan_push_against_real_server(server, tmp_path):
    event_id, gates = setup_event(server)
    ctx = make_device(server, tmp_path, "north-1", event_id, gates["North"])
    try:
        report = ctx.sync.sync_once()
        assert report.error is None and report.online, report
        assert ctx.store.ticket_count() == 30
        assert ctx.gate.info().gate_name == "North"
        assert ctx.gate.check_in("TKT00001").result is ScanResult.VALID
        assert ctx.gate.check_in("NOPE12345").result is ScanResult.UNKNOWN
        assert ctx.gate.check_in("bad code!").result is ScanResult.INVALID
        report = ctx.sync.sync_once()
        assert (report.error, report.pushed) == (None, 3)
        status = ctx.store.status()
        assert (status.unsynced, status.accepted_seq) == (0, 3)
        tickets = server.admin(
            "POST", f"/v1/events/{event_id}/tickets/search", json={"search": "TKT00001"}
        )
        ticket = next(t for t in tickets["tickets"] if t["barcode"] == "TKT00001")
        assert ticket["first_entry_at"] is not None
        # a repeated sync is a no-op push (heartbeat) and an empty pull apart from own admission
        again = ctx.sync.sync_once()
        assert (again.error, again.pushed) == (None, 0)
    finally:
        ctx.close()


def test_two_gates_see_each_other_and_revocations(server, tmp_path):
    event_id, gates = setup_event(server)
    north = make_device(server, tmp_path, "north-1", event_id, gates["North"])
    south = make_device(server, tmp_path, "south-1", event_id, gates["South"])
    try:
        north.sync.sync_once()
        south.sync.sync_once()
        assert north.gate.check_in("TKT00002").result is ScanResult.VALID
        assert north.sync.sync_once().error is None
        assert south.sync.sync_once().error is None
        outcome = south.gate.check_in("TKT00002")
        assert outcome.result is ScanResult.ALREADY_USED
        assert outcome.first_entry_gate == "North"
        server.admin(
            "POST",
            f"/v1/events/{event_id}/tickets/TKT00003/revoke",
            json={"reason": "refunded", "status": "REFUNDED"},
        )
        south.sync.sync_once()
        assert south.gate.check_in("TKT00003").result is ScanResult.REVOKED
    finally:
        north.close()
        south.close()


def test_offline_double_entry_becomes_a_conflict(server, tmp_path):
    event_id, gates = setup_event(server)
    north = make_device(server, tmp_path, "north-1", event_id, gates["North"])
    south = make_device(server, tmp_path, "south-1", event_id, gates["South"])
    try:
        north.sync.sync_once()
        south.sync.sync_once()
        assert north.gate.check_in("TKT00004").result is ScanResult.VALID
        assert south.gate.check_in("TKT00004").result is ScanResult.VALID  # both offline
        assert north.sync.sync_once().error is None
        assert south.sync.sync_once().error is None
        conflicts = server.admin("GET", "/v1/conflicts", params={"event_id": event_id})
        assert [c["kind"] for c in conflicts["conflicts"]] == ["double_entry"]
    finally:
        north.close()
        south.close()


def test_signed_ticket_issued_after_sync_validates_offline(server, tmp_path):
    event_id, gates = setup_event(server)
    ctx = make_device(server, tmp_path, "north-1", event_id, gates["North"])
    try:
        ctx.sync.sync_once()
        code = server.admin(
            "POST",
            f"/v1/events/{event_id}/tickets/signed",
            json={"barcode": "LATE000001", "sector": "A", "holder": "Late Comer"},
        )["code"]
        outcome = ctx.gate.check_in(code)
        assert (outcome.result, outcome.holder) == (ScanResult.VALID, "Late Comer")
        assert ctx.gate.check_in(code).repeated  # the same read again within 2 s
        assert ctx.sync.sync_once().error is None
    finally:
        ctx.close()


def test_new_server_epoch_repulls(server, tmp_path):
    event_id, gates = setup_event(server)
    ctx = make_device(server, tmp_path, "north-1", event_id, gates["North"])
    try:
        ctx.sync.sync_once()
        ctx.gate.check_in("TKT00005")
        ctx.sync.sync_once()
        old_epoch = ctx.store.status().epoch
        new = new_epoch(server.engine)
        report = ctx.sync.sync_once()
        assert report.error is None, report
        status = ctx.store.status()
        assert status.epoch == new != old_epoch
        assert (status.tickets, status.unsynced) == (30, 0)
        assert ctx.store.presence("TKT00005")[0] == 1  # own admission kept
    finally:
        ctx.close()


def test_revoked_device_sync_reports_it(server, tmp_path):
    event_id, gates = setup_event(server)
    ctx = make_device(server, tmp_path, "north-1", event_id, gates["North"])
    try:
        server.admin("POST", f"/v1/devices/{ctx.identity.device_id}/revoke")
        report = ctx.sync.sync_once()
        assert report.error == "device revoked"
        assert ctx.gate.check_in("TKT00006").seq == 1  # scanning still works and is kept
    finally:
        ctx.close()
