"""Server test fixtures: every test runs on a fresh SQLite file AND on PostgreSQL.

PostgreSQL: one throwaway database per session (URL from FIELDPASS_TEST_PG_URL), tables
truncated before each test. Unreachable PostgreSQL skips those tests on a developer
machine, but fails them when FIELDPASS_TEST_PG_URL is set (scripts/test.sh sets it).
"""

from __future__ import annotations

import os
import uuid

import falcon.testing
import pytest
import sqlalchemy as sa

from fieldpass.server import schema
from fieldpass.server.app import create_app
from fieldpass.server.config import ServerConfig
from fieldpass.server.db import init_db, make_engine, normalise_url
from fieldpass.sync import sealing
from tests.server.helpers import FakeClock, Harness

#: The key sealing PIN holders in server tests (a real server loads it from its key file).
PII_KEY = sealing.generate_key()
DEFAULT_PG_URL = "postgresql://fieldpass:fieldpass@127.0.0.1:5432/fieldpass_test"


def _pg_unavailable(reason: str):
    if os.environ.get("FIELDPASS_TEST_PG_URL"):
        pytest.fail(f"PostgreSQL at $FIELDPASS_TEST_PG_URL is not usable: {reason}")
    pytest.skip(f"PostgreSQL not reachable: {reason}")


@pytest.fixture(scope="session")
def pg_url():
    """A fresh PostgreSQL database for this test session, dropped at the end."""
    base_url = normalise_url(os.environ.get("FIELDPASS_TEST_PG_URL", DEFAULT_PG_URL))
    admin_engine = sa.create_engine(base_url, isolation_level="AUTOCOMMIT")
    name = f"fieldpass_t_{uuid.uuid4().hex[:10]}"
    try:
        with admin_engine.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except sa.exc.OperationalError as exc:
        admin_engine.dispose()
        _pg_unavailable(str(exc).splitlines()[0])
    url = sa.engine.make_url(base_url).set(database=name).render_as_string(hide_password=False)
    try:
        engine = make_engine(url)
        init_db(engine)
        engine.dispose()
        yield url
    finally:
        with admin_engine.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin_engine.dispose()


def _fresh_pg_engine(url: str) -> sa.Engine:
    engine = make_engine(url)
    names = ", ".join(f'"{table.name}"' for table in schema.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
    init_db(engine)
    return engine


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request) -> str:
    return request.param


@pytest.fixture
def engine(backend, tmp_path, request):
    if backend == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'server.db'}")
        init_db(engine)
    else:
        engine = _fresh_pg_engine(request.getfixturevalue("pg_url"))
    yield engine
    engine.dispose()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def app(engine, clock):
    config = ServerConfig(clock=clock, max_import_bytes=1024 * 1024, pii_key=PII_KEY)
    return create_app(config, engine)


@pytest.fixture
def client(app) -> falcon.testing.TestClient:
    return falcon.testing.TestClient(app)


@pytest.fixture
def harness(client, engine, clock) -> Harness:
    return Harness(client, engine, clock)
