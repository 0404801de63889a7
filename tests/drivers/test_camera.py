"""The camera scanner: recorded videos through the real capture code, fakes for unplugging."""

from __future__ import annotations

import os
import random
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from fieldpass.drivers.errors import DriverError, DriverSpecError
from fieldpass.drivers.scanners.camera import (
    CameraScanner,
    CameraSettings,
    CameraStatus,
    _FrameSlot,
    list_cameras,
    missing_camera_dependencies,
    open_capture,
    parse_source,
    stable_path_for,
)
from fieldpass.drivers.scanners.spec import make_scanner, parse_scanner_spec
from tests.drivers import images
from tests.drivers.images import Segment

QR_A = "FP1.TICKET-A-000123"
QR_B = "FP1.TICKET-B-000456"
CODE128 = "T000777123-C"


class Recorder:
    """Collects codes, statuses and errors; ``wait_for`` blocks until enough codes arrived."""

    def __init__(self) -> None:
        self.codes: list[str] = []
        self.statuses: list[CameraStatus] = []
        self.errors: list[DriverError] = []
        self._cond = threading.Condition()

    def on_code(self, code: str) -> None:
        with self._cond:
            self.codes.append(code)
            self._cond.notify_all()

    def on_status(self, status: CameraStatus) -> None:
        with self._cond:
            self.statuses.append(status)
            self._cond.notify_all()

    def on_error(self, error: DriverError) -> None:
        with self._cond:
            self.errors.append(error)
            self._cond.notify_all()

    def wait_for(self, predicate, timeout: float = 10.0) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: predicate(self), timeout)

    @property
    def states(self) -> list[str]:
        return [s.state for s in self.statuses]


def wait_until(predicate, timeout: float = 10.0) -> bool:
    """Poll a condition nothing signals (e.g. frame counters)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def scanner_for(spec: str, rec: Recorder, **kwargs) -> CameraScanner:
    return CameraScanner.from_spec(
        parse_scanner_spec(spec), rec.on_code, rec.on_error, on_status=rec.on_status, **kwargs
    )


@pytest.fixture(scope="module")
def recorded_video(tmp_path_factory) -> tuple[Path, int]:
    """10 fps: A appears, is held 2 s, leaves for 0.5 s and comes back (same scan), leaves
    for 3 s (a new scan), then a Code128 (1D: two agreeing frames) and a second QR."""
    path = tmp_path_factory.mktemp("video") / "gate.avi"
    frames = images.write_video(
        str(path),
        [
            Segment(None, 5),
            Segment(QR_A, 20),
            Segment(None, 5),
            Segment(QR_A, 10),
            Segment(None, 30),
            Segment(QR_A, 8),
            Segment(CODE128, 12, "code128"),
            Segment(QR_B, 8),
            Segment(None, 3),
        ],
        fps=10,
    )
    return path, frames


# -- dependencies and specs ---------------------------------------------------------------------


def test_dependencies_are_present_here():
    assert CameraScanner.missing_dependencies() == ""
    assert CameraScanner.is_usable()


def test_missing_dependencies_are_named():
    def import_module(name):
        if name in ("zxingcpp", "pyzbar.pyzbar"):
            raise ImportError(name)

    missing = missing_camera_dependencies(import_module, find_spec=lambda name: object())
    assert missing == "zxing-cpp, the zbar library (apt install libzbar0)"
    missing = missing_camera_dependencies(lambda name: None, find_spec=lambda name: None)
    assert missing == "pyzbar"


def test_spec_is_parsed_without_opening_anything():
    scanner = make_scanner("camera:0?width=1280&height=720&fps=30&holdoff=1.5", lambda c: None)
    assert isinstance(scanner, CameraScanner)
    assert not scanner.is_open
    assert scanner.source == 0
    assert scanner.settings == CameraSettings(width=1280, height=720, fps=30.0, holdoff=1.5)
    assert scanner.spec == "camera:0?width=1280&height=720&fps=30&holdoff=1.5"
    by_id = make_scanner("camera:/dev/v4l/by-id/usb-Cam-video-index0?mjpg=0", lambda c: None)
    assert by_id.source == "/dev/v4l/by-id/usb-Cam-video-index0"
    assert by_id.settings.mjpg is False
    full = CameraSettings.from_options(
        {
            "backend": "zxing",
            "formats": "qrcode, ean13",
            "loop": "1",
            "realtime": "false",
            "fallback_interval": "0",
        }
    )
    assert full == CameraSettings(
        backend="zxing",
        formats=("qrcode", "ean13"),
        loop=True,
        realtime=False,
        fallback_interval=0.0,
    )
    assert parse_source("12") == 12 and parse_source("/tmp/a.avi") == "/tmp/a.avi"


@pytest.mark.parametrize(
    ("query", "needle"),
    [
        ("width=abc", "width must be a whole number, not 'abc'"),
        ("width=0", "between 16 and 8192"),
        ("height=-480", "height"),
        ("width=1e3", "whole number"),
        ("fps=-1", "fps"),
        ("fps=nan", "fps"),
        ("holdoff=soon", "holdoff"),
        ("holdoff=-2", "holdoff"),
        ("backend=zbar", "cascade | zxing | pyzbar"),
        ("mjpg=2", "must be 0 or 1"),
        ("loop=maybe", "loop"),
        ("formats=qr", "formats='qr'"),
        ("formats=", "formats"),
        ("widht=640", "unknown camera option 'widht'"),
    ],
)
def test_bad_options_are_refused_clearly(query, needle):
    with pytest.raises(DriverSpecError) as excinfo:
        make_scanner(f"camera:0?{query}", lambda c: None)
    assert excinfo.value.code == "bad_driver_spec"
    assert needle in str(excinfo.value)


def test_open_capture_sets_the_v4l_timeout_first(monkeypatch, tmp_path):
    monkeypatch.delenv("OPENCV_VIDEOIO_V4L_SELECT_TIMEOUT", raising=False)
    capture = open_capture(str(tmp_path / "missing.avi"))
    assert not capture.isOpened()
    capture.release()
    assert os.environ["OPENCV_VIDEOIO_V4L_SELECT_TIMEOUT"] == "2"
    monkeypatch.setenv("OPENCV_VIDEOIO_V4L_SELECT_TIMEOUT", "5")
    open_capture(str(tmp_path / "missing.avi")).release()
    assert os.environ["OPENCV_VIDEOIO_V4L_SELECT_TIMEOUT"] == "5"  # the operator's value wins


# -- a recorded video through the real capture code --------------------------------------------


def test_recorded_video_codes_arrive_once_each_in_order(recorded_video):
    path, frames = recorded_video
    rec = Recorder()
    scanner = scanner_for(f"camera:{path}?realtime=0", rec)
    scanner.open()
    try:
        assert scanner.wait_stopped(20)
    finally:
        scanner.close()
    assert rec.errors == []
    assert rec.codes == [QR_A, QR_A, CODE128, QR_B]
    assert rec.states == ["opened", "ended"]
    assert scanner.stats.frames_read == frames
    assert scanner.stats.frames_decoded == frames  # realtime=0: every frame


def test_recorded_video_played_in_real_time_drops_frames_but_not_codes(tmp_path):
    path = tmp_path / "held.avi"
    frames = images.write_video(
        str(path),
        [Segment(None, 5), Segment(QR_A, 40), Segment(None, 10), Segment(QR_B, 40)],
        fps=10,
    )
    rec = Recorder()
    scanner = scanner_for(f"camera:{path}?fps=100", rec)  # played 10x faster than recorded
    started = time.monotonic()
    scanner.open()
    try:
        assert scanner.wait_stopped(20)
    finally:
        scanner.close()
    assert rec.codes == [QR_A, QR_B]
    assert time.monotonic() - started >= frames / 100 * 0.9  # paced, not read flat out
    assert scanner.stats.frames_decoded <= scanner.stats.frames_read == frames


def test_looping_video_keeps_scanning_until_closed(tmp_path):
    path = tmp_path / "loop.avi"
    images.write_video(str(path), [Segment(QR_A, 4), Segment(None, 26)], fps=10)  # 3 s
    rec = Recorder()
    scanner = scanner_for(f"camera:{path}?loop=1&realtime=0&holdoff=1", rec)
    scanner.open()
    try:
        assert rec.wait_for(lambda r: len(r.codes) >= 3)
    finally:
        scanner.close()
    assert rec.codes[:3] == [QR_A, QR_A, QR_A]
    assert "ended" not in rec.states
    assert scanner.wait_stopped(3)


def test_missing_video_file_fails_to_open(tmp_path):
    rec = Recorder()
    scanner = scanner_for(f"camera:{tmp_path / 'nope.avi'}", rec)
    with pytest.raises(DriverError) as excinfo:
        scanner.open()
    assert excinfo.value.code == "camera_open_failed"
    assert not scanner.is_open


# -- fakes: configuration order, unplug and replug ---------------------------------------------


class FakeCapture:
    """A scripted capture: ``frames`` in order, then fails (unplugged) or repeats the last."""

    def __init__(self, frames=(), *, opened=True, then="fail", log=None):
        self.frames = list(frames)
        self.opened = opened
        self.then = then
        self.calls = log if log is not None else []
        self.props: dict[int, float] = {}
        self.released = False

    def isOpened(self):  # noqa: N802
        return self.opened

    def read(self):
        time.sleep(0.002)
        if self.frames:
            frame = self.frames.pop(0)
            self.last = frame
            return True, frame
        if self.then == "repeat" and hasattr(self, "last"):
            time.sleep(0.01)
            return True, self.last
        if self.then == "raise":
            raise RuntimeError("USB bus error")
        return False, None

    def set(self, prop, value):
        self.calls.append(("set", prop, value))
        self.props[prop] = value
        return True

    def get(self, prop):
        return self.props.get(prop, 0.0)

    def release(self):
        self.released = True


class FakeFactory:
    def __init__(self, captures):
        self.captures = list(captures)
        self.sources: list[object] = []

    def __call__(self, source):
        self.sources.append(source)
        if len(self.captures) > 1:
            return self.captures.pop(0)
        return self.captures[0]


class StepClock:
    """A clock that moves on 0.1 s per reading (one camera frame at 10 fps)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            self.now += 0.1
            return self.now


@pytest.fixture(scope="module")
def frames() -> dict[str, np.ndarray]:
    rng = random.Random(5)
    qr = {
        name: cv2.cvtColor(
            images.make_sample("qrcode", "clean", rng, payload=payload).frame,
            cv2.COLOR_GRAY2BGR,
        )
        for name, payload in (("a", QR_A), ("b", QR_B))
    }
    qr["blank"] = cv2.cvtColor(images.blank_frame(3), cv2.COLOR_GRAY2BGR)
    return qr


def test_capture_is_configured_mjpg_first_then_size_then_one_buffer(frames):
    log: list = []
    factory = FakeFactory([FakeCapture([frames["a"]], then="repeat", log=log)])
    rec = Recorder()
    scanner = scanner_for(
        "camera:/dev/video7?width=1280&height=720&fps=30", rec, capture_factory=factory
    )
    scanner.open()
    try:
        assert rec.wait_for(lambda r: r.codes == [QR_A])
    finally:
        scanner.close()
    assert log == [
        ("set", cv2.CAP_PROP_FOURCC, cv2.VideoWriter_fourcc(*"MJPG")),
        ("set", cv2.CAP_PROP_FRAME_WIDTH, 1280),
        ("set", cv2.CAP_PROP_FRAME_HEIGHT, 720),
        ("set", cv2.CAP_PROP_FPS, 30.0),
        ("set", cv2.CAP_PROP_BUFFERSIZE, 1),
    ]
    assert factory.sources == ["/dev/video7"]
    assert rec.statuses[0] == CameraStatus("opened", "opened /dev/video7 1280x720 @ 30 fps MJPG")
    log.clear()
    scanner = scanner_for("camera:3?mjpg=0", rec, capture_factory=FakeFactory([FakeCapture()]))
    scanner._acquire()
    scanner._release()
    assert [call[1] for call in scanner._factory.captures[0].calls] == [cv2.CAP_PROP_BUFFERSIZE]


def test_unplugged_camera_is_reopened_by_the_same_path_without_stopping(frames):
    unplugged = FakeCapture(opened=False)
    first = FakeCapture([frames["blank"], frames["a"], frames["a"], frames["a"]])
    second = FakeCapture([frames["blank"], frames["b"]], then="repeat")
    factory = FakeFactory([first, unplugged, unplugged, second])
    rec = Recorder()
    scanner = scanner_for(
        "camera:/dev/v4l/by-id/usb-Gate_Cam-video-index0",
        rec,
        capture_factory=factory,
        clock=StepClock(),
        backoff=(0.01, 0.02),
    )
    scanner.open()
    try:
        assert rec.wait_for(lambda r: r.codes == [QR_A, QR_B])
    finally:
        scanner.close()
    assert rec.errors == []
    assert rec.states == ["opened", "lost", "reopening", "reopening", "reopened"]
    assert [s.attempt for s in rec.statuses[2:]] == [1, 2, 3]
    assert "trying again in 0.01 s" in rec.statuses[2].message
    assert set(factory.sources) == {"/dev/v4l/by-id/usb-Gate_Cam-video-index0"}
    assert len(factory.sources) == 4
    assert scanner.stats.reopens == 1
    assert first.released and second.released


def test_close_is_prompt_while_the_camera_is_away(frames):
    factory = FakeFactory([FakeCapture([frames["blank"]]), FakeCapture(opened=False)])
    rec = Recorder()
    scanner = scanner_for("camera:0", rec, capture_factory=factory, backoff=(0.05, 0.05))
    scanner.open()
    assert rec.wait_for(lambda r: r.states.count("reopening") >= 2)
    started = time.monotonic()
    scanner.close()
    assert time.monotonic() - started < 1.0
    assert scanner.wait_stopped(1.0)
    assert rec.errors == []


def test_a_failing_capture_is_reported_as_an_error(frames):
    factory = FakeFactory([FakeCapture([frames["blank"]], then="raise")])
    rec = Recorder()
    scanner = scanner_for("camera:0", rec, capture_factory=factory)
    scanner.open()
    try:
        assert rec.wait_for(lambda r: r.errors)
    finally:
        scanner.close()
    assert rec.errors[0].code == "camera_failed"
    assert "USB bus error" in str(rec.errors[0])


def test_held_code_on_a_live_camera_is_one_scan(frames):
    held = [frames["a"]] * 25 + [frames["blank"]] * 5 + [frames["a"]] * 5  # 10 fps clock
    factory = FakeFactory([FakeCapture(held, then="repeat")])
    rec = Recorder()
    scanner = scanner_for("camera:0?holdoff=2", rec, capture_factory=factory, clock=StepClock())
    scanner.open()
    try:
        assert wait_until(lambda: scanner.stats.frames_read >= len(held) + 5)
    finally:
        scanner.close()
    assert rec.codes == [QR_A]


def test_frame_slot_keeps_only_the_newest_frame():
    slot = _FrameSlot()
    for i in range(3):
        slot.put(f"frame{i}", float(i))
    assert slot.take(timeout=0.01) == ("frame2", 2.0)
    assert slot.take(timeout=0.01) is None
    assert not slot.finished
    slot.put("last", 9.0)
    slot.end()
    assert not slot.finished  # the last frame is still to be decoded
    assert slot.take(timeout=0.01) == ("last", 9.0)
    assert slot.finished


def test_frame_slot_can_hand_over_every_frame():
    slot = _FrameSlot()
    got: list[str] = []

    def consume() -> None:
        while not slot.finished:
            item = slot.take(timeout=0.05)
            if item:
                got.append(item[0])

    consumer = threading.Thread(target=consume)
    consumer.start()
    for i in range(20):
        slot.put(f"f{i}", float(i), wait_taken=True)
    slot.end()
    consumer.join(5)
    assert got == [f"f{i}" for i in range(20)]


# -- enumeration ---------------------------------------------------------------------------------


def make_v4l_tree(root: Path) -> tuple[Path, Path]:
    dev, sysfs = root / "dev", root / "sys"
    (dev / "v4l" / "by-id").mkdir(parents=True)
    (dev / "v4l" / "by-path").mkdir(parents=True)
    for n, (name, index) in enumerate(
        [("HD Webcam C270", "0"), ("HD Webcam C270", "1"), ("Gate Cam", "0")]
    ):
        (dev / f"video{n}").touch()
        info = sysfs / "class" / "video4linux" / f"video{n}"
        info.mkdir(parents=True)
        (info / "name").write_text(name + "\n")
        (info / "index").write_text(index + "\n")
    (dev / "video10").touch()  # no sysfs entry, no stable name
    (dev / "videoX").touch()  # not a video node name
    by_id = dev / "v4l" / "by-id"
    (by_id / "usb-046d_C270-video-index0").symlink_to("../../video0")
    (by_id / "usb-046d_C270-video-index1").symlink_to("../../video1")
    (dev / "v4l" / "by-path" / "pci-0000:00:14.0-usb-0:2:1.0-video-index0").symlink_to(
        "../../video2"
    )
    return dev, sysfs


def test_list_cameras_reads_names_and_stable_paths_without_opening(tmp_path):
    dev, sysfs = make_v4l_tree(tmp_path)
    cameras = list_cameras(dev, sysfs)
    assert [c["index"] for c in cameras] == [0, 1, 2, 10]
    first, meta, gate, bare = cameras
    assert first == {
        "index": 0,
        "path": str(dev / "video0"),
        "name": "HD Webcam C270",
        "stable_path": str(dev / "v4l" / "by-id" / "usb-046d_C270-video-index0"),
        "primary": True,
        "spec": f"camera:{dev / 'v4l' / 'by-id' / 'usb-046d_C270-video-index0'}",
    }
    assert meta["primary"] is False
    assert gate["stable_path"].endswith("by-path/pci-0000:00:14.0-usb-0:2:1.0-video-index0")
    assert bare == {
        "index": 10,
        "path": str(dev / "video10"),
        "name": "video10",
        "stable_path": None,
        "primary": True,
        "spec": "camera:10",
    }
    assert list_cameras(tmp_path / "empty", tmp_path / "empty") == []


def test_stable_path_for_an_index_or_node(tmp_path):
    dev, _ = make_v4l_tree(tmp_path)
    link = str(dev / "v4l" / "by-id" / "usb-046d_C270-video-index0")
    assert stable_path_for(0, dev) == link
    assert stable_path_for(str(dev / "video0"), dev) == link
    assert stable_path_for(10, dev) is None
    assert stable_path_for(link, dev) is None  # already stable
