"""A small in-memory stand-in for the server's device endpoints (docs/api.md), used with
httpx.MockTransport to drive the sync client through gaps, forks, restores and errors."""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx
import msgspec

from fieldpass.sync import messages, signing
from fieldpass.sync.events import GENESIS_HASH, ChainError, Event, verify_chain
from fieldpass.sync.messages import (
    Change,
    EnrollRequest,
    EnrollResponse,
    EnrollStatusRequest,
    EnrollStatusResponse,
    Problem,
    PullResponse,
    PushRequest,
    PushResponse,
)
from fieldpass.sync.versions import EVENT_KINDS


@dataclass
class FakeServer:
    clock_skew_ms: int = 0  # server clock = device clock + skew
    now: int = 1_800_000_000_000
    epoch: str = "epoch-1"
    changes: list[Change] = field(default_factory=list)
    events: dict[int, Event] = field(default_factory=dict)
    public_key: str | None = None
    device_id: str = "dev-fake"
    approved: bool = False
    revoked: bool = False
    token: str = "token-1"
    push_requests: list[PushRequest] = field(default_factory=list)
    offline: bool = False
    pull_calls: int = 0
    fail_pull_after: int | None = None  # raise a transport error on this pull call
    role: str = "gate"  # what the approval says the device is
    raffle_id: str | None = None  # an RSU's raffle, in the approval

    @property
    def accepted_seq(self) -> int:
        return max(self.events, default=0)

    def restore(self, keep_through: int) -> None:
        """Simulate a restore from backup: new epoch, events after ``keep_through`` lost."""
        self.epoch = f"{self.epoch}-restored"
        self.events = {s: e for s, e in self.events.items() if s <= keep_through}

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def client(self) -> httpx.Client:
        return httpx.Client(transport=self.transport())

    def _problem(self, code: str, message: str = "", **extra) -> httpx.Response:
        body = messages.encode(Problem(code=code, message=message or code, **extra))
        return httpx.Response(messages.PROBLEM_STATUS[code], content=body)

    def handle(self, request: httpx.Request) -> httpx.Response:
        if self.offline:
            raise httpx.ConnectError("connection refused", request=request)
        path = request.url.path
        if path == "/v1/enroll":
            enroll = messages.decode(EnrollRequest, request.content)
            self.public_key = enroll.public_key
            body = EnrollResponse(device_id=self.device_id, code="K7Q-4MX", status="pending")
            return httpx.Response(201, content=messages.encode(body))
        if path == "/v1/enroll/status":
            status = messages.decode(EnrollStatusRequest, request.content)
            key = signing.public_key_from_text(self.public_key)
            text = f"enroll-status:{status.device_id}:{status.at}".encode()
            if not signing.verify(key, text, status.signature):
                return self._problem("bad_signature")
            state = "revoked" if self.revoked else "approved" if self.approved else "pending"
            body = EnrollStatusResponse(
                status=state,
                device_id=self.device_id,
                role=self.role,
                name="North 1",
                organization_id="org-1" if self.approved else None,
                event_id="ev-1" if self.approved and self.role != "rsu" else None,
                gate_id="gate-north" if self.approved and self.role == "gate" else None,
                raffle_id=self.raffle_id if self.approved else None,
                token=self.token if state == "approved" else None,
            )
            return httpx.Response(200, content=messages.encode(body))
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return self._problem("unauthorized")
        if self.revoked:
            return self._problem("device_revoked")
        if path == "/v1/sync/push":
            return self._push(messages.decode(PushRequest, request.content))
        if path == "/v1/sync/pull":
            return self._pull(request)
        return self._problem("not_found")

    def _push(self, push: PushRequest) -> httpx.Response:
        received = self.now + self.clock_skew_ms
        self.push_requests.append(push)
        for event in push.events:
            if event.kind not in EVENT_KINDS:
                return self._problem("upgrade_required", seq=event.seq)
        new = []
        for event in push.events:
            held = self.events.get(event.seq)
            if held is not None:
                if held.hash != event.hash:
                    return self._problem("fork", seq=event.seq)
                continue
            new.append(event)
        if new:
            if new[0].seq != self.accepted_seq + 1:
                return self._problem("gap", expected_seq=self.accepted_seq + 1)
            prev = self.events.get(new[0].seq - 1)
            try:
                verify_chain(
                    new,
                    device_id=self.device_id,
                    public_key=signing.public_key_from_text(self.public_key),
                    first_prev_hash=prev.hash if prev else GENESIS_HASH,
                )
            except ChainError as exc:
                return self._problem(exc.code, str(exc), seq=exc.seq)
            for event in new:
                self.events[event.seq] = event
        body = PushResponse(
            accepted_seq=self.accepted_seq,
            received_at=received,
            responded_at=received + 1,
            applied=len(new),
            duplicates=len(push.events) - len(new),
            conflicts=0,
        )
        return httpx.Response(200, content=messages.encode(body))

    def _pull(self, request: httpx.Request) -> httpx.Response:
        self.pull_calls += 1
        if self.fail_pull_after is not None and self.pull_calls > self.fail_pull_after:
            raise httpx.ReadError("connection reset", request=request)
        cursor = request.url.params.get("cursor", "")
        limit = int(request.url.params.get("limit", messages.DEFAULT_PULL_LIMIT))
        try:
            epoch, since = messages.parse_cursor(cursor)
        except ValueError:
            return self._problem("invalid", "malformed cursor")
        if epoch is not None and epoch != self.epoch:
            since = 0
        pending = [c for c in self.changes if c.seq > since]
        page = pending[:limit]
        last = page[-1].seq if page else since
        body = PullResponse(
            epoch=self.epoch,
            cursor=messages.make_cursor(self.epoch, last),
            changes=page,
            more=len(pending) > limit,
            server_time=self.now,
        )
        return httpx.Response(200, content=msgspec.json.encode(body))
