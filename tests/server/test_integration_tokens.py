"""Integration tokens for the app backend (SQLite and PostgreSQL): created by an admin and
shown once (only the hash is stored), they create PINs in their organization with the same
rules as admins, read a PIN's status without holders, and stop working when revoked."""

from __future__ import annotations

import sqlalchemy as sa

from fieldpass.server import schema
from fieldpass.server.services.auth import token_hash
from tests.server.test_pins import ANA, JOHN, make_event, raw_pins


def _token(admin, name: str = "app backend") -> dict:
    result = admin.post("/v1/integration-tokens", json={"name": name})
    assert result.status_code == 201, result.text
    return result.json


def _as(client, token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _create(client, token: str, body: dict):
    return client.simulate_post("/v1/integration/pins", json=body, headers=_as(client, token))


def test_token_creates_a_pin_and_reads_its_status(harness, engine):
    admin = harness.admin()
    event = make_event(admin)
    created = _token(admin)
    token = created["token"]
    with engine.connect() as conn:
        stored = conn.execute(sa.select(schema.integration_tokens)).one()
    assert stored.token_hash == token_hash(token) and token not in stored  # hash only
    body = {"event_id": event["id"], "quantity": 2, "holders": [ANA, JOHN], "pin": "24680"}
    result = _create(harness.client, token, body)
    assert result.status_code == 201, result.text
    assert (result.json["pin"], result.json["quantity"]) == ("24680", 2)
    assert [p.pin for p in raw_pins(engine)] == ["24680"]

    status = harness.client.simulate_get(
        f"/v1/integration/pins/{result.json['id']}", headers=_as(harness.client, token)
    )
    assert status.status_code == 200, status.text
    assert status.json["status"] == "ACTIVE" and "holders" not in status.json

    listed = admin.get("/v1/integration-tokens").json["tokens"]
    assert [(t["name"], t["status"]) for t in listed] == [("app backend", "active")]
    assert listed[0]["last_used_at"] is not None and "token" not in listed[0]


def test_same_validation_as_admin_pins(harness, engine):
    admin = harness.admin()
    event = make_event(admin)
    token = _token(admin)["token"]
    bad_oib = {**ANA, "document_number": "69435151531"}
    for body, code in (
        ({"event_id": event["id"], "quantity": 1, "holders": [bad_oib]}, "invalid_holder"),
        ({"event_id": event["id"], "quantity": 2, "holders": [ANA]}, "invalid_holder"),
        ({"event_id": event["id"], "quantity": 1, "holders": [ANA], "pin": "1234"}, "invalid_pin"),
        ({"event_id": event["id"], "quantity": 1, "holders": [ANA], "extra": 1}, "invalid"),
        ({"quantity": 1, "holders": [ANA]}, "invalid"),
    ):
        result = _create(harness.client, token, body)
        assert result.status_code in (400, 422) and result.json["code"] == code, result.text
    assert raw_pins(engine) == []


def test_tokens_are_scoped_revocable_and_never_admin(harness, engine):
    admin = harness.admin()
    other = harness.admin("other@example.org", org="Other")
    theirs = make_event(other)
    created = _token(admin)
    token = created["token"]
    body = {"event_id": theirs["id"], "quantity": 1, "holders": [ANA]}
    assert _create(harness.client, token, body).status_code == 404  # another org's event
    # an integration token is not an admin login, and an admin token is not one
    assert (
        harness.client.simulate_get("/v1/events", headers=_as(harness.client, token)).status_code
        == 401
    )
    admin_token = admin.headers["Authorization"].split()[1]
    mine = make_event(admin)
    ok = {"event_id": mine["id"], "quantity": 1, "holders": [ANA]}
    assert _create(harness.client, admin_token, ok).status_code == 401
    assert other.post(f"/v1/integration-tokens/{created['id']}/revoke").status_code == 404

    revoked = admin.post(f"/v1/integration-tokens/{created['id']}/revoke")
    assert revoked.status_code == 200 and revoked.json["status"] == "revoked"
    refused = _create(harness.client, token, ok)
    assert refused.status_code == 401 and refused.json["code"] == "unauthorized"
    assert admin.post(f"/v1/integration-tokens/{created['id']}/revoke").status_code == 409
    assert raw_pins(engine) == []
    assert admin.post("/v1/integration-tokens", json={"name": " "}).status_code == 400
