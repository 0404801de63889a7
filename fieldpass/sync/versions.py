"""Protocol and schema versions carried by every request, and the event kinds each knows."""

#: 2: signed answers, challenge-response enrollment, own-events recovery.
PROTOCOL_VERSION = 2
SCHEMA_VERSION = 1

#: Outbox event kinds this protocol version defines. A server refuses any other kind
#: with ``upgrade_required`` and the device keeps it queued.
EVENT_KINDS: frozenset[str] = frozenset(
    {
        "scan",  # gate: one scan, accepted or not
        "session_open",  # gate/rsu/petrol: operator opened a session at the device
        "session_close",
        "device_close",  # device closed (end of shift / raffle sales)
        "petrol_sale",  # petrol kiosk: a PIN redeemed, seats sold, tickets issued
        "petrol_reservation",  # petrol kiosk: seats held for a PIN until sale or expiry
        "petrol_reservation_end",  # petrol kiosk: a reservation expired or was cancelled
        "petrol_reprint",  # petrol kiosk: emergency reprint (reason, identity checked)
        "seat_block_released",  # petrol kiosk: stopped selling a returned block, unsold seats
        "raffle_sale",  # rsu: one order (a package's draw numbers, one validation number)
        "raffle_void",  # rsu: a whole order voided, with a reason
        "raffle_reprint",  # rsu: a receipt printed again (REPRINT), for the print log
    }
)

#: Pull entities a device may receive.
ENTITIES: frozenset[str] = frozenset(
    {
        "event",
        "gate",
        "ticket",
        "admission",
        "device",
        "petrol_pin",
        "seat_block",
        "seat",
        # an RSU's slice: its raffle, the raffle's packages and prizes, this RSU (its
        # terminal number) and its number allocations
        "raffle",
        "raffle_package",
        "raffle_prize",
        "rsu",
        "raffle_allocation",
        # devices the server certified to issue tickets for the event (kiosk-signed
        # tickets verify offline); a revoked one arrives as a tombstone
        "issuer",
    }
)
