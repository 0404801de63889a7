"""Request bodies over real HTTP to gunicorn: chunked uploads and oversized ones."""

from __future__ import annotations

import json

import httpx

from tests.e2e.conftest import EMAIL, PASSWORD


def admin_token(url: str) -> str:
    login = httpx.post(f"{url}/v1/auth/login", json={"email": EMAIL, "password": PASSWORD})
    assert login.status_code == 200, login.text
    return login.json()["token"]


def chunks(data: bytes, size: int = 1000):
    for start in range(0, len(data), size):
        yield data[start : start + size]


def test_chunked_bodies_are_read_and_still_bounded(server, match):
    headers = {"Authorization": f"Bearer {admin_token(server.url)}"}
    csv = "barcode,sector,row,seat,holder_name,status\n" + "".join(
        f"CHUNK-{n:05d},A,1,{n},Holder {n},VALID\n" for n in range(300)
    )
    imported = httpx.post(
        f"{server.url}/v1/events/{match.event_id}/tickets/import",
        content=chunks(csv.encode()),  # no Content-Length: Transfer-Encoding: chunked
        headers={**headers, "Content-Type": "text/csv"},
    )
    assert imported.status_code == 200, imported.text
    assert imported.json()["total"] == 300
    body = json.dumps({"name": "Chunked cup", "starts_at": "2026-12-01T18:00:00Z"}).encode()
    created = httpx.post(f"{server.url}/v1/events", content=chunks(body, 7), headers=headers)
    assert created.status_code == 201, created.text
    assert created.json()["name"] == "Chunked cup"
    huge = httpx.post(
        f"{server.url}/v1/events",
        content=chunks(b" " * (3 * 1024 * 1024), 64 * 1024),
        headers=headers,
    )
    assert huge.status_code == 413
    assert huge.json()["code"] == "too_large"
    events = httpx.get(f"{server.url}/v1/events", headers=headers).json()["events"]
    assert sorted(e["name"] for e in events) == ["Chunked cup", "E2E match"]
