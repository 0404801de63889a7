"""Issue 9 point 6: admin logins are throttled, sessions are listed and revoked on the
server, logout ends the token there, expired tokens stay refused.

Before: 67 wrong passwords in 10 s, then the right one worked at once; ``admin logout``
only deleted the local file (the token kept working).
"""

from __future__ import annotations

import threading

import falcon.testing
import sqlalchemy as sa

from fieldpass.server import schema
from fieldpass.server.app import create_app
from fieldpass.server.config import ServerConfig
from fieldpass.server.db import create_admin
from fieldpass.server.services import auth, login_throttle
from tests.server.conftest import PII_KEY
from tests.server.helpers import CHEAP_HASHER

EMAIL, PASSWORD = "admin@example.org", "correct horse"


def _login(client, email=EMAIL, password=PASSWORD, source=None, remote_addr=None):
    headers = {"X-Forwarded-For": source} if source else {}
    kwargs = {"remote_addr": remote_addr} if remote_addr else {}
    return client.simulate_post(
        "/v1/auth/login", json={"email": email, "password": password}, headers=headers, **kwargs
    )


def test_wrong_passwords_lock_the_account_and_then_even_the_right_one_waits(harness, clock):
    harness.admin()
    for _ in range(login_throttle.ACCOUNT_LIMIT):
        assert _login(harness.client, password="wrong password!").status_code == 401
    locked = _login(harness.client)  # the right password, during the lockout
    assert (locked.status_code, locked.json["code"]) == (429, "rate_limited"), locked.text
    assert locked.headers["Retry-After"] == "60"
    clock.advance(30_000)
    assert _login(harness.client).headers["Retry-After"] == "30"
    clock.advance(30_001)
    assert _login(harness.client).status_code == 200  # and the success clears the account
    for _ in range(login_throttle.ACCOUNT_LIMIT):
        assert _login(harness.client, password="wrong again!!").status_code == 401
    assert _login(harness.client).status_code == 429


def test_the_lockout_grows_with_each_further_failure(harness, clock):
    harness.admin()
    waits = []
    for _ in range(4):
        while (result := _login(harness.client, password="still wrong!!")).status_code == 401:
            pass
        waits.append(int(result.headers["Retry-After"]))
        clock.advance(waits[-1] * 1000 + 1)
    assert waits == [60, 120, 240, 480]
    assert login_throttle.lock_ms(100, 5) == login_throttle.MAX_LOCK_MS


def test_one_address_trying_many_accounts_is_locked_out_and_others_are_not(harness):
    harness.admin()
    attacker = "203.0.113.9"
    for n in range(login_throttle.SOURCE_LIMIT):
        result = _login(harness.client, f"guess{n}@example.org", "a wrong password", attacker)
        assert result.status_code == 401
    assert _login(harness.client, source=attacker).status_code == 429
    assert _login(harness.client, source="198.51.100.20").status_code == 200


def test_a_client_cannot_pick_its_address_with_x_forwarded_for(harness):
    harness.admin()
    remote = "198.51.100.7"  # not a trusted proxy: its X-Forwarded-For is ignored
    for n in range(login_throttle.SOURCE_LIMIT):
        result = _login(
            harness.client, f"g{n}@example.org", "wrong password", f"10.0.0.{n}", remote
        )
        assert result.status_code == 401
    assert _login(harness.client, source="10.9.9.9", remote_addr=remote).status_code == 429


def test_parallel_guesses_get_no_more_checks_than_the_limit(harness):
    """Each attempt is counted before its password is checked: 12 guesses at once, 5
    checked (401) and 7 refused unchecked (429), not 12 checked."""
    harness.admin()
    barrier = threading.Barrier(12)
    statuses: list[int] = []

    def guess() -> None:
        barrier.wait()
        statuses.append(_login(harness.client, password="parallel guess!").status_code)

    threads = [threading.Thread(target=guess) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [401] * login_throttle.ACCOUNT_LIMIT + [429] * (
        12 - login_throttle.ACCOUNT_LIMIT
    )


def test_the_lockout_holds_across_workers(harness, engine, clock):
    harness.admin()
    other_worker = falcon.testing.TestClient(
        create_app(ServerConfig(clock=clock, pii_key=PII_KEY), engine)
    )
    for _ in range(login_throttle.ACCOUNT_LIMIT):
        assert _login(harness.client, password="wrong password!").status_code == 401
    assert _login(other_worker).status_code == 429


def test_logout_ends_the_token_on_the_server(harness):
    admin = harness.admin()
    assert admin.get("/v1/events").status_code == 200
    result = admin.post("/v1/auth/logout")
    assert result.status_code == 200 and result.json["status"] == "logged_out"
    after = admin.get("/v1/events")
    assert (after.status_code, after.json["code"]) == (401, "unauthorized")


def test_sessions_are_listed_and_revoked_within_the_organization(harness, clock):
    admin = harness.admin()
    clock.advance(1_000)
    second = _login(harness.client, source="192.0.2.44")
    assert second.status_code == 200
    token, session_id = second.json["token"], second.json["session_id"]
    listed = admin.get("/v1/auth/sessions")
    assert listed.status_code == 200, listed.text
    sessions = listed.json["sessions"]
    assert [s["email"] for s in sessions] == [EMAIL, EMAIL]
    newest = sessions[0]
    assert newest["id"] == session_id and newest["source"] == "192.0.2.44"
    assert newest["created_at"] and newest["expires_at"] and newest["last_used_at"]
    assert newest["id"] not in (token, auth.token_hash(token))
    assert [s["current"] for s in sessions] == [False, True]
    other = harness.admin("other@example.org", org="Other club")
    assert [s["email"] for s in other.get("/v1/auth/sessions").json["sessions"]] == [
        "other@example.org"
    ]
    foreign = other.post(f"/v1/auth/sessions/{session_id}/revoke")
    assert foreign.status_code == 404
    revoked = admin.post(f"/v1/auth/sessions/{session_id}/revoke")
    assert revoked.status_code == 200 and revoked.json["status"] == "revoked"
    headers = {"Authorization": f"Bearer {token}"}
    assert harness.client.simulate_get("/v1/events", headers=headers).status_code == 401
    assert len(admin.get("/v1/auth/sessions").json["sessions"]) == 1


def test_last_used_is_kept_and_an_expired_token_stays_refused(harness, engine, clock):
    admin = harness.admin()
    clock.advance(5 * 60_000)
    admin.get("/v1/events")
    with engine.connect() as conn:
        row = conn.execute(sa.select(schema.admin_tokens)).one()
    assert row.last_used_at == clock.now
    clock.advance(12 * 3600 * 1000)
    assert admin.get("/v1/events").status_code == 401


def test_a_viewer_can_log_out_but_not_revoke(harness):
    admin = harness.admin()
    create_admin(
        harness.engine, "v@example.org", "viewer password", role="viewer", hasher=CHEAP_HASHER
    )
    viewer = _login(harness.client, "v@example.org", "viewer password")
    headers = {"Authorization": f"Bearer {viewer.json['token']}"}
    session = viewer.json["session_id"]
    refused = harness.client.simulate_post(f"/v1/auth/sessions/{session}/revoke", headers=headers)
    assert refused.status_code == 403
    out = harness.client.simulate_post("/v1/auth/logout", headers=headers)
    assert out.status_code == 200
    assert harness.client.simulate_get("/v1/events", headers=headers).status_code == 401
    assert admin.get("/v1/events").status_code == 200
