"""Raffle test helpers over the real admin API: create a raffle with packages and prizes,
configure it, approve RSU devices for it, allocate ranges, commit the seed, activate.

``make_active_raffle(harness)`` does all of it and returns the ids (see ``RaffleSetup``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tests.server.helpers import Admin, Device, Harness

#: (name, tickets, price_cents): "1 for 5", "3 for 10", "10 for 20".
DEFAULT_PACKAGES = (("1 for 5", 1, 500), ("3 for 10", 3, 1000), ("10 for 20", 10, 2000))
#: (name, position, fixed_cents, percent, winners)
DEFAULT_PRIZES = (("Jackpot", 1, None, "50", 1), ("Hamper", 2, 10_000, None, 2))


def ok(result, status: int = 200) -> dict:
    assert result.status_code == status, result.text
    return result.json


def create_raffle(admin: Admin, name: str = "Spring Raffle", max_tickets: int = 1000, **fields):
    body = {"name": name, "max_tickets": max_tickets, **fields}
    return ok(admin.post("/v1/raffles", json=body), 201)


def add_package(
    admin: Admin, raffle_id: str, name: str, tickets: int, price_cents: int, **fields
) -> dict:
    body = {"name": name, "tickets": tickets, "price_cents": price_cents, **fields}
    return ok(admin.post(f"/v1/raffles/{raffle_id}/packages", json=body), 201)


def add_prize(
    admin: Admin,
    raffle_id: str,
    name: str,
    position: int,
    *,
    fixed_cents: int | None = None,
    percent: str | None = None,
    winners: int = 1,
) -> dict:
    body: dict[str, Any] = {"name": name, "position": position, "winners": winners}
    if fixed_cents is not None:
        body["fixed_cents"] = fixed_cents
    if percent is not None:
        body["percent"] = percent
    return ok(admin.post(f"/v1/raffles/{raffle_id}/prizes", json=body), 201)


def transition(admin: Admin, raffle_id: str, action: str, **body: Any) -> dict:
    """POST /v1/raffles/{id}/{action} (configure, activate, commit-seed, close, ...)."""
    return ok(admin.post(f"/v1/raffles/{raffle_id}/{action}", json=body or None))


def approve_rsu(harness: Harness, admin: Admin, raffle_id: str, name: str = "rsu-1") -> Device:
    """Enroll an RSU device and approve it for the raffle; it holds its bearer token."""
    device = harness.device(name, role="rsu")
    ok(admin.post("/v1/devices/approve", json={"code": device.code, "raffle_id": raffle_id}))
    status = device.poll_status()
    assert status["raffle_id"] == raffle_id, status
    device.event_id, device.gate_id = None, None
    device.raffle_id = raffle_id
    return device


def allocate(admin: Admin, raffle_id: str, device_id: str, start: int, end: int) -> dict:
    body = {"device_id": device_id, "start": start, "end": end}
    return ok(admin.post(f"/v1/raffles/{raffle_id}/allocations", json=body), 201)


def deallocate(admin: Admin, raffle_id: str, allocation_id: str) -> dict:
    return ok(admin.post(f"/v1/raffles/{raffle_id}/allocations/{allocation_id}/deallocate"))


@dataclass
class RaffleSetup:
    admin: Admin
    raffle_id: str
    packages: dict[str, str]  # name -> package id
    prizes: dict[int, str]  # position -> prize id
    rsus: list[Device]
    allocations: list[dict] = field(default_factory=list)  # in the order of ``rsus``
    commitment: str | None = None


def make_active_raffle(
    harness: Harness,
    *,
    admin: Admin | None = None,
    name: str = "Spring Raffle",
    max_tickets: int = 1000,
    rsu_count: int = 2,
    ranges: list[tuple[int, int]] | None = None,
    packages=DEFAULT_PACKAGES,
    prizes=DEFAULT_PRIZES,
    commit_seed: bool = True,
    activate: bool = True,
    **raffle_fields: Any,
) -> RaffleSetup:
    """A configured raffle with RSUs and ranges (rsu i gets ``ranges[i]``, by default
    ``[100*i + 1, 100*i + 100]``), its seed committed and activated unless told not to."""
    admin = admin or harness.admin()
    raffle = create_raffle(
        admin,
        name,
        max_tickets,
        licence=raffle_fields.pop("licence", "LIC-2026-001"),
        **raffle_fields,
    )
    raffle_id = raffle["id"]
    package_ids = {
        p_name: add_package(admin, raffle_id, p_name, tickets, price)["id"]
        for p_name, tickets, price in packages
    }
    prize_ids = {
        position: add_prize(
            admin, raffle_id, p_name, position, fixed_cents=fixed, percent=pct, winners=winners
        )["id"]
        for p_name, position, fixed, pct, winners in prizes
    }
    transition(admin, raffle_id, "configure")
    rsus = [approve_rsu(harness, admin, raffle_id, f"rsu-{i + 1}") for i in range(rsu_count)]
    ranges = ranges or [(100 * i + 1, 100 * i + 100) for i in range(rsu_count)]
    allocations = [
        allocate(admin, raffle_id, device.id, start, end)
        for device, (start, end) in zip(rsus, ranges, strict=False)
    ]
    commitment = transition(admin, raffle_id, "commit-seed")["commitment"] if commit_seed else None
    if activate:
        transition(admin, raffle_id, "activate")
    return RaffleSetup(admin, raffle_id, package_ids, prize_ids, rsus, allocations, commitment)
