"""Gate check-in on the device: decide a scan from the local store and record it durably.

The decision itself is ``fieldpass.sync.checkin.decide`` (shared with the server); this
module gathers its inputs from the store and commits the scan, its admission and its
outbox event in one transaction before answering.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from fieldpass.device.identity import DeviceIdentity
from fieldpass.device.store import Store
from fieldpass.sync import signing
from fieldpass.sync.checkin import (
    GateContext,
    Presence,
    ScanMode,
    ScanResult,
    TicketView,
    decide,
)
from fieldpass.sync.clock import Clock, system_clock
from fieldpass.sync.codes import (
    InvalidCode,
    Issuer,
    ParsedCode,
    RevokedIssuer,
    UnknownIssuer,
    UnknownSigner,
    parse_code,
)
from fieldpass.sync.payloads import ScanPayload, payload_dict

MAX_RECORDED_CODE = 256


@dataclass(frozen=True)
class ScanOutcome:
    """What the staff screen shows for one scan."""

    result: ScanResult
    reason: str
    mode: ScanMode
    code: str
    barcode: str | None
    holder: str
    sector: str
    row: str
    seat: str
    first_entry_at: int | None
    first_entry_gate: str | None
    seq: int | None  # outbox seq of the recorded scan (None for a debounced repeat)
    repeated: bool  # same code within the debounce window: one scan, nothing recorded
    scanned_at: int


@dataclass(frozen=True)
class GateCounters:
    admitted: int
    rejected: int
    inside_now: int
    scans: int


@dataclass(frozen=True)
class GateInfo:
    event_id: str
    event_name: str
    gate_id: str | None
    gate_name: str
    sectors: tuple[str, ...] | None


def _clean_code(raw: str) -> str:
    """The recorded form of a read: cut to 256 characters, always encodable as UTF-8."""
    cut = raw[:MAX_RECORDED_CODE]
    return cut.encode("utf-8", "replace").decode("utf-8")


def _ticket_view(row: tuple) -> TicketView:
    return TicketView(
        barcode=row[0],
        event_id=row[1],
        sector=row[2],
        row=row[3],
        seat=row[4],
        holder=row[5],
        status=row[6],
        status_reason=row[7],
    )


class GateService:
    """Check-in at one gate device. Safe to call from any thread (one scan at a time)."""

    def __init__(
        self,
        store: Store,
        identity: DeviceIdentity,
        key: Ed25519PrivateKey,
        clock: Clock = system_clock,
        debounce_ms: int = 2000,
    ) -> None:
        self.store = store
        self.identity = identity
        if not store.device_id:
            store.device_id = identity.device_id
        self.key = key
        self.clock = clock
        self.debounce_ms = debounce_ms
        self._lock = threading.Lock()
        self._key_cache: dict[str, Ed25519PublicKey | None] = {}
        self._issuer_cache: tuple[int, dict[int, Issuer]] | None = None

    # -- the hot path ----------------------------------------------------------------------

    def check_in(self, code: str, mode: ScanMode = ScanMode.ENTRY) -> ScanOutcome:
        """Decide one scan and commit it (scan row, admission, outbox event) before answering.

        Never raises for bad input: malformed codes are INVALID scans, recorded like any other.
        """
        mode = ScanMode(mode)
        if not isinstance(code, str):
            code = repr(code)
        device_now = self.clock()
        recorded_code = _clean_code(code)
        with self._lock, self.store.transaction() as conn:
            previous = self.store.last_scan_of(recorded_code)
            # One physical read reported twice; a switch of mode in between is a new scan.
            if (
                previous is not None
                and previous[3] == mode.value
                and 0 <= device_now - previous[12] < self.debounce_ms
            ):
                return self._repeat(previous)
            now = self.store.server_time(device_now)
            event_id = self.identity.event_id or ""
            event = self.store.event_row(event_id)
            gate = self.store.gate_row(self.identity.gate_id)
            context = GateContext(
                event_id=event_id,
                gate_id=self.identity.gate_id,
                sectors=None if gate is None or gate[2] is None else frozenset(gate[2]),
                valid_from=event[2] if event else None,
                valid_until=event[3] if event else None,
            )
            gate_name = gate[1] if gate else (self.identity.gate_id or "")

            parsed: ParsedCode | None = None
            ticket: TicketView | None = None
            barcode: str | None = None
            ticket_from: int | None = None
            ticket_until: int | None = None
            result: ScanResult | None = None
            reason = ""
            try:
                parsed = parse_code(code, self._ticket_keys(event), self._issuers())
            except UnknownSigner as exc:
                result, reason = ScanResult.WRONG_EVENT, exc.reason
                barcode = exc.ticket.b if exc.ticket is not None else None
            except UnknownIssuer as exc:
                result, reason = ScanResult.UNKNOWN, exc.reason
                barcode = exc.ticket.b if exc.ticket is not None else None
            except RevokedIssuer as exc:
                result, reason = ScanResult.REVOKED, exc.reason
                barcode = exc.ticket.b if exc.ticket is not None else None
            except InvalidCode as exc:
                result, reason = ScanResult.INVALID, exc.reason

            presence = Presence()
            if parsed is not None:
                barcode = parsed.barcode
                row = self.store.ticket(barcode)
                if row is not None:
                    ticket = _ticket_view(row)
                elif parsed.signed is not None:
                    s = parsed.signed
                    ticket = TicketView(
                        barcode=s.b, event_id=s.e, sector=s.s, row=s.r, seat=s.n, holder=s.h
                    )
                elif parsed.issued is not None and parsed.issuer is not None:
                    i = parsed.issued  # sold by a certified kiosk after this gate's last sync
                    ticket = TicketView(
                        barcode=i.b,
                        event_id=parsed.issuer.event_id,
                        sector=i.s,
                        row=i.r,
                        seat=i.n,
                        holder=i.h,
                    )
                if parsed.signed is not None:
                    ticket_from, ticket_until = parsed.signed.vf, parsed.signed.vt
                elif parsed.issuer is not None:
                    ticket_from, ticket_until = parsed.issuer.valid_from, parsed.issuer.valid_until
                p = self.store.presence(barcode)
                if p is not None:
                    presence = Presence(
                        inside=bool(p[0]),
                        first_entry_at=p[1],
                        first_entry_gate=p[2],
                        first_entry_device=p[3],
                    )
                decision = decide(
                    ticket,
                    presence,
                    context,
                    mode,
                    now,
                    ticket_valid_from=ticket_from,
                    ticket_valid_until=ticket_until,
                )
                result, reason = decision.result, decision.reason
                moved = "in" if decision.admits_entry else "out" if decision.admits_exit else None
            else:
                moved = None
            if result is None:  # pragma: no cover - every branch above sets it
                result = ScanResult.INVALID

            signed = parsed is not None and (parsed.signed or parsed.issued) is not None
            payload = ScanPayload(
                event_id=event_id,
                mode=mode.value,
                result=result.value,
                code=recorded_code,
                code_length=len(code),
                barcode=barcode,
                gate_id=self.identity.gate_id,
                reason=reason,
                moved=moved,
                signed=signed,
                # the whole code, so the server can check its signature itself
                signed_code=code.strip() if signed else None,
            )
            appended = self.store.append_event(
                conn,
                self.key,
                device_id=self.identity.device_id,
                kind="scan",
                device_time=device_now,
                payload=payload_dict(payload),
            )
            if moved is not None and barcode is not None:
                conn.execute(
                    "INSERT INTO admissions (key, barcode, event_id, direction, at, device_id,"
                    " gate_id, gate_name, own) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1)",
                    (
                        f"{self.identity.device_id}:{appended.seq}",
                        barcode,
                        event_id,
                        moved,
                        now,
                        self.identity.device_id,
                        self.identity.gate_id,
                        gate_name,
                    ),
                )
            show_first = result is ScanResult.ALREADY_USED or (
                moved is None and presence.first_entry_at is not None
            )
            outcome = ScanOutcome(
                result=result,
                reason=reason,
                mode=mode,
                code=recorded_code,
                barcode=barcode,
                holder=ticket.holder if ticket else "",
                sector=ticket.sector if ticket else "",
                row=ticket.row if ticket else "",
                seat=ticket.seat if ticket else "",
                first_entry_at=presence.first_entry_at if show_first else None,
                first_entry_gate=presence.first_entry_gate if show_first else None,
                seq=appended.seq,
                repeated=False,
                scanned_at=device_now,
            )
            rejected = not result.admits and not (
                mode is ScanMode.CHECK and result is ScanResult.VALID
            )
            conn.execute(
                "INSERT INTO scans (seq, code, code_length, barcode, mode, result, reason, moved,"
                ' holder, sector, "row", seat, first_entry_at, first_entry_gate, scanned_at)'
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    appended.seq,
                    recorded_code,
                    len(code),
                    barcode,
                    mode.value,
                    result.value,
                    reason,
                    moved,
                    outcome.holder,
                    outcome.sector,
                    outcome.row,
                    outcome.seat,
                    outcome.first_entry_at,
                    outcome.first_entry_gate,
                    device_now,
                ),
            )
            conn.execute(
                "UPDATE scan_counters SET scans = scans + 1, admitted = admitted + ?,"
                " rejected = rejected + ? WHERE id = 1",
                (int(moved == "in"), int(rejected)),
            )
        return outcome

    def _repeat(self, row: tuple) -> ScanOutcome:
        return ScanOutcome(
            result=ScanResult(row[4]),
            reason=row[5],
            mode=ScanMode(row[3]),
            code=row[1],
            barcode=row[2],
            holder=row[6],
            sector=row[7],
            row=row[8],
            seat=row[9],
            first_entry_at=row[10],
            first_entry_gate=row[11],
            seq=None,
            repeated=True,
            scanned_at=row[12],
        )

    def _issuers(self) -> dict[int, Issuer]:
        """The certified issuing devices of this event (kiosk-issued tickets), reloaded
        whenever a pull or the LAN changed them."""
        generation = self.store.issuers_generation
        if self._issuer_cache is None or self._issuer_cache[0] != generation:
            self._issuer_cache = (generation, self.store.issuers())
        return self._issuer_cache[1]

    def _ticket_keys(self, event: tuple | None) -> dict[str, Ed25519PublicKey]:
        """The pulled event's ticket key (cached by its text), for signed tickets."""
        if event is None or not event[4]:
            return {}
        key_text = event[4]
        if key_text not in self._key_cache:
            try:
                self._key_cache[key_text] = signing.public_key_from_text(key_text)
            except (signing.EncodingError, ValueError):
                self._key_cache[key_text] = None
        public = self._key_cache[key_text]
        return {} if public is None else {event[0]: public}

    # -- the staff screen ------------------------------------------------------------------

    def counters(self) -> GateCounters:
        admitted, rejected, scans = self.store.scan_counters()
        return GateCounters(
            admitted=admitted, rejected=rejected, inside_now=self.store.inside_count(), scans=scans
        )

    def search_holder(self, text: str, limit: int = 20) -> list[TicketView]:
        return [_ticket_view(r) for r in self.store.search_tickets(text, limit)]

    def info(self) -> GateInfo:
        event = self.store.event_row(self.identity.event_id)
        gate = self.store.gate_row(self.identity.gate_id)
        return GateInfo(
            event_id=self.identity.event_id or "",
            event_name=event[1] if event else "",
            gate_id=self.identity.gate_id,
            gate_name=gate[1] if gate else (self.identity.gate_id or ""),
            sectors=None if gate is None or gate[2] is None else tuple(gate[2]),
        )
