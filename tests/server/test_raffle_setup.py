"""The raffle lifecycle up to sales over the admin API (SQLite and PostgreSQL): create,
packages, prizes, configure (every ticket), allocations, seed commitment, activate,
suspend/resume, close, cancel; illegal moves, frozen parameters and the exceptions log."""

from __future__ import annotations

import threading

import msgspec
import sqlalchemy as sa

from fieldpass.server import schema
from fieldpass.server.errors import ApiError
from fieldpass.server.services import raffle_allocations, raffles
from tests.server.conftest import PII_KEY
from tests.server.raffle_helpers import (
    add_package,
    add_prize,
    allocate,
    approve_rsu,
    create_raffle,
    deallocate,
    make_active_raffle,
    ok,
    transition,
)


def _problem(result, status: int, code: str) -> str:
    assert result.status_code == status, result.text
    assert result.json["code"] == code, result.text
    return result.json["message"]


def _exceptions(engine, raffle_id: str) -> list:
    x = schema.raffle_exceptions
    with engine.connect() as conn:
        return conn.execute(
            sa.select(x).where(x.c.raffle_event_id == raffle_id).order_by(x.c.id)
        ).all()


def _tickets(engine, raffle_id: str) -> list:
    t = schema.raffle_tickets
    with engine.connect() as conn:
        return conn.execute(
            sa.select(t).where(t.c.raffle_event_id == raffle_id).order_by(t.c.draw_number)
        ).all()


def _configured(harness, max_tickets: int = 300):
    admin = harness.admin()
    raffle = create_raffle(admin, max_tickets=max_tickets)
    add_package(admin, raffle["id"], "1 for 5", 1, 500)
    add_prize(admin, raffle["id"], "Car", 1, fixed_cents=2_000_000)
    transition(admin, raffle["id"], "configure")
    return admin, raffle["id"]


def test_full_lifecycle_to_sales_closed(harness, engine):
    admin = harness.admin()
    raffle = create_raffle(
        admin,
        "Club Raffle",
        500,
        sales_start="2026-06-01T10:00:00Z",
        sales_end="2026-06-30T20:00:00Z",
        draw_time="2026-06-30T21:00:00Z",
        claim_deadline="2026-09-30T00:00:00Z",
        licence="CG-77",
        jackpot_seed_cents=100_000,
        description="Spring draw",
    )
    raffle_id = raffle["id"]
    assert raffle["state"] == "created"
    assert raffle["licence_number"] == "CG-77"
    assert raffle["sales_end"].startswith("2026-06-30T20:00:00")
    assert raffle["counts"]["available"] == 0
    with engine.connect() as conn:
        licence = conn.execute(sa.select(schema.licenses)).one()
        event = conn.execute(sa.select(schema.raffle_events)).one()
        venue = conn.execute(sa.select(schema.venues)).one()
    assert (licence.license_type, licence.license_number) == ("charitable_gaming", "CG-77")
    assert event.license_id == licence.id and event.venue_id == venue.id
    assert venue.name == "Default"  # named after the organization

    package = add_package(admin, raffle_id, "3 for 10", 3, 1000)
    assert (package["ticket_count"], package["price_cents"], package["is_active"]) == (
        3,
        1000,
        True,
    )
    prize = add_prize(admin, raffle_id, "Half the pot", 1, percent="50.5", winners=1)
    assert (prize["prize_type"], prize["percentage"], prize["value_cents"]) == (
        "percentage",
        "50.50",
        None,
    )
    configured = transition(admin, raffle_id, "configure")
    assert configured == {"id": raffle_id, "state": "configured", "tickets": 500}
    commitment = transition(admin, raffle_id, "commit-seed")["commitment"]
    assert len(commitment) == 64
    active = transition(admin, raffle_id, "activate")
    assert active["state"] == "active" and active["seed_commitment"] == commitment
    suspended = transition(admin, raffle_id, "suspend", reason="power cut at the stand")
    assert (suspended["state"], suspended["suspension_reason"]) == (
        "suspended",
        "power cut at the stand",
    )
    resumed = transition(admin, raffle_id, "resume")
    assert (resumed["state"], resumed["suspension_reason"]) == ("active", None)
    closed = transition(admin, raffle_id, "close")
    assert closed["state"] == "sales_closed"

    kinds = [(row.kind, row.subject) for row in _exceptions(engine, raffle_id)]
    assert kinds == [
        ("transition", "configured"),
        ("seed_commitment", commitment),
        ("transition", "active"),
        ("transition", "suspended"),
        ("transition", "active"),
        ("transition", "sales_closed"),
    ]
    suspend_row = _exceptions(engine, raffle_id)[3]
    assert msgspec.json.decode(suspend_row.details) == {
        "from": "active",
        "to": "suspended",
        "reason": "power cut at the stand",
    }
    with engine.connect() as conn:
        actions = conn.execute(
            sa.select(schema.audit_log.c.action).where(schema.audit_log.c.subject == raffle_id)
        ).scalars()
        actions = list(actions)
    for action in ("raffle.create", "raffle.configured", "raffle.active", "raffle.sales_closed"):
        assert action in actions
    listed = ok(admin.get("/v1/raffles"))["raffles"]
    assert [(r["id"], r["state"]) for r in listed] == [(raffle_id, "sales_closed")]


def test_seed_is_sealed_and_opens_to_its_commitment(harness, engine):
    admin, raffle_id = _configured(harness)
    commitment = transition(admin, raffle_id, "commit-seed")["commitment"]
    with engine.connect() as conn:
        draw = conn.execute(sa.select(schema.draws)).one()
    assert draw.state == "pending" and draw.seed_commitment == commitment
    assert draw.committed_at is not None and draw.committed_by is not None
    assert draw.rng_seed is None  # not revealed before the draw
    seed = raffles.open_seed(PII_KEY, raffle_id, draw.sealed_seed)
    assert len(seed) == 32 and raffles.commitment_of(seed) == commitment
    assert seed.hex() not in draw.sealed_seed
    again = admin.post(f"/v1/raffles/{raffle_id}/commit-seed")
    assert commitment in _problem(again, 409, "conflict")


def test_illegal_transitions_name_the_current_state_and_change_nothing(harness, engine):
    admin = harness.admin()
    raffle_id = create_raffle(admin, max_tickets=100)["id"]
    for action in ("activate", "close", "resume", "commit-seed"):
        message = _problem(
            admin.post(f"/v1/raffles/{raffle_id}/{action}"), 409, "invalid_transition"
        )
        assert "is created" in message, message
    suspend = admin.post(f"/v1/raffles/{raffle_id}/suspend", json={"reason": "x"})
    assert "is created" in _problem(suspend, 409, "invalid_transition")

    add_package(admin, raffle_id, "1 for 2", 1, 200)
    # activate needs a prize, close needs the seed commitment
    transition(admin, raffle_id, "configure")
    assert "no prize" in _problem(admin.post(f"/v1/raffles/{raffle_id}/activate"), 400, "invalid")
    add_prize(admin, raffle_id, "Bike", 1, fixed_cents=30_000)
    again = admin.post(f"/v1/raffles/{raffle_id}/configure")
    assert "is configured" in _problem(again, 409, "invalid_transition")
    transition(admin, raffle_id, "activate")
    no_seed = admin.post(f"/v1/raffles/{raffle_id}/close")
    assert "seed commitment" in _problem(no_seed, 409, "invalid_transition")
    assert ok(admin.get(f"/v1/raffles/{raffle_id}"))["state"] == "active"

    no_reason = admin.post(f"/v1/raffles/{raffle_id}/cancel", json={"reason": "  "})
    assert "reason is required" in _problem(no_reason, 400, "invalid")
    missing = admin.post(f"/v1/raffles/{raffle_id}/cancel")
    assert missing.status_code == 400
    cancelled = transition(admin, raffle_id, "cancel", reason="licence withdrawn")
    assert (cancelled["state"], cancelled["cancellation_reason"]) == (
        "cancelled",
        "licence withdrawn",
    )
    for action in ("activate", "close", "resume"):
        message = _problem(
            admin.post(f"/v1/raffles/{raffle_id}/{action}"), 409, "invalid_transition"
        )
        assert "is cancelled" in message
    twice = admin.post(f"/v1/raffles/{raffle_id}/cancel", json={"reason": "again"})
    assert "is cancelled" in _problem(twice, 409, "invalid_transition")


def test_suspended_raffle_resumes_only_and_cannot_be_activated(harness):
    setup = make_active_raffle(harness, rsu_count=0)
    admin, raffle_id = setup.admin, setup.raffle_id
    transition(admin, raffle_id, "suspend", reason="audit")
    message = _problem(admin.post(f"/v1/raffles/{raffle_id}/activate"), 409, "invalid_transition")
    assert "is suspended" in message and "resumes" in message
    assert "is suspended" in _problem(
        admin.post(f"/v1/raffles/{raffle_id}/close"), 409, "invalid_transition"
    )
    assert transition(admin, raffle_id, "resume")["state"] == "active"


def test_every_state_move_is_in_the_one_table():
    assert ("active", "sales_closed") in raffles.ALLOWED_MOVES
    assert ("completed", "cancelled") not in raffles.ALLOWED_MOVES
    assert ("cancelled", "active") not in raffles.ALLOWED_MOVES
    assert ("created", "active") not in raffles.ALLOWED_MOVES
    cancellable = {a for a, b in raffles.ALLOWED_MOVES if b == "cancelled"}
    assert cancellable == set(schema.RAFFLE_STATES) - {"completed", "cancelled"}


def test_integrity_parameters_freeze_once_active(harness, engine):
    admin, raffle_id = _configured(harness)
    # after configure a change is still allowed but is an exception row
    add_package(admin, raffle_id, "10 for 20", 10, 2000)
    add_prize(admin, raffle_id, "Hamper", 2, fixed_cents=5000, winners=3)
    changes = [r for r in _exceptions(engine, raffle_id) if r.kind == "parameter_change"]
    assert [r.subject for r in changes] == ["package 10 for 20", "prize 2 Hamper"]
    assert msgspec.json.decode(changes[0].details)["price_cents"] == 2000
    transition(admin, raffle_id, "activate")
    package = admin.post(
        f"/v1/raffles/{raffle_id}/packages",
        json={"name": "5 for 8", "tickets": 5, "price_cents": 800},
    )
    assert "frozen" in _problem(package, 409, "invalid_transition")
    prize = admin.post(
        f"/v1/raffles/{raffle_id}/prizes", json={"name": "TV", "position": 3, "fixed_cents": 1}
    )
    assert "is active" in _problem(prize, 409, "invalid_transition")
    view = ok(admin.get(f"/v1/raffles/{raffle_id}"))
    assert [p["name"] for p in view["packages"]] == ["1 for 5", "10 for 20"]
    assert [p["position"] for p in view["prizes"]] == [1, 2]


def test_bad_parameters_are_refused_with_clear_errors(harness):
    admin = harness.admin()
    for max_tickets in (0, 1_000_001):
        result = admin.post("/v1/raffles", json={"name": "R", "max_tickets": max_tickets})
        assert "max_tickets" in _problem(result, 400, "invalid")
    result = admin.post(
        "/v1/raffles", json={"name": "R", "max_tickets": 10, "sales_end": "next tuesday"}
    )
    assert "sales_end" in _problem(result, 400, "invalid")
    result = admin.post(
        "/v1/raffles",
        json={
            "name": "R",
            "max_tickets": 10,
            "sales_start": "2026-06-02T00:00:00Z",
            "sales_end": "2026-06-01T00:00:00Z",
        },
    )
    assert "sales_end" in _problem(result, 400, "invalid")
    raffle_id = create_raffle(admin, max_tickets=10)["id"]
    prizes = f"/v1/raffles/{raffle_id}/prizes"
    for percent in ("0", "100.01", "1.234", "abc", "-5"):
        result = admin.post(prizes, json={"name": "P", "position": 1, "percent": percent})
        assert "percent" in _problem(result, 400, "invalid"), percent
    both = admin.post(prizes, json={"name": "P", "position": 1, "percent": "5", "fixed_cents": 1})
    assert "exactly one" in _problem(both, 400, "invalid")
    none = admin.post(prizes, json={"name": "P", "position": 1})
    assert "exactly one" in _problem(none, 400, "invalid")
    zero = admin.post(prizes, json={"name": "P", "position": 1, "fixed_cents": 1, "winners": 0})
    assert "winners" in _problem(zero, 400, "invalid")
    assert add_prize(admin, raffle_id, "P", 1, percent="100")["percentage"] == "100.00"
    clash = admin.post(prizes, json={"name": "Q", "position": 1, "fixed_cents": 5})
    assert "position 1" in _problem(clash, 409, "conflict")
    packages = f"/v1/raffles/{raffle_id}/packages"
    big = admin.post(packages, json={"name": "all", "tickets": 11, "price_cents": 1})
    assert "more than" in _problem(big, 400, "invalid")
    negative = admin.post(packages, json={"name": "neg", "tickets": 1, "price_cents": -1})
    assert "price_cents" in _problem(negative, 400, "invalid")
    add_package(admin, raffle_id, "one", 1, 100)
    same = admin.post(packages, json={"name": "one", "tickets": 2, "price_cents": 150})
    assert "already has a package" in _problem(same, 409, "conflict")


def test_configure_generates_every_ticket_available(harness, engine):
    admin, raffle_id = _configured(harness, max_tickets=2500)
    tickets = _tickets(engine, raffle_id)
    assert len(tickets) == 2500
    assert [t.draw_number for t in tickets] == list(range(1, 2501))
    assert {t.state for t in tickets} == {"available"}
    assert all(t.allocation_id is None and t.order_id is None for t in tickets)
    view = ok(admin.get(f"/v1/raffles/{raffle_id}"))
    assert view["counts"]["available"] == 2500 and view["state"] == "configured"


def test_another_organization_sees_no_raffle(harness):
    admin, raffle_id = _configured(harness)
    other = harness.admin("other@example.org", org="Other club")
    assert other.get(f"/v1/raffles/{raffle_id}").status_code == 404
    assert other.post(f"/v1/raffles/{raffle_id}/activate").status_code == 404
    assert ok(other.get("/v1/raffles"))["raffles"] == []


# -- allocations -------------------------------------------------------------------------


def test_allocations_never_overlap_and_stay_in_bounds(harness, engine):
    admin, raffle_id = _configured(harness, max_tickets=300)
    one = approve_rsu(harness, admin, raffle_id, "rsu-1")
    two = approve_rsu(harness, admin, raffle_id, "rsu-2")
    first = allocate(admin, raffle_id, one.id, 1, 100)
    assert (first["size"], first["unsold"], first["is_active"]) == (100, 100, True)
    path = f"/v1/raffles/{raffle_id}/allocations"
    for start, end in ((50, 150), (100, 100), (1, 300)):
        result = admin.post(path, json={"device_id": two.id, "start": start, "end": end})
        assert "not available" in _problem(result, 409, "range_taken"), (start, end)
    for start, end in ((0, 10), (250, 301)):
        result = admin.post(path, json={"device_id": two.id, "start": start, "end": end})
        assert "outside the raffle's numbers 1-300" in _problem(result, 400, "invalid")
    backwards = admin.post(path, json={"device_id": two.id, "start": 20, "end": 10})
    assert "after end" in _problem(backwards, 400, "invalid")
    allocate(admin, raffle_id, two.id, 101, 200)
    allocate(admin, raffle_id, one.id, 201, 210)  # a second range for the same RSU
    tickets = _tickets(engine, raffle_id)
    by_number = {t.draw_number: t for t in tickets}
    assert {by_number[n].allocated_to_rsu_id for n in range(1, 101)} == {one.id}
    assert {by_number[n].allocated_to_rsu_id for n in range(101, 201)} == {two.id}
    assert {by_number[n].state for n in range(211, 301)} == {"available"}
    listed = ok(admin.get(path))["allocations"]
    assert [(a["start_number"], a["end_number"], a["device_name"]) for a in listed] == [
        (1, 100, "rsu-1"),
        (101, 200, "rsu-2"),
        (201, 210, "rsu-1"),
    ]
    with engine.connect() as conn:
        rows = conn.execute(sa.select(schema.rsu_allocations)).all()
    assert len(rows) == 3  # the refused ones left nothing behind


def test_allocation_needs_an_rsu_of_this_raffle(harness):
    admin, raffle_id = _configured(harness)
    other_raffle = create_raffle(admin, "Other", 50)["id"]
    stranger = approve_rsu(harness, admin, other_raffle, "rsu-other")
    event = admin.event()
    gate = harness.device("gate-1")
    gate.approve(admin, event["id"])
    path = f"/v1/raffles/{raffle_id}/allocations"
    result = admin.post(path, json={"device_id": stranger.id, "start": 1, "end": 5})
    assert "not an RSU of this raffle" in _problem(result, 409, "device_not_usable")
    result = admin.post(path, json={"device_id": gate.id, "start": 1, "end": 5})
    assert "not an RSU" in _problem(result, 409, "device_not_usable")
    result = admin.post(path, json={"device_id": "nope", "start": 1, "end": 5})
    assert result.status_code == 404
    unconfigured = admin.post(
        f"/v1/raffles/{other_raffle}/allocations",
        json={"device_id": stranger.id, "start": 1, "end": 5},
    )
    assert "is created" in _problem(unconfigured, 409, "invalid_transition")


def test_rsu_approval_needs_a_raffle_and_other_roles_an_event(harness, engine):
    admin, raffle_id = _configured(harness)
    event = admin.event()
    rsu = harness.device("rsu-x", role="rsu")
    result = admin.post("/v1/devices/approve", json={"code": rsu.code, "event_id": event["id"]})
    assert "raffle_id" in _problem(result, 400, "invalid")
    result = admin.post("/v1/devices/approve", json={"code": rsu.code})
    assert "raffle_id is required" in _problem(result, 400, "invalid")
    gate = harness.device("gate-x")
    result = admin.post("/v1/devices/approve", json={"code": gate.code, "raffle_id": raffle_id})
    assert "event_id" in _problem(result, 400, "invalid")
    result = admin.post("/v1/devices/approve", json={"code": gate.code})
    assert "event_id is required" in _problem(result, 400, "invalid")
    one = approve_rsu(harness, admin, raffle_id, "rsu-1")
    two = approve_rsu(harness, admin, raffle_id, "rsu-2")
    with engine.connect() as conn:
        rsus = conn.execute(sa.select(schema.rsus).order_by(schema.rsus.c.terminal_number)).all()
        devices = {
            row.id: row
            for row in conn.execute(sa.select(schema.devices).where(schema.devices.c.role == "rsu"))
        }
    assert [(r.id, r.device_identifier, r.terminal_number, r.state) for r in rsus] == [
        (one.id, one.id, 1, "enrolled"),
        (two.id, two.id, 2, "enrolled"),
    ]
    assert devices[one.id].raffle_event_id == raffle_id and devices[one.id].event_id is None
    listed = {d["id"]: d for d in ok(admin.get("/v1/devices"))["devices"]}
    assert listed[one.id]["raffle_id"] == raffle_id


def test_deallocation_returns_unsold_numbers_only(harness, engine):
    admin, raffle_id = _configured(harness, max_tickets=200)
    rsu = approve_rsu(harness, admin, raffle_id)
    other = approve_rsu(harness, admin, raffle_id, "rsu-2")
    allocation = allocate(admin, raffle_id, rsu.id, 1, 50)
    t = schema.raffle_tickets
    with engine.begin() as conn:  # numbers 1-3 voided on the device and reported
        conn.execute(
            sa.update(t)
            .where(t.c.raffle_event_id == raffle_id, t.c.draw_number.between(1, 3))
            .values(state="voided", voided_at=1, voided_by=rsu.id, voided_reason="misprint")
        )
    returned = deallocate(admin, raffle_id, allocation["id"])
    assert returned["returned"] == 47
    assert (returned["is_active"], returned["unsold"], returned["voided"]) == (False, 0, 3)
    assert returned["deallocated_at"] is not None
    states = {row.draw_number: row for row in _tickets(engine, raffle_id)}
    assert {states[n].state for n in range(4, 51)} == {"available"}
    assert all(states[n].allocation_id is None for n in range(4, 51))
    assert {states[n].state for n in range(1, 4)} == {"voided"}
    again = admin.post(f"/v1/raffles/{raffle_id}/allocations/{allocation['id']}/deallocate")
    assert "already returned" in _problem(again, 409, "invalid_transition")
    # voided numbers are never allocated again; the returned ones are
    path = f"/v1/raffles/{raffle_id}/allocations"
    overlap = admin.post(path, json={"device_id": other.id, "start": 3, "end": 10})
    assert "1 of the numbers 3-10" in _problem(overlap, 409, "range_taken")
    moved = allocate(admin, raffle_id, other.id, 4, 50)
    assert moved["unsold"] == 47
    row = next(r for r in _exceptions(engine, raffle_id) if r.kind == "deallocation")
    assert msgspec.json.decode(row.details)["returned"] == 47
    missing = admin.post(f"/v1/raffles/{raffle_id}/allocations/nope/deallocate")
    assert missing.status_code == 404


def test_a_returned_range_can_be_allocated_again_with_the_same_bounds(harness, engine):
    setup = make_active_raffle(harness, rsu_count=2)
    first = allocate(setup.admin, setup.raffle_id, setup.rsus[0].id, 700, 710)
    deallocate(setup.admin, setup.raffle_id, first["id"])
    again = allocate(setup.admin, setup.raffle_id, setup.rsus[1].id, 700, 710)
    assert again["id"] != first["id"] and again["unsold"] == 11
    path = f"/v1/raffles/{setup.raffle_id}/allocations"
    twice = setup.admin.post(path, json={"device_id": setup.rsus[0].id, "start": 700, "end": 710})
    assert "11 of the numbers 700-710" in _problem(twice, 409, "range_taken")


def test_allocation_while_active_is_an_exception_row(harness, engine):
    setup = make_active_raffle(harness, rsu_count=1)
    allocate(setup.admin, setup.raffle_id, setup.rsus[0].id, 500, 520)
    rows = [r for r in _exceptions(engine, setup.raffle_id) if r.kind == "allocation"]
    assert [r.subject for r in rows] == ["500-520 to rsu-1"]
    transition(setup.admin, setup.raffle_id, "close")
    late = setup.admin.post(
        f"/v1/raffles/{setup.raffle_id}/allocations",
        json={"device_id": setup.rsus[0].id, "start": 600, "end": 610},
    )
    assert "is sales_closed" in _problem(late, 409, "invalid_transition")


def test_concurrent_overlapping_allocations_give_each_number_once(harness, engine):
    admin, raffle_id = _configured(harness, max_tickets=300)
    devices = [approve_rsu(harness, admin, raffle_id, f"rsu-{n}") for n in range(4)]
    with engine.connect() as conn:
        org_id = conn.execute(sa.select(schema.raffle_events.c.organization_id)).scalar_one()
    outcomes: list[str] = []
    barrier = threading.Barrier(len(devices))

    def grab(index: int) -> None:
        body = raffle_allocations.AllocationCreate(devices[index].id, 50 + index, 150 + index)
        barrier.wait()
        try:
            raffle_allocations.allocate(
                engine, org_id, "admin", raffle_id, body, now=1, new_id=lambda: f"alloc-{index}"
            )
            outcomes.append("ok")
        except ApiError as exc:
            outcomes.append(exc.code)

    threads = [threading.Thread(target=grab, args=(n,)) for n in range(len(devices))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["ok", "range_taken", "range_taken", "range_taken"]
    tickets = _tickets(engine, raffle_id)
    allocated = [t for t in tickets if t.state == "allocated"]
    assert len(allocated) == 101 and len({t.allocation_id for t in allocated}) == 1
