"""Synthetic camera frames of barcodes, for decoder tests and bench/decode.py.

Every symbol is rendered by an *independent* encoder where one exists (qrcode for QR,
python-barcode's ImageWriter for Code128 and EAN-13; zxing-cpp's writer for PDF417 and
DataMatrix, the only writer at hand for those), pasted onto a 640x480 (or any size)
"desk" background through a perspective warp, then degraded the way a cheap USB camera
degrades it: blur, sensor noise, low contrast, coloured ink, MJPG compression.

Deterministic: the same seed gives the same frames, so decode rates are reproducible.
"""

from __future__ import annotations

import base64
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field

import barcode
import cv2
import numpy as np
import qrcode
import zxingcpp
from barcode.writer import ImageWriter

FORMATS = ("qrcode", "code128", "ean13", "pdf417", "datamatrix")
ONE_D = frozenset({"code128", "ean13"})

#: The degradations of the generated set, applied in turn (sample i gets CONDITIONS[i % n]).
CONDITIONS = (
    "clean",
    "rotated",
    "blur",
    "noise",
    "perspective",
    "low_contrast",
    "blue_ink",
    "combined",
)

#: Pixels per module of the clean render (python-barcode needs whole pixels per bar).
_RENDER_UNIT = 3


@dataclass(frozen=True)
class Sample:
    """One generated frame and what it encodes."""

    frame: np.ndarray  # BGR (blue_ink) or grayscale uint8
    payload: str
    fmt: str
    condition: str
    params: dict[str, float] = field(default_factory=dict)


# -- payloads ---------------------------------------------------------------------------------


def _b64(rng: random.Random, nbytes: int) -> str:
    raw = bytes(rng.getrandbits(8) for _ in range(nbytes))
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def ean13_full(twelve: str) -> str:
    """The 13-digit EAN for 12 digits (appends the check digit)."""
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(twelve))
    return twelve + str((10 - total % 10) % 10)


def payload_for(fmt: str, rng: random.Random) -> str:
    """A payload shaped like what Fieldpass puts in that format."""
    if fmt == "ean13":
        return ean13_full("".join(str(rng.randrange(10)) for _ in range(12)))
    if fmt == "code128":
        # Plain ticket barcodes: short, ASCII, [A-Za-z0-9_.:/+=-].
        return f"T{rng.randrange(10**9):09d}-{rng.choice('ABCDEFGHJKLMNPQRSTUVWXYZ')}"
    if fmt == "qrcode":
        if rng.random() < 0.5:
            # A signed ticket: FP1.<payload>.<Ed25519 signature>, about 200 characters.
            return f"FP1.{_b64(rng, 80)}.{_b64(rng, 64)}"
        return f"T{rng.randrange(10**12):012d}"
    if fmt == "pdf417":
        return f"FP1.{_b64(rng, 45)}.{_b64(rng, 24)}"
    if fmt == "datamatrix":
        return f"DM-{rng.randrange(10**10):010d}-{_b64(rng, 6)}"
    raise ValueError(f"unknown format {fmt!r}")


# -- clean renders (white paper, black ink, quiet zone included) -------------------------------


def render_symbol(fmt: str, payload: str | bytes) -> tuple[np.ndarray, float]:
    """A clean grayscale render of ``payload`` and its module size in pixels."""
    data = payload.encode("utf-8") if isinstance(payload, str) else payload
    if fmt == "qrcode":
        qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4)
        qr.add_data(data)
        qr.make(fit=True)
        matrix = np.array(qr.get_matrix(), dtype=bool)
        img = np.where(matrix, 0, 255).astype(np.uint8)
        return _upscale(img, _RENDER_UNIT), float(_RENDER_UNIT)
    if fmt in ("code128", "ean13"):
        text = data.decode("utf-8")
        if fmt == "ean13":
            text = text[:12]
        writer = ImageWriter(mode="L")
        symbol = barcode.get(fmt, text, writer=writer)
        mm_per_px = 25.4 / 300
        pil = symbol.render(
            {
                "module_width": _RENDER_UNIT * mm_per_px,
                "module_height": 14.0,
                "quiet_zone": 12 * _RENDER_UNIT * mm_per_px,
                "dpi": 300,
                "font_size": 8,
                "text_distance": 3.0,
            }
        )
        return np.asarray(pil, dtype=np.uint8).copy(), float(_RENDER_UNIT)
    if fmt in ("pdf417", "datamatrix"):
        zx_format = zxingcpp.PDF417 if fmt == "pdf417" else zxingcpp.DataMatrix
        made = zxingcpp.create_barcode(data, zx_format)
        img = np.asarray(zxingcpp.write_barcode_to_image(made, scale=1), dtype=np.uint8)
        if fmt == "pdf417":
            # zxing-cpp draws PDF417 rows 1 module tall at scale 1; real ones are ~3.
            img = np.repeat(img, 3, axis=0)
        img = cv2.copyMakeBorder(img, 2, 2, 2, 2, cv2.BORDER_CONSTANT, value=255)
        return _upscale(img, _RENDER_UNIT), float(_RENDER_UNIT)
    raise ValueError(f"unknown format {fmt!r}")


def _upscale(img: np.ndarray, factor: int) -> np.ndarray:
    return np.repeat(np.repeat(img, factor, axis=0), factor, axis=1)


# -- frames -----------------------------------------------------------------------------------


def background(rng: random.Random, size: tuple[int, int]) -> np.ndarray:
    """A desk/counter: mid-grey with a soft illumination gradient and some texture."""
    width, height = size
    base = rng.uniform(90, 170)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    angle = rng.uniform(0, 2 * math.pi)
    ramp = (xs * math.cos(angle) + ys * math.sin(angle)) / max(width, height)
    img = base + 40 * ramp
    nprng = np.random.default_rng(rng.getrandbits(32))
    texture = nprng.normal(0, 12, (height // 16 + 1, width // 16 + 1)).astype(np.float32)
    img += cv2.resize(texture, (width, height), interpolation=cv2.INTER_CUBIC)
    return np.clip(img, 0, 255).astype(np.float32)


def place(
    symbol: np.ndarray,
    module_px: float,
    target_module_px: float,
    rng: random.Random,
    size: tuple[int, int],
    *,
    angle_deg: float = 0.0,
    tilt: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Warp ``symbol`` into a frame of ``size``; returns (warped symbol, coverage mask).

    ``target_module_px`` is the module size in the frame; ``tilt`` (0..0.3) moves the
    corners towards a perspective view.
    """
    width, height = size
    h, w = symbol.shape
    scale = target_module_px / module_px
    # Shrink until the rotated symbol fits with a margin.
    rad = math.radians(angle_deg)
    for _ in range(20):
        bw = abs(w * scale * math.cos(rad)) + abs(h * scale * math.sin(rad))
        bh = abs(w * scale * math.sin(rad)) + abs(h * scale * math.cos(rad))
        if bw <= width * 0.92 and bh <= height * 0.92:
            break
        scale *= 0.9
    cx = width / 2 + rng.uniform(-1, 1) * max(0.0, (width * 0.92 - bw) / 2)
    cy = height / 2 + rng.uniform(-1, 1) * max(0.0, (height * 0.92 - bh) / 2)
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    corners = []
    for x, y in src:
        dx, dy = (x - w / 2) * scale, (y - h / 2) * scale
        rx = dx * math.cos(rad) - dy * math.sin(rad)
        ry = dx * math.sin(rad) + dy * math.cos(rad)
        corners.append([cx + rx, cy + ry])
    dst = np.float32(corners)
    if tilt:
        span = max(bw, bh)
        # Perspective: one edge comes closer to the camera than the opposite edge.
        edge = rng.randrange(4)
        shrink = tilt * span * 0.5
        for i in (edge, (edge + 1) % 4):
            vec = np.float32([cx, cy]) - dst[i]
            dst[i] += vec / np.linalg.norm(vec) * shrink * 0.5
        dst += np.float32([[rng.uniform(-1, 1) * tilt * 8 for _ in range(2)] for _ in range(4)])
    matrix = cv2.getPerspectiveTransform(src, dst)
    warped = cv2.warpPerspective(
        symbol.astype(np.float32), matrix, (width, height), flags=cv2.INTER_AREA
    )
    mask = cv2.warpPerspective(
        np.ones_like(symbol, dtype=np.float32), matrix, (width, height), flags=cv2.INTER_LINEAR
    )
    return warped, mask


def compose(
    symbol: np.ndarray,
    module_px: float,
    rng: random.Random,
    *,
    size: tuple[int, int] = (640, 480),
    target_module_px: float = 4.0,
    angle_deg: float = 0.0,
    tilt: float = 0.0,
    blur_sigma: float = 0.0,
    noise_sigma: float = 2.0,
    ink: float = 25.0,
    paper: float = 235.0,
    blue_ink: bool = False,
    jpeg_quality: int | None = 85,
) -> np.ndarray:
    """A camera frame showing ``symbol``: grayscale, or BGR when ``blue_ink``."""
    warped, mask = place(
        symbol, module_px, target_module_px, rng, size, angle_deg=angle_deg, tilt=tilt
    )
    bg = background(rng, size)
    # Ink/paper levels: symbol pixel 0 -> ink, 255 -> paper.
    level = ink + (paper - ink) * (warped / 255.0)
    if blue_ink:
        # Printed blue ink on white: blue channel barely changes, red/green carry the code.
        t = warped / 255.0
        ink_bgr = np.float32([220, 100, 30])
        paper_bgr = np.float32([240, 242, 245])
        sym = ink_bgr + (paper_bgr - ink_bgr) * t[..., None]
        frame = bg[..., None] * (1 - mask[..., None]) + sym * mask[..., None]
    else:
        frame = bg * (1 - mask) + level * mask
    nprng = np.random.default_rng(rng.getrandbits(32))
    if blur_sigma > 0:
        frame = cv2.GaussianBlur(frame, (0, 0), blur_sigma)
    if noise_sigma > 0:
        frame = frame + nprng.normal(0, noise_sigma, frame.shape).astype(np.float32)
    out = np.clip(frame, 0, 255).astype(np.uint8)
    if jpeg_quality is not None:
        ok, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality])
        if ok:
            flag = cv2.IMREAD_COLOR if out.ndim == 3 else cv2.IMREAD_GRAYSCALE
            out = cv2.imdecode(buf, flag)
    return out


def _module_range(fmt: str, size: tuple[int, int]) -> tuple[float, float]:
    """Module size in frame pixels, scaled from the 640x480 ranges."""
    factor = size[0] / 640
    ranges = {
        "qrcode": (3.0, 6.0),
        "datamatrix": (4.0, 8.0),
        "pdf417": (2.0, 3.0),
        "code128": (2.0, 3.2),
        "ean13": (2.5, 4.0),
    }
    lo, hi = ranges[fmt]
    return lo * factor, hi * factor


def condition_params(fmt: str, condition: str, rng: random.Random) -> dict[str, float]:
    """The degradation parameters of one sample."""
    one_d = fmt in ONE_D
    params: dict[str, float] = {
        "angle_deg": rng.uniform(-5, 5),
        "tilt": 0.0,
        "blur_sigma": rng.uniform(0.3, 0.6),
        "noise_sigma": 2.0,
        "ink": rng.uniform(15, 40),
        "paper": rng.uniform(215, 245),
        "blue_ink": 0.0,
    }
    if condition == "rotated":
        params["angle_deg"] = (
            rng.choice([0, 90, 180, 270]) + rng.uniform(-15, 15) if one_d else rng.uniform(0, 360)
        )
    elif condition == "blur":
        params["blur_sigma"] = rng.uniform(1.0, 1.6)
    elif condition == "noise":
        params["noise_sigma"] = rng.uniform(8, 16)
    elif condition == "perspective":
        params["tilt"] = rng.uniform(0.1, 0.25)
    elif condition == "low_contrast":
        mid = rng.uniform(110, 160)
        spread = rng.uniform(20, 32)
        params["ink"], params["paper"] = mid - spread / 2, mid + spread / 2
        params["noise_sigma"] = 3.0
    elif condition == "blue_ink":
        params["blue_ink"] = 1.0
    elif condition == "combined":
        params["angle_deg"] = rng.uniform(-20, 20) if one_d else rng.uniform(0, 360)
        params["tilt"] = rng.uniform(0.05, 0.15)
        params["blur_sigma"] = rng.uniform(0.7, 1.0)
        params["noise_sigma"] = rng.uniform(4, 8)
        mid = rng.uniform(120, 150)
        params["ink"], params["paper"] = mid - 50, mid + 50
    elif condition != "clean":
        raise ValueError(f"unknown condition {condition!r}")
    return params


def make_sample(
    fmt: str,
    condition: str,
    rng: random.Random,
    *,
    size: tuple[int, int] = (640, 480),
    payload: str | None = None,
) -> Sample:
    """One frame of ``fmt`` under ``condition``."""
    text = payload if payload is not None else payload_for(fmt, rng)
    symbol, unit = render_symbol(fmt, text)
    params = condition_params(fmt, condition, rng)
    lo, hi = _module_range(fmt, size)
    params["module_px"] = rng.uniform(lo, hi)
    frame = compose(
        symbol,
        unit,
        rng,
        size=size,
        target_module_px=params["module_px"],
        angle_deg=params["angle_deg"],
        tilt=params["tilt"],
        blur_sigma=params["blur_sigma"],
        noise_sigma=params["noise_sigma"],
        ink=params["ink"],
        paper=params["paper"],
        blue_ink=bool(params["blue_ink"]),
    )
    return Sample(frame, text, fmt, condition, params)


def generated_set(
    fmt: str,
    count: int,
    *,
    seed: int = 1,
    size: tuple[int, int] = (640, 480),
    conditions: tuple[str, ...] = CONDITIONS,
) -> Iterator[Sample]:
    """``count`` samples of ``fmt``, cycling through ``conditions``; deterministic per seed."""
    rng = random.Random(f"{seed}:{fmt}:{size}")
    for i in range(count):
        yield make_sample(fmt, conditions[i % len(conditions)], rng, size=size)


def blank_frame(seed: int = 0, size: tuple[int, int] = (640, 480)) -> np.ndarray:
    """A frame with no code in it (most frames a gate camera sees)."""
    rng = random.Random(seed)
    frame = background(rng, size)
    nprng = np.random.default_rng(seed)
    frame = frame + nprng.normal(0, 3, frame.shape)
    return np.clip(frame, 0, 255).astype(np.uint8)


# -- videos -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Segment:
    """``frames`` video frames showing ``payload`` as ``fmt`` (nothing when payload is None)."""

    payload: str | None
    frames: int
    fmt: str = "qrcode"


def write_video(
    path: str,
    segments: list[Segment],
    *,
    fps: float = 10.0,
    size: tuple[int, int] = (640, 480),
    seed: int = 0,
) -> int:
    """Write an MJPG .avi of the segments (hand jitter and sensor noise per frame).

    Returns the number of frames written.
    """
    rng = random.Random(seed)
    nprng = np.random.default_rng(seed)
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"MJPG"), fps, size)
    if not writer.isOpened():
        raise RuntimeError(f"OpenCV cannot write MJPG video to {path}")
    written = 0
    try:
        for segment in segments:
            if segment.payload is None:
                base = blank_frame(rng.randrange(1000), size)
            else:
                base = make_sample(segment.fmt, "clean", rng, size=size, payload=segment.payload)
                base = base.frame
            for _ in range(segment.frames):
                dx, dy = rng.randint(-2, 2), rng.randint(-2, 2)
                frame = np.roll(base, (dy, dx), axis=(0, 1)).astype(np.float32)
                frame += nprng.normal(0, 2.0, frame.shape).astype(np.float32)
                frame = np.clip(frame, 0, 255).astype(np.uint8)
                if frame.ndim == 2:
                    frame = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
                writer.write(frame)
                written += 1
    finally:
        writer.release()
    return written
