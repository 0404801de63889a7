"""Test helpers: a fake clock, a fake device with a real key and chain, an admin session."""

from __future__ import annotations

from typing import Any

import falcon.testing
import msgspec
import sqlalchemy as sa
from argon2 import PasswordHasher

from fieldpass.server.db import create_admin
from fieldpass.sync import sealing, signing
from fieldpass.sync.events import GENESIS_HASH, Event, build_event
from fieldpass.sync.messages import ClockSample, enroll_status_message, secrets_context
from fieldpass.sync.versions import PROTOCOL_VERSION, SCHEMA_VERSION

CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
T0 = 1_780_000_000_000  # 2026-05-28T20:26:40Z


class FakeClock:
    def __init__(self, now: int = T0) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now

    def advance(self, ms: int) -> None:
        self.now += ms


class Harness:
    """Drives the app like the CLI and devices would."""

    def __init__(self, client: falcon.testing.TestClient, engine: sa.Engine, clock) -> None:
        self.client = client
        self.engine = engine
        self.clock = clock
        self._admins: set[tuple[str, str]] = set()

    def admin(self, email: str = "admin@example.org", org: str = "Default") -> Admin:
        """A session of that admin (created the first time; a new login after that)."""
        if (email, org) not in self._admins:
            create_admin(
                self.engine, email, "correct horse", org, hasher=CHEAP_HASHER, reset_password=True
            )
            self._admins.add((email, org))
        result = self.client.simulate_post(
            "/v1/auth/login", json={"email": email, "password": "correct horse"}
        )
        assert result.status_code == 200, result.text
        return Admin(self.client, result.json["token"])

    def device(self, name: str = "gate-1", clock_skew: int = 0, role: str = "gate") -> Device:
        return Device(self, name, clock_skew, role)


class Admin:
    def __init__(self, client: falcon.testing.TestClient, token: str) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"}

    def get(self, path: str, **kwargs):
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return self.client.simulate_get(path, headers=headers, **kwargs)

    def post(self, path: str, **kwargs):
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return self.client.simulate_post(path, headers=headers, **kwargs)

    def event(self, name: str = "Final", **fields: Any) -> dict:
        body = {"name": name, "starts_at": "2026-05-28T18:00:00Z", **fields}
        result = self.post("/v1/events", json=body)
        assert result.status_code == 201, result.text
        return result.json

    def gate(self, event_id: str, name: str = "North", sectors=None) -> dict:
        body = {"name": name} if sectors is None else {"name": name, "sectors": sectors}
        result = self.post(f"/v1/events/{event_id}/gates", json=body)
        assert result.status_code == 201, result.text
        return result.json

    def import_csv(self, event_id: str, text: str):
        return self.post(
            f"/v1/events/{event_id}/tickets/import",
            body=text.encode(),
            headers={"Content-Type": "text/csv"},
        )


class Device:
    """A device with a real Ed25519 key building a real event chain."""

    def __init__(self, harness: Harness, name: str, clock_skew: int, role: str = "gate") -> None:
        self.harness = harness
        self.client = harness.client
        self.key = signing.generate_private_key()
        self.skew = clock_skew
        self.seq = 0
        self.prev_hash = GENESIS_HASH
        self.token: str | None = None
        result = self.client.simulate_post(
            "/v1/enroll",
            json={
                "protocol": PROTOCOL_VERSION,
                "schema": SCHEMA_VERSION,
                "role": role,
                "name": name,
                "public_key": signing.public_key_text(self.key),
            },
        )
        assert result.status_code == 201, result.text
        self.id = result.json["device_id"]
        self.code = result.json["code"]

    def now(self) -> int:
        return self.harness.clock() + self.skew

    def poll_status(self, reissue_token: bool = False) -> dict:
        """Prove the key with a fresh challenge; the answer as JSON, with the sealed
        secrets (token, holders key) opened into ``token`` / ``holders_key``."""
        result = self.client.simulate_post(
            "/v1/enroll/challenge",
            json={"protocol": PROTOCOL_VERSION, "schema": SCHEMA_VERSION, "device_id": self.id},
        )
        assert result.status_code == 200, result.text
        challenge = result.json["challenge"]
        exchange = sealing.new_exchange_key()
        exchange_public = sealing.exchange_public_text(exchange)
        signature = signing.sign(
            self.key, enroll_status_message(self.id, challenge, exchange_public, reissue_token)
        )
        result = self.client.simulate_post(
            "/v1/enroll/status",
            json={
                "protocol": PROTOCOL_VERSION,
                "schema": SCHEMA_VERSION,
                "device_id": self.id,
                "challenge": challenge,
                "exchange_key": exchange_public,
                "reissue_token": reissue_token,
                "signature": signature,
            },
        )
        assert result.status_code == 200, result.text
        answer = dict(result.json)
        if answer.get("secrets"):
            opened = msgspec.json.decode(
                sealing.open_from_exchange(
                    exchange,
                    answer["secrets"]["ephemeral_key"],
                    answer["secrets"]["sealed"],
                    secrets_context(self.id, challenge),
                )
            )
            answer.update(token=opened["token"], holders_key=opened.get("holders_key"))
            self.token = opened["token"]
        return answer

    def approve(self, admin: Admin, event_id: str, gate_id: str | None = None) -> None:
        result = admin.post(
            "/v1/devices/approve",
            json={"code": self.code, "event_id": event_id, "gate_id": gate_id},
        )
        assert result.status_code == 200, result.text
        self.status_answer = self.poll_status()
        self.event_id, self.gate_id = event_id, gate_id

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def event(self, kind: str, payload: dict, device_time: int | None = None) -> Event:
        self.seq += 1
        event = build_event(
            self.key,
            device_id=self.id,
            seq=self.seq,
            kind=kind,
            device_time=self.now() if device_time is None else device_time,
            payload=payload,
            prev_hash=self.prev_hash,
        )
        self.prev_hash = event.hash
        return event

    def scan(self, barcode: str, moved: str | None = "in", **extra: Any) -> Event:
        payload = {
            "event_id": self.event_id,
            "mode": "exit" if moved == "out" else "entry",
            "result": extra.pop("result", "VALID_EXIT" if moved == "out" else "VALID"),
            "code": barcode,
            "code_length": len(barcode),
            "barcode": barcode,
            "gate_id": self.gate_id,
            **({"moved": moved} if moved else {}),
            **extra,
        }
        return self.event("scan", payload)

    def push_body(self, events: list[Event], **fields: Any) -> bytes:
        body = {
            "protocol": PROTOCOL_VERSION,
            "schema": SCHEMA_VERSION,
            "device_id": self.id,
            "sent_at": self.now(),
            "events": [msgspec.to_builtins(e) for e in events],
            **fields,
        }
        return msgspec.json.encode(body)

    def push(self, events: list[Event], clock: ClockSample | None = None, **fields: Any):
        if clock is not None:
            fields["clock"] = msgspec.to_builtins(clock)
        return self.client.simulate_post(
            "/v1/sync/push",
            body=self.push_body(events, **fields),
            headers={**self.headers, "Content-Type": "application/json"},
        )

    def pull(self, cursor: str = "", limit: int | None = None):
        params = {"cursor": cursor, "protocol": str(PROTOCOL_VERSION)}
        if limit is not None:
            params["limit"] = str(limit)
        return self.client.simulate_get("/v1/sync/pull", params=params, headers=self.headers)

    def pull_all(self, cursor: str = "", limit: int | None = None) -> tuple[list[dict], str]:
        changes: list[dict] = []
        while True:
            result = self.pull(cursor, limit)
            assert result.status_code == 200, result.text
            changes.extend(result.json["changes"])
            cursor = result.json["cursor"]
            if not result.json["more"]:
                return changes, cursor
