"""An RSU on a real SQLite store, seeded with the pull slice of docs/raffle.md."""

from __future__ import annotations

from pathlib import Path

from fieldpass.device.identity import DeviceIdentity
from fieldpass.device.raffle import RaffleService
from fieldpass.device.store import Store
from fieldpass.sync import signing
from fieldpass.sync.messages import Change

from .conftest import T0, FakeClock

RAFFLE_ID = "raffle-1"
DEVICE_ID = "rsu-1"
TERMINAL = 42
SALES_END = T0 + 3_600_000
PACKAGES = {  # id: (name, tickets, price)
    "pkg-1": ("1 for 5", 1, 500),
    "pkg-3": ("3 for 10", 3, 1000),
    "pkg-10": ("10 for 20", 10, 2000),
}


def raffle_data(**overrides) -> dict:
    data = {
        "id": RAFFLE_ID,
        "name": "Club raffle",
        "state": "active",
        "organization_name": "NK Fieldpass",
        "licence_number": "LIC-77",
        "sales_start": T0 - 3_600_000,
        "sales_end": SALES_END,
        "claim_deadline": T0 + 30 * 86_400_000,
        "jackpot_estimate_cents": 150_000,
        "max_tickets": 10_000,
    }
    return {**data, **overrides}


def rsu_identity(device_id: str = DEVICE_ID, raffle_id: str | None = RAFFLE_ID) -> DeviceIdentity:
    return DeviceIdentity(
        device_id=device_id,
        name="Stand 1",
        role="rsu",
        server_url="http://127.0.0.1:9",
        status="approved",
        token="tok",
        organization_id="org-1",
        raffle_id=raffle_id,
    )


class Rsu:
    """One RSU: store, key, clock and service; ``pull`` applies changes as a sync would."""

    def __init__(self, path: Path, *, device_id: str = DEVICE_ID, terminal: int = TERMINAL):
        self.clock = FakeClock()
        self.store = Store.open(path, self.clock)
        self.key = signing.generate_private_key()
        self.identity = rsu_identity(device_id)
        self.store.device_id = device_id
        self.store.ensure_assignment(None, None, RAFFLE_ID)
        self.service = RaffleService(self.store, self.identity, self.key, self.clock)
        self.seq = 0
        self.terminal = terminal

    def change(self, entity: str, key: str, data: dict, op: str = "upsert") -> Change:
        self.seq += 1
        return Change(seq=self.seq, entity=entity, key=key, op=op, data=data)

    def pull(self, *changes: Change) -> None:
        self.store.apply_changes(list(changes), f"e:{self.seq}", "e")

    def raffle(self, **overrides) -> None:
        self.pull(self.change("raffle", RAFFLE_ID, raffle_data(**overrides)))

    def allocation(self, allocation_id: str, start: int, end: int, active: bool = True) -> None:
        data = {"id": allocation_id, "start_number": start, "end_number": end, "is_active": active}
        self.pull(self.change("raffle_allocation", allocation_id, data))

    def package(self, package_id: str, active: bool = True) -> None:
        name, tickets, price = PACKAGES[package_id]
        data = {
            "id": package_id,
            "name": name,
            "ticket_count": tickets,
            "price_cents": price,
            "display_order": tickets,
            "is_active": active,
        }
        self.pull(self.change("raffle_package", package_id, data))

    def seed(self, ranges: list[tuple[int, int]] = [(1, 100)]) -> Rsu:  # noqa: B006
        """Raffle, packages, prize, this RSU's row and allocations, in one page."""
        changes = [
            self.change("raffle", RAFFLE_ID, raffle_data()),
            *(
                self.change(
                    "raffle_package",
                    pid,
                    {
                        "id": pid,
                        "name": name,
                        "ticket_count": tickets,
                        "price_cents": price,
                        "display_order": tickets,
                        "is_active": True,
                    },
                )
                for pid, (name, tickets, price) in PACKAGES.items()
            ),
            self.change(
                "raffle_prize",
                "prize-1",
                {
                    "id": "prize-1",
                    "name": "Car",
                    "position": 1,
                    "prize_type": "fixed",
                    "value_cents": 2_000_000,
                    "percentage": None,
                    "winner_count": 1,
                },
            ),
            self.change(
                "rsu",
                self.identity.device_id,
                {
                    "id": self.identity.device_id,
                    "name": "Stand 1",
                    "terminal_number": self.terminal,
                    "state": "active",
                },
            ),
        ]
        for index, (start, end) in enumerate(ranges):
            changes.append(
                self.change(
                    "raffle_allocation",
                    f"alloc-{index + 1}",
                    {
                        "id": f"alloc-{index + 1}",
                        "start_number": start,
                        "end_number": end,
                        "is_active": True,
                    },
                )
            )
        self.pull(*changes)
        return self

    def outbox(self) -> list[tuple[int, str]]:
        return self.store.conn.execute("SELECT seq, kind FROM outbox ORDER BY seq").fetchall()

    def close(self) -> None:
        self.store.close()
