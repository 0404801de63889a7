"""``fieldpass device recover``: rebuild a lost or damaged store without losing the chain.

The server holds every event the device pushed; they are the device's own signed events,
so the device checks each hash, link and signature with its own key and trusts the
server only to hand them all over. Events made after the last push may survive in the
damaged store: those that still continue the chain and verify are kept and pushed. The
old store is set aside, never deleted. The device's own records (scans, petrol sales,
raffle orders and the numbers they took) are rebuilt from the events, so an RSU never
sells a number it sold before the loss; then the slice is pulled again.
"""

from __future__ import annotations

import sqlite3
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import msgspec

from fieldpass.device import raffle_store
from fieldpass.device.enrollment import link_for
from fieldpass.device.errors import DeviceError
from fieldpass.device.home import DeviceHome
from fieldpass.device.identity import DeviceIdentity, load_key, remember_store
from fieldpass.device.server_link import auth_error, problem_of
from fieldpass.device.store import ACCEPTED_SEQ, STORE_ID, Store
from fieldpass.sync import signing
from fieldpass.sync.clock import Clock, system_clock
from fieldpass.sync.events import GENESIS_HASH, ChainError, Event, verify_chain
from fieldpass.sync.messages import OwnEventsResponse
from fieldpass.sync.payloads import PayloadError, validate_payload
from fieldpass.sync.versions import PROTOCOL_VERSION

_own_events_decoder = msgspec.json.Decoder(OwnEventsResponse)
_payload_encoder = msgspec.json.Encoder(order="sorted")


@dataclass(frozen=True)
class RecoveryReport:
    set_aside: Path | None  # where the old store went (None: there was none)
    from_server: int  # events the server held, checked and restored
    salvaged: int  # unpushed events read back from the old store, checked, kept
    lost: int  # events this device had made that neither held (0 when nothing was lost)
    last_seq: int


def recover(
    home: DeviceHome, http: httpx.Client | None = None, clock: Clock = system_clock
) -> RecoveryReport:
    identity = DeviceIdentity.load(home.identity_path)
    if identity.status != "approved":
        raise DeviceError("not_approved", "only an approved device can recover its store")
    key = load_key(home.key_path)
    public = signing.public_key_from_text(signing.public_key_text(key))
    from_server = _server_events(home, identity, http)
    try:
        verify_chain(
            from_server,
            device_id=identity.device_id,
            public_key=public,
            first_prev_hash=GENESIS_HASH,
        )
    except ChainError as exc:
        raise DeviceError(
            "bad_response",
            f"the server's copy of this device's events does not verify ({exc}): nothing changed",
        ) from None
    salvaged = max(
        (
            _salvage(path, identity.device_id, public, from_server)
            for path in _old_stores(home.store_path)
        ),
        key=len,
        default=[],
    )
    set_aside = _set_aside(home.store_path)
    events = from_server + salvaged
    store = Store.open(home.store_path, clock)
    try:
        store.device_id = identity.device_id
        with store.transaction() as conn:
            for event in events:
                conn.execute(
                    "INSERT INTO outbox (seq, kind, device_time, payload, prev_hash, hash,"
                    " signature, pushed) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        event.seq,
                        event.kind,
                        event.device_time,
                        _payload_encoder.encode(event.payload).decode(),
                        event.prev_hash,
                        event.hash,
                        event.signature,
                        int(event.seq <= len(from_server)),
                    ),
                )
            rebuild_own_records(conn, events, identity)
            store_id = uuid.uuid4().hex
            conn.executemany(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                [(STORE_ID, store_id), (ACCEPTED_SEQ, str(len(from_server)))],
            )
        last_seq = store.last_seq()
    finally:
        store.close()
    remember_store(home, store_id=store_id, last_outbox_seq=last_seq)
    return RecoveryReport(
        set_aside=set_aside,
        from_server=len(from_server),
        salvaged=len(salvaged),
        lost=max(identity.last_outbox_seq - last_seq, 0),
        last_seq=last_seq,
    )


def _server_events(
    home: DeviceHome, identity: DeviceIdentity, http: httpx.Client | None
) -> list[Event]:
    if not identity.token:
        raise DeviceError("not_approved", "this device has no token: run fieldpass device sync")
    link = link_for(home, identity, http)
    events: list[Event] = []
    try:
        while True:
            response = link.request(
                "GET",
                "/v1/sync/events",
                params={"after": len(events), "protocol": PROTOCOL_VERSION},
                headers={"Authorization": f"Bearer {identity.token}"},
            )
            if response.status_code != 200:
                error = auth_error(response)
                if error is not None:
                    raise error
                problem = problem_of(response)
                raise DeviceError("server_error", f"{problem.code}: {problem.message}")
            try:
                page = _own_events_decoder.decode(response.content)
            except (msgspec.DecodeError, msgspec.ValidationError) as exc:
                raise DeviceError("bad_response", f"bad events answer: {exc}") from exc
            if [e.seq for e in page.events] != list(
                range(len(events) + 1, len(events) + 1 + len(page.events))
            ):
                raise DeviceError("bad_response", "the server skipped some of this device's events")
            events += page.events
            if not page.more or not page.events:
                break
    finally:
        link.close()
    return events


def _salvage(path: Path, device_id: str, public_key: Any, held: list[Event]) -> list[Event]:
    """Events after ``held`` still readable in the old store that continue the chain."""
    if not path.exists() or path.stat().st_size == 0:
        return []
    after = len(held)
    previous = held[-1].hash if held else GENESIS_HASH
    kept: list[Event] = []
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.DatabaseError:
        return []
    try:
        rows = conn.execute(
            "SELECT seq, kind, device_time, payload, prev_hash, hash, signature FROM outbox"
            " WHERE seq > ? ORDER BY seq",
            (after,),
        ).fetchall()
    except sqlite3.DatabaseError:
        rows = []
    finally:
        conn.close()
    for seq, kind, device_time, payload, prev_hash, digest, signature in rows:
        try:
            event = Event(
                device_id=device_id,
                seq=seq,
                kind=kind,
                device_time=device_time,
                payload=msgspec.json.decode(payload),
                prev_hash=prev_hash,
                hash=digest,
                signature=signature,
            )
            verify_chain(
                [event], device_id=device_id, public_key=public_key, first_prev_hash=previous
            )
        except (ChainError, msgspec.DecodeError, TypeError, ValueError):
            break  # the chain stops at the first event that does not verify
        if event.seq != after + len(kept) + 1:
            break
        kept.append(event)
        previous = event.hash
    return kept


def _old_stores(path: Path) -> list[Path]:
    """The store and every copy an earlier recovery set aside (one cut short by a kill
    may have moved the damaged store before rebuilding): unsent events may be in any."""
    copies = [
        p
        for p in path.parent.glob(f"{path.name}.damaged-*")
        if not p.name.endswith(("-wal", "-shm"))
    ]
    return [path, *sorted(copies, reverse=True)]


def _set_aside(path: Path) -> Path | None:
    """Move the old store (and its WAL files) out of the way, keeping it for inspection."""
    if not path.exists():
        return None
    stamp = time.strftime("%Y%m%dT%H%M%S")
    target = path.with_name(f"{path.name}.damaged-{stamp}")
    for suffix in ("", "-wal", "-shm"):
        old = Path(f"{path}{suffix}")
        if old.exists():
            old.rename(Path(f"{target}{suffix}"))
    return target


def rebuild_own_records(
    conn: sqlite3.Connection, events: list[Event], identity: DeviceIdentity
) -> None:
    """Re-derive what each event recorded on this device, in seq order: the gate's scans and
    counters, the petrol kiosk's sales, tickets and block releases, the RSU's orders, the
    numbers they took, voids, reprints and its close. What was pulled comes back by pull."""
    for event in events:
        try:
            payload = validate_payload(event.kind, event.payload)
        except PayloadError:
            continue  # an event this software cannot read records nothing here
        handler = _REBUILDERS.get(event.kind)
        if handler is not None:
            handler(conn, event, payload, identity)


def _scan(conn: sqlite3.Connection, event: Event, p: Any, identity: DeviceIdentity) -> None:
    conn.execute(
        "INSERT INTO scans (seq, code, code_length, barcode, mode, result, reason, moved,"
        " scanned_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            event.seq,
            p.code,
            p.code_length,
            p.barcode,
            p.mode,
            p.result,
            p.reason,
            p.moved,
            event.device_time,
        ),
    )
    rejected = p.result not in ("VALID", "VALID_EXIT") and p.mode != "check"
    conn.execute(
        "UPDATE scan_counters SET scans = scans + 1, admitted = admitted + ?,"
        " rejected = rejected + ? WHERE id = 1",
        (int(p.moved == "in"), int(rejected)),
    )


def _petrol_sale(conn: sqlite3.Connection, event: Event, p: Any, identity: DeviceIdentity) -> None:
    conn.execute(
        "INSERT INTO petrol_sales (seq, pin_id, pin, event_id, payment_method, amount_cents,"
        " tendered_cents, reference, sold_at, reservation_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            event.seq,
            p.pin_id,
            p.pin,
            p.event_id,
            p.payment.method,
            p.payment.amount_cents,
            p.payment.tendered_cents,
            p.payment.reference,
            p.sold_at,
            p.reservation_id,
        ),
    )
    share, remainder = divmod(p.payment.amount_cents, len(p.tickets))
    for index, ticket in enumerate(p.tickets):
        document = p.documents[index] if p.documents and index < len(p.documents) else None
        conn.execute(
            'INSERT OR IGNORE INTO petrol_tickets (barcode, seq, event_id, sector, "row", seat,'
            " holder, document_type, price_cents) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                ticket.barcode,
                event.seq,
                p.event_id,
                ticket.sector,
                ticket.row,
                ticket.seat,
                ticket.holder_name,
                document,
                share + (remainder if index == 0 else 0),
            ),
        )


def _seat_block_released(
    conn: sqlite3.Connection, event: Event, p: Any, identity: DeviceIdentity
) -> None:
    conn.execute(
        "INSERT OR IGNORE INTO petrol_block_releases (block_id, seq, released_at, seats)"
        " VALUES (?, ?, ?, ?)",
        (p.block_id, event.seq, p.released_at, len(p.seats)),
    )


def _raffle_sale(conn: sqlite3.Connection, event: Event, p: Any, identity: DeviceIdentity) -> None:
    raffle_store.insert_order(
        conn,
        raffle_store.OrderRecord(
            id=p.order_id,
            raffle_id=p.raffle_id,
            validation_number=p.validation_number,
            package_id=p.package_id,
            package_name="",
            draw_numbers=list(p.draw_numbers),
            price_cents=p.price_cents,
            payment_method=p.payment.method,
            payment_reference=p.payment.reference,
            tendered_cents=p.payment.tendered_cents,
            customer_name=p.customer_name,
            customer_phone=p.customer_phone,
            operator=p.operator,
            sold_at=p.sold_at,
            seq=event.seq,
            voided_at=None,
            void_reason=None,
            copies_printed=1,
        ),
    )


def _raffle_void(conn: sqlite3.Connection, event: Event, p: Any, identity: DeviceIdentity) -> None:
    raffle_store.mark_voided(
        conn, p.order_id, voided_at=p.voided_at, reason=p.reason, seq=event.seq
    )


def _raffle_reprint(
    conn: sqlite3.Connection, event: Event, p: Any, identity: DeviceIdentity
) -> None:
    raffle_store.set_copies_printed(conn, p.order_id, p.copy_number)


def _device_close(conn: sqlite3.Connection, event: Event, p: Any, identity: DeviceIdentity) -> None:
    if p.raffle_id is not None and p.orders is not None:
        raffle_store.insert_close(
            conn,
            raffle_store.CloseRecord(p.raffle_id, event.seq, p.orders, event.device_time),
            "",
        )


_REBUILDERS = {
    "scan": _scan,
    "petrol_sale": _petrol_sale,
    "seat_block_released": _seat_block_released,
    "raffle_sale": _raffle_sale,
    "raffle_void": _raffle_void,
    "raffle_reprint": _raffle_reprint,
    "device_close": _device_close,
}


def recovery_summary(report: RecoveryReport) -> str:
    lines = [
        f"restored {report.from_server} events held by the server and {report.salvaged} unsent "
        f"events from the old store (outbox now ends at seq {report.last_seq})"
    ]
    if report.set_aside is not None:
        lines.append(f"the old store was kept as {report.set_aside}")
    if report.lost:
        lines.append(f"{report.lost} event(s) made here after the last sync could not be recovered")
    return "\n".join(lines)
