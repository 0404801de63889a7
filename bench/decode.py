"""Barcode decoding figures: time per frame and decode rate per format, per backend.

    .venv/bin/python bench/decode.py              # 40 frames per format and size, 3 timing runs
    .venv/bin/python bench/decode.py --quick      # 16 frames per format, 1 timing run
    .venv/bin/python bench/decode.py --count 80 --seed 2

Frames come from tests/drivers/images.py (the generated set the decoder tests assert on:
QR, Code128, EAN-13, PDF417, DataMatrix under 8 conditions: clean, rotated, blur, noise,
perspective, low contrast, blue ink, combined; MJPG-compressed like a USB camera's frames),
at 640x480 and 1280x720, plus frames with no code (what a gate camera sees most of the time).

DESIGN.md budget: camera frame 640x480 -> decoded code, median <= 3 ms, no misreads.
Progress goes to stderr, the tables to stdout; exit status 1 when the budget is missed.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from fieldpass.drivers.decode import BACKENDS, Decoder  # noqa: E402
from tests.drivers import images  # noqa: E402

SIZES = ((640, 480), (1280, 720))
BUDGET_MEDIAN_MS = 3.0
CAMERA_FPS = 30
FALLBACK_INTERVAL_S = 0.1  # CameraSettings.fallback_interval default


def log(message: str) -> None:
    print(f"[decode {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..1)."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    return ordered[min(len(ordered), max(1, math.ceil(q * len(ordered)))) - 1]


def timed(decoder: Decoder, frames: list[np.ndarray], reps: int, **kwargs) -> list[float]:
    """Milliseconds per decode, every frame ``reps`` times (after one warm-up pass)."""
    for frame in frames[:5]:
        decoder.decode(frame, **kwargs)
    times = []
    for _ in range(reps):
        for frame in frames:
            start = time.perf_counter()
            decoder.decode(frame, **kwargs)
            times.append((time.perf_counter() - start) * 1000)
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=40, help="frames per format and size")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--reps", type=int, default=3, help="timing runs over the frames")
    parser.add_argument("--blank", type=int, default=20, help="frames with no code per size")
    parser.add_argument("--quick", action="store_true", help="--count 16 --reps 1 --blank 8")
    args = parser.parse_args(argv)
    if args.quick:
        args.count, args.reps, args.blank = 16, 1, 8

    decoders = {backend: Decoder(backend) for backend in BACKENDS}
    sets: dict[tuple[int, int], list[images.Sample]] = {}
    blanks: dict[tuple[int, int], list[np.ndarray]] = {}
    for size in SIZES:
        log(f"generating {args.count} frames per format at {size[0]}x{size[1]}")
        sets[size] = [
            s
            for fmt in images.FORMATS
            for s in images.generated_set(fmt, args.count, seed=args.seed, size=size)
        ]
        blanks[size] = [images.blank_frame(args.seed * 1000 + i, size) for i in range(args.blank)]

    # -- decode rates and misreads (every frame once) --------------------------------------
    hits: dict[tuple[str, tuple[int, int]], Counter[str]] = {}
    misreads: dict[tuple[str, tuple[int, int]], int] = {}
    sources: dict[tuple[int, int], Counter[str]] = {size: Counter() for size in SIZES}
    for backend, decoder in decoders.items():
        for size in SIZES:
            log(f"decode rates: {backend} at {size[0]}x{size[1]}")
            counter: Counter[str] = Counter()
            wrong = 0
            for sample in sets[size]:
                reads = decoder.decode(sample.frame)
                texts = [r.text for r in reads]
                counter[sample.fmt] += sample.payload in texts
                wrong += sum(text != sample.payload for text in texts)
                if backend == "cascade" and reads:
                    sources[size][reads[0].source] += 1
            for frame in blanks[size]:
                wrong += len(decoder.decode(frame))
            hits[backend, size] = counter
            misreads[backend, size] = wrong

    # -- timing ----------------------------------------------------------------------------------
    timing: dict[tuple[str, tuple[int, int], str], list[float]] = {}
    for backend, decoder in decoders.items():
        for size in SIZES:
            log(f"timing: {backend} at {size[0]}x{size[1]}")
            frames = [s.frame for s in sets[size]]
            timing[backend, size, "code"] = timed(decoder, frames, args.reps)
            timing[backend, size, "none"] = timed(decoder, blanks[size], args.reps)
    cascade = decoders["cascade"]
    idle_fast = timed(cascade, blanks[SIZES[0]], args.reps, fallback=False)

    # -- tables ------------------------------------------------------------------------------------
    print()
    print(
        f"Barcode decoding: {args.count} frames per format per size (seed {args.seed}), "
        f"{args.blank} frames with no code; {args.reps} timing run(s)"
    )
    print(
        f"host: {os.cpu_count()} CPUs, OpenCV {cv2.__version__} ({cv2.getNumThreads()} threads), "
        f"zxing-cpp {_version('zxing-cpp')}, pyzbar {_version('pyzbar')}, numpy {np.__version__}"
    )
    print()
    print("decode time per frame, ms (median / p95)")
    header = f"{'backend':<9}" + "".join(
        f"  {f'{w}x{h} code':>17}  {f'{w}x{h} none':>17}" for w, h in SIZES
    )
    print(header)
    print("-" * len(header))
    for backend in BACKENDS:
        cells = []
        for size in SIZES:
            for kind in ("code", "none"):
                values = timing[backend, size, kind]
                cells.append(f"{percentile(values, 0.5):7.2f} / {percentile(values, 0.95):6.2f}")
        print(f"{backend:<9}" + "".join(f"  {cell:>17}" for cell in cells))
    print("(code: frames of the generated set, read or not; none: frames with no code)")
    print()

    print("decode rate per format (640x480 | 1280x720)")
    header = f"{'format':<11}" + "".join(f"  {b:>15}" for b in BACKENDS)
    print(header)
    print("-" * len(header))
    for fmt in images.FORMATS:
        cells = [
            " | ".join(f"{hits[b, size][fmt]:>2}/{args.count}" for size in SIZES) for b in BACKENDS
        ]
        print(f"{fmt:<11}" + "".join(f"  {cell:>15}" for cell in cells))
    totals = [
        " | ".join(
            f"{100 * sum(hits[b, size].values()) / (args.count * len(images.FORMATS)):4.1f}%"
            for size in SIZES
        )
        for b in BACKENDS
    ]
    print(f"{'all':<11}" + "".join(f"  {cell:>15}" for cell in totals))
    wrong_cells = [" | ".join(f"{misreads[b, size]:>5}" for size in SIZES) for b in BACKENDS]
    print(f"{'misreads':<11}" + "".join(f"  {cell:>15}" for cell in wrong_cells))
    print()
    for size in SIZES:
        found = sources[size]
        total = sum(found.values())
        shares = ", ".join(f"{name} {count}" for name, count in found.most_common())
        print(f"cascade reads by pass at {size[0]}x{size[1]}: {shares} (of {total})")

    fast_idle = percentile(idle_fast, 0.5)
    full_idle = percentile(timing["cascade", SIZES[0], "none"], 0.5)
    fallback_idle = max(full_idle - fast_idle, 0.0)
    per_second = CAMERA_FPS * fast_idle + fallback_idle / FALLBACK_INTERVAL_S
    print(
        f"idle camera, 640x480 @ {CAMERA_FPS} fps, fallback passes every "
        f"{FALLBACK_INTERVAL_S:g} s: fast pass {fast_idle:.2f} ms/frame + fallbacks "
        f"{fallback_idle:.2f} ms -> ~{per_second:.0f} ms of CPU per second "
        f"({per_second / 10:.0f}% of one core)"
    )
    print()

    median = percentile(timing["cascade", SIZES[0], "code"], 0.5)
    wrong = misreads["cascade", SIZES[0]]
    ok = median <= BUDGET_MEDIAN_MS and wrong == 0
    print(
        f"budget: camera frame 640x480 -> decoded code, median <= {BUDGET_MEDIAN_MS:g} ms, "
        f"no misreads: cascade median {median:.2f} ms, {wrong} misreads -> "
        f"{'PASS' if ok else 'OVER'}"
    )
    return 0 if ok else 1


def _version(dist: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return "?"


if __name__ == "__main__":
    sys.exit(main())
