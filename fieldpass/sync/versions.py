"""Protocol and schema versions carried by every request, and the event kinds each knows."""

PROTOCOL_VERSION = 1
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
    }
)

#: Pull entities a device may receive.
ENTITIES: frozenset[str] = frozenset(
    {"event", "gate", "ticket", "admission", "device", "petrol_pin", "seat_block", "seat"}
)
