"""Camera scanner: OpenCV capture (V4L2 on Linux), newest frame only, decoded off the UI.

Two threads per open scanner:

- the *grabber* owns the ``cv2.VideoCapture``: it reads frames as fast as the camera sends
  them and keeps only the newest (V4L2 buffer size 1 as well, so no stale frames); when the
  camera stops sending (unplugged, stalled) it closes it and reopens it by the same path,
  preferably its stable ``/dev/v4l/by-id`` name, with backoff, reporting through
  ``on_status``; the app keeps running.
- the *reader* (``ThreadedScanner``'s thread) decodes the newest frame, runs the reads through
  ``ReadFilter`` (1D confirmation, hold-off) and hands each scan to ``on_code``.

A video file works as a source too (``camera:/path/to/clip.avi``), through the same code:
played at its frame rate by default (frames dropped like a live camera), or frame by frame
with ``realtime=0`` (deterministic: what tests use); ``loop=1`` replays it.

Options (``camera:0?width=1280&height=720``): width, height, fps, mjpg=0/1, holdoff (s),
backend=cascade|zxing|pyzbar, formats=qrcode,code128,..., loop=0/1, realtime=0/1,
fallback_interval (s between the decoder's slow passes on frames with nothing found).

Nothing here imports OpenCV or the decoders until a scanner is opened.
"""

from __future__ import annotations

import importlib
import importlib.util
import math
import os
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from fieldpass.drivers.errors import DriverError, DriverSpecError
from fieldpass.drivers.options import bool_option, float_option, int_option
from fieldpass.drivers.scanners.base import OnCode, OnError, ThreadedScanner

if TYPE_CHECKING:
    from fieldpass.drivers.scanners.spec import ScannerSpec

#: Seconds a V4L2 read waits for a frame before giving up (OpenCV's default is 10 s, during
#: which an unplugged camera cannot be closed). Read once per process, at the first capture.
V4L_SELECT_TIMEOUT_S = "2"
DEFAULT_BACKOFF_S = (0.5, 5.0)
DEFAULT_FILE_FPS = 30.0


@dataclass(frozen=True)
class CameraSettings:
    """A camera scanner's options, checked."""

    width: int | None = None
    height: int | None = None
    fps: float | None = None
    mjpg: bool = True
    holdoff: float = 2.0
    backend: str = "cascade"
    formats: tuple[str, ...] | None = None  # None: the decoder's defaults
    loop: bool = False
    realtime: bool = True
    fallback_interval: float = 0.1

    @classmethod
    def from_options(cls, options: Mapping[str, str]) -> CameraSettings:
        """Settings from spec options (all strings). Raises DriverSpecError."""
        from fieldpass.drivers.decode import BACKENDS, KNOWN_FORMATS

        unknown = sorted(set(options) - _OPTION_NAMES)
        if unknown:
            raise DriverSpecError(
                f"unknown camera option {', '.join(map(repr, unknown))}; "
                f"use {', '.join(sorted(_OPTION_NAMES))}"
            )
        values: dict[str, Any] = {}
        for name in ("width", "height"):
            if name in options:
                values[name] = int_option(options, name, None, low=16, high=8192)
        if "fps" in options:
            values["fps"] = float_option(options, "fps", None, low=0.5, high=480.0)
        for name, high in (("holdoff", 3600.0), ("fallback_interval", 60.0)):
            if name in options:
                values[name] = float_option(options, name, None, low=0.0, high=high, unit="s")
        for name in ("mjpg", "loop", "realtime"):
            if name in options:
                values[name] = bool_option(options, name, None)
        if "backend" in options:
            backend = options["backend"].strip().lower()
            if backend not in BACKENDS:
                raise DriverSpecError(
                    f"camera option backend={options['backend']!r}: use {' | '.join(BACKENDS)}"
                )
            values["backend"] = backend
        if "formats" in options:
            formats = tuple(f.strip().lower() for f in options["formats"].split(",") if f.strip())
            bad = [f for f in formats if f not in KNOWN_FORMATS]
            if bad or not formats:
                raise DriverSpecError(
                    f"camera option formats={options['formats']!r}: "
                    f"use a comma list of {', '.join(KNOWN_FORMATS)}"
                )
            values["formats"] = formats
        return cls(**values)


_OPTION_NAMES = frozenset(
    {
        "width",
        "height",
        "fps",
        "mjpg",
        "holdoff",
        "backend",
        "formats",
        "loop",
        "realtime",
        "fallback_interval",
    }
)


@dataclass(frozen=True)
class CameraStatus:
    """What the camera is doing, for a status line (not an error: scanning continues)."""

    state: str  # "opened" | "lost" | "reopening" | "reopened" | "ended"
    message: str
    attempt: int = 0


OnStatus = Callable[[CameraStatus], None]


class Capture(Protocol):
    """The part of ``cv2.VideoCapture`` the scanner uses (fakes implement this in tests)."""

    def isOpened(self) -> bool: ...  # noqa: N802 (OpenCV's name)

    def read(self) -> tuple[bool, Any]: ...

    def set(self, prop: int, value: float) -> bool: ...

    def get(self, prop: int) -> float: ...

    def release(self) -> None: ...


CaptureFactory = Callable[[int | str], Capture]


def open_capture(source: int | str) -> Capture:
    """A ``cv2.VideoCapture`` for a camera index, a /dev path or a video file."""
    import cv2

    # Before the first V4L2 capture of the process: a stalled camera then blocks read()
    # for this long instead of 10 s. setdefault: an operator's own value wins.
    os.environ.setdefault("OPENCV_VIDEOIO_V4L_SELECT_TIMEOUT", V4L_SELECT_TIMEOUT_S)
    # OpenCV warns on stderr for every failed open; during reopen backoff that would draw
    # over the terminal UI.
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
    if is_device(source) and hasattr(cv2, "CAP_V4L2") and os.name == "posix":
        return cv2.VideoCapture(source, cv2.CAP_V4L2)
    return cv2.VideoCapture(source)


def is_device(source: int | str) -> bool:
    """True for a camera (index or /dev path), False for a video file."""
    return isinstance(source, int) or source.startswith("/dev/")


def parse_source(target: str) -> int | str:
    """A spec target as a capture source: an index, or a path."""
    text = target.strip()
    return int(text) if text.isdigit() else text


def missing_camera_dependencies(
    import_module: Callable[[str], Any] = importlib.import_module,
    find_spec: Callable[[str], Any] = importlib.util.find_spec,
) -> str:
    """What this host lacks for camera scanning, said for people ("" when nothing)."""
    missing = []
    for module, package in (("cv2", "opencv-python-headless"), ("zxingcpp", "zxing-cpp")):
        try:
            import_module(module)
        except ImportError:
            missing.append(package)
    if find_spec("pyzbar") is None:
        missing.append("pyzbar")
    else:
        try:
            import_module("pyzbar.pyzbar")  # loads libzbar
        except ImportError:
            missing.append("the zbar library (apt install libzbar0)")
    return ", ".join(missing)


# -- enumeration (no device is opened) ---------------------------------------------------------


def list_cameras(
    dev_root: Path | str = "/dev", sys_root: Path | str = "/sys"
) -> list[dict[str, Any]]:
    """The V4L2 video nodes on this host, with stable names; opens nothing.

    Each entry: ``index`` (N of /dev/videoN), ``path``, ``name`` (driver's card name),
    ``stable_path`` (/dev/v4l/by-id link, else by-path, else None), ``primary`` (False for
    the metadata node UVC cameras add next to the capture node) and ``spec`` (what to pass
    as ``--scanner``).
    """
    dev, sysfs = Path(dev_root), Path(sys_root)
    stable = _stable_links(dev)
    cameras = []
    nodes = []
    for node in dev.glob("video*"):
        match = re.fullmatch(r"video(\d+)", node.name)
        if match:
            nodes.append((int(match.group(1)), node))
    for index, node in sorted(nodes):
        info = sysfs / "class" / "video4linux" / node.name
        name = _read_text(info / "name") or node.name
        sub_index = _read_text(info / "index")
        stable_path = stable.get(_real(node))
        cameras.append(
            {
                "index": index,
                "path": str(node),
                "name": name,
                "stable_path": stable_path,
                "primary": sub_index in (None, "0"),
                "spec": f"camera:{stable_path or index}",
            }
        )
    return cameras


def stable_path_for(source: int | str, dev_root: Path | str = "/dev") -> str | None:
    """The /dev/v4l/by-id (or by-path) name of a camera index or /dev/videoN path."""
    dev = Path(dev_root)
    node = dev / f"video{source}" if isinstance(source, int) else Path(source)
    if isinstance(source, str) and not re.fullmatch(r"video\d+", node.name):
        return None  # already a stable name, or a file
    return _stable_links(dev).get(_real(node))


def _stable_links(dev: Path) -> dict[str, str]:
    """Real node path -> its stable link; by-id preferred, "-index0" names first."""
    links: dict[str, str] = {}
    for folder in ("by-path", "by-id"):  # later wins: by-id over by-path
        entries = sorted(
            (dev / "v4l" / folder).glob("*"), key=lambda p: ("index0" in p.name, p.name)
        )
        for link in entries:
            links[_real(link)] = str(link)
    return links


def _real(path: Path) -> str:
    return os.path.realpath(path)


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return None


# -- the scanner --------------------------------------------------------------------------------


@dataclass
class CameraStats:
    """Counters for status lines and tests."""

    frames_read: int = 0
    frames_decoded: int = 0
    reopens: int = 0
    codes: int = 0


class CameraScanner(ThreadedScanner):
    """Decodes barcodes from a camera (or a video file) and delivers each scan once."""

    thread_name = "camera-scanner"

    def __init__(
        self,
        on_code: OnCode,
        on_error: OnError | None = None,
        *,
        source: int | str = 0,
        settings: CameraSettings | None = None,
        on_status: OnStatus | None = None,
        capture_factory: CaptureFactory | None = None,
        clock: Callable[[], float] = time.monotonic,
        backoff: tuple[float, float] = DEFAULT_BACKOFF_S,
        spec: str = "",
    ) -> None:
        super().__init__(on_code, on_error)
        if backoff[0] <= 0 or backoff[1] < backoff[0]:
            raise DriverSpecError("camera reopen backoff must be positive and increasing")
        self.source = source
        self.settings = settings or CameraSettings()
        self.on_status = on_status
        self.spec = spec or f"camera:{source}"
        self.stats = CameraStats()
        self._factory = capture_factory or open_capture
        self._clock = clock
        self._backoff = backoff
        self._is_device = is_device(source)
        self._reopen_source: int | str = source
        self._capture: Capture | None = None
        self._decoder: Any = None

    @classmethod
    def from_spec(
        cls, parsed: ScannerSpec, on_code: OnCode, on_error: OnError | None = None, **kwargs: Any
    ) -> CameraScanner:
        """A camera scanner for ``camera:TARGET?OPTIONS``. Raises DriverSpecError."""
        if not parsed.target:
            raise DriverSpecError("the camera scanner needs a target, e.g. camera:0")
        settings = CameraSettings.from_options(parsed.options)
        query = "&".join(f"{k}={v}" for k, v in parsed.options.items())
        spec = f"camera:{parsed.target}" + (f"?{query}" if query else "")
        return cls(
            on_code,
            on_error,
            source=parse_source(parsed.target),
            settings=settings,
            spec=spec,
            **kwargs,
        )

    @classmethod
    def missing_dependencies(cls) -> str:
        return missing_camera_dependencies()

    # -- lifecycle ----------------------------------------------------------------------------

    def _acquire(self) -> None:
        from fieldpass.drivers.decode import DEFAULT_FORMATS, Decoder

        formats = self.settings.formats or DEFAULT_FORMATS
        self._decoder = Decoder(self.settings.backend, formats)
        if self._is_device:
            self._reopen_source = stable_path_for(self.source) or self.source
        capture = self._try_open(self.source)
        if capture is None:
            what = "camera" if self._is_device else "video file"
            raise DriverError(
                f"cannot open {what} {self.source}"
                + (" (is it plugged in, and may this user use it?)" if self._is_device else ""),
                code="camera_open_failed",
            )
        self._capture = capture
        self.stats = CameraStats()
        self._status("opened", f"opened {self._describe(capture)}")

    def _release(self) -> None:
        # The grabber thread owns the capture once it runs and releases it when it ends;
        # this only releases one that was opened but never handed over.
        capture, self._capture = self._capture, None
        if capture is not None:
            capture.release()

    def _read_loop(self, stop: threading.Event) -> None:
        capture, self._capture = self._capture, None
        if capture is None:
            return
        from fieldpass.drivers.decode import ReadFilter

        slot = _FrameSlot()
        halt = threading.Event()
        failure: list[BaseException] = []
        grabber = threading.Thread(
            target=self._grab_loop,
            args=(capture, stop, halt, slot, failure),
            name=f"{self.thread_name}-grabber",
            daemon=True,
        )
        grabber.start()
        read_filter = ReadFilter(self.settings.holdoff)
        try:
            self._decode_loop(stop, slot, read_filter)
        finally:
            halt.set()
            slot.wake()
            grabber.join(timeout=3.0)
        if failure and not stop.is_set():
            raise DriverError(
                f"camera {self.source} failed: {failure[0]}", code="camera_failed"
            ) from failure[0]

    # -- decoding (reader thread) -------------------------------------------------------------

    def _decode_loop(self, stop: threading.Event, slot: _FrameSlot, read_filter: Any) -> None:
        from fieldpass.drivers.decode import to_gray

        decoder = self._decoder
        has_fallback = decoder.backend == "cascade"
        interval = self.settings.fallback_interval
        last_fallback = -math.inf
        while not stop.is_set():
            item = slot.take(timeout=0.1)
            if item is None:
                if slot.finished:
                    return
                continue
            frame, stamp = item
            gray = to_gray(frame)
            reads = decoder.fast_pass(gray)
            conclusive = True
            if not reads and has_fallback:
                if stamp - last_fallback >= interval:
                    last_fallback = stamp
                    reads = decoder.fallback_passes(gray)
                else:
                    conclusive = False  # nothing found, slow passes skipped: says nothing
            self.stats.frames_decoded += 1
            if conclusive:
                for code in read_filter.feed(reads, stamp):
                    self.stats.codes += 1
                    self._deliver(code)

    # -- capture (grabber thread) -------------------------------------------------------------

    def _grab_loop(
        self,
        capture: Capture,
        stop: threading.Event,
        halt: threading.Event,
        slot: _FrameSlot,
        failure: list[BaseException],
    ) -> None:
        def halted() -> bool:
            return stop.is_set() or halt.is_set()

        current: Capture | None = capture
        try:
            file_fps = self._file_fps(capture)
            pace = self.settings.fps or file_fps
            index = 0  # frames of the file read so far (all loops)
            started = time.monotonic()
            while not halted() and current is not None:
                ok, frame = current.read()
                if ok and frame is not None and getattr(frame, "size", 0):
                    self.stats.frames_read += 1
                    if self._is_device:
                        slot.put(frame, self._clock())
                        continue
                    slot.put(
                        frame,
                        index / file_fps,
                        wait_taken=not self.settings.realtime,
                        halted=halted,
                    )
                    index += 1
                    if self.settings.realtime:
                        delay = started + index / pace - time.monotonic()
                        if delay > 0 and (stop.wait(delay) or halt.is_set()):
                            return
                    continue
                if not self._is_device:
                    if not (self.settings.loop and index):
                        self._status("ended", f"end of video file {self.source}")
                        return
                    current.release()
                    current = self._try_open(self.source)
                    if current is None:
                        raise DriverError(f"cannot reopen video file {self.source}")
                    continue
                current.release()
                current = None
                self._status("lost", f"camera {self.source} stopped sending frames; reopening")
                current = self._reopen(halted, stop)
        except Exception as exc:  # handed to the reader thread, which reports it via on_error
            failure.append(exc)
        finally:
            if current is not None:
                current.release()
            slot.end()

    def _reopen(self, halted: Callable[[], bool], stop: threading.Event) -> Capture | None:
        delay, longest = self._backoff
        attempt = 0
        while not halted():
            attempt += 1
            try:
                capture = self._try_open(self._reopen_source)
            except Exception as exc:  # reported below; the camera may still come back
                capture, problem = None, f": {exc}"
            else:
                problem = ""
            if capture is not None:
                self.stats.reopens += 1
                self._status("reopened", f"reopened {self._describe(capture)}", attempt=attempt)
                return capture
            self._status(
                "reopening",
                f"camera {self._reopen_source} not back yet{problem} (attempt {attempt}); "
                f"trying again in {delay:g} s",
                attempt=attempt,
            )
            if stop.wait(delay):
                return None
            delay = min(delay * 2, longest)
        return None

    def _try_open(self, source: int | str) -> Capture | None:
        """An opened, configured capture, or None when the source cannot be opened."""
        capture = self._factory(source)
        if not capture.isOpened():
            capture.release()
            return None
        if is_device(source):
            self._configure(capture)
        return capture

    def _configure(self, capture: Capture) -> None:
        """MJPG first (else many UVC cameras refuse large sizes), then size, rate, 1 buffer."""
        import cv2

        settings = self.settings
        if settings.mjpg:
            capture.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter_fourcc(*"MJPG"))
        if settings.width:
            capture.set(cv2.CAP_PROP_FRAME_WIDTH, settings.width)
        if settings.height:
            capture.set(cv2.CAP_PROP_FRAME_HEIGHT, settings.height)
        if settings.fps:
            capture.set(cv2.CAP_PROP_FPS, settings.fps)
        capture.set(cv2.CAP_PROP_BUFFERSIZE, 1)

    def _file_fps(self, capture: Capture) -> float:
        if self._is_device:
            return DEFAULT_FILE_FPS
        import cv2

        fps = capture.get(cv2.CAP_PROP_FPS)
        return fps if fps and math.isfinite(fps) and fps > 0 else DEFAULT_FILE_FPS

    def _describe(self, capture: Capture) -> str:
        import cv2

        width = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH) or 0)
        height = int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT) or 0)
        fps = capture.get(cv2.CAP_PROP_FPS) or 0
        fourcc = int(capture.get(cv2.CAP_PROP_FOURCC) or 0)
        codec = "".join(chr((fourcc >> (8 * i)) & 0xFF) for i in range(4)).strip("\0 ")
        where = (
            self.source
            if self._reopen_source == self.source
            else (f"{self.source} ({self._reopen_source})")
        )
        text = f"{where} {width}x{height}"
        if fps:
            text += f" @ {fps:g} fps"
        if codec.isprintable() and codec:
            text += f" {codec}"
        return text

    def _status(self, state: str, message: str, *, attempt: int = 0) -> None:
        if self.on_status is not None:
            self.on_status(CameraStatus(state, message, attempt))


class _FrameSlot:
    """Holds the newest frame only; the reader takes it, the grabber overwrites it."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._item: tuple[Any, float] | None = None
        self._ended = False

    def put(
        self,
        frame: Any,
        stamp: float,
        *,
        wait_taken: bool = False,
        halted: Callable[[], bool] = lambda: False,
    ) -> None:
        """Replace the held frame; with ``wait_taken``, first wait until it was taken."""
        with self._cond:
            if wait_taken:
                while self._item is not None and not halted():
                    self._cond.wait(0.05)
            self._item = (frame, stamp)
            self._cond.notify_all()

    def take(self, timeout: float) -> tuple[Any, float] | None:
        with self._cond:
            if self._item is None and not self._ended:
                self._cond.wait(timeout)
            item, self._item = self._item, None
            if item is not None:
                self._cond.notify_all()
            return item

    def end(self) -> None:
        with self._cond:
            self._ended = True
            self._cond.notify_all()

    def wake(self) -> None:
        with self._cond:
            self._cond.notify_all()

    @property
    def finished(self) -> bool:
        with self._cond:
            return self._ended and self._item is None
