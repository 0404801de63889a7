"""Issue 9 at the server: enrollment an attacker can neither replay nor claim, answers a
device can verify, and no key in the database."""

from __future__ import annotations

import falcon.testing
import msgspec
import sqlalchemy as sa

from fieldpass.server import keys, schema
from fieldpass.server.app import create_app
from fieldpass.server.config import ServerConfig
from fieldpass.server.db import get_meta, init_db, server_signing_key, set_meta
from fieldpass.sync import answers, sealing, signing
from fieldpass.sync.messages import enroll_status_message
from fieldpass.sync.versions import PROTOCOL_VERSION, SCHEMA_VERSION
from tests.server.conftest import PII_KEY
from tests.server.helpers import Harness

DAY_MS = 24 * 3600 * 1000


def _status_body(device, challenge: str, reissue: bool = False) -> dict:
    exchange_public = sealing.exchange_public_text(sealing.new_exchange_key())
    return {
        "protocol": PROTOCOL_VERSION,
        "schema": SCHEMA_VERSION,
        "device_id": device.id,
        "challenge": challenge,
        "exchange_key": exchange_public,
        "reissue_token": reissue,
        "signature": signing.sign(
            device.key, enroll_status_message(device.id, challenge, exchange_public, reissue)
        ),
    }


def _challenge(harness, device) -> str:
    result = harness.client.simulate_post(
        "/v1/enroll/challenge",
        json={"protocol": PROTOCOL_VERSION, "schema": SCHEMA_VERSION, "device_id": device.id},
    )
    assert result.status_code == 200, result.text
    return result.json["challenge"]


def test_a_replayed_enroll_status_request_gets_nothing_and_the_device_keeps_working(harness):
    """Reproduces issue 9.2: one captured status request replayed later stole the device."""
    admin = harness.admin()
    event = admin.event()
    device = harness.device("kiosk", role="petrol")
    admin.post("/v1/devices/approve", json={"code": device.code, "event_id": event["id"]})
    captured = _status_body(device, _challenge(harness, device))
    first = harness.client.simulate_post("/v1/enroll/status", json=captured)
    assert first.status_code == 200 and first.json["secrets"] is not None
    # what went over the wire does not carry the token or the holders key in clear
    assert "token" not in first.json and "holders_key" not in first.json
    replay = harness.client.simulate_post("/v1/enroll/status", json=captured)
    assert replay.status_code == 401 and "challenge" in replay.json["message"]
    # an attacker without the device key cannot ask for a new token either
    intruder = signing.generate_private_key()
    forged = {**_status_body(device, _challenge(harness, device), reissue=True)}
    forged["signature"] = signing.sign(intruder, b"anything")
    refused = harness.client.simulate_post("/v1/enroll/status", json=forged)
    assert refused.status_code == 401 and refused.json["code"] == "bad_signature"
    # the real device proves its key and gets its token (and holders key) sealed to it
    answer = device.poll_status(reissue_token=True)
    assert answer["token"] and answer["holders_key"]
    assert device.pull().status_code == 200


def test_a_challenge_expires_and_a_stale_status_is_refused(harness, clock):
    device = harness.device()
    body = _status_body(device, _challenge(harness, device))
    clock.advance(5 * 60 * 1000 + 1)
    late = harness.client.simulate_post("/v1/enroll/status", json=body)
    assert late.status_code == 401


def test_pending_devices_are_nobodys_and_found_only_by_exact_code(harness):
    """Reproduces issue 9.3: every organization listed every pending device with its code."""
    a = harness.admin("a@example.org", org="A")
    b = harness.admin("b@example.org", org="B")
    event_b = b.event("B's match")
    device = harness.device("A's gate")
    for admin in (a, b):
        assert admin.get("/v1/devices").json["devices"] == []
    near = device.code[:-1] + ("A" if device.code[-1] != "A" else "C")
    miss = b.post("/v1/devices/pending", json={"code": near})
    assert miss.status_code == 404
    found = a.post("/v1/devices/pending", json={"code": device.code})
    assert found.json["key_fingerprint"] == answers.key_fingerprint(
        signing.public_key_text(device.key)
    )
    # guessing codes blindly is what the lookup answers 404 to; nothing was approved
    assert (
        b.post("/v1/devices/approve", json={"code": near, "event_id": event_b["id"]}).status_code
        == 404
    )


def test_pending_codes_are_void_after_a_day(harness, clock, engine):
    admin = harness.admin()
    event = admin.event()
    device = harness.device()
    clock.advance(DAY_MS + 1)
    admin = harness.admin("next-day@example.org")  # yesterday's session has expired
    assert admin.post("/v1/devices/pending", json={"code": device.code}).status_code == 404
    late = admin.post("/v1/devices/approve", json={"code": device.code, "event_id": event["id"]})
    assert late.status_code == 404 and "a day" in late.json["message"]
    harness.device("newcomer")  # the next enrollment purges the void one
    with engine.connect() as conn:
        ids = conn.execute(sa.select(schema.devices.c.id)).scalars().all()
    assert device.id not in ids


def test_enrollment_is_rate_limited_per_source(engine, clock):
    """Reproduces issue 9.3: 150 anonymous enrollments in 0.2 s were all accepted."""
    config = ServerConfig(clock=clock, pii_key=PII_KEY, enroll_per_source_per_hour=5)
    client = falcon.testing.TestClient(create_app(config, engine))
    body = {
        "protocol": PROTOCOL_VERSION,
        "schema": SCHEMA_VERSION,
        "role": "gate",
        "name": "flood",
        "public_key": signing.public_key_text(signing.generate_private_key()),
    }
    codes = [
        client.simulate_post("/v1/enroll", json=body, remote_addr="10.0.0.9").status_code
        for _ in range(7)
    ]
    assert codes == [201] * 5 + [429, 429]
    other = client.simulate_post("/v1/enroll", json=body, remote_addr="10.0.0.10")
    assert other.status_code == 201
    clock.advance(3_600_001)
    again = client.simulate_post("/v1/enroll", json=body, remote_addr="10.0.0.9")
    assert again.status_code == 201


def test_a_forwarded_address_counts_only_from_a_trusted_proxy(engine, clock):
    config = ServerConfig(
        clock=clock,
        pii_key=PII_KEY,
        enroll_per_source_per_hour=1,
        trusted_proxies=frozenset({"127.0.0.1"}),
    )
    client = falcon.testing.TestClient(create_app(config, engine))
    body = {
        "protocol": PROTOCOL_VERSION,
        "schema": SCHEMA_VERSION,
        "role": "gate",
        "name": "behind the proxy",
        "public_key": signing.public_key_text(signing.generate_private_key()),
    }

    def enroll(peer: str, forwarded: str) -> int:
        return client.simulate_post(
            "/v1/enroll", json=body, remote_addr=peer, headers={"X-Forwarded-For": forwarded}
        ).status_code

    assert enroll("127.0.0.1", "192.0.2.1") == 201
    assert enroll("127.0.0.1", "192.0.2.2") == 201  # another client behind the proxy
    assert enroll("127.0.0.1", "192.0.2.1") == 429
    # a client talking to the server directly cannot choose its address with the header
    assert enroll("198.51.100.7", "192.0.2.3") == 201
    assert enroll("198.51.100.7", "192.0.2.4") == 429


def test_every_answer_to_a_nonce_is_signed_and_bound_to_its_request(harness):
    server_key = signing.public_key_from_text(_server_public_key(harness))
    nonce = answers.new_nonce()
    query = f"cursor=&protocol={PROTOCOL_VERSION}"
    result = harness.client.simulate_get(
        "/v1/sync/pull", query_string=query, headers={answers.NONCE_HEADER: nonce}
    )
    assert result.status_code == 401  # no token: an error, signed all the same
    signature = result.headers[answers.SIGNATURE_HEADER.lower()]
    target = f"/v1/sync/pull?{query}"
    common = {"method": "GET", "request_body": b"", "status": 401, "body": result.content}
    assert answers.verify_answer(server_key, signature, nonce=nonce, target=target, **common)
    assert not answers.verify_answer(
        server_key, signature, nonce=answers.new_nonce(), target=target, **common
    )
    assert not answers.verify_answer(
        server_key, signature, nonce=nonce, target="/v1/sync/pull?cursor=x:9", **common
    )
    unsigned = harness.client.simulate_get("/v1/health")
    assert answers.SIGNATURE_HEADER.lower() not in unsigned.headers


def _server_public_key(harness) -> str:
    return harness.client.simulate_post(
        "/v1/enroll",
        json={
            "protocol": PROTOCOL_VERSION,
            "schema": SCHEMA_VERSION,
            "role": "gate",
            "name": "probe",
            "public_key": signing.public_key_text(signing.generate_private_key()),
        },
    ).json["server_public_key"]


def _all_text(engine) -> str:
    parts: list[str] = []
    with engine.connect() as conn:
        for table in schema.metadata.sorted_tables:
            for row in conn.execute(sa.select(table)):
                parts.extend(str(value) for value in row)
    return "\n".join(parts)


def test_no_private_key_sits_in_the_database(harness, engine):
    """Reproduces issue 9.9: the server signing key and every event's ticket key in clear."""
    admin = harness.admin()
    event = admin.event()
    everything = _all_text(engine)
    signing_key = server_signing_key(engine, PII_KEY)
    assert signing.private_key_to_text(signing_key) not in everything
    with engine.connect() as conn:
        stored = conn.execute(
            sa.select(schema.events.c.ticket_private_key).where(schema.events.c.id == event["id"])
        ).scalar_one()
    assert keys.is_sealed(stored)
    ticket_key = keys.open_ticket_key(PII_KEY, event["id"], stored)
    assert signing.private_key_to_text(ticket_key) not in everything
    # the sealed ticket key is bound to its event: copied to another event it does not open
    other = admin.event("Other")
    try:
        keys.open_ticket_key(PII_KEY, other["id"], stored)
    except keys.KeyFileError:
        pass
    else:
        raise AssertionError("a ticket key opened for another event")


def test_an_older_database_keeps_its_signing_key_sealed_after_init(engine, clock):
    """A server from before keys left the database keeps its devices' trust: init seals
    its plaintext keys with the key file, and the public key stays the same."""
    legacy = signing.generate_private_key()
    with engine.begin() as conn:
        set_meta(conn, keys.LEGACY_SIGNING_KEY_META, signing.private_key_to_text(legacy))
    harness = Harness(
        falcon.testing.TestClient(create_app(ServerConfig(clock=clock, pii_key=PII_KEY), engine)),
        engine,
        clock,
    )
    admin = harness.admin()
    event = admin.event()
    ticket_key = signing.generate_private_key()
    with engine.begin() as conn:  # an event key as older servers stored it
        conn.execute(
            sa.update(schema.events)
            .where(schema.events.c.id == event["id"])
            .values(ticket_private_key=signing.private_key_to_text(ticket_key))
        )
    init_db(engine, PII_KEY)
    with engine.connect() as conn:
        assert get_meta(conn, keys.LEGACY_SIGNING_KEY_META) is None
        stored = conn.execute(sa.select(schema.events.c.ticket_private_key)).scalar_one()
    assert signing.public_key_text(server_signing_key(engine, PII_KEY)) == signing.public_key_text(
        legacy
    )
    opened = keys.open_ticket_key(PII_KEY, event["id"], stored)
    assert signing.public_key_text(opened) == signing.public_key_text(ticket_key)
    assert signing.private_key_to_text(legacy) not in _all_text(engine)
    assert msgspec.json.decode(
        harness.client.simulate_get("/v1/health").content
    )  # the server still answers
