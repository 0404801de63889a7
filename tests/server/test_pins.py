"""Petrol PINs: creation, uniqueness among active PINs, sealed holders, expiry, cancel,
import, organization scoping and the per-event deeplink (SQLite and PostgreSQL)."""

from __future__ import annotations

import secrets
import threading
import uuid

import falcon.testing
import pytest
import sqlalchemy as sa

from fieldpass.server import schema
from fieldpass.server.app import create_app
from fieldpass.server.config import ServerConfig
from fieldpass.server.errors import ApiError
from fieldpass.server.services import pins
from fieldpass.sync.identity import oib_check_digit
from fieldpass.sync.pins import generate_pin
from tests.server.conftest import PII_KEY
from tests.server.helpers import Harness

OIB = "69435151530"
OIB_2 = "1234567890" + str(oib_check_digit("1234567890"))
ANA = {
    "full_name": "Ana Horvat",
    "date_of_birth": "1990-05-17",
    "nationality": "HR",
    "document_number": OIB,
}
JOHN = {
    "full_name": "John Smith",
    "date_of_birth": "1985-01-02",
    "nationality": "GB",
    "document_number": "AB1234567",
}
HOUR = 3600 * 1000
#: helpers.T0 is 2026-05-28T20:26:40Z; events start a day later unless a test says otherwise.
EVENT_START = "2026-05-29T18:00:00Z"


def make_event(admin, name: str = "Final") -> dict:
    return admin.event(name, starts_at=EVENT_START)


def create(admin, event_id: str, holders=None, **fields):
    holders = [ANA] if holders is None else holders
    body = {"quantity": len(holders), "holders": holders, **fields}
    return admin.post(f"/v1/events/{event_id}/pins", json=body)


def raw_pins(engine) -> list:
    with engine.connect() as conn:
        return conn.execute(sa.select(schema.petrol_pins)).all()


def test_create_and_list_with_holders(harness):
    admin = harness.admin()
    event = make_event(admin)
    result = create(admin, event["id"], [ANA, JOHN])
    assert result.status_code == 201, result.text
    pin = result.json
    assert len(pin["pin"]) == 5 and pin["pin"].isdigit()
    assert pin["quantity"] == 2 and pin["status"] == "ACTIVE"
    assert pin["expires_at"].startswith("2026-05-29T18:00:00")  # default: kick-off
    assert pin["holders"][0] == {**ANA, "document_type": "OIB"}
    assert pin["holders"][1]["document_type"] == "PASSPORT"
    listed = admin.get(f"/v1/events/{event['id']}/pins").json["pins"]
    assert listed == [pin]


def test_holders_are_sealed_in_the_database(harness, engine):
    admin = harness.admin()
    event = make_event(admin)
    first = create(admin, event["id"], [ANA]).json
    second = create(admin, event["id"], [JOHN]).json
    with engine.connect() as conn:
        dump = " ".join(
            str(value)
            for table in (schema.petrol_pins, schema.audit_log)
            for row in conn.execute(sa.select(table)).all()
            for value in row
        )
    for secret in ("Ana", "Horvat", OIB, "1990-05-17", "John", "AB1234567"):
        assert secret not in dump
    # a sealed value is bound to its row: copied onto another PIN it does not open
    rows = {row.id: row for row in raw_pins(engine)}
    with engine.begin() as conn:
        conn.execute(
            sa.update(schema.petrol_pins)
            .where(schema.petrol_pins.c.id == second["id"])
            .values(ticket_holders_json=rows[first["id"]].ticket_holders_json)
        )
    broken = admin.get(f"/v1/events/{event['id']}/pins")
    assert broken.status_code == 500 and broken.json["code"] == "key_mismatch"


def test_another_key_cannot_open_holders(engine, clock):
    other = create_app(ServerConfig(clock=clock, pii_key=b"k" * 32), engine)
    harness = Harness(falcon.testing.TestClient(other), engine, clock)
    admin = harness.admin()
    event = make_event(admin)
    assert create(admin, event["id"]).status_code == 201
    ours = Harness(
        falcon.testing.TestClient(create_app(ServerConfig(clock=clock, pii_key=PII_KEY), engine)),
        engine,
        clock,
    ).admin()
    result = ours.get(f"/v1/events/{event['id']}/pins")
    assert result.status_code == 500 and result.json["code"] == "key_mismatch"
    assert "another key" in result.json["message"]


def test_without_a_key_holder_data_is_refused_clearly(engine, clock, harness):
    event = make_event(harness.admin())  # made while the key file was loaded
    app = create_app(ServerConfig(clock=clock), engine)  # no key file loaded
    admin = Harness(falcon.testing.TestClient(app), engine, clock).admin()
    for result in (
        admin.post("/v1/events", json={"name": "Cup", "starts_at": EVENT_START}),
        create(admin, event["id"]),
        admin.get(f"/v1/events/{event['id']}/pins"),
        admin.post(f"/v1/events/{event['id']}/pins/import", body=b"quantity,holder_1\n"),
    ):
        assert result.status_code == 503
        assert result.json["code"] == "key_missing"
        assert "fieldpass server init" in result.json["message"]
    assert raw_pins(engine) == []


@pytest.mark.parametrize(
    ("holders", "fields", "code", "words"),
    [
        ([{**ANA, "document_number": "69435151531"}], {}, "invalid_holder", "invalid OIB"),
        ([ANA], {"quantity": 2}, "invalid_holder", "one holder per ticket"),
        ([ANA] * 11, {}, "invalid", "quantity must be 1 to 10"),
        ([], {}, "invalid", "quantity must be 1 to 10"),
        ([ANA], {"pin": "1234"}, "invalid_pin", "exactly 5 digits"),
        ([ANA], {"pin": "12a45"}, "invalid_pin", "exactly 5 digits"),
        ([ANA], {"expires_at": "2020-01-01T00:00:00Z"}, "invalid", "not in the future"),
        ([ANA], {"expires_at": "tomorrow"}, "invalid", "ISO 8601"),
        ([{**ANA, "nationality": "Croatia"}], {}, "invalid_holder", "2-letter"),
        ([{**ANA, "date_of_birth": "2099-01-01"}], {}, "invalid_holder", "future"),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(harness, engine, holders, fields, code, words):
    admin = harness.admin()
    event = make_event(admin)
    result = create(admin, event["id"], holders, **fields)
    assert result.status_code == 400, result.text
    assert result.json["code"] == code and words in result.json["message"]
    assert raw_pins(engine) == []


def test_unknown_fields_and_wrong_types_are_refused(harness):
    admin = harness.admin()
    event = make_event(admin)
    extra = admin.post(
        f"/v1/events/{event['id']}/pins",
        json={"quantity": 1, "holders": [{**ANA, "oib": OIB}]},
    )
    assert extra.status_code == 400 and extra.json["code"] == "invalid"
    wrong = admin.post(f"/v1/events/{event['id']}/pins", json={"quantity": "1", "holders": [ANA]})
    assert wrong.status_code == 400 and wrong.json["code"] == "invalid"


def test_pin_is_unique_among_active_pins_only(harness):
    admin = harness.admin()
    event = make_event(admin)
    assert create(admin, event["id"], pin="12345").status_code == 201
    again = create(admin, event["id"], pin="12345")
    assert again.status_code == 409 and again.json["code"] == "pin_taken"
    other_event = make_event(admin, "Semi")
    assert create(admin, other_event["id"], pin="12345").status_code == 409  # org-wide
    assert admin.post("/v1/pins/12345/cancel", json={"reason": "typo"}).status_code == 200
    reused = create(admin, event["id"], pin="12345")
    assert reused.status_code == 201, reused.text
    statuses = sorted(p["status"] for p in admin.get(f"/v1/events/{event['id']}/pins").json["pins"])
    assert statuses == ["ACTIVE", "CANCELLED"]


def test_generation_retries_on_collision(engine, clock):
    draws = iter(["11111", "11111", "11111", "22222", "11111", "22222", "33333"])
    config = ServerConfig(clock=clock, pii_key=PII_KEY, new_pin=lambda: next(draws))
    admin = Harness(falcon.testing.TestClient(create_app(config, engine)), engine, clock).admin()
    event = make_event(admin)
    made = [create(admin, event["id"]).json["pin"] for _ in range(3)]
    assert made == ["11111", "22222", "33333"]


def test_generation_gives_up_clearly_when_no_value_is_free(engine, clock):
    config = ServerConfig(clock=clock, pii_key=PII_KEY, new_pin=lambda: "55555")
    admin = Harness(falcon.testing.TestClient(create_app(config, engine)), engine, clock).admin()
    event = make_event(admin)
    assert create(admin, event["id"]).status_code == 201
    stuck = create(admin, event["id"])
    assert stuck.status_code == 409 and stuck.json["code"] == "pin_space_full"


def test_expired_pin_reads_expired_frees_its_value_and_cannot_be_cancelled(harness, clock):
    admin = harness.admin()
    event = make_event(admin)
    pin = create(admin, event["id"], pin="54321", expires_at="2026-05-28T21:00:00Z").json
    assert pin["status"] == "ACTIVE"
    clock.advance(HOUR)  # past 21:00
    path = f"/v1/events/{event['id']}/pins"
    assert [p["status"] for p in admin.get(path).json["pins"]] == ["EXPIRED"]  # computed on read
    assert admin.get(path, params={"status": "ACTIVE"}).json["pins"] == []
    assert len(admin.get(path, params={"status": "expired"}).json["pins"]) == 1
    refused = admin.post("/v1/pins/54321/cancel", json={"reason": "late"})
    assert refused.status_code == 409 and refused.json["code"] == "invalid_transition"
    assert "EXPIRED" in refused.json["message"]
    # the sweep (in the write's own transaction) stored EXPIRED and freed the value
    reused = create(admin, event["id"], pin="54321", expires_at="2026-05-29T12:00:00Z")
    assert reused.status_code == 201
    by_status = {p["id"]: p["status"] for p in admin.get(path).json["pins"]}
    assert by_status == {pin["id"]: "EXPIRED", reused.json["id"]: "ACTIVE"}
    bad = admin.get(path, params={"status": "GONE"})
    assert bad.status_code == 400


def test_cancel_transitions(harness, engine):
    admin = harness.admin()
    event = make_event(admin)
    pin = create(admin, event["id"]).json
    cancelled = admin.post(f"/v1/pins/{pin['pin']}/cancel", json={"reason": "customer asked"})
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json["status"] == "CANCELLED"
    assert cancelled.json["cancellation_reason"] == "customer asked"
    assert cancelled.json["cancelled_at"] is not None
    assert "holders" not in cancelled.json
    twice = admin.post(f"/v1/pins/{pin['pin']}/cancel")
    assert twice.status_code == 409 and twice.json["code"] == "invalid_transition"
    # a USED PIN (set by the future kiosk ingest) cannot be cancelled either
    used = create(admin, event["id"]).json
    with engine.begin() as conn:
        conn.execute(
            sa.update(schema.petrol_pins)
            .where(schema.petrol_pins.c.id == used["id"])
            .values(status="USED")
        )
    by_id = admin.post(f"/v1/pins/{used['id']}/cancel", json={})
    assert by_id.status_code == 409 and "USED" in by_id.json["message"]
    assert admin.post("/v1/pins/99999/cancel").status_code == 404
    assert admin.post("/v1/pins/not-a-pin/cancel").status_code == 404
    with engine.connect() as conn:
        actions = conn.execute(sa.select(schema.audit_log.c.action)).scalars().all()
    assert actions.count("pin.cancel") == 1 and actions.count("pin.create") == 2


def test_stored_status_is_constrained(harness, engine):
    admin = harness.admin()
    event = make_event(admin)
    pin = create(admin, event["id"]).json
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        conn.execute(
            sa.update(schema.petrol_pins)
            .where(schema.petrol_pins.c.id == pin["id"])
            .values(status="LOST")
        )


def test_active_pin_index_refuses_a_duplicate_that_bypasses_the_service(harness, engine):
    admin = harness.admin()
    event = make_event(admin)
    create(admin, event["id"], pin="24680")
    row = {c: v for c, v in raw_pins(engine)[0]._asdict().items()}
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        conn.execute(sa.insert(schema.petrol_pins).values({**row, "id": str(uuid.uuid4())}))
    with engine.begin() as conn:  # a non-active duplicate is fine
        conn.execute(
            sa.insert(schema.petrol_pins).values({**row, "id": "x-2", "status": "CANCELLED"})
        )


def test_organizations_cannot_see_or_cancel_each_others_pins(harness):
    a = harness.admin("a@example.org", org="A")
    b = harness.admin("b@example.org", org="B")
    event = make_event(a)
    pin = create(a, event["id"], pin="13579").json
    assert b.get(f"/v1/events/{event['id']}/pins").status_code == 404
    assert create(b, event["id"]).status_code == 404
    assert b.post("/v1/pins/13579/cancel").status_code == 404
    assert b.post(f"/v1/pins/{pin['id']}/cancel").status_code == 404
    b_event = make_event(b, "B final")
    assert create(b, b_event["id"], pin="13579").status_code == 201  # unique per organization
    assert b.post("/v1/pins/13579/cancel").json["event_id"] == b_event["id"]
    assert a.get(f"/v1/events/{event['id']}/pins").json["pins"][0]["status"] == "ACTIVE"


def test_viewers_see_holders_masked_and_cannot_create(harness):
    from fieldpass.server.db import create_admin
    from tests.server.helpers import CHEAP_HASHER, Admin

    admin = harness.admin()
    event = make_event(admin)
    create(admin, event["id"])
    create_admin(
        harness.engine, "v@example.org", "correct horse", role="viewer", hasher=CHEAP_HASHER
    )
    token = harness.client.simulate_post(
        "/v1/auth/login", json={"email": "v@example.org", "password": "correct horse"}
    ).json["token"]
    viewer = Admin(harness.client, token)
    holder = viewer.get(f"/v1/events/{event['id']}/pins").json["pins"][0]["holders"][0]
    assert holder["full_name"] == "Ana Horvat" and OIB not in holder["document_number"]
    assert "1990" not in holder["date_of_birth"]
    assert create(viewer, event["id"]).status_code == 403


def test_event_started_needs_explicit_expiry(harness, clock):
    admin = harness.admin()
    event = admin.event("Now", starts_at="2026-05-28T20:00:00Z")  # before T0
    result = create(admin, event["id"])
    assert result.status_code == 400 and "expires_at" in result.json["message"]
    assert create(admin, event["id"], expires_at="2026-05-28T22:00:00Z").status_code == 201


# -- import ------------------------------------------------------------------------------

ANA_CELL = f"Ana Horvat;1990-05-17;HR;{OIB}"
JOHN_CELL = "John Smith;1985-01-02;GB;AB1234567"


def import_csv(admin, event_id: str, text: str):
    return admin.post(
        f"/v1/events/{event_id}/pins/import",
        body=text.encode(),
        headers={"Content-Type": "text/csv"},
    )


def test_import_creates_every_pin(harness):
    admin = harness.admin()
    event = make_event(admin)
    text = (
        "pin,quantity,expires_at,holder_1,holder_2\n"
        f"11223,2,,{ANA_CELL},{JOHN_CELL}\n"
        f",1,2026-05-29T10:00:00Z,{JOHN_CELL},\n"
        f',1,,"{ANA_CELL}",\n'
    )
    result = import_csv(admin, event["id"], text)
    assert result.status_code == 200, result.text
    assert result.json["imported"] == 3
    made = result.json["pins"]
    assert [m["line"] for m in made] == [2, 3, 4] and made[0]["pin"] == "11223"
    assert len({m["pin"] for m in made}) == 3
    listed = {p["pin"]: p for p in admin.get(f"/v1/events/{event['id']}/pins").json["pins"]}
    assert listed["11223"]["quantity"] == 2
    assert listed[made[1]["pin"]]["expires_at"].startswith("2026-05-29T10:00:00")
    assert listed[made[2]["pin"]]["holders"][0]["document_number"] == OIB


def test_import_with_bad_rows_imports_nothing(harness, engine):
    admin = harness.admin()
    event = make_event(admin)
    create(admin, event["id"], pin="77777")
    before = len(raw_pins(engine))
    text = (
        "pin,quantity,expires_at,holder_1,holder_2\n"
        f"11111,1,,{ANA_CELL},\n"  # fine
        f"1234,1,,{ANA_CELL},\n"  # 3: bad pin
        f",2,,{ANA_CELL},\n"  # 4: one holder for two tickets
        f",1,,Ana;1990-05-17;HR;69435151531,\n"  # 5: bad OIB
        f"11111,1,,{JOHN_CELL},\n"  # 6: duplicate pin in the file
        f",x,,{ANA_CELL},\n"  # 7: quantity not a number
        f",1,yesterday,{ANA_CELL},\n"  # 8: bad expiry
        f",1,,{ANA_CELL}\n"  # 9: field count
    )
    result = import_csv(admin, event["id"], text)
    assert result.status_code == 422 and result.json["code"] == "invalid_rows"
    lines = [e["line"] for e in result.json["errors"]]
    assert lines == [3, 4, 5, 6, 7, 8, 9]
    messages = " | ".join(e["message"] for e in result.json["errors"])
    assert "invalid OIB" in messages and "holder_1" in messages
    assert "duplicate pin 11111" in messages and "one holder per ticket" in messages
    clash = import_csv(admin, event["id"], f"pin,quantity,holder_1\n77777,1,{ANA_CELL}\n")
    assert clash.status_code == 422
    assert clash.json["errors"] == [
        {"line": 2, "message": "pin 77777 is already active in this organization"}
    ]
    header = import_csv(admin, event["id"], "pin,qty,holder_1\n")
    assert header.status_code == 422 and "unknown column" in header.json["errors"][0]["message"]
    assert len(raw_pins(engine)) == before


# -- concurrency -------------------------------------------------------------------------


def _in_threads(count: int, work) -> list:
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = work(index)
        except Exception as exc:  # reported in the results, asserted on by the test
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def _service_create(engine, org_id, event_id, clock, new_pin, pin=None):
    return pins.create_pin(
        engine,
        org_id,
        "tester",
        event_id,
        pins.PinCreate(quantity=1, holders=[pins.HolderIn(**ANA)], pin=pin),
        key=PII_KEY,
        now=clock(),
        new_id=lambda: str(uuid.uuid4()),
        new_pin=new_pin,
    )


def test_concurrent_creation_never_duplicates_an_active_pin(harness, engine, clock):
    admin = harness.admin()
    event = make_event(admin)
    org_id = event["organization_id"]
    same = _in_threads(
        8,
        lambda i: _service_create(engine, org_id, event["id"], clock, generate_pin, "42424"),
    )
    created = [r for r in same if isinstance(r, dict)]
    refused = [r for r in same if isinstance(r, ApiError)]
    assert len(created) == 1 and len(refused) == 7
    assert {r.code for r in refused} == {"pin_taken"}
    # generated PINs drawn from a tiny space: every thread still gets its own value
    space = [f"{n:05d}" for n in range(10000, 10012)]
    drawn = _in_threads(
        10,
        lambda i: _service_create(
            engine, org_id, event["id"], clock, lambda: secrets.choice(space)
        ),
    )
    assert all(isinstance(r, dict) for r in drawn), drawn
    values = [r["pin"] for r in drawn]
    assert len(set(values)) == 10
    with engine.connect() as conn:
        active = (
            conn.execute(
                sa.select(schema.petrol_pins.c.pin).where(schema.petrol_pins.c.status == "ACTIVE")
            )
            .scalars()
            .all()
        )
    assert len(active) == len(set(active)) == 11


# -- deeplink ----------------------------------------------------------------------------


def test_deeplink_is_created_once_per_event(harness):
    a = harness.admin("a@example.org", org="A")
    b = harness.admin("b@example.org", org="B")
    event = make_event(a)
    first = a.get(f"/v1/events/{event['id']}/petrol-deeplink")
    assert first.status_code == 200, first.text
    link = first.json
    assert link["url"].startswith("fieldpass://petrol?match=" + event["id"])
    assert "&t=" in link["url"] and link["qr_payload"] == link["url"] and link["is_active"]
    assert a.get(f"/v1/events/{event['id']}/petrol-deeplink").json == link
    other = a.get(f"/v1/events/{make_event(a, 'Semi')['id']}/petrol-deeplink").json
    assert other["url"] != link["url"]
    assert b.get(f"/v1/events/{event['id']}/petrol-deeplink").status_code == 404
