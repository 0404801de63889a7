"""Issue 9 point 11 through a real gunicorn: the access log holds no validation number,
holder search term or token, whatever URL a client sends."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.e2e

VALIDATION = "004512345678901237"


def test_the_access_log_holds_no_validation_number_search_term_or_token(server, cli):
    saved = json.loads((Path(cli.env["XDG_CONFIG_HOME"]) / "fieldpass" / "admin.json").read_text())
    token = saved["token"]
    headers = {"Authorization": f"Bearer {token}"}
    event = cli.json(
        "admin", "event", "create", "--name", "Log match", "--starts", "2026-06-01T18:00:00"
    )
    with httpx.Client(base_url=server.url, headers=headers, timeout=10) as http:
        # the old URL forms: refused, and not logged as sent
        assert http.get(f"/v1/raffle-orders/{VALIDATION}").status_code == 404
        assert http.post(f"/v1/raffle-orders/{VALIDATION}/claim").status_code == 404
        old = http.get(f"/v1/events/{event['id']}/tickets", params={"search": "Horvat"})
        assert old.status_code == 400 and "POST" in old.json()["message"]
        # the new forms: the secret travels in the body
        lookup = http.post("/v1/raffle-orders/lookup", json={"validation_number": VALIDATION})
        assert lookup.status_code in (400, 404)
        found = http.post(f"/v1/events/{event['id']}/tickets/search", json={"search": "Horvat"})
        assert found.status_code == 200 and found.json()["tickets"] == []
        http.get("/v1/health", params={"token": token})
    deadline = time.monotonic() + 10
    while "/v1/health" not in server.log_path.read_text() and time.monotonic() < deadline:
        time.sleep(0.1)
    log = server.log_path.read_text()
    assert "/v1/raffle-orders/[redacted]" in log and "search=[redacted]" in log
    assert "/v1/raffle-orders/lookup" in log and "/tickets/search" in log
    for secret in (VALIDATION, "Horvat", token):
        assert secret not in log
