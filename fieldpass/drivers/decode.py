"""Decode barcodes in camera frames, and turn per-frame reads into scans.

``decode_frame(image)`` takes a NumPy BGR or grayscale frame and returns the codes in it.
The default decoder is a cascade, measured on generated frames (tests/drivers, bench/decode.py):

1. fast pass: zxing-cpp restricted to the formats in use, no 90° rotation, no inversion
   (~2 ms per 640x480 frame);
2. only when that found nothing: zxing-cpp on a denoised, CLAHE-equalised copy, with rotation
   and inversion (recovers low-contrast 1D codes, rotated 1D codes and DataMatrix);
3. then pyzbar (zbar) on the grayscale frame (best on low-contrast and blurred 1D codes).

Traps handled here (each has a test):

- Frames are converted to grayscale first: pyzbar given a BGR array reads its first (blue)
  channel only, so a code printed in blue ink vanishes.
- zxing-cpp's default text mode ("HRI") rewrites control characters (``<GS>``); we use Plain
  mode, and for payloads it calls binary (control characters, no ECI) the raw bytes as UTF-8,
  since its fallback there is ISO-8859-1 (UTF-8 text would come out as mojibake); ECI, Kanji
  mode and text it recognised keep its own charset handling. zbar is run in binary mode for
  QR: by default it guesses a charset and turns a short UTF-8 payload into mojibake.
- zxing-cpp sometimes returns a second, different 1D read (valid check digit) over the same
  symbol as the right one; overlapping conflicting 1D reads are resolved by their support
  (how many scan lines agree) or dropped.
- 1D codes are misread with a valid check digit under blur; ``ReadFilter`` accepts a 1D read
  only when two consecutive frames agree (2D codes carry Reed-Solomon error correction).

Known limitation: zbar drops the high bit of Code128 extended (FNC4) characters; Fieldpass
ticket barcodes are plain ASCII, and zbar only runs when zxing-cpp found nothing.

``ReadFilter`` is pure (no I/O, injectable clock): it reports the same code once per hold-off.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from fieldpass.drivers.errors import DriverError, DriverSpecError, DriverUnavailable

#: The formats Fieldpass tickets and receipts use.
DEFAULT_FORMATS: tuple[str, ...] = ("qrcode", "code128", "ean13", "pdf417", "datamatrix")
#: Further formats a decoder may be asked for.
EXTRA_FORMATS: tuple[str, ...] = (
    "ean8",
    "upca",
    "upce",
    "code39",
    "code93",
    "codabar",
    "itf",
    "aztec",
)
KNOWN_FORMATS: tuple[str, ...] = DEFAULT_FORMATS + EXTRA_FORMATS
#: Linear symbologies: no error correction, a check digit at best; reads need confirming.
ONE_D_FORMATS = frozenset(
    {"code128", "ean13", "ean8", "upca", "upce", "code39", "code93", "codabar", "itf"}
)
BACKENDS: tuple[str, ...] = ("cascade", "zxing", "pyzbar")

#: zxing-cpp 3.x BarcodeFormat member names, per our format names.
_ZXING_NAMES = {
    "qrcode": "QRCode",
    "code128": "Code128",
    "ean13": "EAN13",
    "pdf417": "PDF417",
    "datamatrix": "DataMatrix",
    "ean8": "EAN8",
    "upca": "UPCA",
    "upce": "UPCE",
    "code39": "Code39",
    "code93": "Code93",
    "codabar": "Codabar",
    "itf": "ITF",
    "aztec": "Aztec",
}
#: zbar symbol type numbers (zbar.h ``zbar_symbol_type_t``). zbar reads no DataMatrix or
#: Aztec, and its PDF417 decoder is incomplete (it never returns data), so those are not asked.
_ZBAR_TYPES = {
    "qrcode": 64,
    "code128": 128,
    "ean13": 13,
    "ean8": 8,
    "upca": 12,
    "upce": 9,
    "code39": 39,
    "code93": 93,
    "codabar": 38,
    "itf": 25,
}
_ZBAR_NAMES = {number: name for name, number in _ZBAR_TYPES.items()}
_ZBAR_CFG_ENABLE = 0
#: ``ZBAR_CFG_BINARY`` (zbar >= 0.23): return QR bytes as encoded, without charset guessing.
_ZBAR_CFG_BINARY = 4
_ZBAR_Y800 = 0x30303859  # fourcc "Y800": 8-bit grayscale

#: Overlapping conflicting 1D reads: the better supported one wins when it has this many
#: times the support of the other; otherwise both are dropped.
_SUPPORT_RATIO = 2.0
#: Fraction of the smaller read's bounding box two reads must share to be one symbol.
_SAME_SYMBOL_OVERLAP = 0.5


@dataclass(frozen=True)
class Read:
    """One code found in one frame."""

    text: str
    format: str  # "qrcode", "code128", "ean13", "pdf417", "datamatrix", ...
    is_1d: bool
    #: Which pass found it: "zxing", "zxing-clahe" or "pyzbar" (for figures and tests).
    source: str = ""


# -- frames -------------------------------------------------------------------------------------


def to_gray(image: Any) -> np.ndarray:
    """A C-contiguous uint8 grayscale view of a BGR, BGRA or grayscale frame.

    Raises DriverError (code ``bad_frame``) for anything that is not an 8-bit image.
    """
    if not isinstance(image, np.ndarray):
        raise DriverError(
            f"a frame must be a NumPy array, not {type(image).__name__}", code="bad_frame"
        )
    if image.dtype != np.uint8:
        raise DriverError(f"a frame must be 8-bit, not {image.dtype}", code="bad_frame")
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim == 2:
        return np.ascontiguousarray(image)
    if image.ndim == 3 and image.shape[2] in (3, 4):
        import cv2

        code = cv2.COLOR_BGR2GRAY if image.shape[2] == 3 else cv2.COLOR_BGRA2GRAY
        return cv2.cvtColor(np.ascontiguousarray(image), code)
    raise DriverError(f"unsupported frame shape {image.shape}", code="bad_frame")


# -- the decoder ----------------------------------------------------------------------------


class Decoder:
    """Finds barcodes in frames with the chosen backend and formats.

    ``backend``: "cascade" (default: zxing-cpp fast pass, then fallbacks only when nothing
    was found), "zxing" (one thorough zxing-cpp pass) or "pyzbar" (one zbar pass).
    Safe to share between threads.
    """

    def __init__(
        self,
        backend: str = "cascade",
        formats: Iterable[str] = DEFAULT_FORMATS,
        *,
        clahe_clip: float = 2.0,
        clahe_tiles: int = 8,
    ) -> None:
        if backend not in BACKENDS:
            raise DriverSpecError(
                f"unknown decoder backend {backend!r}; use one of {', '.join(BACKENDS)}",
                code="bad_decoder_option",
            )
        if isinstance(formats, str):
            formats = formats.split(",")
        wanted = tuple(dict.fromkeys(fmt.strip().lower() for fmt in formats if fmt.strip()))
        unknown = [fmt for fmt in wanted if fmt not in KNOWN_FORMATS]
        if unknown or not wanted:
            raise DriverSpecError(
                f"unknown barcode format(s) {', '.join(unknown) or '(none given)'}; "
                f"use {', '.join(KNOWN_FORMATS)}",
                code="bad_decoder_option",
            )
        if clahe_clip <= 0 or clahe_tiles < 1:
            raise DriverSpecError(
                "CLAHE clip limit and tile count must be positive", code="bad_decoder_option"
            )
        self.backend = backend
        self.formats = wanted
        self._clahe_clip = clahe_clip
        self._clahe_tiles = clahe_tiles
        self._zxing: Any = None
        self._zx_formats: list[Any] = []
        self._zx_names: dict[int, str] = {}
        if backend in ("cascade", "zxing"):
            try:
                import zxingcpp
            except ImportError as exc:
                raise DriverUnavailable(
                    f"the {backend} decoder needs zxing-cpp ({exc}); try backend=pyzbar",
                    code="decoder_unavailable",
                ) from exc
            self._zxing = zxingcpp
            self._zx_formats = [getattr(zxingcpp.BarcodeFormat, _ZXING_NAMES[f]) for f in wanted]
            self._zx_names = {
                int(getattr(zxingcpp.BarcodeFormat, _ZXING_NAMES[f])): f for f in wanted
            }
        self._zbar: _Zbar | None = None
        if backend in ("cascade", "pyzbar"):
            types = [_ZBAR_TYPES[f] for f in wanted if f in _ZBAR_TYPES]
            if types:
                self._zbar = _Zbar(types)
            elif backend == "pyzbar":
                raise DriverSpecError(
                    f"zbar reads none of {', '.join(wanted)}", code="bad_decoder_option"
                )

    def decode(self, image: Any, *, fallback: bool = True) -> list[Read]:
        """Codes in ``image``, each distinct text once. ``fallback=False``: fast pass only."""
        gray = to_gray(image)
        if gray.size == 0:
            return []
        reads = self.fast_pass(gray)
        if reads or not fallback:
            return reads
        return self.fallback_passes(gray)

    def fast_pass(self, gray: np.ndarray) -> list[Read]:
        """The first pass of the backend on a grayscale frame."""
        if self.backend == "pyzbar":
            return self._zbar_pass(gray)
        if self.backend == "zxing":
            return self._zxing_pass(gray, "zxing", try_rotate=True, try_invert=False)
        return self._zxing_pass(gray, "zxing", try_rotate=False, try_invert=False)

    def fallback_passes(self, gray: np.ndarray) -> list[Read]:
        """The cascade's slower passes, for a frame the fast pass found nothing in."""
        if self.backend != "cascade":
            return []
        import cv2

        clahe = cv2.createCLAHE(self._clahe_clip, (self._clahe_tiles, self._clahe_tiles))
        equalised = clahe.apply(cv2.GaussianBlur(gray, (3, 3), 0))
        reads = self._zxing_pass(equalised, "zxing-clahe", try_rotate=True, try_invert=True)
        if reads:
            return reads
        return self._zbar_pass(gray)

    # -- zxing-cpp ----------------------------------------------------------------------------

    def _zxing_pass(
        self, gray: np.ndarray, source: str, *, try_rotate: bool, try_invert: bool
    ) -> list[Read]:
        zx = self._zxing
        found = zx.read_barcodes(
            gray,
            formats=self._zx_formats,
            try_rotate=try_rotate,
            try_invert=try_invert,
            text_mode=zx.TextMode.Plain,
        )
        candidates: list[tuple[Read, np.ndarray]] = []
        for barcode in found:
            fmt = self._zx_names.get(int(barcode.format), _zx_format_name(barcode.format))
            read = Read(_zxing_text(zx, barcode), fmt, fmt in ONE_D_FORMATS, source)
            candidates.append((read, _quad(barcode.position)))
        return _distinct(_drop_conflicting_1d(candidates))

    # -- zbar -----------------------------------------------------------------------------------

    def _zbar_pass(self, gray: np.ndarray) -> list[Read]:
        if self._zbar is None:
            return []
        reads = []
        for type_number, data in self._zbar.scan(gray):
            fmt = _ZBAR_NAMES.get(type_number, f"zbar-{type_number}")
            reads.append(Read(_bytes_text(data), fmt, fmt in ONE_D_FORMATS, "pyzbar"))
        return _distinct(reads)


def _zxing_text(zx: Any, barcode: Any) -> str:
    """The payload as text: raw bytes as UTF-8, else zxing-cpp's own charset handling."""
    if barcode.content_type in (zx.ContentType.Binary, zx.ContentType.Mixed):
        try:
            return barcode.bytes.decode("utf-8")
        except UnicodeDecodeError:
            pass
    # Text: zxing-cpp knew the charset (ECI, Kanji mode, ASCII) or guessed it; Plain mode
    # leaves control characters as they are.
    return barcode.text


def _bytes_text(data: bytes) -> str:
    """zbar's raw bytes as text: UTF-8, else ISO-8859-1 (the QR and Code128 default)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _zx_format_name(fmt: Any) -> str:
    name = getattr(fmt, "name", str(fmt))
    return "qrcode" if name.startswith("QRCode") else name.lower()


def _quad(position: Any) -> np.ndarray:
    return np.float32(
        [
            [position.top_left.x, position.top_left.y],
            [position.top_right.x, position.top_right.y],
            [position.bottom_right.x, position.bottom_right.y],
            [position.bottom_left.x, position.bottom_left.y],
        ]
    )


def _support(quad: np.ndarray) -> float:
    """How far a 1D read extends along its bars (how many scan lines agreed)."""
    return float(min(np.linalg.norm(quad[0] - quad[3]), np.linalg.norm(quad[1] - quad[2])))


def _overlap(a: np.ndarray, b: np.ndarray) -> float:
    """Shared bounding-box area over the smaller box (thin quads get one pixel of height)."""
    ax0, ay0 = a.min(axis=0)
    ax1, ay1 = a.max(axis=0) + 1
    bx0, by0 = b.min(axis=0)
    bx1, by1 = b.max(axis=0) + 1
    w = min(ax1, bx1) - max(ax0, bx0)
    h = min(ay1, by1) - max(ay0, by0)
    if w <= 0 or h <= 0:
        return 0.0
    smaller = min((ax1 - ax0) * (ay1 - ay0), (bx1 - bx0) * (by1 - by0))
    return float(w * h / max(smaller, 1.0))


def _drop_conflicting_1d(candidates: list[tuple[Read, np.ndarray]]) -> list[Read]:
    """Resolve different 1D reads of one symbol: the far better supported one, or neither."""
    dropped: set[int] = set()
    for i, (read_i, quad_i) in enumerate(candidates):
        if not read_i.is_1d:
            continue
        for j in range(i + 1, len(candidates)):
            read_j, quad_j = candidates[j]
            if not read_j.is_1d or read_j.text == read_i.text:
                continue
            if _overlap(quad_i, quad_j) < _SAME_SYMBOL_OVERLAP:
                continue
            support_i, support_j = _support(quad_i), _support(quad_j)
            if support_i >= _SUPPORT_RATIO * support_j:
                dropped.add(j)
            elif support_j >= _SUPPORT_RATIO * support_i:
                dropped.add(i)
            else:
                dropped.update((i, j))
    return [read for k, (read, _) in enumerate(candidates) if k not in dropped]


def _distinct(reads: Iterable[Read]) -> list[Read]:
    seen: set[str] = set()
    out = []
    for read in reads:
        if read.text not in seen:
            seen.add(read.text)
            out.append(read)
    return out


class _Zbar:
    """zbar through pyzbar's ctypes bindings, with QR binary mode and one scanner per thread.

    pyzbar.decode() would guess QR charsets (and cannot switch that off) and build a new
    scanner for every frame.
    """

    def __init__(self, types: Sequence[int]) -> None:
        try:
            from pyzbar import wrapper  # loads libzbar
        except ImportError as exc:
            raise DriverUnavailable(
                f"zbar is not usable here ({exc}): install pyzbar and libzbar0, "
                "or use backend=zxing",
                code="decoder_unavailable",
            ) from exc

        self._w = wrapper
        self._types = tuple(types)
        self._local = threading.local()

    def _scanner(self) -> Any:
        handle = getattr(self._local, "handle", None)
        if handle is None:
            handle = _ZbarScanner(self._w, self._types)
            self._local.handle = handle
        return handle

    def scan(self, gray: np.ndarray) -> list[tuple[int, bytes]]:
        return self._scanner().scan(gray)


class _ZbarScanner:
    def __init__(self, wrapper: Any, types: Sequence[int]) -> None:
        self._w = wrapper
        self._ptr = wrapper.zbar_image_scanner_create()
        if not self._ptr:
            raise DriverError("zbar could not create an image scanner", code="zbar_failed")
        set_config = wrapper.zbar_image_scanner_set_config
        set_config(self._ptr, 0, _ZBAR_CFG_ENABLE, 0)  # symbology 0: all of them
        for type_number in types:
            set_config(self._ptr, type_number, _ZBAR_CFG_ENABLE, 1)
        if 64 in types:
            # Non-zero when this libzbar predates binary mode; its QR text is then guessed.
            self.binary_qr = set_config(self._ptr, 64, _ZBAR_CFG_BINARY, 1) == 0

    def scan(self, gray: np.ndarray) -> list[tuple[int, bytes]]:
        from ctypes import c_void_p, string_at

        w = self._w
        image = w.zbar_image_create()
        try:
            height, width = gray.shape
            w.zbar_image_set_format(image, _ZBAR_Y800)
            w.zbar_image_set_size(image, width, height)
            w.zbar_image_set_data(image, gray.ctypes.data_as(c_void_p), gray.size, None)
            if w.zbar_scan_image(self._ptr, image) < 0:
                raise DriverError("zbar could not scan the frame", code="zbar_failed")
            out = []
            symbol = w.zbar_image_first_symbol(image)
            while symbol:
                data = string_at(
                    w.zbar_symbol_get_data(symbol), w.zbar_symbol_get_data_length(symbol)
                )
                out.append((int(symbol.contents.type), data))
                symbol = w.zbar_symbol_next(symbol)
            return out
        finally:
            w.zbar_image_destroy(image)

    def __del__(self) -> None:
        ptr, self._ptr = getattr(self, "_ptr", None), None
        if ptr:
            self._w.zbar_image_scanner_destroy(ptr)


_default_lock = threading.Lock()
_default: Decoder | None = None


def default_decoder() -> Decoder:
    """The shared default (cascade) decoder, built on first use."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Decoder()
        return _default


def decode_frame(image: Any) -> list[str]:
    """The distinct codes in a BGR or grayscale frame (default cascade decoder)."""
    return [read.text for read in default_decoder().decode(image)]


def decode_frame_detailed(image: Any) -> list[Read]:
    """Like ``decode_frame`` with each code's format and whether it is 1D."""
    return default_decoder().decode(image)


# -- from reads to scans ------------------------------------------------------------------------

DEFAULT_HOLDOFF_S = 2.0
DEFAULT_CONFIRM_FRAMES = 2


class ReadFilter:
    """Turns per-frame reads into scans: 1D codes once consecutive frames agree, 2D at once,
    and a code held in view reported once until it has been out of view for ``holdoff`` s.

    Pure: feed it each decoded frame's reads with the frame's time (or let it ask ``clock``).
    Frames whose decode was skipped or cut short should not be fed (they would break a 1D
    code's run of agreeing frames).
    """

    def __init__(
        self,
        holdoff: float = DEFAULT_HOLDOFF_S,
        *,
        confirm_frames: int = DEFAULT_CONFIRM_FRAMES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if holdoff < 0:
            raise ValueError("holdoff must not be negative")
        if confirm_frames < 1:
            raise ValueError("confirm_frames must be at least 1")
        self.holdoff = holdoff
        self.confirm_frames = confirm_frames
        self._clock = clock
        #: 1D text -> how many consecutive fed frames (up to the last) contained it.
        self._runs: dict[str, int] = {}
        #: Reported text -> when it was last seen.
        self._last_seen: dict[str, float] = {}

    def feed(self, reads: Iterable[Read], now: float | None = None) -> list[str]:
        """The codes to report for this frame, in read order."""
        at = self._clock() if now is None else now
        texts: dict[str, bool] = {}
        for read in reads:
            texts[read.text] = texts.get(read.text, False) or read.is_1d
        self._runs = {text: self._runs.get(text, 0) + 1 for text, is_1d in texts.items() if is_1d}
        report = []
        for text, is_1d in texts.items():
            last = self._last_seen.get(text)
            if last is not None and at - last < self.holdoff:
                self._last_seen[text] = max(last, at)  # still held in view: no new scan
                continue
            if is_1d and self._runs[text] < self.confirm_frames:
                continue
            self._last_seen[text] = at
            report.append(text)
        self._forget(at)
        return report

    def reset(self) -> None:
        """Forget everything (e.g. when the camera was reopened)."""
        self._runs.clear()
        self._last_seen.clear()

    def _forget(self, now: float) -> None:
        stale = [t for t, seen in self._last_seen.items() if now - seen >= self.holdoff]
        for text in stale:
            del self._last_seen[text]
