"""Bad input of every kind gets a clear Problem body and changes nothing."""

from __future__ import annotations

import sqlalchemy as sa

from fieldpass.server import schema
from fieldpass.server.app import create_app
from fieldpass.server.config import ServerConfig


def _changes(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(schema.changes)).scalar_one()


def _problem(result, status: int, code: str) -> dict:
    assert result.status_code == status, result.text
    body = result.json
    assert body["code"] == code
    assert body["message"]
    assert "Traceback" not in result.text
    return body


def test_garbage_json_wrong_type_unknown_and_missing_fields(harness, engine):
    admin = harness.admin()
    before = _changes(engine)
    _problem(admin.post("/v1/events", body=b"{not json"), 400, "bad_json")
    _problem(admin.post("/v1/events", body=b""), 400, "bad_json")
    body = _problem(admin.post("/v1/events", json={"name": 5, "starts_at": "x"}), 400, "invalid")
    assert "name" in body["message"]
    body = _problem(
        admin.post("/v1/events", json={"name": "A", "starts_at": "2026-01-01", "color": "red"}),
        400,
        "invalid",
    )
    assert "color" in body["message"]
    body = _problem(admin.post("/v1/events", json={"name": "A"}), 400, "invalid")
    assert "starts_at" in body["message"]
    body = _problem(
        admin.post("/v1/events", json={"name": "A", "starts_at": "yesterday"}), 400, "invalid"
    )
    assert "starts_at" in body["message"]
    _problem(admin.post("/v1/events", json=[1, 2]), 400, "invalid")
    assert _changes(engine) == before


def test_push_garbage_is_refused(harness, engine):
    admin = harness.admin()
    event = admin.event()
    device = harness.device()
    device.approve(admin, event["id"])
    before = _changes(engine)
    headers = {**device.headers, "Content-Type": "application/json"}
    post = device.client.simulate_post
    _problem(post("/v1/sync/push", body=b"\xff\xfe garbage", headers=headers), 400, "bad_json")
    body = _problem(
        post("/v1/sync/push", body=device.push_body([], sent_at="now"), headers=headers),
        400,
        "invalid",
    )
    assert "sent_at" in body["message"]
    body = _problem(
        post("/v1/sync/push", body=device.push_body([], extra=1), headers=headers),
        400,
        "invalid",
    )
    assert "extra" in body["message"]
    assert _changes(engine) == before


def test_oversized_body_is_too_large(engine, clock):
    import falcon.testing

    app = create_app(ServerConfig(clock=clock, max_body_bytes=1000), engine)
    client = falcon.testing.TestClient(app)
    result = client.simulate_post("/v1/enroll", body=b"x" * 2000)
    _problem(result, 413, "too_large")


def test_unknown_route_and_method(client):
    _problem(client.simulate_get("/v1/nope"), 404, "not_found")
    _problem(client.simulate_delete("/v1/health"), 405, "method_not_allowed")


def test_missing_and_unknown_tokens(client):
    _problem(client.simulate_get("/v1/events"), 401, "unauthorized")
    _problem(
        client.simulate_get("/v1/events", headers={"Authorization": "Bearer nope"}),
        401,
        "unauthorized",
    )
    _problem(
        client.simulate_get("/v1/sync/pull", headers={"Authorization": "Bearer nope"}),
        401,
        "unauthorized",
    )


def test_unexpected_exception_is_internal_with_request_id(engine, clock):
    import falcon.testing

    def broken_clock() -> int:
        raise RuntimeError("secret detail")

    app = create_app(ServerConfig(clock=broken_clock), engine)
    result = falcon.testing.TestClient(app).simulate_get("/v1/health")
    body = _problem(result, 500, "internal")
    assert "secret" not in result.text
    assert result.headers.get("X-Request-Id") is None or "request id" in body["message"]


def test_health(client):
    result = client.simulate_get("/v1/health")
    assert result.status_code == 200
    assert result.json["status"] == "ok" and result.json["epoch"]
