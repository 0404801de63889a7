"""Raffle end-to-end helpers: set up a raffle against the live gunicorn (through the
``fieldpass admin raffle`` CLI, or its HTTP API where a test only needs the setup done
quickly), enroll and approve RSUs as real ``fieldpass device`` processes, and read an
RSU's store and the server's database straight from their SQLite files."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.e2e.conftest import EMAIL, PASSWORD, Fieldpass, LiveServer

PACKAGES = (("1 for 5", 1, 500), ("3 for 10", 3, 1000))
FAR_FUTURE = "2099-01-01T00:00:00Z"


@dataclass
class Raffle:
    id: str
    rsus: dict[str, str] = field(default_factory=dict)  # home name -> device id
    allocations: dict[str, str] = field(default_factory=dict)  # "start-end" -> allocation id


def enroll_rsu(cli: Fieldpass, server: LiveServer, home: Path, raffle_id: str) -> str:
    """``device enroll --role rsu`` then ``admin device approve --raffle``; the device id."""
    enrolled = cli.json(
        "device", "enroll", "--server", server.url, "--role", "rsu", "--name",
        f"Stand {home.name}", "--home", str(home),
    )  # fmt: skip
    cli.run("admin", "device", "approve", enrolled["code"], "--raffle", raffle_id)
    return enrolled["device_id"]


def setup_with_cli(
    cli: Fieldpass, server: LiveServer, homes: list[Path], ranges: list[tuple[int, int]]
) -> Raffle:
    """The whole set-up through the admin CLI: create, packages, prizes, configure,
    enroll and approve the RSUs, allocate ``ranges[i]`` to ``homes[i]``, commit the seed,
    activate; each RSU then syncs."""
    created = cli.json(
        "admin", "raffle", "create", "--name", "E2E raffle", "--max-tickets", "300",
        "--sales-end", FAR_FUTURE, "--claim-by", FAR_FUTURE, "--licence", "LIC-E2E-1",
    )  # fmt: skip
    raffle = Raffle(created["id"])
    for name, tickets, price in PACKAGES:
        cli.run(
            "admin", "raffle", "package", "add", raffle.id, "--name", name, "--tickets",
            str(tickets), "--price", str(price),
        )  # fmt: skip
    cli.run("admin", "raffle", "prize", "add", raffle.id, "--name", "Jackpot", "--position", "1",
            "--percent", "50")  # fmt: skip
    cli.run("admin", "raffle", "prize", "add", raffle.id, "--name", "Hamper", "--position", "2",
            "--fixed", "10000", "--winners", "2")  # fmt: skip
    configured = cli.json("admin", "raffle", "configure", raffle.id)
    assert (configured["state"], configured["tickets"]) == ("configured", 300)
    for home, (start, end) in zip(homes, ranges, strict=True):
        device_id = enroll_rsu(cli, server, home, raffle.id)
        raffle.rsus[home.name] = device_id
        allocation = cli.json(
            "admin", "raffle", "allocate", raffle.id, "--device", device_id, "--start",
            str(start), "--end", str(end),
        )  # fmt: skip
        raffle.allocations[f"{start}-{end}"] = allocation["id"]
    commitment = cli.json("admin", "raffle", "commit-seed", raffle.id)["commitment"]
    assert len(commitment) == 64
    assert cli.json("admin", "raffle", "activate", raffle.id)["state"] == "active"
    for home in homes:
        cli.run("device", "sync", "--home", str(home))
    return raffle


class AdminApi:
    """The admin HTTP API of the live server (a fast set-up where the CLI is not tested)."""

    def __init__(self, server: LiveServer) -> None:
        self.http = httpx.Client(base_url=server.url, timeout=30)
        token = self.call("POST", "/v1/auth/login", json={"email": EMAIL, "password": PASSWORD})
        self.http.headers["Authorization"] = f"Bearer {token['token']}"

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.http.request(method, path, **kwargs)
        assert response.status_code in (200, 201), response.text
        return response.json()

    def close(self) -> None:
        self.http.close()


def setup_with_api(
    cli: Fieldpass,
    server: LiveServer,
    homes: list[Path],
    ranges: list[tuple[int, int]],
    max_tickets: int = 300,
    device_url: str | None = None,
) -> Raffle:
    """The same set-up as ``setup_with_cli``, through the HTTP API (RSUs still enroll
    and sync as real device processes, at ``device_url`` if given, e.g. a proxy)."""
    api = AdminApi(server)
    try:
        body = {"name": "E2E raffle", "max_tickets": max_tickets, "sales_end": FAR_FUTURE,
                "claim_deadline": FAR_FUTURE, "licence": "LIC-E2E-2"}  # fmt: skip
        raffle = Raffle(api.call("POST", "/v1/raffles", json=body)["id"])
        base = f"/v1/raffles/{raffle.id}"
        for name, tickets, price in PACKAGES:
            body = {"name": name, "tickets": tickets, "price_cents": price}
            api.call("POST", f"{base}/packages", json=body)
        body = {"name": "Hamper", "position": 1, "fixed_cents": 10_000}
        api.call("POST", f"{base}/prizes", json=body)
        api.call("POST", f"{base}/configure")
        for home, (start, end) in zip(homes, ranges, strict=True):
            enrolled = cli.json(
                "device", "enroll", "--server", device_url or server.url, "--role", "rsu",
                "--name", f"Stand {home.name}", "--home", str(home),
            )  # fmt: skip
            body = {"code": enrolled["code"], "raffle_id": raffle.id}
            api.call("POST", "/v1/devices/approve", json=body)
            raffle.rsus[home.name] = enrolled["device_id"]
            body = {"device_id": enrolled["device_id"], "start": start, "end": end}
            allocation = api.call("POST", f"{base}/allocations", json=body)
            raffle.allocations[f"{start}-{end}"] = allocation["id"]
        api.call("POST", f"{base}/commit-seed")
        api.call("POST", f"{base}/activate")
    finally:
        api.close()
    for home in homes:
        cli.run("device", "sync", "--home", str(home))
    return raffle


@dataclass(frozen=True)
class DeviceOrder:
    validation_number: str
    numbers: tuple[int, ...]
    voided: bool
    seq: int


def device_orders(home: Path) -> dict[str, DeviceOrder]:
    """The RSU's own orders by id, read from its store file (integrity checked)."""
    with sqlite3.connect(home / "store.sqlite") as db:
        assert db.execute("pragma integrity_check").fetchone()[0] == "ok"
        rows = db.execute(
            "select id, validation_number, draw_numbers, voided_at, seq from raffle_order"
        ).fetchall()
    return {
        order_id: DeviceOrder(validation, tuple(json.loads(numbers)), voided is not None, seq)
        for order_id, validation, numbers, voided, seq in rows
    }


def outbox_count(home: Path) -> int:
    with sqlite3.connect(home / "store.sqlite") as db:
        count, last = db.execute("select count(*), coalesce(max(seq), 0) from outbox").fetchone()
    assert count == last, "outbox seqs have a gap"
    return count


def server_orders(server: LiveServer, device_id: str) -> dict[str, tuple[str, str]]:
    """Orders the server holds from one RSU: id -> (validation number, payment status)."""
    with sqlite3.connect(server.db_path) as db:
        rows = db.execute(
            "select id, validation_number, payment_status from raffle_order where rsu_id = ?",
            (device_id,),
        ).fetchall()
    return {order_id: (validation, status) for order_id, validation, status in rows}


def server_tickets(server: LiveServer, raffle_id: str) -> dict[int, tuple[str, str | None]]:
    """Every ticket that is not available or merely allocated: number -> (state, order)."""
    with sqlite3.connect(server.db_path) as db:
        rows = db.execute(
            "select draw_number, state, order_id from raffle_ticket where raffle_event_id = ?"
            " and state not in ('available', 'allocated')",
            (raffle_id,),
        ).fetchall()
    return {number: (state, order_id) for number, state, order_id in rows}


def ingested(server: LiveServer, device_id: str) -> tuple[int, int]:
    """(events stored, distinct seqs) of one device on the server."""
    with sqlite3.connect(server.db_path) as db:
        return db.execute(
            "select count(*), count(distinct seq) from ingested_events where device_id = ?",
            (device_id,),
        ).fetchone()
