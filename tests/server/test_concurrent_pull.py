"""A pull never skips a change, even while several writers commit at once.

Writers hold their transaction open for a while after taking their change seqs, so on
PostgreSQL a seq allocator that let later seqs commit first would make the reader's
cursor jump over the earlier, still uncommitted seqs (and never see them).
"""

from __future__ import annotations

import json
import random
import threading
import time
from types import SimpleNamespace

import msgspec
import sqlalchemy as sa

from fieldpass.server import schema
from fieldpass.server.services import changes
from fieldpass.server.services.pull import pull

WRITERS = 4
TRANSACTIONS = 25


def _writer(engine: sa.Engine, org_id: str, event_id: str, number: int, errors: list) -> None:
    rng = random.Random(number)
    try:
        for tx in range(TRANSACTIONS):
            with engine.begin() as conn:
                batch = [
                    changes.NewChange(
                        event_id,
                        "ticket",
                        f"W{number}-{tx}-{i}",
                        "upsert",
                        json.dumps({"barcode": f"W{number}-{tx}-{i}"}),
                    )
                    for i in range(rng.randint(1, 3))
                ]
                changes.emit(conn, org_id, batch, now=0)
                time.sleep(rng.uniform(0, 0.004))  # committed late, after its seqs were taken
    except Exception as exc:  # noqa: BLE001 - reported by the test below
        errors.append(exc)


def test_pull_under_concurrent_writers_sees_every_change_once(harness, engine):
    admin = harness.admin()
    event_id = admin.event()["id"]
    with engine.connect() as conn:
        org_id = conn.execute(
            sa.select(schema.events.c.organization_id).where(schema.events.c.id == event_id)
        ).scalar_one()
    device = SimpleNamespace(id="reader", event_id=event_id)
    errors: list[Exception] = []
    writers = [
        threading.Thread(target=_writer, args=(engine, org_id, event_id, n, errors))
        for n in range(WRITERS)
    ]
    for thread in writers:
        thread.start()
    seen: list[int] = []
    cursor = ""
    while True:
        running = any(thread.is_alive() for thread in writers)
        page = msgspec.json.decode(pull(engine, device, cursor, 7, now=0))
        seen.extend(change["seq"] for change in page["changes"])
        cursor = page["cursor"]
        if not running and not page["more"]:
            break
    for thread in writers:
        thread.join()
    assert errors == []
    with engine.connect() as conn:
        stored = (
            conn.execute(
                sa.select(schema.changes.c.seq)
                .where(schema.changes.c.event_id == event_id)
                .order_by(schema.changes.c.seq)
            )
            .scalars()
            .all()
        )
    assert len(stored) >= WRITERS * TRANSACTIONS
    assert seen == stored, "the reader skipped or repeated a change"
