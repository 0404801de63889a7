"""Push the outbox and pull the device's slice over HTTP (httpx).

Push goes in seq order in bounded batches from ``accepted_seq + 1``; pull goes page by
page, each page applied with its cursor in one transaction, so either can be cut at any
point and resumed. Every answer must verify against the pinned server key
(``server_link``); one that does not is refused whole and recorded as the sync error.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import msgspec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fieldpass.device.enrollment import link_for, refresh_enrollment
from fieldpass.device.errors import DeviceError
from fieldpass.device.home import DeviceHome
from fieldpass.device.identity import DeviceIdentity, remember_store
from fieldpass.device.petrol import release_returning_blocks
from fieldpass.device.server_link import auth_error, problem_of
from fieldpass.device.store import (
    CLOCK_OFFSET_MS,
    CURSOR,
    EPOCH,
    FORK_SEQ,
    LAST_CLOCK_SAMPLE,
    LAST_ERROR,
    LAST_ERROR_CODE,
    LAST_PULL_AT,
    LAST_PUSH_AT,
    LAST_SYNC_AT,
    ONLINE,
    ROUND_TRIP_MS,
    Store,
)
from fieldpass.sync import messages
from fieldpass.sync.clock import Clock, estimate_offset, system_clock
from fieldpass.sync.events import Event
from fieldpass.sync.messages import (
    MAX_BODY_BYTES,
    MAX_PUSH_EVENTS,
    ClockSample,
    PullResponse,
    PushRequest,
    PushResponse,
)
from fieldpass.sync.versions import PROTOCOL_VERSION, SCHEMA_VERSION

#: Keep each push body well under the server's limit.
PUSH_BYTES_BUDGET = MAX_BODY_BYTES // 2
PULL_LIMIT = messages.DEFAULT_PULL_LIMIT
#: Upper bound on request rounds in one push/pull call (a misbehaving server cannot loop us).
MAX_ROUNDS = 10_000

Progress = Callable[[int, int | None], None]


@dataclass(frozen=True)
class SyncReport:
    online: bool
    pushed: int
    pulled: int
    error: str | None
    at: int
    revoked: bool = False  # the server revoked this device (a petrol kiosk wiped its holders)
    error_code: str | None = None  # e.g. unverified_answer, offline, fork


_pull_decoder = msgspec.json.Decoder(PullResponse)
_push_decoder = msgspec.json.Decoder(PushResponse)
_sample_decoder = msgspec.json.Decoder(ClockSample)
_event_encoder = msgspec.json.Encoder()


class SyncClient:
    """Talks to the server for one device; records results in the store."""

    def __init__(
        self,
        store: Store,
        identity: DeviceIdentity,
        key: Ed25519PrivateKey,
        http: httpx.Client | None = None,
        clock: Clock = system_clock,
        timeout: float = 10.0,
        home: DeviceHome | None = None,
    ) -> None:
        self.store = store
        # the device's home: its store file lives there (DeviceHome.store_path)
        self.home = home if home is not None else DeviceHome(Path(store.path).parent)
        self.identity = identity
        self.key = key
        self.clock = clock
        self.timeout = timeout
        self._http = http
        self.link = link_for(self.home, identity, http, timeout)
        self._token_recovered = False  # at most one token recovery per sync

    def close(self) -> None:
        self.link.close()

    def _headers(self) -> dict[str, str]:
        if not self.identity.token:
            raise DeviceError("not_approved", "this device has no token yet (not approved)")
        return {"Authorization": f"Bearer {self.identity.token}"}

    def _recover_token(self) -> bool:
        """Prove the key again for a new token (once per sync); True if it got one."""
        if self._token_recovered or self.identity.status != "approved":
            return False
        self._token_recovered = True
        self.identity = refresh_enrollment(
            self.home, http=self._http, clock=self.clock, timeout=self.timeout, reissue_token=True
        )
        return self.identity.status == "approved" and bool(self.identity.token)

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """A verified answer; a missing or unknown token is replaced once by proving the key
        again (a token lost, or stolen and then replaced on the server)."""
        headers = kwargs.pop("headers", {})
        if not self.identity.token:
            self._recover_token()
        response = self.link.request(method, path, headers={**headers, **self._headers()}, **kwargs)
        if response.status_code == 401 and self._recover_token():
            response = self.link.request(
                method, path, headers={**headers, **self._headers()}, **kwargs
            )
        return response

    # -- push ------------------------------------------------------------------------------

    def _batch(self, accepted: int) -> list[Event]:
        events = self.store.events_after(self.identity.device_id, accepted, MAX_PUSH_EVENTS)
        size = 0
        for index, event in enumerate(events):
            size += len(_event_encoder.encode(event))
            if size > PUSH_BYTES_BUDGET and index > 0:
                return events[:index]
        return events

    def push_pending(self) -> int:
        """Push every unaccepted event; returns how many the server newly holds.

        Raises DeviceError for offline, auth, fork, upgrade_required and server errors
        (after recording fork/upgrade in the store). Sends one empty push when nothing is
        pending, so the server sees a clock sample and reports a lost tail (restore).
        """
        if self.store.get_meta(FORK_SEQ) is not None:
            raise DeviceError(
                "fork",
                f"push stopped: the server holds a different event at seq "
                f"{self.store.get_meta(FORK_SEQ)}",
            )
        pushed = 0
        sent_heartbeat = False
        for _ in range(MAX_ROUNDS):
            accepted = self.store.accepted_seq()
            batch = self._batch(accepted)
            if not batch and sent_heartbeat:
                break
            last_seq = self.store.last_seq()
            t0 = self.clock()
            request = PushRequest(
                protocol=PROTOCOL_VERSION,
                schema=SCHEMA_VERSION,
                device_id=self.identity.device_id,
                sent_at=t0,
                events=batch,
                clock=self._last_sample(),
                unsynced=max(last_seq - (batch[-1].seq if batch else accepted), 0),
            )
            response = self._request(
                "POST",
                "/v1/sync/push",
                content=messages.encode(request),
                headers={"Content-Type": "application/json"},
            )
            t3 = self.clock()
            if response.status_code == 200:
                try:
                    answer = _push_decoder.decode(response.content)
                except (msgspec.DecodeError, msgspec.ValidationError) as exc:
                    raise DeviceError("bad_response", f"bad push answer: {exc}") from exc
                new_accepted = min(answer.accepted_seq, last_seq)
                pushed += max(new_accepted - accepted, 0)
                with self.store.transaction():  # one durable write per answer, not three
                    self._record_clock(t0, answer.received_at, answer.responded_at, t3)
                    self.store.record_accepted(new_accepted)
                    self.store.set_meta(**{LAST_PUSH_AT: t3})
                if new_accepted >= last_seq:
                    break  # all accepted; this answer already carried the clock sample
                if not batch:
                    sent_heartbeat = True
                elif new_accepted < batch[-1].seq and new_accepted == accepted:
                    raise DeviceError(
                        "server_error", f"server did not accept events after seq {new_accepted}"
                    )
                continue
            self._raise_push_problem(response, accepted)
            # a gap rewound accepted_seq: go round again
        return pushed

    def _raise_push_problem(self, response: httpx.Response, accepted: int) -> None:
        """Handle a refused push: return to retry (gap), else raise after recording."""
        error = auth_error(response)
        if error is not None:
            raise self._refused(error)
        problem = problem_of(response)
        if problem.code == "gap" and problem.expected_seq is not None:
            expected = problem.expected_seq
            if 1 <= expected <= accepted:  # the server lost events (restore): push them again
                self.store.record_accepted(expected - 1)
                return
            raise DeviceError(
                "server_error", f"server expects seq {expected}, which we cannot send"
            )
        if problem.code == "fork":
            self.store.set_meta(**{FORK_SEQ: problem.seq if problem.seq is not None else accepted})
            raise DeviceError(
                "fork", f"fork at seq {problem.seq}: the server holds a different event"
            )
        if problem.code == "upgrade_required":
            raise DeviceError(
                "upgrade_required",
                f"upgrade required: the server does not know the event at seq {problem.seq}",
            )
        raise DeviceError("server_error", f"push refused: {problem.code}: {problem.message}")

    def _last_sample(self) -> ClockSample | None:
        text = self.store.get_meta(LAST_CLOCK_SAMPLE)
        if not text:
            return None
        try:
            return _sample_decoder.decode(text)
        except (msgspec.DecodeError, msgspec.ValidationError):
            return None

    def _record_clock(self, t0: int, t1: int, t2: int, t3: int) -> None:
        offset, round_trip = estimate_offset(t0, t1, t2, t3)
        sample = ClockSample(t0=t0, t1=t1, t2=t2, t3=t3)
        self.store.set_meta(
            **{
                CLOCK_OFFSET_MS: offset,
                ROUND_TRIP_MS: round_trip,
                LAST_CLOCK_SAMPLE: messages.encode(sample).decode(),
            }
        )

    # -- pull ------------------------------------------------------------------------------

    def pull(self, progress: Progress | None = None) -> int:
        """Pull pages until ``more`` is false; returns the number of changes applied.

        A page from another epoch (server restored) first clears the pulled data.
        """
        pulled = 0
        for _ in range(MAX_ROUNDS):
            cursor = self.store.get_meta(CURSOR) or ""
            epoch = self.store.get_meta(EPOCH)
            response = self._request(
                "GET",
                "/v1/sync/pull",
                params={
                    "cursor": cursor,
                    "limit": PULL_LIMIT,
                    "protocol": PROTOCOL_VERSION,
                    "schema": SCHEMA_VERSION,
                },
            )
            if response.status_code != 200:
                error = auth_error(response)
                if error is not None:
                    raise self._refused(error)
                problem = problem_of(response)
                code = "upgrade_required" if problem.code == "upgrade_required" else "server_error"
                raise DeviceError(code, f"pull refused: {problem.code}: {problem.message}")
            try:
                page = _pull_decoder.decode(response.content)
            except (msgspec.DecodeError, msgspec.ValidationError) as exc:
                raise DeviceError("bad_response", f"bad pull answer: {exc}") from exc
            if epoch is not None and page.epoch != epoch:
                self.store.reset_pulled_data()
            self.store.apply_changes(page.changes, page.cursor, page.epoch, after=self._after_page)
            pulled += len(page.changes)
            if progress is not None:
                progress(pulled, None if page.more else pulled)
            if not page.more:
                break
        self.store.set_meta(**{LAST_PULL_AT: self.clock()})
        return pulled

    def _after_page(self, conn: Any) -> None:
        """In the page's transaction: what the page obliges the device to do at once."""
        release_returning_blocks(self.store, conn, self.key, self.identity.device_id, self.clock())

    def _refused(self, error: DeviceError) -> DeviceError:
        """A revoked petrol kiosk forgets its customers at once: the holder data in the
        store and the holders key file go (sales and the outbox stay), and device.json
        says revoked so the apps refuse to start. Returns ``error`` with what was done."""
        if error.code != "device_revoked" or self.identity.role != "petrol":
            return error
        self.store.wipe_holder_data()
        self.home.holders_key_path.unlink(missing_ok=True)
        if self.home.identity_path.exists():
            replace(self.identity, status="revoked", token=None).save(self.home.identity_path)
        return DeviceError(
            "device_revoked",
            "device revoked by the server: holder data and the holders key were deleted "
            "from this kiosk",
        )

    # -- both ------------------------------------------------------------------------------

    def sync_once(self, progress: Progress | None = None) -> SyncReport:
        """Push then pull (and push again if the pull found a new server epoch, or push
        and pull again if the pull queued events).

        Never raises for network or server errors: the report says what happened, and
        online/last_error/last_sync_at are recorded in the store.
        """
        pushed = pulled = 0
        error: str | None = None
        error_code: str | None = None
        online = True
        revoked = False
        self._token_recovered = False
        try:
            problems = self.store.quick_check()
            if problems != "ok":
                raise DeviceError(
                    "store_damaged",
                    f"the store is damaged ({problems}): nothing was sent; run "
                    "`fieldpass device recover`",
                )
            epoch_before = self.store.get_meta(EPOCH)
            try:
                pushed = self.push_pending()
            except DeviceError as exc:
                if exc.code in (
                    "offline",
                    "unauthorized",
                    "device_revoked",
                    "not_approved",
                    "unverified_answer",
                ):
                    raise
                error = exc.message  # fork / upgrade: keep pulling, surface the error
                error_code = exc.code
            queued_before = self.store.last_seq()
            pulled = self.pull(progress)
            if epoch_before is not None and self.store.get_meta(EPOCH) != epoch_before:
                pushed += self.push_pending()
            elif self.store.last_seq() > queued_before and error is None:
                # the pull queued events (a seat block released): hand them over and take
                # the server's answer now, not one sync later
                pushed += self.push_pending()
                pulled += self.pull(progress)
        except DeviceError as exc:
            error = exc.message
            error_code = exc.code
            # an answer the server did not sign may not come from the server at all
            online = exc.code not in ("offline", "unverified_answer")
            revoked = exc.code == "device_revoked"
        if self.home.identity_path.exists():
            remember_store(self.home, last_outbox_seq=self.store.last_seq())
        at = self.clock()
        values: dict[str, Any] = {
            ONLINE: "1" if online else "0",
            LAST_ERROR: error,
            LAST_ERROR_CODE: error_code if error is not None else None,
        }
        if error is None:
            values[LAST_SYNC_AT] = at
        self.store.set_meta(**values)
        return SyncReport(
            online=online,
            pushed=pushed,
            pulled=pulled,
            error=error,
            at=at,
            revoked=revoked,
            error_code=error_code,
        )
