"""Petrol deeplinks (seed E12 ``petrol_deeplinks``): one per event, for the mobile app.

The link opens the app's petrol section for the match; the QR payload is the link
itself. Its token makes links unguessable from the event id alone. Created on first
request and stable afterwards.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import sqlalchemy as sa

from fieldpass.server import schema
from fieldpass.server.errors import ApiError
from fieldpass.server.services.common import audit
from fieldpass.server.services.events import require_event
from fieldpass.sync.clock import to_iso

MAX_QR_LENGTH = 255


def deeplink_view(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "event_id": row.event_id,
        "url": row.deeplink_url,
        "qr_payload": row.qr_code_data,
        "is_active": bool(row.is_active),
        "created_at": to_iso(row.created_at),
    }


def _existing(conn: sa.Connection, event_id: str) -> Any:
    d = schema.petrol_deeplinks
    return conn.execute(sa.select(d).where(d.c.event_id == event_id)).first()


def get_or_create_deeplink(
    engine: sa.Engine,
    org_id: str,
    actor: str,
    event_id: str,
    *,
    base: str,
    now: int,
    new_id: Callable[[], str],
) -> dict[str, Any]:
    d = schema.petrol_deeplinks
    try:
        with engine.begin() as conn:
            require_event(conn, org_id, event_id)
            row = _existing(conn, event_id)
            if row is None:
                query = urlencode({"match": event_id, "t": secrets.token_urlsafe(16)})
                url = f"{base}?{query}"
                if len(url) > MAX_QR_LENGTH:
                    raise ApiError("invalid", "the deeplink base URL is too long for a QR payload")
                conn.execute(
                    sa.insert(d).values(
                        id=new_id(),
                        event_id=event_id,
                        deeplink_url=url,
                        qr_code_data=url,
                        is_active=True,
                        created_at=now,
                    )
                )
                audit(
                    conn,
                    org_id=org_id,
                    actor=actor,
                    action="deeplink.create",
                    subject=event_id,
                    at=now,
                )
                row = _existing(conn, event_id)
    except sa.exc.IntegrityError:
        with engine.begin() as conn:  # created concurrently: answer that one
            row = _existing(conn, event_id)
    return deeplink_view(row)
