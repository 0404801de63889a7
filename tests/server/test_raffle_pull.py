"""The pull slice of an RSU (SQLite and PostgreSQL): its raffle, packages, prizes, its own
rsu row and allocations, and every later change (returns, suspension, close, cancel);
nothing of it reaches a gate, a petrol kiosk or another RSU."""

from __future__ import annotations

from tests.server.raffle_helpers import (
    allocate,
    approve_rsu,
    deallocate,
    make_active_raffle,
    transition,
)

RAFFLE_KEYS = {
    "id",
    "name",
    "state",
    "organization_name",
    "licence_number",
    "sales_start",
    "sales_end",
    "claim_deadline",
    "jackpot_estimate_cents",
    "max_tickets",
}
PACKAGE_KEYS = {"id", "name", "ticket_count", "price_cents", "display_order", "is_active"}
PRIZE_KEYS = {"id", "name", "position", "prize_type", "value_cents", "percentage", "winner_count"}
RAFFLE_ENTITIES = {"raffle", "raffle_package", "raffle_prize", "rsu", "raffle_allocation"}


def _latest(changes: list[dict]) -> dict[tuple[str, str], dict]:
    """What a device store holds after applying the changes in order (upserts by key)."""
    state: dict[tuple[str, str], dict] = {}
    for change in changes:
        state[(change["entity"], change["key"])] = change["data"]
    return state


def _of(state: dict, entity: str) -> dict[str, dict]:
    return {key: data for (kind, key), data in state.items() if kind == entity}


def test_rsu_pulls_its_raffle_packages_prizes_rsu_and_allocations(harness):
    setup = make_active_raffle(
        harness,
        sales_start="2026-06-01T10:00:00Z",
        sales_end="2026-06-30T20:00:00Z",
        claim_deadline="2026-09-30T00:00:00Z",
        jackpot_seed_cents=250_000,
    )
    rsu = setup.rsus[0]
    changes, _cursor = rsu.pull_all()
    assert {c["entity"] for c in changes} == RAFFLE_ENTITIES
    assert all(c["op"] == "upsert" for c in changes)
    state = _latest(changes)
    raffle = _of(state, "raffle")[setup.raffle_id]
    assert set(raffle) == RAFFLE_KEYS
    assert raffle == {
        "id": setup.raffle_id,
        "name": "Spring Raffle",
        "state": "active",
        "organization_name": "Default",
        "licence_number": "LIC-2026-001",
        "sales_start": 1_780_308_000_000,
        "sales_end": 1_782_849_600_000,
        "claim_deadline": 1_790_726_400_000,
        "jackpot_estimate_cents": 250_000,
        "max_tickets": 1000,
    }
    packages = _of(state, "raffle_package")
    assert set(packages) == set(setup.packages.values())
    assert all(set(p) == PACKAGE_KEYS for p in packages.values())
    assert sorted((p["name"], p["ticket_count"], p["price_cents"]) for p in packages.values()) == [
        ("1 for 5", 1, 500),
        ("10 for 20", 10, 2000),
        ("3 for 10", 3, 1000),
    ]
    prizes = _of(state, "raffle_prize")
    assert all(set(p) == PRIZE_KEYS for p in prizes.values())
    by_position = {p["position"]: p for p in prizes.values()}
    assert by_position[1]["prize_type"] == "percentage" and by_position[1]["percentage"] == "50.00"
    assert by_position[2]["value_cents"] == 10_000 and by_position[2]["winner_count"] == 2
    assert _of(state, "rsu") == {
        rsu.id: {"id": rsu.id, "name": "rsu-1", "terminal_number": 1, "state": "enrolled"}
    }
    allocation = setup.allocations[0]
    assert _of(state, "raffle_allocation") == {
        allocation["id"]: {
            "id": allocation["id"],
            "start_number": 1,
            "end_number": 100,
            "is_active": True,
        }
    }


def test_rsu_learns_returns_and_state_changes_at_its_next_pull(harness):
    setup = make_active_raffle(harness, rsu_count=1)
    admin, raffle_id, rsu = setup.admin, setup.raffle_id, setup.rsus[0]
    _, cursor = rsu.pull_all()
    assert rsu.pull_all(cursor)[0] == []

    extra = allocate(admin, raffle_id, rsu.id, 301, 350)
    deallocate(admin, raffle_id, setup.allocations[0]["id"])
    changes, cursor = rsu.pull_all(cursor)
    assert [(c["entity"], c["key"], c["data"]["is_active"]) for c in changes] == [
        ("raffle_allocation", extra["id"], True),
        ("raffle_allocation", setup.allocations[0]["id"], False),
    ]

    transition(admin, raffle_id, "suspend", reason="storm")
    changes, cursor = rsu.pull_all(cursor)
    assert [(c["entity"], c["data"]["state"]) for c in changes] == [("raffle", "suspended")]
    transition(admin, raffle_id, "resume")
    transition(admin, raffle_id, "close")
    changes, cursor = rsu.pull_all(cursor)
    assert [c["data"]["state"] for c in changes] == ["active", "sales_closed"]
    transition(admin, raffle_id, "cancel", reason="weather")
    changes, _ = rsu.pull_all(cursor)
    assert [c["data"]["state"] for c in changes] == ["cancelled"]


def test_an_rsu_approved_late_gets_the_whole_raffle(harness):
    setup = make_active_raffle(harness, rsu_count=0)
    late = approve_rsu(harness, setup.admin, setup.raffle_id, "late")
    state = _latest(late.pull_all()[0])
    assert _of(state, "raffle")[setup.raffle_id]["state"] == "active"
    assert len(_of(state, "raffle_package")) == 3 and len(_of(state, "raffle_prize")) == 2
    assert _of(state, "rsu")[late.id]["terminal_number"] == 1


def test_an_rsu_sees_nothing_of_another_rsus_rows(harness):
    setup = make_active_raffle(harness, rsu_count=2)
    one, two = setup.rsus
    deallocate(setup.admin, setup.raffle_id, setup.allocations[1]["id"])
    state_one = _latest(one.pull_all()[0])
    state_two = _latest(two.pull_all()[0])
    assert set(_of(state_one, "rsu")) == {one.id}
    assert set(_of(state_two, "rsu")) == {two.id}
    assert set(_of(state_one, "raffle_allocation")) == {setup.allocations[0]["id"]}
    assert set(_of(state_two, "raffle_allocation")) == {setup.allocations[1]["id"]}
    assert _of(state_two, "rsu")[two.id]["terminal_number"] == 2


def test_gate_and_petrol_devices_get_no_raffle_data(harness):
    setup = make_active_raffle(harness, rsu_count=1)
    admin = setup.admin
    event = admin.event()
    gate = harness.device("gate-1")
    gate.approve(admin, event["id"])
    petrol = harness.device("kiosk-1", role="petrol")
    petrol.approve(admin, event["id"])
    transition(admin, setup.raffle_id, "suspend", reason="check")
    for device in (gate, petrol):
        changes, _ = device.pull_all()
        assert changes, "the event itself reaches the device"
        assert not {c["entity"] for c in changes} & RAFFLE_ENTITIES
        assert setup.raffle_id not in str(changes)
    rsu_changes, _ = setup.rsus[0].pull_all()
    assert not {c["entity"] for c in rsu_changes} - RAFFLE_ENTITIES  # no event, gate, ticket


def test_enroll_status_of_an_rsu_carries_its_raffle(harness):
    setup = make_active_raffle(harness, rsu_count=1, activate=False)
    status = setup.rsus[0].poll_status(reissue_token=True)
    assert status["status"] == "approved" and status["role"] == "rsu"
    assert status["raffle_id"] == setup.raffle_id and status["event_id"] is None
    assert status["token"]
