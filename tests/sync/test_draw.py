"""The raffle draw: reproducible picks, rejection sampling, exact prize values, and a
record that verifies untouched and fails, naming the problem, on any single alteration."""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from fractions import Fraction

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fieldpass.sync.draw import (
    DRAW_VERSION,
    DrawError,
    DrawPrize,
    DrawRecord,
    commitment_of,
    decode_record,
    draw_material,
    encode_record,
    expand_ranges,
    indexes_from_values,
    new_seed,
    pick_indexes,
    prize_value_cents,
    record_checksum,
    run_draw,
    sold_numbers_sha256,
    to_ranges,
    value_stream,
    verify_record,
)

SEED = bytes(range(32))
DRAWN_AT = "2026-11-25T20:00:00+00:00"


def fixed(position: int, cents: int, winners: int = 1, prize_id: str | None = None) -> DrawPrize:
    return DrawPrize(
        prize_id=prize_id or f"prize-{position}",
        position=position,
        name=f"Prize {position}",
        prize_type="fixed",
        value_cents=cents,
        percentage=None,
        winner_count=winners,
    )


def percent(position: int, text: str, winners: int = 1) -> DrawPrize:
    return DrawPrize(
        prize_id=f"prize-{position}",
        position=position,
        name=f"Share {position}",
        prize_type="percentage",
        value_cents=None,
        percentage=text,
        winner_count=winners,
    )


PRIZES = [percent(1, "50.00"), fixed(2, 25_000, winners=3), fixed(3, 1_000, winners=2)]


def draw(
    sold=range(1, 5_001), prizes=PRIZES, seed=SEED, beacon="", revenue=1_234_567
) -> DrawRecord:
    return run_draw(
        raffle_id="raffle-1",
        raffle_name="Club 50/50",
        seed=seed,
        beacon=beacon,
        sold_numbers=sold,
        prizes=prizes,
        revenue_cents=revenue,
        drawn_at=DRAWN_AT,
    )


def reference_winners(seed: bytes, beacon: str, sold: list[int], prizes: list[DrawPrize]):
    """The algorithm of docs/raffle.md written out naively, independent of the module."""
    beacon_bytes = beacon.encode()
    material = hashlib.sha256(
        b"fieldpass-draw-v1"
        + len(seed).to_bytes(8, "big")
        + seed
        + len(beacon_bytes).to_bytes(8, "big")
        + beacon_bytes
    ).digest()

    def values():
        counter = 0
        while True:
            block = hashlib.sha256(material + counter.to_bytes(8, "big")).digest()
            for i in range(4):
                yield int.from_bytes(block[8 * i : 8 * i + 8], "big")
            counter += 1

    stream = values()
    pool = sorted(sold)
    picked = []
    for prize in sorted(prizes, key=lambda p: p.position):
        for _ in range(prize.winner_count):
            n = len(pool)
            while True:
                value = next(stream)
                if value < (2**64 // n) * n:
                    break
            picked.append((prize.position, pool.pop(value % n)))
    return picked


# --- the algorithm -------------------------------------------------------------------


def test_winners_match_the_documented_algorithm():
    sold = [n for n in range(1, 3_000) if n % 3]
    record = draw(sold=sold, beacon="BTC block 870000")
    got = [(w.position, w.draw_number) for w in record.winners]
    assert got == reference_winners(SEED, "BTC block 870000", sold, PRIZES)
    assert [w.pick for w in record.winners] == list(range(6))
    assert [w.position for w in record.winners] == [1, 2, 2, 2, 3, 3]


def test_known_answer_is_stable():
    """Pinned output: a change to the algorithm must come with a new DRAW_VERSION."""
    assert DRAW_VERSION == 1
    assert (
        draw_material(SEED, "").hex()[:16]
        == hashlib.sha256(
            b"fieldpass-draw-v1" + (32).to_bytes(8, "big") + SEED + bytes(8)
        ).hexdigest()[:16]
    )
    first = draw(sold=range(1, 101), prizes=[fixed(1, 100)]).winners[0].draw_number
    assert first == reference_winners(SEED, "", list(range(1, 101)), [fixed(1, 100)])[0][1]


def test_material_length_prefixes_keep_pairs_apart():
    # Same concatenated bytes, different split between seed and beacon.
    assert draw_material(b"ab", "c") != draw_material(b"a", "bc")
    assert draw_material(SEED, "") != draw_material(SEED, "\x00")


def test_seed_and_commitment():
    seed = new_seed()
    assert len(seed) == 32 and new_seed() != seed
    assert commitment_of(seed) == hashlib.sha256(seed).hexdigest()


@settings(max_examples=60, deadline=None)
@given(
    sold=st.sets(st.integers(0, 10**7), min_size=6, max_size=400),
    seed=st.binary(min_size=32, max_size=32),
    beacon=st.text(max_size=40),
    data=st.data(),
)
def test_draw_properties(sold, seed, beacon, data):
    winners_per_prize = data.draw(st.lists(st.integers(1, 3), min_size=1, max_size=2))
    prizes = [fixed(i + 1, 100 * (i + 1), winners=k) for i, k in enumerate(winners_per_prize)]
    shuffled = data.draw(st.permutations(sorted(sold)))
    record = draw(sold=shuffled, prizes=prizes, seed=seed, beacon=beacon)
    numbers = [w.draw_number for w in record.winners]
    assert len(numbers) == sum(winners_per_prize)
    assert set(numbers) <= sold
    assert len(set(numbers)) == len(numbers)
    # Same seed, beacon and sold list (in any order) -> the same winners.
    again = draw(sold=sorted(sold), prizes=prizes, seed=seed, beacon=beacon)
    assert again.winners == record.winners
    assert verify_record(encode_record(record)) == []


@settings(max_examples=30, deadline=None)
@given(seed=st.binary(min_size=32, max_size=32), beacon=st.text(min_size=1, max_size=20))
def test_a_different_beacon_changes_the_winners(seed, beacon):
    sold = range(1, 100_001)
    prizes = [fixed(1, 100, winners=3)]
    one = [w.draw_number for w in draw(sold=sold, prizes=prizes, seed=seed, beacon="").winners]
    two = [w.draw_number for w in draw(sold=sold, prizes=prizes, seed=seed, beacon=beacon).winners]
    # Three picks from 100,000: equal by chance with probability ~1e-15.
    assert one != two


@settings(max_examples=100, deadline=None)
@given(
    material=st.binary(min_size=32, max_size=32),
    population=st.integers(1, 2**64),
    picks=st.integers(0, 8),
)
def test_pick_indexes_stay_in_range(material, population, picks):
    picks = min(picks, population)
    indexes = pick_indexes(material, population, picks)
    assert len(indexes) == picks
    for k, index in enumerate(indexes):
        assert 0 <= index < population - k


def test_injected_stream_rejects_the_biased_tail():
    # 2**64 % 3 == 1: the largest multiple of 3 is 2**64 - 1, so that value is skipped.
    assert indexes_from_values(iter([2**64 - 1, 5]), 3, 1) == [2]
    assert indexes_from_values(iter([2**64 - 2, 5]), 3, 1) == [(2**64 - 2) % 3]
    # The second pick is into 2 remaining items, where 2**64 is a multiple: nothing skipped.
    assert indexes_from_values(iter([2**64 - 1, 7, 2**64 - 1]), 3, 2) == [1, 1]
    with pytest.raises(DrawError, match="ran out"):
        indexes_from_values(iter([2**64 - 1]), 3, 1)


def test_rejection_in_the_real_stream():
    """With a population just over 2**63 about half the values are rejected, so a search
    over a few materials finds one whose first value is skipped."""
    population = 2**63 + 1
    limit = 2**64 - 2**64 % population
    for i in range(200):
        material = hashlib.sha256(str(i).encode()).digest()
        stream = value_stream(material)
        first, second = next(stream), next(stream)
        if first >= limit and second < limit:
            break
    else:
        pytest.fail("no material with a rejected first value")
    assert pick_indexes(material, population, 1) == [second % population]
    assert first % population != second % population


def test_picks_spread_evenly():
    """3,000 fixed materials, population 3: each index close to a third (deterministic)."""
    counts = [0, 0, 0]
    for i in range(3_000):
        counts[pick_indexes(hashlib.sha256(i.to_bytes(4, "big")).digest(), 3, 1)[0]] += 1
    assert all(900 < c < 1_100 for c in counts), counts


@pytest.mark.parametrize(
    ("population", "picks"), [(-1, 0), (3, -1), (2, 3)], ids=["neg-pop", "neg-picks", "too-many"]
)
def test_pick_indexes_bad_arguments(population, picks):
    with pytest.raises(DrawError):
        pick_indexes(SEED, population, picks)


# --- prize values --------------------------------------------------------------------


@given(
    revenue=st.integers(0, 10**18),
    hundredths=st.integers(0, 10_000),
)
def test_percentage_values_are_exact(revenue, hundredths):
    text = f"{hundredths // 100}.{hundredths % 100:02d}"
    expected = (Fraction(revenue) * Fraction(Decimal(text)) / 100).__floor__()
    assert prize_value_cents(percent(1, text), revenue) == expected


def test_percentage_edges():
    assert prize_value_cents(percent(1, "50.00"), 999) == 499
    assert prize_value_cents(percent(1, "33.33"), 100) == 33
    assert prize_value_cents(percent(1, "100"), 12_345) == 12_345
    # Beyond float precision: 10**17 + 1 cents at 50 % is exact.
    assert prize_value_cents(percent(1, "50.00"), 10**17 + 1) == 5 * 10**16
    assert prize_value_cents(fixed(1, 777), 10**9) == 777


@pytest.mark.parametrize(
    "prize",
    [
        percent(1, "abc"),
        percent(1, "NaN"),
        percent(1, "-1"),
        percent(1, "100.01"),
        fixed(1, -5),
        fixed(1, 5, winners=0),
        DrawPrize("p", 1, "x", "fixed", None, None, 1),
        DrawPrize("p", 1, "x", "percentage", 100, "5", 1),
    ],
    ids=["text", "nan", "negative", "over-100", "neg-cents", "no-winners", "no-value", "both"],
)
def test_malformed_prizes_are_refused(prize):
    with pytest.raises(DrawError):
        prize_value_cents(prize, 1_000)
    with pytest.raises(DrawError):
        draw(prizes=[prize])


# --- run_draw input ------------------------------------------------------------------


def test_more_prizes_than_sold_tickets():
    with pytest.raises(DrawError, match="6 prizes but only 5 sold tickets"):
        draw(sold=[1, 2, 3, 4, 5])


def test_a_duplicate_sold_number_is_an_error():
    with pytest.raises(DrawError, match="draw number 7 is in the sold list twice"):
        draw(sold=[9, 7, 1, 2, 3, 4, 5, 6, 7, 8])


@pytest.mark.parametrize(
    "kwargs",
    [
        {"seed": b"short"},
        {"beacon": "x" * 501},
        {"revenue": -1},
        {"sold": [-1, *range(10)]},
        {"prizes": [fixed(1, 5), fixed(1, 6)]},
    ],
    ids=["seed", "beacon", "revenue", "negative-number", "same-position"],
)
def test_bad_draw_input(kwargs):
    with pytest.raises(DrawError):
        draw(**kwargs)


def test_prizes_go_in_position_order_whatever_the_input_order():
    prizes = [fixed(3, 10), fixed(1, 30), fixed(2, 20)]
    record = draw(prizes=prizes)
    assert [p.position for p in record.prizes] == [1, 2, 3]
    assert [w.position for w in record.winners] == [1, 2, 3]
    assert record.winners == draw(prizes=sorted(prizes, key=lambda p: p.position)).winners


def test_record_contents():
    sold = [5, 1, 2, 3, 10, 11, 20]
    record = draw(sold=sold, prizes=[fixed(1, 100)], beacon="b")
    assert record.sold_ranges == [[1, 3], [5, 5], [10, 11], [20, 20]]
    assert record.sold_count == 7
    assert record.sold_sha256 == hashlib.sha256(b"1\n2\n3\n5\n10\n11\n20\n").hexdigest()
    assert record.seed == SEED.hex() and record.commitment == commitment_of(SEED)
    assert record.checksum == record_checksum(record)
    assert record.version == DRAW_VERSION and record.drawn_at == DRAWN_AT
    assert decode_record(encode_record(record)) == record
    encoded = encode_record(record)
    keys = list(json.loads(encoded))
    assert keys == sorted(keys)
    assert b'": ' not in encoded and b", " not in encoded and b"\n" not in encoded


@given(st.sets(st.integers(0, 500)))
def test_ranges_round_trip(numbers):
    ordered = sorted(numbers)
    ranges = to_ranges(ordered)
    assert expand_ranges(ranges) == ordered
    assert all(a <= b for a, b in ranges)
    assert all(b + 1 < c for (_, b), (c, _) in zip(ranges, ranges[1:], strict=False))
    assert (
        sold_numbers_sha256(ordered)
        == hashlib.sha256("".join(f"{n}\n" for n in ordered).encode()).hexdigest()
    )


# --- verification --------------------------------------------------------------------


def tampered(record: DrawRecord, *, forge_checksum: bool, **changes) -> bytes:
    altered = msgspec.structs.replace(record, **changes)
    if forge_checksum:
        altered = msgspec.structs.replace(altered, checksum=record_checksum(altered))
    return encode_record(altered)


def replace_winner(record: DrawRecord, index: int, **changes):
    winners = list(record.winners)
    winners[index] = msgspec.structs.replace(winners[index], **changes)
    return winners


def replace_prize(record: DrawRecord, index: int, **changes):
    prizes = list(record.prizes)
    prizes[index] = msgspec.structs.replace(prizes[index], **changes)
    return prizes


RECORD = draw()
OTHER_SEED = bytes(reversed(SEED))
WINNER_1 = RECORD.winners[1].draw_number
UNUSED = next(n for n in range(1, 5_001) if n not in {w.draw_number for w in RECORD.winners})

ALTERATIONS = {
    "winner number": (
        {"winners": replace_winner(RECORD, 1, draw_number=UNUSED)},
        f"winner 2: export says {UNUSED}, recomputed {WINNER_1}",
    ),
    "winner value": (
        {"winners": replace_winner(RECORD, 0, prize_value_cents=1)},
        "winner 1 prize_value_cents: export says 1, recomputed 617283",
    ),
    "winner position": (
        {"winners": replace_winner(RECORD, 1, position=3)},
        "winner 2 position: export says 3, recomputed 2",
    ),
    "winner removed": ({"winners": RECORD.winners[:-1]}, "winners: export has 5, recomputed 6"),
    "sold range": ({"sold_ranges": [[2, 5_000]]}, "sold_count: export says 5000, ranges hold 4999"),
    "sold range overlap": (
        {"sold_ranges": [[1, 3_000], [2_000, 5_000]]},
        "sold range 1: [2000, 5000] overlaps",
    ),
    "sold range reversed": ({"sold_ranges": [[5_000, 1]]}, "sold range 0: [5000, 1] is not"),
    "sold count": ({"sold_count": 4_999}, "sold_count: export says 4999, ranges hold 5000"),
    "sold sha": ({"sold_sha256": "0" * 64}, f"sold_sha256: export says {'0' * 64}"),
    "seed": ({"seed": OTHER_SEED.hex()}, "commitment: export says"),
    "seed not hex": ({"seed": "zz"}, "seed: not hexadecimal"),
    "commitment": ({"commitment": "1" * 64}, f"commitment: export says {'1' * 64}"),
    "beacon": ({"beacon": "changed"}, "winner 1: export says"),
    "revenue": ({"revenue_cents": 2_000_000}, "winner 1 prize_value_cents: export says 617283"),
    "prize value": (
        {"prizes": replace_prize(RECORD, 1, value_cents=99)},
        "winner 2 prize_value_cents: export says 25000, recomputed 99",
    ),
    "prize percentage": (
        {"prizes": replace_prize(RECORD, 0, percentage="60.00")},
        "winner 1 prize_value_cents: export says 617283, recomputed 740740",
    ),
    "prize winner count": (
        {"prizes": replace_prize(RECORD, 2, winner_count=1)},
        "winners: export has 6, recomputed 5",
    ),
    "prize order": ({"prizes": list(reversed(RECORD.prizes))}, "prizes: not in position order"),
    "version": ({"version": 2}, "draw record version 2"),
}


def test_an_untouched_record_verifies():
    assert verify_record(encode_record(RECORD)) == []
    # The same record pretty-printed by another JSON writer still verifies.
    assert verify_record(json.dumps(json.loads(encode_record(RECORD)), indent=2).encode()) == []


@pytest.mark.parametrize("forge_checksum", [False, True], ids=["checksum-kept", "checksum-forged"])
@pytest.mark.parametrize("name", list(ALTERATIONS))
def test_any_single_alteration_is_named(name, forge_checksum):
    changes, expected = ALTERATIONS[name]
    problems = verify_record(tampered(RECORD, forge_checksum=forge_checksum, **changes))
    assert any(expected in problem for problem in problems), problems
    checksum_named = any(problem.startswith("checksum:") for problem in problems)
    assert checksum_named == (not forge_checksum and name != "version")


def test_seed_and_commitment_forged_together_still_fail_on_the_winners():
    data = tampered(
        RECORD,
        forge_checksum=True,
        seed=OTHER_SEED.hex(),
        commitment=commitment_of(OTHER_SEED),
    )
    problems = verify_record(data)
    assert problems and all(p.startswith("winner") for p in problems), problems


def test_sold_list_forged_consistently_still_fails_on_the_winners():
    numbers = list(range(2, 5_001))
    data = tampered(
        RECORD,
        forge_checksum=True,
        sold_ranges=[[2, 5_000]],
        sold_count=len(numbers),
        sold_sha256=sold_numbers_sha256(numbers),
    )
    problems = verify_record(data)
    assert problems and all(p.startswith("winner") for p in problems), problems


def test_an_altered_checksum_is_named():
    problems = verify_record(encode_record(msgspec.structs.replace(RECORD, checksum="f" * 64)))
    assert problems == [f"checksum: export says {'f' * 64}, recomputed {RECORD.checksum}"]


def test_a_huge_forged_range_is_refused_without_expanding_it():
    problems = verify_record(tampered(RECORD, forge_checksum=True, sold_ranges=[[0, 10**12]]))
    assert any("more than" in p for p in problems), problems


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "not a draw record"),
        (b"not json", "not a draw record"),
        (b"[]", "not a draw record"),
        (b"{}", "missing required field"),
        (
            encode_record(RECORD).replace(b'"beacon":""', b'"beacon":"","extra":1'),
            "unknown field",
        ),
        (encode_record(RECORD).replace(b'"sold_count":5000', b'"sold_count":"5000"'), "int"),
        (encode_record(RECORD).replace(b'"prize_type":"fixed"', b'"prize_type":"car"'), "car"),
    ],
    ids=["empty", "text", "array", "missing", "extra-field", "wrong-type", "bad-enum"],
)
def test_malformed_records(data, reason):
    with pytest.raises(DrawError, match="not a draw record"):
        decode_record(data)
    problems = verify_record(data)
    assert len(problems) == 1 and reason in problems[0], problems
