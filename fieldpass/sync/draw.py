"""The raffle draw: seed commitment, the pick algorithm and the verifiable draw record.

Pure: no database, no I/O. The server calls :func:`new_seed` and :func:`commitment_of` at
``commit-seed`` and :func:`run_draw` at the draw; ``fieldpass admin raffle verify-draw``
calls :func:`verify_record` on an exported record with nothing else at hand.

The algorithm (version 1):

- ``material = sha256(b"fieldpass-draw-v1" || u64be(len(seed)) || seed ||
  u64be(len(beacon)) || beacon)`` with the beacon as UTF-8 ("" when none). The length
  prefixes make the encoding injective, so no two (seed, beacon) pairs share a material.
- The value stream is ``sha256(material || u64be(counter))`` for counter = 0, 1, 2…, each
  digest read as four big-endian unsigned 64-bit values.
- Pick k takes an index into the ``n = population - k`` numbers still in play: values at or
  above ``2**64 - 2**64 % n`` (the largest multiple of n not above 2**64) are skipped, so
  ``value % n`` is uniform (no modulo bias). The picked number leaves the list.
- Prizes go in position order, ``winner_count`` picks each, over the sorted sold numbers.
"""

from __future__ import annotations

import hashlib
import itertools
import re
import secrets
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal, InvalidOperation
from typing import Literal

import msgspec

DRAW_VERSION = 1
DOMAIN = b"fieldpass-draw-v1"
SEED_BYTES = 32
MAX_BEACON_LENGTH = 500  # draw.beacon is VARCHAR(500)
#: A verifier refuses to expand more numbers than this (max_tickets is at most 1,000,000),
#: so a doctored file cannot make it allocate without bound.
MAX_SOLD_NUMBERS = 10_000_000

_VALUE_SPACE = 1 << 64
_HEX64 = re.compile(r"[0-9a-f]{64}")


class DrawError(ValueError):
    """Draw input or a draw record that cannot be right; the message says why, in one line."""


class DrawPrize(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A prize as the draw sees it (the ``prize`` row)."""

    prize_id: str
    position: int
    name: str
    prize_type: Literal["fixed", "percentage"]
    value_cents: int | None
    percentage: str | None  # decimal text, e.g. "50.00" for 50 %
    winner_count: int


class DrawWinner(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One pick: ``pick`` is its 0-based order over the whole draw."""

    pick: int
    position: int
    prize_id: str
    draw_number: int
    prize_value_cents: int


class DrawRecord(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Everything needed to recompute a draw, plus a checksum over the rest.

    ``sold_ranges`` are the sorted sold, non-voided draw numbers as runs ``[first, last]``.
    ``sold_sha256`` is :func:`sold_numbers_sha256` of the same numbers, so the list can be
    compared with the server's ticket table independently of the run encoding.
    """

    version: int
    raffle_id: str
    raffle_name: str
    commitment: str
    seed: str  # hex
    beacon: str
    revenue_cents: int
    sold_ranges: list[list[int]]
    sold_count: int
    sold_sha256: str
    prizes: list[DrawPrize]
    winners: list[DrawWinner]
    drawn_at: str  # ISO 8601
    checksum: str


_canonical = msgspec.json.Encoder(order="sorted")
_record_decoder = msgspec.json.Decoder(DrawRecord)


def new_seed() -> bytes:
    """A fresh draw seed from the OS CSPRNG; only its commitment is public before the draw."""
    return secrets.token_bytes(SEED_BYTES)


def commitment_of(seed: bytes) -> str:
    return hashlib.sha256(seed).hexdigest()


def draw_material(seed: bytes, beacon: str) -> bytes:
    beacon_bytes = beacon.encode("utf-8")
    return hashlib.sha256(
        DOMAIN
        + len(seed).to_bytes(8, "big")
        + seed
        + len(beacon_bytes).to_bytes(8, "big")
        + beacon_bytes
    ).digest()


def value_stream(material: bytes) -> Iterator[int]:
    """Unsigned 64-bit values from SHA-256 in counter mode over ``material``."""
    for counter in itertools.count():
        block = hashlib.sha256(material + counter.to_bytes(8, "big")).digest()
        for offset in range(0, 32, 8):
            yield int.from_bytes(block[offset : offset + 8], "big")


def indexes_from_values(values: Iterator[int], population: int, picks: int) -> list[int]:
    """Rejection sampling over a stream of 64-bit values (split out so tests can inject one).

    Index k is into the ``population - k`` items left after the k earlier picks.
    """
    if population < 0 or picks < 0:
        raise DrawError("population and picks must not be negative")
    if picks > population:
        raise DrawError(f"{picks} picks from only {population} items")
    indexes = []
    for k in range(picks):
        remaining = population - k
        limit = _VALUE_SPACE - _VALUE_SPACE % remaining
        for value in values:
            if value < limit:
                indexes.append(value % remaining)
                break
        else:
            raise DrawError("the value stream ran out")
    return indexes


def pick_indexes(material: bytes, population: int, picks: int) -> list[int]:
    """``picks`` indexes, each into the list left after the earlier picks were removed."""
    return indexes_from_values(value_stream(material), population, picks)


def _percentage(prize: DrawPrize) -> Decimal:
    try:
        percent = Decimal(prize.percentage or "")
    except InvalidOperation:
        raise DrawError(
            f"prize {prize.position}: percentage {prize.percentage!r} is not a number"
        ) from None
    if not percent.is_finite() or percent < 0 or percent > 100:
        raise DrawError(f"prize {prize.position}: percentage {prize.percentage} is not 0..100")
    return percent


def check_prize(prize: DrawPrize) -> None:
    """The ``prize`` table's own rules, so a record cannot carry a prize the server refuses."""
    if prize.winner_count < 1:
        raise DrawError(f"prize {prize.position}: winner_count must be at least 1")
    if prize.prize_type == "fixed":
        if prize.value_cents is None or prize.percentage is not None:
            raise DrawError(f"prize {prize.position}: a fixed prize has value_cents only")
        if prize.value_cents < 0:
            raise DrawError(f"prize {prize.position}: value_cents must not be negative")
    else:
        if prize.percentage is None or prize.value_cents is not None:
            raise DrawError(f"prize {prize.position}: a percentage prize has percentage only")
        _percentage(prize)


def prize_value_cents(prize: DrawPrize, revenue_cents: int) -> int:
    """Fixed: its value. Percentage: floor(revenue * percent / 100), exact (no float)."""
    check_prize(prize)
    if prize.prize_type == "fixed":
        assert prize.value_cents is not None
        return prize.value_cents
    if revenue_cents < 0:
        raise DrawError("revenue_cents must not be negative")
    numerator, denominator = _percentage(prize).as_integer_ratio()
    return (revenue_cents * numerator) // (denominator * 100)


def sold_numbers_sha256(numbers: Sequence[int]) -> str:
    """SHA-256 hex of the sorted numbers as canonical text: each in decimal, then "\\n"."""
    if not numbers:
        return hashlib.sha256(b"").hexdigest()
    text = "\n".join(map(str, numbers)) + "\n"
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def to_ranges(numbers: Sequence[int]) -> list[list[int]]:
    """Maximal runs ``[first, last]`` of sorted, distinct numbers."""
    ranges: list[list[int]] = []
    if not numbers:
        return ranges
    start = previous = numbers[0]
    for number in itertools.islice(numbers, 1, None):
        if number != previous + 1:
            ranges.append([start, previous])
            start = number
        previous = number
    ranges.append([start, previous])
    return ranges


def expand_ranges(ranges: Sequence[Sequence[int]]) -> list[int]:
    return list(itertools.chain.from_iterable(range(first, last + 1) for first, last in ranges))


def _sorted_distinct(sold_numbers: Iterable[int]) -> list[int]:
    numbers = sorted(sold_numbers)
    if len(set(numbers)) != len(numbers):
        duplicate = next(a for a, b in itertools.pairwise(numbers) if a == b)
        raise DrawError(f"draw number {duplicate} is in the sold list twice")
    if numbers and numbers[0] < 0:
        raise DrawError(f"draw number {numbers[0]} is negative")
    return numbers


def _sorted_prizes(prizes: Sequence[DrawPrize]) -> list[DrawPrize]:
    ordered = sorted(prizes, key=lambda prize: prize.position)
    for earlier, later in itertools.pairwise(ordered):
        if earlier.position == later.position:
            raise DrawError(f"two prizes at position {later.position}")
    for prize in ordered:
        check_prize(prize)
    return ordered


def _pick_winners(
    seed: bytes, beacon: str, numbers: list[int], prizes: list[DrawPrize], revenue_cents: int
) -> list[DrawWinner]:
    """The winners; ``numbers`` (sorted, distinct) is consumed."""
    total = sum(prize.winner_count for prize in prizes)
    if total > len(numbers):
        raise DrawError(f"{total} prizes but only {len(numbers)} sold tickets")
    indexes = iter(pick_indexes(draw_material(seed, beacon), len(numbers), total))
    winners = []
    for prize in prizes:
        value = prize_value_cents(prize, revenue_cents)
        for _ in range(prize.winner_count):
            winners.append(
                DrawWinner(
                    pick=len(winners),
                    position=prize.position,
                    prize_id=prize.prize_id,
                    draw_number=numbers.pop(next(indexes)),
                    prize_value_cents=value,
                )
            )
    return winners


def _check_inputs(seed: bytes, beacon: str, revenue_cents: int, drawn_at: str) -> None:
    if len(seed) != SEED_BYTES:
        raise DrawError(f"the seed must be {SEED_BYTES} bytes, not {len(seed)}")
    if len(beacon) > MAX_BEACON_LENGTH:
        raise DrawError(f"the beacon is longer than {MAX_BEACON_LENGTH} characters")
    if revenue_cents < 0:
        raise DrawError("revenue_cents must not be negative")
    if not drawn_at:
        raise DrawError("drawn_at is empty")


def record_checksum(record: DrawRecord) -> str:
    """SHA-256 hex of the canonical encoding of ``record`` with ``checksum`` set to ""."""
    return hashlib.sha256(
        _canonical.encode(msgspec.structs.replace(record, checksum=""))
    ).hexdigest()


def run_draw(
    *,
    raffle_id: str,
    raffle_name: str,
    seed: bytes,
    beacon: str,
    sold_numbers: Iterable[int],
    prizes: Sequence[DrawPrize],
    revenue_cents: int,
    drawn_at: str,
) -> DrawRecord:
    """Draw the winners and return the complete record, checksum included."""
    _check_inputs(seed, beacon, revenue_cents, drawn_at)
    ordered_prizes = _sorted_prizes(prizes)
    numbers = _sorted_distinct(sold_numbers)
    sold_ranges = to_ranges(numbers)
    sold_count = len(numbers)
    sold_sha256 = sold_numbers_sha256(numbers)
    winners = _pick_winners(seed, beacon, numbers, ordered_prizes, revenue_cents)
    record = DrawRecord(
        version=DRAW_VERSION,
        raffle_id=raffle_id,
        raffle_name=raffle_name,
        commitment=commitment_of(seed),
        seed=seed.hex(),
        beacon=beacon,
        revenue_cents=revenue_cents,
        sold_ranges=sold_ranges,
        sold_count=sold_count,
        sold_sha256=sold_sha256,
        prizes=ordered_prizes,
        winners=winners,
        drawn_at=drawn_at,
        checksum="",
    )
    return msgspec.structs.replace(record, checksum=record_checksum(record))


def encode_record(record: DrawRecord) -> bytes:
    """Canonical JSON (sorted keys, compact) of the record as it is, its checksum included."""
    return _canonical.encode(record)


def decode_record(data: bytes) -> DrawRecord:
    try:
        return _record_decoder.decode(data)
    except msgspec.DecodeError as exc:
        raise DrawError(f"not a draw record: {exc}") from None


def _range_problems(ranges: list[list[int]]) -> list[str]:
    problems = []
    previous_last: int | None = None
    for index, run in enumerate(ranges):
        if len(run) != 2:
            problems.append(f"sold range {index}: {run} is not [first, last]")
            continue
        first, last = run
        if first < 0 or first > last:
            problems.append(f"sold range {index}: [{first}, {last}] is not a range")
        elif previous_last is not None and first <= previous_last:
            problems.append(
                f"sold range {index}: [{first}, {last}] overlaps or precedes the one before it"
            )
        previous_last = last if previous_last is None else max(previous_last, last)
    return problems


def _winner_problems(exported: list[DrawWinner], recomputed: list[DrawWinner]) -> list[str]:
    problems = []
    if len(exported) != len(recomputed):
        problems.append(f"winners: export has {len(exported)}, recomputed {len(recomputed)}")
    for index, (ours, theirs) in enumerate(zip(exported, recomputed, strict=False)):
        for field in DrawWinner.__struct_fields__:
            said, derived = getattr(ours, field), getattr(theirs, field)
            if said != derived:
                label = "" if field == "draw_number" else f" {field}"
                problems.append(
                    f"winner {index + 1}{label}: export says {said}, recomputed {derived}"
                )
    return problems


def verify_record(data: bytes) -> list[str]:
    """Every problem with an exported draw record, one line each; empty means verified.

    Checks the checksum, that the seed matches its commitment, that the sold ranges are
    sorted and disjoint and match ``sold_count`` and ``sold_sha256``, and that the winners
    (numbers, positions, prizes, values) recompute exactly from seed, beacon and list.
    """
    try:
        record = decode_record(data)
    except DrawError as exc:
        return [str(exc)]
    problems: list[str] = []
    if record.version != DRAW_VERSION:
        return [f"draw record version {record.version}; this verifier knows {DRAW_VERSION}"]
    expected_checksum = record_checksum(record)
    if record.checksum != expected_checksum:
        problems.append(f"checksum: export says {record.checksum}, recomputed {expected_checksum}")
    seed: bytes | None = None
    try:
        seed = bytes.fromhex(record.seed)
    except ValueError:
        problems.append("seed: not hexadecimal")
    if seed is not None:
        if len(seed) != SEED_BYTES:
            problems.append(f"seed: {len(seed)} bytes, expected {SEED_BYTES}")
        if commitment_of(seed) != record.commitment:
            problems.append(
                f"commitment: export says {record.commitment}, "
                f"sha256 of the seed is {commitment_of(seed)}"
            )
    range_problems = _range_problems(record.sold_ranges)
    problems.extend(range_problems)
    if range_problems:
        return problems
    held = sum(last - first + 1 for first, last in record.sold_ranges)
    if held > MAX_SOLD_NUMBERS:
        problems.append(f"sold ranges hold {held} numbers, more than {MAX_SOLD_NUMBERS}")
        return problems
    numbers = expand_ranges(record.sold_ranges)
    if len(numbers) != record.sold_count:
        problems.append(f"sold_count: export says {record.sold_count}, ranges hold {len(numbers)}")
    derived_sha = sold_numbers_sha256(numbers)
    if derived_sha != record.sold_sha256:
        problems.append(f"sold_sha256: export says {record.sold_sha256}, recomputed {derived_sha}")
    if seed is None:
        return problems
    try:
        if record.revenue_cents < 0:
            raise DrawError("revenue_cents must not be negative")
        prizes = _sorted_prizes(record.prizes)
        if prizes != record.prizes:
            problems.append("prizes: not in position order")
        recomputed = _pick_winners(seed, record.beacon, numbers, prizes, record.revenue_cents)
    except DrawError as exc:
        problems.append(f"cannot recompute the winners: {exc}")
        return problems
    problems.extend(_winner_problems(record.winners, recomputed))
    return problems
