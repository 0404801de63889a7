"""Push ingest: verify a device's batch, store every new event, apply it, raise conflicts.

Rules (docs/api.md "Push rules"): duplicates (seq <= accepted) are acknowledged when
their hash matches what is stored and are a fork otherwise; the first new event must
be accepted + 1; the new events' chain is recomputed from the stored hash of the
previous seq and the last signature is checked; every new event is stored and applied
in the transaction that advances ``accepted_seq``. The device row is locked
(FOR UPDATE on PostgreSQL; SQLite serialises writers) so concurrent pushes of one
device cannot both apply the same seq.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from fieldpass.server import schema
from fieldpass.server.errors import ApiError
from fieldpass.server.services import changes, conflicts, issuers, petrol_events, raffle_ingest
from fieldpass.server.services.assignment import assignment_problem, wrong_assignment_row
from fieldpass.server.services.common import audit, dumps, insert_rows
from fieldpass.server.services.enrollment import check_protocol
from fieldpass.server.services.tickets import ticket_change
from fieldpass.sync import signing
from fieldpass.sync.checkin import (
    GateContext,
    Presence,
    ScanMode,
    ScanResult,
    TicketView,
    decide,
)
from fieldpass.sync.clock import Clock, estimate_offset, to_iso
from fieldpass.sync.codes import InvalidCode, Issuer, parse_code
from fieldpass.sync.conflicts import ConflictKind
from fieldpass.sync.events import (
    GENESIS_HASH,
    ChainError,
    Event,
    check_event_shape,
    verify_chain,
)
from fieldpass.sync.messages import MAX_PUSH_EVENTS, PushRequest, PushResponse
from fieldpass.sync.payloads import (
    PayloadError,
    ScanPayload,
    SessionPayload,
    validate_payload,
)
from fieldpass.sync.versions import EVENT_KINDS

_IN_CHUNK = 500


class _Fork(Exception):
    def __init__(self, seq: int, stored: str | None, pushed: str) -> None:
        super().__init__(seq)
        self.seq, self.stored, self.pushed = seq, stored, pushed


@dataclass(frozen=True)
class Admission:
    """One admission as the timeline sees it (``at`` is server-corrected)."""

    device_id: str
    seq: int
    direction: str
    at: int
    gate_id: str | None


@dataclass(frozen=True)
class DoubleEntry:
    first: Admission
    second: Admission


def replay_timeline(
    event_id: str, barcode: str, admissions: list[Admission]
) -> tuple[Admission | None, list[DoubleEntry]]:
    """Walk a ticket's admissions in corrected-time order through ``decide``.

    Returns the first entry and every entry made while the holder was already
    inside (paired with the entry that put them inside). Pure.
    """
    ticket = TicketView(barcode=barcode, event_id=event_id)
    gate = GateContext(event_id=event_id)
    presence = Presence()
    first_entry: Admission | None = None
    inside_by: Admission | None = None
    doubles: list[DoubleEntry] = []
    for admission in sorted(admissions, key=lambda a: (a.at, a.device_id, a.seq)):
        if admission.direction == "out":
            presence = Presence(inside=False, first_entry_at=presence.first_entry_at)
            inside_by = None
            continue
        decision = decide(ticket, presence, gate, ScanMode.ENTRY, admission.at)
        if decision.result is ScanResult.ALREADY_USED and inside_by is not None:
            doubles.append(DoubleEntry(inside_by, admission))
            continue
        if first_entry is None:
            first_entry = admission
        inside_by = admission
        presence = Presence(
            inside=True,
            first_entry_at=first_entry.at,
            first_entry_gate=first_entry.gate_id,
            first_entry_device=first_entry.device_id,
        )
    return first_entry, doubles


def push(
    engine: sa.Engine, device: Any, request: PushRequest, *, received_at: int, clock: Clock
) -> PushResponse:
    check_protocol(request.protocol)
    if request.device_id != device.id:
        raise ApiError("wrong_device", "device_id is not the device of this token")
    events = request.events
    if len(events) > MAX_PUSH_EVENTS:
        raise ApiError("too_large", f"at most {MAX_PUSH_EVENTS} events per push")
    for index, event in enumerate(events):
        if event.device_id != device.id:
            raise ApiError("wrong_device", "event belongs to another device", seq=event.seq)
        if index and event.seq != events[index - 1].seq + 1:
            raise ApiError("invalid", "events must have consecutive seqs", seq=event.seq)
    for event in events:
        # Shape first: seq <= 0 or a 41-character kind is a malformed event (400, nothing
        # stored, no conflict), not a fork or an unknown kind waiting for an upgrade.
        try:
            check_event_shape(event)
        except ChainError as exc:
            raise ApiError(exc.code, exc.message, seq=exc.seq) from None
        if event.kind not in EVENT_KINDS:
            raise ApiError(
                "upgrade_required",
                f"event kind {event.kind[:40]!r} is unknown to this server",
                seq=event.seq,
            )
    if request.clock is not None:
        sample = request.clock
        offset, round_trip = estimate_offset(sample.t0, sample.t1, sample.t2, sample.t3)
    else:
        offset, round_trip = received_at - request.sent_at, None
    try:
        with engine.begin() as conn:
            outcome = _apply(conn, device, request, offset, round_trip, received_at)
    except _Fork as fork:
        _record_fork(engine, device, fork, received_at)
        raise ApiError(
            "fork", f"seq {fork.seq} differs from the event already accepted", seq=fork.seq
        ) from None
    applied, duplicates, raised, accepted = outcome
    return PushResponse(
        accepted_seq=accepted,
        received_at=received_at,
        responded_at=clock(),
        applied=applied,
        duplicates=duplicates,
        conflicts=raised,
    )


def _apply(
    conn: sa.Connection,
    device: Any,
    request: PushRequest,
    offset: int,
    round_trip: int | None,
    received_at: int,
) -> tuple[int, int, int, int]:
    d = schema.devices
    locked = conn.execute(sa.select(d).where(d.c.id == device.id).with_for_update()).one()
    if locked.status != "approved":
        raise ApiError("device_revoked", "this device has been revoked")
    accepted = locked.accepted_seq
    duplicates = [e for e in request.events if e.seq <= accepted]
    new = [e for e in request.events if e.seq > accepted]
    if duplicates:
        _check_duplicates(conn, device.id, duplicates)
    raised = 0
    if new:
        if new[0].seq != accepted + 1:
            raise ApiError(
                "gap",
                f"expected seq {accepted + 1}, got {new[0].seq}",
                expected_seq=accepted + 1,
                seq=new[0].seq,
            )
        try:
            verify_chain(
                new,
                device_id=device.id,
                public_key=signing.public_key_from_text(locked.public_key),
                first_prev_hash=locked.last_hash if accepted else GENESIS_HASH,
            )
        except ChainError as exc:
            expected = accepted + 1 if exc.code == "gap" else None
            raise ApiError(exc.code, exc.message, seq=exc.seq, expected_seq=expected) from None
        payloads = []
        for event in new:
            try:
                payloads.append(validate_payload(event.kind, event.payload))
            except PayloadError as exc:
                raise ApiError("invalid_event", str(exc), seq=event.seq) from None
            if petrol_events.is_petrol_event(payloads[-1]) and locked.role != changes.PETROL_ROLE:
                raise ApiError(
                    "invalid_event", "only a petrol kiosk records petrol events", seq=event.seq
                )
            if raffle_ingest.is_raffle_event(payloads[-1]) and locked.role != changes.RSU_ROLE:
                raise ApiError("invalid_event", "only an RSU records raffle events", seq=event.seq)
        raised = _store_and_apply(conn, locked, new, payloads, offset, received_at)
        accepted = new[-1].seq
    values: dict[str, Any] = {
        "accepted_seq": accepted,
        "last_push_at": received_at,
        "last_seen_at": received_at,
        "clock_offset_ms": offset,
        "unsynced_estimate": max(0, request.unsynced),
    }
    if round_trip is not None:
        values["round_trip_ms"] = round_trip
    if locked.role == changes.RSU_ROLE:
        raffle_ingest.touch(conn, device.id, received_at)
    if new:
        values["last_hash"] = new[-1].hash
    conn.execute(sa.update(d).where(d.c.id == device.id).values(**values))
    return len(new), len(duplicates), raised, accepted


def _check_duplicates(conn: sa.Connection, device_id: str, duplicates: list[Event]) -> None:
    ie = schema.ingested_events
    stored = dict(
        conn.execute(
            sa.select(ie.c.seq, ie.c.hash).where(
                ie.c.device_id == device_id,
                ie.c.seq.between(duplicates[0].seq, duplicates[-1].seq),
            )
        ).all()
    )
    for event in duplicates:
        if stored.get(event.seq) != event.hash:
            raise _Fork(event.seq, stored.get(event.seq), event.hash)


def _record_fork(engine: sa.Engine, device: Any, fork: _Fork, now: int) -> None:
    """Record the fork in its own transaction: the refused batch left nothing behind."""
    with engine.begin() as conn:
        conflicts.record(
            conn,
            [
                {
                    "kind": ConflictKind.FORK.value,
                    "organization_id": device.organization_id,
                    "event_id": device.event_id,
                    "subject": device.id,
                    "devices": dumps([device.id]),
                    "details": dumps(
                        {"seq": fork.seq, "stored_hash": fork.stored, "pushed_hash": fork.pushed}
                    ),
                    "dedup_key": f"fork:{device.id}:{fork.seq}",
                    "created_at": now,
                }
            ],
        )
        audit(
            conn,
            org_id=device.organization_id,
            actor=device.id,
            action="push.fork",
            subject=str(fork.seq),
            at=now,
        )


def _chunks(items: list[Any]):
    for start in range(0, len(items), _IN_CHUNK):
        yield items[start : start + _IN_CHUNK]


def _store_and_apply(
    conn: sa.Connection,
    device: Any,
    new: list[Event],
    payloads: list[Any],
    offset: int,
    received_at: int,
) -> int:
    """Store the new events and their effects; returns how many conflicts were raised.

    Every new event is stored; one that names an event, gate or raffle outside the
    device's assignment is not applied and raises a ``wrong_assignment`` conflict.
    """
    org_id = device.organization_id
    _insert_ingested(conn, new, offset, received_at)
    refused = []
    kept_events, kept_payloads = [], []
    for event, payload in zip(new, payloads, strict=True):
        problem = assignment_problem(device, payload)
        if problem is None:
            kept_events.append(event)
            kept_payloads.append(payload)
        else:
            refused.append(wrong_assignment_row(device, event, problem, received_at))
    new, payloads = kept_events, kept_payloads
    scans = [(e, p) for e, p in zip(new, payloads, strict=True) if isinstance(p, ScanPayload)]
    petrol_items = [
        (e, p) for e, p in zip(new, payloads, strict=True) if petrol_events.is_petrol_event(p)
    ]
    raised = conflicts.record(conn, refused)
    if petrol_items:
        petrol_raised, sale_changes = petrol_events.apply(
            conn, device, petrol_items, offset, received_at
        )
        raised += petrol_raised
        changes.emit(conn, org_id, sale_changes, received_at)
    raffle_items = [
        (e, p) for e, p in zip(new, payloads, strict=True) if raffle_ingest.is_raffle_event(p)
    ]
    raised += raffle_ingest.apply(conn, device, raffle_items, offset, received_at)
    for event, payload in zip(new, payloads, strict=True):
        if isinstance(payload, SessionPayload):
            _apply_session(conn, device, event, payload, offset)
        elif event.kind == "device_close":
            audit(
                conn,
                org_id=org_id,
                actor=device.id,
                action="device.close",
                subject=str(event.seq),
                at=event.device_time + offset,
            )
    if not scans:
        return raised
    return raised + _apply_scans(conn, device, scans, offset, received_at)


_INGESTED_COLUMNS = (
    "device_id",
    "seq",
    "kind",
    "device_time",
    "received_at",
    "corrected_time",
    "payload",
    "prev_hash",
    "hash",
    "signature",
)


def _insert_ingested(conn: sa.Connection, new: list[Event], offset: int, received_at: int) -> None:
    """Store the raw events: one executemany straight on the driver on SQLite (SQLAlchemy's
    per-row parameter work cost about as much as the insert), ``insert_rows`` (COPY) elsewhere.
    """
    rows = [
        (
            event.device_id,
            event.seq,
            event.kind,
            event.device_time,
            received_at,
            event.device_time + offset,
            dumps(event.payload),
            event.prev_hash,
            event.hash,
            event.signature,
        )
        for event in new
    ]
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(
            f"INSERT INTO ingested_events ({', '.join(_INGESTED_COLUMNS)})"
            f" VALUES ({', '.join('?' * len(_INGESTED_COLUMNS))})",
            rows,
        )
        return
    insert_rows(
        conn,
        schema.ingested_events,
        [dict(zip(_INGESTED_COLUMNS, row, strict=True)) for row in rows],
    )


def _apply_session(
    conn: sa.Connection, device: Any, event: Event, payload: SessionPayload, offset: int
) -> None:
    s = schema.scan_sessions
    at = event.device_time + offset
    if event.kind == "session_open":
        conn.execute(
            sa.insert(s).values(
                device_id=device.id,
                opened_seq=event.seq,
                operator=payload.operator[:100],
                gate_id=payload.gate_id,
                mode=(payload.mode or "")[:20] or None,
                opened_at=at,
            )
        )
        return
    open_id = conn.execute(
        sa.select(sa.func.max(s.c.id)).where(s.c.device_id == device.id, s.c.closed_seq.is_(None))
    ).scalar_one_or_none()
    if open_id is not None:
        conn.execute(
            sa.update(s).where(s.c.id == open_id).values(closed_seq=event.seq, closed_at=at)
        )


def _apply_scans(
    conn: sa.Connection,
    device: Any,
    scans: list[tuple[Event, ScanPayload]],
    offset: int,
    received_at: int,
) -> int:
    """Record the scans (all of the device's own event: see ``assignment``) and their
    admissions; a signed ticket is admitted or created only from a code that verifies."""
    org_id = device.organization_id
    e = schema.events
    event_row = conn.execute(
        sa.select(e.c.id, e.c.ticket_public_key).where(
            e.c.organization_id == org_id, e.c.id == device.event_id
        )
    ).first()
    if event_row is None:  # an approved gate always has its event; nothing to record into
        return 0
    gate_names = dict(
        conn.execute(
            sa.select(schema.gates.c.id, schema.gates.c.name).where(
                schema.gates.c.event_id == event_row.id
            )
        ).all()
    )
    verified, unverified = _check_signed_scans(conn, event_row, scans)
    scan_rows = []
    admission_rows = []
    new_changes: list[changes.NewChange] = []
    signed_tickets: dict[tuple[str, str], dict[str, Any]] = {}
    for event, payload in scans:
        if event.seq in unverified:
            continue
        gate_id = payload.gate_id or device.gate_id
        corrected = event.device_time + offset
        scan_rows.append(
            {
                "device_id": device.id,
                "seq": event.seq,
                "event_id": payload.event_id[:36],
                "gate_id": gate_id,
                "code": payload.code[:256],
                "barcode": (payload.barcode or "")[:64] or None,
                "mode": payload.mode,
                "result": payload.result,
                "moved": payload.moved,
                "device_time": event.device_time,
                "corrected_time": corrected,
                "received_at": received_at,
            }
        )
        if payload.moved is None or not payload.barcode:
            continue
        if event.seq in verified:
            signed_tickets[(payload.event_id, payload.barcode)] = verified[event.seq]
        admission_rows.append(
            {
                "device_id": device.id,
                "seq": event.seq,
                "event_id": payload.event_id,
                "barcode": payload.barcode,
                "direction": payload.moved,
                "at": corrected,
                "gate_id": gate_id,
            }
        )
        new_changes.append(
            changes.NewChange(
                payload.event_id,
                "admission",
                f"{device.id}:{event.seq}",
                "upsert",
                dumps(
                    {
                        "barcode": payload.barcode,
                        "event_id": payload.event_id,
                        "direction": payload.moved,
                        "at": corrected,
                        "device_id": device.id,
                        "gate_id": gate_id,
                        "gate_name": gate_names.get(gate_id),
                    }
                ),
            )
        )
    insert_rows(conn, schema.scans, scan_rows)
    raised = conflicts.record(
        conn,
        [
            _unverified_row(device, event, payload, unverified[event.seq], received_at)
            for event, payload in scans
            if event.seq in unverified
        ],
    )
    if admission_rows:
        insert_rows(conn, schema.admissions, admission_rows)
        new_changes.extend(_create_signed_tickets(conn, signed_tickets, received_at))
        raised += _reconcile_timelines(conn, org_id, admission_rows, received_at)
    changes.emit(conn, org_id, new_changes, received_at)
    return raised


def _check_signed_scans(
    conn: sa.Connection, event_row: Any, scans: list[tuple[Event, ScanPayload]]
) -> tuple[dict[int, dict[str, Any]], dict[int, tuple[str, str]]]:
    """Verify every signed-ticket scan: an event-signed code (FP1) against the event's
    ticket key, a kiosk-signed one (FP2) against the kiosk's registered key.

    Returns (seq -> the ticket's row values from the verified code, seq -> (conflict kind,
    why the scan is refused)). A scan from a device older than ``signed_code`` carries no
    code: it stands as a plain scan when the server already holds its ticket (nothing is
    created from it) and is refused otherwise. A kiosk-signed ticket issued after its
    kiosk was revoked is refused as ``revoked_issuer``.
    """
    verified: dict[int, dict[str, Any]] = {}
    refused: dict[int, tuple[str, str]] = {}
    legacy: dict[int, str] = {}
    unverified = ConflictKind.UNVERIFIED_TICKET.value
    keys = {event_row.id: signing.public_key_from_text(event_row.ticket_public_key)}
    known_issuers: dict[int, issuers.KnownIssuer] = {}
    as_issuers: dict[int, Issuer] | None = None
    for event, payload in scans:
        if not payload.signed:
            continue
        if payload.signed_code is None:
            if payload.moved is not None and payload.barcode:
                legacy[event.seq] = payload.barcode
            continue
        if as_issuers is None:  # revocation is judged below, against the issue time
            known_issuers = issuers.of_event(conn, event_row.id)
            as_issuers = {
                number: Issuer(number, k.device_id, k.public_key, event_row.id, 0, 2**62)
                for number, k in known_issuers.items()
            }
        try:
            parsed = parse_code(payload.signed_code, keys, as_issuers)
        except InvalidCode as exc:
            refused[event.seq] = (unverified, f"signed code refused: {exc.reason}")
            continue
        if parsed.barcode != payload.barcode or payload.event_id != event_row.id:
            refused[event.seq] = (unverified, "the signed code names another ticket than the scan")
        elif parsed.signed is not None:
            ticket = parsed.signed
            verified[event.seq] = {
                "sector": ticket.s,
                "row": ticket.r,
                "seat": ticket.n,
                "holder": ticket.h,
            }
        elif parsed.issued is not None and parsed.issuer is not None:
            issued, issuer = parsed.issued, known_issuers[parsed.issuer.number]
            if issuer.revoked_at is not None and issued.t * 1000 >= issuer.revoked_at:
                refused[event.seq] = (
                    ConflictKind.REVOKED_ISSUER.value,
                    f"issued by kiosk {issued.i} after it was revoked at "
                    f"{to_iso(issuer.revoked_at)}",
                )
                continue
            verified[event.seq] = {
                "sector": issued.s,
                "row": issued.r,
                "seat": issued.n,
                "holder": issued.h,
                "issued_by": issuer.device_id,
                "issued_at": issued.t * 1000,
            }
        else:
            refused[event.seq] = (unverified, "signed is set but the code is a plain barcode")
    if legacy:
        t = schema.tickets
        held = set(
            conn.execute(
                sa.select(t.c.barcode).where(
                    t.c.event_id == event_row.id, t.c.barcode.in_(set(legacy.values()))
                )
            ).scalars()
        )
        for seq, barcode in legacy.items():
            if barcode not in held:
                refused[seq] = (
                    unverified,
                    "no signed code to verify a ticket the server does not hold"
                    " (device software older than the server)",
                )
    return verified, refused


def _unverified_row(
    device: Any, event: Event, payload: ScanPayload, refusal: tuple[str, str], now: int
) -> dict[str, Any]:
    kind, problem = refusal
    return {
        "kind": kind,
        "organization_id": device.organization_id,
        "event_id": device.event_id,
        "subject": (payload.barcode or payload.code)[:200],
        "devices": dumps([device.id]),
        "details": dumps(
            {"device_id": device.id, "seq": event.seq, "result": payload.result, "problem": problem}
        ),
        "dedup_key": f"{kind}:{device.id}:{event.seq}",
        "created_at": now,
    }


def _create_signed_tickets(
    conn: sa.Connection, signed: dict[tuple[str, str], dict[str, Any]], now: int
) -> list[changes.NewChange]:
    """Tickets admitted from a verified signed code the server does not hold: issued after
    the backup it was restored from (FP1), or sold by a kiosk whose sale has not arrived
    yet (FP2: kept with ``issued_by`` until it does). Stored from the code's own data."""
    if not signed:
        return []
    t = schema.tickets
    known: set[tuple[str, str]] = set()
    for event_id in {event_id for event_id, _ in signed}:
        barcodes = [b for e, b in signed if e == event_id]
        for chunk in _chunks(barcodes):
            known.update(
                (event_id, barcode)
                for barcode in conn.execute(
                    sa.select(t.c.barcode).where(t.c.event_id == event_id, t.c.barcode.in_(chunk))
                ).scalars()
            )
    rows = []
    for (event_id, barcode), values in signed.items():
        if (event_id, barcode) in known:
            continue
        rows.append(
            {
                "event_id": event_id,
                "barcode": barcode,
                "sector": values["sector"][:50],
                "row": values["row"][:20],
                "seat": values["seat"][:20],
                "holder": values["holder"][:200],
                "status": "VALID",
                "status_reason": "",
                "issued_by": values.get("issued_by"),
                "issued_at": values.get("issued_at"),
            }
        )
    if not rows:
        return []
    conn.execute(
        sa.insert(t),
        [{**row, "signed": True, "created_at": now, "updated_at": now} for row in rows],
    )
    return [ticket_change(row) for row in rows]


def _reconcile_timelines(
    conn: sa.Connection, org_id: str, admission_rows: list[dict[str, Any]], now: int
) -> int:
    """Replay every touched ticket's admissions; record double entries and first entries."""
    a = schema.admissions
    t = schema.tickets
    touched: dict[str, set[str]] = defaultdict(set)
    for row in admission_rows:
        touched[row["event_id"]].add(row["barcode"])
    conflict_rows = []
    ticket_updates = []
    for event_id, barcodes in touched.items():
        timelines: dict[str, list[Admission]] = defaultdict(list)
        current: dict[str, tuple] = {}
        for chunk in _chunks(sorted(barcodes)):
            for row in conn.execute(
                sa.select(a).where(a.c.event_id == event_id, a.c.barcode.in_(chunk))
            ):
                timelines[row.barcode].append(
                    Admission(row.device_id, row.seq, row.direction, row.at, row.gate_id)
                )
            for row in conn.execute(
                sa.select(
                    t.c.id,
                    t.c.barcode,
                    t.c.first_entry_at,
                    t.c.first_entry_gate,
                    t.c.first_entry_device,
                ).where(t.c.event_id == event_id, t.c.barcode.in_(chunk))
            ):
                current[row.barcode] = (
                    row.id,
                    (row.first_entry_at, row.first_entry_gate, row.first_entry_device),
                )
        for barcode, timeline in timelines.items():
            first, doubles = replay_timeline(event_id, barcode, timeline)
            conflict_rows.extend(
                _double_entry_row(org_id, event_id, barcode, d, now) for d in doubles
            )
            if barcode in current and first is not None:
                ticket_id, stored = current[barcode]
                wanted = (first.at, first.gate_id, first.device_id)
                if stored != wanted:
                    ticket_updates.append(
                        {
                            "ticket_id": ticket_id,
                            "at": first.at,
                            "gate": first.gate_id,
                            "device": first.device_id,
                        }
                    )
    if ticket_updates and conn.dialect.name == "postgresql":
        # One statement for the whole batch; an executemany UPDATE is one per ticket.
        conn.execute(
            sa.text(
                "UPDATE tickets SET first_entry_at = v.at, first_entry_gate = v.gate,"
                " first_entry_device = v.device"
                " FROM unnest(CAST(:ids AS integer[]), CAST(:ats AS bigint[]),"
                " CAST(:gates AS text[]), CAST(:devices AS text[])) AS v(id, at, gate, device)"
                " WHERE tickets.id = v.id"
            ),
            {
                "ids": [u["ticket_id"] for u in ticket_updates],
                "ats": [u["at"] for u in ticket_updates],
                "gates": [u["gate"] for u in ticket_updates],
                "devices": [u["device"] for u in ticket_updates],
            },
        )
    elif ticket_updates:
        conn.execute(
            sa.update(t)
            .where(t.c.id == sa.bindparam("ticket_id"))
            .values(
                first_entry_at=sa.bindparam("at"),
                first_entry_gate=sa.bindparam("gate"),
                first_entry_device=sa.bindparam("device"),
            ),
            ticket_updates,
        )
    return conflicts.record(conn, conflict_rows)


def _double_entry_row(
    org_id: str, event_id: str, barcode: str, double: DoubleEntry, now: int
) -> dict[str, Any]:
    first, second = double.first, double.second
    devices = list(dict.fromkeys([first.device_id, second.device_id]))

    def side(admission: Admission) -> dict[str, Any]:
        return {
            "device_id": admission.device_id,
            "gate_id": admission.gate_id,
            "seq": admission.seq,
            "at": to_iso(admission.at),
        }

    return {
        "kind": ConflictKind.DOUBLE_ENTRY.value,
        "organization_id": org_id,
        "event_id": event_id,
        "subject": barcode,
        "devices": dumps(devices),
        "details": dumps({"first": side(first), "second": side(second)}),
        "dedup_key": (
            f"double_entry:{event_id}:{barcode}:"
            f"{first.device_id}:{first.seq}:{second.device_id}:{second.seq}"
        )[:400],
        "created_at": now,
    }
