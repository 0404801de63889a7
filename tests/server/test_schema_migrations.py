"""The migrations build exactly the schema ``fieldpass.server.schema`` declares, on both
databases, and the newest one can be undone and redone."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from fieldpass.server import schema
from fieldpass.server.db import HEAD_REVISION, alembic_config, current_revision


def test_migrated_database_matches_the_declared_schema(engine):
    assert current_revision(engine) == HEAD_REVISION
    with engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), schema.metadata)
    assert differences == []


def test_latest_migration_downgrades_and_upgrades_again(engine):
    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), "-1")
    assert current_revision(engine) != HEAD_REVISION
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "head")
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), schema.metadata) == []
