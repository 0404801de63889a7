"""A small in-memory stand-in for the server's device endpoints (docs/api.md), used with
httpx.MockTransport to drive the sync client through gaps, forks, restores and errors.

Like the real server it signs every answer to a request with a nonce, with its own key
(``server_key``), and proves device keys with one-time challenges."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

import httpx
import msgspec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fieldpass.sync import answers, messages, sealing, signing
from fieldpass.sync.events import GENESIS_HASH, ChainError, Event, verify_chain
from fieldpass.sync.messages import (
    Change,
    DeviceCertificate,
    DeviceSecrets,
    EnrollChallengeRequest,
    EnrollChallengeResponse,
    EnrollRequest,
    EnrollResponse,
    EnrollStatusRequest,
    EnrollStatusResponse,
    Problem,
    PullResponse,
    PushRequest,
    PushResponse,
    SealedSecrets,
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
    server_key: Ed25519PrivateKey = field(default_factory=signing.generate_private_key)
    challenges: set[str] = field(default_factory=set)
    token_issued: bool = False
    sign_answers: bool = True  # False: answers go out unsigned (what a forger can do)

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

    @property
    def server_public_key(self) -> str:
        return signing.public_key_text(self.server_key)

    def handle(self, request: httpx.Request) -> httpx.Response:
        if self.offline:
            raise httpx.ConnectError("connection refused", request=request)
        response = self._answer(request)
        return self.sign(request, response) if self.sign_answers else response

    def sign(self, request: httpx.Request, response: httpx.Response) -> httpx.Response:
        """The answer with the server's signature bound to ``request`` (as the server does)."""
        nonce = request.headers.get(answers.NONCE_HEADER)
        if not nonce:
            return response
        query = request.url.query.decode()
        target = f"{request.url.path}?{query}" if query else request.url.path
        signature = answers.sign_answer(
            self.server_key,
            nonce=nonce,
            method=request.method,
            target=target,
            request_digest=answers.body_digest(request.content),
            status=response.status_code,
            body=response.content,
        )
        headers = {**response.headers, answers.SIGNATURE_HEADER: signature}
        return httpx.Response(response.status_code, content=response.content, headers=headers)

    def _answer(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/v1/enroll":
            enroll = messages.decode(EnrollRequest, request.content)
            self.public_key = enroll.public_key
            body = EnrollResponse(
                device_id=self.device_id,
                code="K7Q-4MX",
                status="pending",
                server_public_key=self.server_public_key,
                expires_at=self.now + 86_400_000,
            )
            return httpx.Response(201, content=messages.encode(body))
        if path == "/v1/enroll/challenge":
            messages.decode(EnrollChallengeRequest, request.content)
            challenge = secrets.token_urlsafe(16)
            self.challenges.add(challenge)
            body = EnrollChallengeResponse(challenge=challenge, expires_at=self.now + 300_000)
            return httpx.Response(200, content=messages.encode(body))
        if path == "/v1/enroll/status":
            return self._status(messages.decode(EnrollStatusRequest, request.content))
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return self._problem("unauthorized")
        if self.revoked:
            return self._problem("device_revoked")
        if path == "/v1/sync/push":
            return self._push(messages.decode(PushRequest, request.content))
        if path == "/v1/sync/pull":
            return self._pull(request)
        return self._problem("not_found")

    def _status(self, status: EnrollStatusRequest) -> httpx.Response:
        key = signing.public_key_from_text(self.public_key)
        text = messages.enroll_status_message(
            status.device_id, status.challenge, status.exchange_key, status.reissue_token
        )
        if not signing.verify(key, text, status.signature):
            return self._problem("bad_signature")
        if status.challenge not in self.challenges:
            return self._problem("unauthorized", "unknown, used or expired challenge")
        self.challenges.discard(status.challenge)
        state = "revoked" if self.revoked else "approved" if self.approved else "pending"
        if state == "revoked":
            return self._problem("device_revoked")
        fields: dict = {}
        if state == "approved":
            organization_id, issued_at = "org-1", self.now
            certificate = DeviceCertificate(
                device_id=self.device_id,
                public_key=self.public_key,
                role=self.role,
                organization_id=organization_id,
                issued_at=issued_at,
            )
            fields = {
                "organization_id": organization_id,
                "event_id": "ev-1" if self.role != "rsu" else None,
                "gate_id": "gate-north" if self.role == "gate" else None,
                "raffle_id": self.raffle_id,
                "certificate": signing.sign(
                    self.server_key, messages.certificate_bytes(certificate)
                ),
                "server_public_key": self.server_public_key,
                "certificate_issued_at": issued_at,
            }
            if not self.token_issued or status.reissue_token:
                self.token_issued = True
                ephemeral, sealed = sealing.seal_to_exchange_key(
                    status.exchange_key,
                    messages.encode(DeviceSecrets(token=self.token)),
                    messages.secrets_context(status.device_id, status.challenge),
                )
                fields["secrets"] = SealedSecrets(ephemeral_key=ephemeral, sealed=sealed)
        body = EnrollStatusResponse(
            status=state, device_id=self.device_id, role=self.role, name="North 1", **fields
        )
        return httpx.Response(200, content=messages.encode(body))

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
