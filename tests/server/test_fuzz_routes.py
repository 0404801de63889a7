"""Property-based fuzz of every route the server publishes (issue 9, "Input").

Schemathesis reads GET /v1/openapi.json from the app (so a route added to the app is
fuzzed without touching this file) and generates requests for every operation, valid
and invalid ones, as an admin, as a device and without a token; path parameters are
often the ids of a seeded organization (an event with gates, tickets and a conflict, a
raffle with a package and an allocation, devices, a session) so requests reach the
services instead of stopping at "not found". The app runs in-process (WSGI) on a real
SQLite file.

It fails on any answer >= 500, and on any change to the database after a refused (4xx)
request: every table is digested before and after each request. Left out of the digest,
on purpose: ``login_throttles`` (counting failed logins is the point of refusing them)
and ``admin_tokens.last_used_at`` (written when a token is used, whatever the answer).

Examples per operation and mode: FIELDPASS_FUZZ_EXAMPLES (default 5, about a minute
here); e.g. FIELDPASS_FUZZ_EXAMPLES=100 for a long run. The counts are printed (-s).
"""

from __future__ import annotations

import hashlib
import os
import time
from collections import Counter
from typing import Any

import falcon.testing
import pytest
import schemathesis
import sqlalchemy as sa
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from fieldpass.server import schema
from fieldpass.server.app import create_app
from fieldpass.server.config import ServerConfig
from fieldpass.server.db import init_db, make_engine
from fieldpass.server.services.raffle_reports import KINDS
from tests.server.conftest import PII_KEY
from tests.server.helpers import FakeClock, Harness
from tests.server.raffle_helpers import make_active_raffle

EXAMPLES = int(os.environ.get("FIELDPASS_FUZZ_EXAMPLES", "5"))
#: (table, column) pairs left out of the digest; see the module docstring.
NOT_DIGESTED = {("admin_tokens", "last_used_at")}
NOT_DIGESTED_TABLES = {"login_throttles"}
CSV = "barcode,sector,row,seat,holder_name,status\nTK-0001,A,1,1,Ana,\nTK-0002,B,1,2,Ivo,\n"


def digest(engine: sa.Engine) -> str:
    """One hash over the content of every table (rows in primary-key order)."""
    hashed = hashlib.sha256()
    with engine.connect() as conn:
        for table in schema.metadata.sorted_tables:
            if table.name in NOT_DIGESTED_TABLES:
                continue
            columns = [c for c in table.columns if (table.name, c.name) not in NOT_DIGESTED]
            order = list(table.primary_key.columns) or columns
            for row in conn.execute(sa.select(*columns).order_by(*order)):
                hashed.update(repr(tuple(row)).encode())
            hashed.update(table.name.encode())
    return hashed.hexdigest()


class World:
    """A seeded organization the fuzz aims at, and fresh tokens when it loses one."""

    def __init__(self, tmp_path) -> None:
        self.engine = make_engine(f"sqlite:///{tmp_path / 'fuzz.db'}")
        init_db(self.engine)
        self.clock = FakeClock()
        self.app = create_app(ServerConfig(clock=self.clock, pii_key=PII_KEY), self.engine)
        self.harness = Harness(falcon.testing.TestClient(self.app), self.engine, self.clock)
        admin = self.harness.admin()
        event = admin.event()
        north = admin.gate(event["id"], "North")
        south = admin.gate(event["id"], "South")
        assert admin.import_csv(event["id"], CSV).status_code == 200
        gate_a, gate_b = self.harness.device("gate-a"), self.harness.device("gate-b")
        gate_a.approve(admin, event["id"], north["id"])
        gate_b.approve(admin, event["id"], south["id"])
        gate_a.push([gate_a.scan("TK-0001")])
        self.clock.advance(1_000)
        gate_b.push([gate_b.scan("TK-0001")])  # a double entry: a conflict to resolve
        raffle = make_active_raffle(self.harness, admin=admin, rsu_count=1)
        token = admin.post("/v1/integration-tokens", json={"name": "app"}).json
        conflict = admin.get("/v1/conflicts").json["conflicts"][0]
        self.device = gate_a  # the device whose token the fuzz uses
        self.admin_headers = admin.headers
        self.known = {
            "event_id": [event["id"]],
            "raffle_id": [raffle.raffle_id],
            "allocation_id": [raffle.allocations[0]["id"]],
            "device_id": [gate_b.id, raffle.rsus[0].id],  # never the fuzz's own device
            "conflict_id": [str(conflict["id"])],
            "barcode": ["TK-0001", "TK-0002"],
            "token_id": [token["id"]],
            "kind": list(KINDS),
            "name": ["index.html", "console.js"],
        }

    def relogin(self) -> None:
        """A new admin session (the fuzz may log its own out or revoke it); from another
        address than the fuzz's, whose failed logins may have locked 127.0.0.1."""
        answer = self.harness.client.simulate_post(
            "/v1/auth/login",
            json={"email": "admin@example.org", "password": "correct horse"},
            headers={"X-Forwarded-For": "192.0.2.1"},
        )
        assert answer.status_code == 200, answer.text
        self.admin_headers = {"Authorization": f"Bearer {answer.json['token']}"}

    def headers(self, auth: str) -> dict[str, str]:
        if auth == "admin":
            return dict(self.admin_headers)
        if auth == "device":
            return dict(self.device.headers)
        return {}


def test_every_route_survives_generated_requests_and_refusals_change_nothing(tmp_path):
    world = World(tmp_path)
    api = schemathesis.openapi.from_wsgi("/v1/openapi.json", world.app)
    operations = [result.ok() for result in api.get_all_operations()]
    assert len(operations) >= 60  # every route of the app, from its own description
    counts: Counter[str] = Counter()
    failures: list[str] = []
    started = time.monotonic()

    def run(operation: Any, auth: str, mode: GenerationMode) -> None:
        strategy = st.tuples(operation.as_strategy(generation_mode=mode), st.booleans(), st.data())

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(strategy)
        def one(drawn: tuple) -> None:
            case, aim, data = drawn
            if aim and case.path_parameters:
                for name in case.path_parameters:
                    if name in world.known:
                        case.path_parameters[name] = data.draw(st.sampled_from(world.known[name]))
            before = digest(world.engine)
            response = case.call(headers=world.headers(auth))
            status = response.status_code
            counts["requests"] += 1
            counts[f"{status // 100}xx"] += 1
            label = f"{case.method} {case.formatted_path} as {auth} ({mode.value})"
            if status >= 500:
                failures.append(f"{label}: {status} {response.text[:300]}")
            elif 400 <= status < 500 and digest(world.engine) != before:
                failures.append(f"{label}: {status} refused but the database changed")
            if auth == "admin" and (
                status == 401 or (status == 200 and "auth" in case.path and case.method == "POST")
            ):
                world.relogin()  # it logged itself out or revoked its own session

        try:
            one()
        except Unsatisfiable:
            counts["unsatisfiable"] += 1  # nothing to make invalid (no parameters, no body)

    for operation in operations:
        for auth in ("admin", "device", "none"):
            run(operation, auth, GenerationMode.POSITIVE)
        run(operation, "admin", GenerationMode.NEGATIVE)
    elapsed = time.monotonic() - started
    print(
        f"\nfuzz: {len(operations)} operations, {counts['requests']} requests in {elapsed:.0f} s"
        f" ({EXAMPLES} examples per operation and mode; shared CPU): "
        + ", ".join(f"{key} {counts[key]}" for key in ("2xx", "4xx", "5xx"))
        + f", state changes after refusals {sum('changed' in f for f in failures)}"
    )
    assert counts["requests"] >= len(operations) * 3
    assert failures == [], "\n".join(failures[:20])


@pytest.mark.parametrize("auth", ["admin", "device", "none"])
def test_the_description_lists_every_route_of_the_app(tmp_path, auth):
    world = World(tmp_path)
    answer = world.harness.client.simulate_get("/v1/openapi.json", headers=world.headers(auth))
    assert answer.status_code == 200
    paths = answer.json["paths"]
    assert "/v1/sync/push" in paths and "/v1/auth/sessions/{session_id}/revoke" in paths
    push = paths["/v1/sync/push"]["post"]
    assert push["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/PushRequest"
    }
    assert push["security"] == [{"device": []}]


def test_the_digest_sees_every_kind_of_change(tmp_path):
    world = World(tmp_path)
    before = digest(world.engine)
    with world.engine.begin() as conn:
        conn.execute(
            sa.update(schema.tickets).values(holder="changed").where(schema.tickets.c.id == 1)
        )
    assert digest(world.engine) != before
    again = digest(world.engine)
    with world.engine.begin() as conn:
        conn.execute(sa.update(schema.admin_tokens).values(last_used_at=1))
        conn.execute(
            sa.insert(schema.login_throttles).values(key="k", failures=1, last_failure_at=1)
        )
    assert digest(world.engine) == again  # the two left out on purpose
