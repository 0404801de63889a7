"""``fieldpass demo --no-app``: the README's first command, without the terminal UI."""

from __future__ import annotations

import json
import sqlite3

import httpx
import pytest


def test_demo_sets_up_a_working_gate_operation(cli, tmp_path):
    root = tmp_path / "demo"
    result = cli.run("demo", "--dir", str(root), "--tickets", "60", "--no-app", timeout=240)
    out = result.stdout
    assert "6/6 ready" in out
    sample = next(
        line.split()[0]
        for line in out.splitlines()
        if line.strip().endswith(")") and "valid (" in line
    )
    assert f"sample scan of {sample}: VALID" in out
    # Both gates hold the match's tickets, and the sample entry reached the server.
    for gate in ("gate-north", "gate-south"):
        status = json.loads(
            cli.run("device", "status", "--home", str(root / gate), "--json").stdout
        )
        assert status["tickets"] == 60 and status["status"] == "approved"
    with sqlite3.connect(root / "server.sqlite") as db:
        entered = db.execute(
            "select count(*) from tickets where first_entry_at is not null"
        ).fetchone()[0]
    assert entered == 1
    # The demo's server is stopped when the demo ends.
    console = next(line for line in out.splitlines() if line.startswith("Admin console: "))
    url = console.split()[2].removesuffix("/console")
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/v1/health", timeout=2)
