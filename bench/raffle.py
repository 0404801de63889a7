"""Raffle figures for the closing note of the raffle issue.

    .venv/bin/python bench/raffle.py                    # the draw figure, 1,000,000 sold tickets
    .venv/bin/python bench/raffle.py --only draw --sold 200000 --repeats 1
    .venv/bin/python bench/raffle.py --only configure,sale,ingest

Figures: draw (written), configure, sale, ingest (to be written: they say so when asked).
The draw figure times ``fieldpass.sync.draw`` alone (pure code, no database): run_draw,
encode_record and verify_record over N sold tickets out of N + 2% (the rest voided), and the
worst case for the run encoding (every other number sold). Progress goes to stderr, the
figures to stdout.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fieldpass.sync.draw import (  # noqa: E402
    DrawPrize,
    decode_record,
    encode_record,
    new_seed,
    run_draw,
    verify_record,
)

FIGURES = ("draw", "configure", "sale", "ingest")


def log(message: str) -> None:
    print(f"[raffle {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def prizes() -> list[DrawPrize]:
    """A 50/50 jackpot, then 10 fixed prizes of 10 winners each: 101 picks."""
    jackpot = DrawPrize(
        prize_id="jackpot",
        position=1,
        name="50/50 jackpot",
        prize_type="percentage",
        value_cents=None,
        percentage="50.00",
        winner_count=1,
    )
    fixed = [
        DrawPrize(
            prize_id=f"fixed-{position}",
            position=position,
            name=f"Prize {position}",
            prize_type="fixed",
            value_cents=10_000 * position,
            percentage=None,
            winner_count=10,
        )
        for position in range(2, 12)
    ]
    return [jackpot, *fixed]


def timed(function: Callable[[], object], repeats: int) -> tuple[list[float], object]:
    """Seconds per call over ``repeats`` calls, and the last call's result."""
    times = []
    result: object = None
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return times, result


def seconds(times: list[float]) -> str:
    return f"median {statistics.median(times):.3f} s, best {min(times):.3f} s (n={len(times)})"


def draw_case(label: str, sold: list[int], repeats: int) -> None:
    seed = new_seed()

    def draw():
        return run_draw(
            raffle_id="bench",
            raffle_name="Bench raffle",
            seed=seed,
            beacon="public beacon value",
            sold_numbers=sold,
            prizes=prizes(),
            revenue_cents=len(sold) * 500,
            drawn_at="2026-11-25T20:00:00+00:00",
        )

    log(f"{label}: run_draw over {len(sold):,} numbers")
    draw_times, record = timed(draw, repeats)
    encode_times, data = timed(lambda: encode_record(record), repeats)
    decode_times, _ = timed(lambda: decode_record(data), repeats)
    verify_times, problems = timed(lambda: verify_record(data), repeats)
    if problems:
        raise SystemExit(f"the bench record does not verify: {problems}")
    print(f"draw time over {len(sold):,} sold tickets ({label})")
    print(f"  sold ranges in the record   {len(record.sold_ranges):,}")
    print(f"  record size                 {len(data) / 1e6:.2f} MB")
    print(f"  winners                     {len(record.winners)}")
    print(f"  run_draw                    {seconds(draw_times)}")
    print(f"  encode_record               {seconds(encode_times)}")
    print(f"  decode_record               {seconds(decode_times)}")
    print(f"  verify_record (recompute)   {seconds(verify_times)}")
    total = statistics.median(draw_times) + statistics.median(encode_times)
    print(f"  draw + encode + verify      {total + statistics.median(verify_times):.3f} s")


def bench_draw(args: argparse.Namespace) -> None:
    rng = random.Random(args.seed)
    numbers = range(1, args.sold + args.sold // 49 + 1)  # ~2% of them voided: N remain sold
    voided = set(rng.sample(numbers, len(numbers) - args.sold))
    realistic = [n for n in numbers if n not in voided]
    shuffled = realistic[:]
    rng.shuffle(shuffled)
    draw_case("2% voided, sorted input", realistic, args.repeats)
    draw_case("2% voided, shuffled input", shuffled, args.repeats)
    draw_case("every other number sold", list(range(1, 2 * args.sold + 1, 2)), args.repeats)


def bench_configure(args: argparse.Namespace) -> None:
    """Configure time for 1,000,000 tickets (server: generate every ticket)."""
    raise NotImplementedError("the configure figure is not written yet")


def bench_sale(args: argparse.Namespace) -> None:
    """Sale commit + receipt bytes latency p50/p99 on the RSU device."""
    raise NotImplementedError("the sale figure is not written yet")


def bench_ingest(args: argparse.Namespace) -> None:
    """Server ingest of 100,000 sales from 20 devices."""
    raise NotImplementedError("the ingest figure is not written yet")


RUNNERS: dict[str, Callable[[argparse.Namespace], None]] = {
    "draw": bench_draw,
    "configure": bench_configure,
    "sale": bench_sale,
    "ingest": bench_ingest,
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--only", action="append", default=[], help=f"figure(s): {', '.join(FIGURES)}"
    )
    parser.add_argument("--sold", type=int, default=1_000_000, help="sold tickets (draw)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per step (draw)")
    parser.add_argument("--seed", type=int, default=1, help="random seed of the voided numbers")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    selected = [name.strip() for item in args.only for name in item.split(",") if name.strip()]
    unknown = [name for name in selected if name not in FIGURES]
    if unknown:
        print(f"unknown figure(s): {', '.join(unknown)}; choose from {', '.join(FIGURES)}")
        return 2
    status = 0
    for name in selected or ["draw"]:
        try:
            RUNNERS[name](args)
        except NotImplementedError as exc:
            print(f"{name}: SKIP ({exc})")
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
