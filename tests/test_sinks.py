"""The sinks on real media and a real X server: what is written, read back with PyAV; what is shown, taken
from a screenshot of Xvfb; what reaches the virtual camera, recorded by a pyvirtualcam backend.

Window tests need the ``Xvfb`` binary (apt: xvfb); the key/close test also needs ``xdotool`` (apt: xdotool)
and libX11.  Screenshots use PyAV's x11grab (in the PyAV wheel), falling back to ImageMagick's ``import``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import queue
import shutil
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from helpers import display_env, screenshot
from media import decode_bgra, mux_tone
from media import audio_duration as audio_seconds
from media import decode_video as read_video
from media import indexed_frame
from media import read_index as gray_index
from vbg.errors import VbgError
from vbg.media.sinks import (FileSink, FrameSink, NullSink, VirtualCameraSink, WindowSink, default_codec_for,
                       display_problem, key_name, over_checkerboard)
from vbg.media.frames import Frame, VideoInfo

REPO = Path(__file__).resolve().parents[1]


# -- media helpers ---------------------------------------------------------------------------------------------

def gray_frame(index: int, width: int = 320, height: int = 240) -> np.ndarray:
    """A frame carrying ``index`` in big flat blocks (see tests/media.py), 320x240 unless told."""
    return indexed_frame(index, width, height)


def write_clip(sink: FileSink, count: int, info: VideoInfo, step: int, start: int = 0) -> list[float]:
    """Open ``sink`` for ``info`` and write ``count`` grey frames with pts ``start + i * step``; the times."""
    sink.open(info)
    for i in range(count):
        sink.write(Frame(i, None, start + i * step, info.time_base), gray_frame(i, info.width, info.height))
    return [float((start + i * step) * info.time_base) for i in range(count)]


def make_input_with_audio(path: Path, frames: int = 60, fps: int = 30, seconds: float = 2.0) -> Path:
    """An input file as a user would have: H.264 indexed frames plus a 440 Hz AAC sine of ``seconds``."""
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = 320, 240, "yuv420p"
        video.options = {"preset": "ultrafast"}
        audio = out.add_stream("aac", rate=48000)
        audio.layout = "mono"
        for i in range(frames):
            out.mux(video.encode(av.VideoFrame.from_ndarray(gray_frame(i), format="bgr24")))
        out.mux(video.encode(None))
        mux_tone(out, audio, seconds)
    return path


@pytest.fixture(scope="module")
def input_with_audio(tmp_path_factory) -> Path:
    return make_input_with_audio(tmp_path_factory.mktemp("media") / "input.mp4")


# -- NullSink and the base class --------------------------------------------------------------------------------

def test_null_sink_counts_and_closes_idempotently():
    with NullSink() as sink:
        sink.open(VideoInfo(64, 48, 30.0))
        for i in range(7):
            sink.write(Frame(i, gray_frame(i, 64, 48)), gray_frame(i, 64, 48))
    assert sink.frames_written == 7 and sink.closed
    sink.close()  # idempotent


def test_close_runs_release_once():
    released = []

    class Probe(FrameSink):
        def open(self, info):
            pass

        def write(self, frame, image):
            pass

        def _release(self):
            released.append(1)

    probe = Probe()
    with probe:
        pass
    probe.close()
    assert released == [1]


# -- FileSink: frames, order, timestamps ------------------------------------------------------------------------

@pytest.mark.parametrize("ext, time_base, step, fps, start, size, tolerance", [
    (".mp4", Fraction(1, 30), 1, 30.0, 0, (320, 240), 1 / 30),
    (".mp4", Fraction(1, 90000), 3000, 30.0, 9000, (640, 360), 1 / 90000),  # non-zero start kept exactly
    (".mkv", Fraction(1, 90000), 3003, 30000 / 1001, 0, (320, 240), 1e-3),  # Matroska stores milliseconds
])
def test_file_keeps_every_frame_in_order_with_its_timestamp(tmp_path, ext, time_base, step, fps, start, size,
                                                            tolerance):
    out = tmp_path / f"out{ext}"
    info = VideoInfo(*size, fps=fps, time_base=time_base, frame_count=60)
    sink = FileSink(out)
    with sink:
        expected = write_clip(sink, 60, info, step, start)
        assert (tmp_path / f".out.partial{ext}").exists() and not out.exists()  # never half-written under the name
    frames, times, rate = read_video(out)
    assert sink.frames_written == len(frames) == 60
    assert [gray_index(f) for f in frames] == list(range(60))
    assert times == pytest.approx(expected, abs=tolerance * 1.01)
    assert rate == pytest.approx(fps, rel=1e-3)
    assert sorted(p.name for p in tmp_path.iterdir()) == [out.name]  # the temporary file is gone


def test_file_without_pts_uses_capture_clock(tmp_path):
    """Camera frames have no pts: timestamps come from capture times, relative to the first frame."""
    out = tmp_path / "camera.mp4"
    info = VideoInfo(320, 240, 30.0, Fraction(1, 1000), live=True)
    captured = [100.0 + i / 30 + (0.25 if i >= 10 else 0.0) for i in range(20)]  # a 250 ms stall after frame 9
    with FileSink(out) as sink:
        sink.open(info)
        for i, t in enumerate(captured):
            sink.write(Frame(i, None, None, None, captured_at=t), gray_frame(i))
    frames, times, _ = read_video(out)
    assert [gray_index(f) for f in frames] == list(range(20))
    assert times == pytest.approx([t - captured[0] for t in captured], abs=1.5e-3)


def test_file_pads_odd_sizes_for_yuv420p(tmp_path):
    out = tmp_path / "odd.mp4"
    image = np.zeros((241, 321, 3), np.uint8)
    image[:, -1] = 255  # last column white: the padding repeats it (and nothing is cropped)
    with FileSink(out) as sink:
        sink.open(VideoInfo(321, 241, 30.0, Fraction(1, 30), 3))
        for i in range(3):
            sink.write(Frame(i, None, i, Fraction(1, 30)), image)
    frames, _, _ = read_video(out)
    assert frames[0].shape == (242, 322, 3) and len(frames) == 3
    assert frames[0][100:140, -2:].min() > 200 and frames[0][100:140, :300].max() < 30


# -- FileSink: audio --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("ext, codec", [(".mp4", "aac"), (".mkv", "aac"), (".webm", "opus")])
def test_file_carries_the_input_audio(tmp_path, input_with_audio, ext, codec):
    """AAC is stream-copied into mp4/mkv (packets identical) and transcoded to Opus for webm, which has no AAC."""
    out = tmp_path / f"with_audio{ext}"
    with FileSink(out, audio_from=str(input_with_audio)) as sink:
        write_clip(sink, 60, VideoInfo(320, 240, 30.0, Fraction(1, 15360), 60, has_audio=True), 512)
    assert len(read_video(out)[0]) == 60
    with av.open(str(out)) as container:
        assert container.streams.audio[0].codec_context.name == codec
    assert audio_seconds(out) == pytest.approx(audio_seconds(input_with_audio), abs=0.1)
    if codec == "aac":
        with av.open(str(input_with_audio)) as a, av.open(str(out)) as b:
            first = [bytes(p) for p in a.demux(a.streams.audio[0]) if p.size][:20]
            copied = [bytes(p) for p in b.demux(b.streams.audio[0]) if p.size][:20]
        assert copied == first  # a stream copy, not a re-encode


def test_keyboard_interrupt_leaves_a_playable_file(tmp_path, input_with_audio):
    """Ctrl-C inside the ``with`` block: the file is finalised under its name, audio stops with the picture."""
    out = tmp_path / "cut.mp4"
    with pytest.raises(KeyboardInterrupt):
        with FileSink(out, audio_from=str(input_with_audio)) as sink:
            sink.open(VideoInfo(320, 240, 30.0, Fraction(1, 30), 60, has_audio=True))
            for i in range(20):
                sink.write(Frame(i, None, i, Fraction(1, 30)), gray_frame(i))
            raise KeyboardInterrupt
    frames, times, _ = read_video(out)
    assert [gray_index(f) for f in frames] == list(range(20))
    assert times[-1] == pytest.approx(19 / 30, abs=1e-3)
    assert audio_seconds(out) == pytest.approx(20 / 30, abs=0.1)
    assert not (tmp_path / ".cut.partial.mp4").exists()


def test_crash_never_leaves_a_file_under_the_real_name(tmp_path):
    """A hard crash (no close) leaves only the hidden partial file."""
    out = tmp_path / "crash.mp4"
    code = (f"from fractions import Fraction\nimport os, numpy as np\nfrom vbg.media.sinks import FileSink\n"
            f"from vbg.media.frames import Frame, VideoInfo\n"
            f"s = FileSink({str(out)!r}); s.open(VideoInfo(320, 240, 30.0, Fraction(1, 30)))\n"
            f"for i in range(60): s.write(Frame(i, None, i, Fraction(1, 30)), np.zeros((240, 320, 3), np.uint8))\n"
            f"os._exit(3)\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 3, proc.stderr
    assert not out.exists() and (tmp_path / ".crash.partial.mp4").exists()


def test_nothing_written_leaves_no_file(tmp_path):
    out = tmp_path / "empty.mp4"
    with FileSink(out) as sink:
        sink.open(VideoInfo(320, 240, 30.0))
    assert list(tmp_path.iterdir()) == []


# -- FileSink: settings and errors -------------------------------------------------------------------------------

@pytest.mark.parametrize("name, kwargs, fragment", [
    ("missing/out.mp4", {}, "does not exist; create it first"),
    ("out.xyz", {}, "unknown video extension"),
    ("out", {}, "unknown video extension"),
    ("out.mp4", {"codec": "nosuchcodec"}, "unknown video encoder"),
    ("out.mp4", {"codec": "aac"}, "not a video encoder"),
    ("out.mp4", {"pix_fmt": "yuva420p"}, "cannot encode pixel format"),
    ("out.mp4", {"alpha": True}, "cannot store transparency"),
    ("out.webm", {"codec": "libx264"}, "cannot write libx264 video into .webm"),
])
def test_bad_settings_are_one_line_errors(tmp_path, name, kwargs, fragment):
    with pytest.raises(VbgError) as caught:
        sink = FileSink(tmp_path / name, **kwargs)
        sink.open(VideoInfo(320, 240, 30.0))
    message = str(caught.value)
    assert fragment in message and "\n" not in message
    assert list(tmp_path.iterdir()) == []  # nothing created


def test_open_checks_the_directory_again(tmp_path):
    folder = tmp_path / "gone"
    folder.mkdir()
    sink = FileSink(folder / "out.mp4")
    folder.rmdir()
    with pytest.raises(VbgError, match="does not exist"):
        sink.open(VideoInfo(320, 240, 30.0))
    sink.close()


def test_default_codecs():
    assert default_codec_for("a.mp4", False) == ("libx264", "yuv420p")
    assert default_codec_for("a.mkv", False) == ("libx264", "yuv420p")
    assert default_codec_for("a.mov", False) == ("libx264", "yuv420p")
    assert default_codec_for("a.webm", False) == ("libvpx-vp9", "yuv420p")
    assert default_codec_for("a.MOV", True) == ("prores_ks", "yuva444p10le")
    assert default_codec_for("a.webm", True) == ("libvpx-vp9", "yuva420p")


# -- FileSink: transparency ---------------------------------------------------------------------------------------

def bgra_ramp(index: int, width: int = 320, height: int = 240) -> np.ndarray:
    """Red-ish picture whose alpha ramps 0 -> 255 from left to right."""
    image = np.zeros((height, width, 4), np.uint8)
    image[..., 2], image[..., 1] = 220, index * 8
    image[..., 3] = np.linspace(0, 255, width).astype(np.uint8)[None, :]
    return image


@pytest.mark.parametrize("name, kwargs", [("alpha.mov", {"alpha": True}), ("alpha.webm", {"alpha": True}),
                                          ("png.mov", {"alpha": True, "codec": "png"}),
                                          ("qtrle.mov", {"alpha": True, "codec": "qtrle"})])
def test_transparency_is_kept_by_alpha_codecs(tmp_path, name, kwargs):
    out = tmp_path / name
    with FileSink(out, **kwargs) as sink:
        sink.open(VideoInfo(320, 240, 30.0, Fraction(1, 30), 10))
        for i in range(10):
            sink.write(Frame(i, None, i, Fraction(1, 30)), bgra_ramp(i))
    frames = decode_bgra(out)
    assert len(frames) == 10
    alpha = frames[5][120, :320, 3].astype(int)
    expected = np.linspace(0, 255, 320).astype(int)
    assert alpha.min() < 10 and alpha.max() > 245 and np.abs(alpha - expected).max() <= 6
    assert np.abs(frames[5][120, 200, :3].astype(int) - (0, 40, 220)).max() <= 6  # colour unpremultiplied


def test_transparency_is_composed_over_black_without_an_alpha_codec(tmp_path):
    out = tmp_path / "opaque.mp4"
    with FileSink(out) as sink:
        sink.open(VideoInfo(320, 240, 30.0, Fraction(1, 30), 3))
        for i in range(3):
            sink.write(Frame(i, None, i, Fraction(1, 30)), bgra_ramp(0))
    frame = read_video(out)[0][1]
    assert frame[120, 2:6, 2].max() < 20 and frame[120, 314:318, 2].min() > 200  # black where transparent
    assert int(frame[120, 160, 2]) == pytest.approx(110, abs=8)


# -- WindowSink ---------------------------------------------------------------------------------------------------

CHILD = r"""
import json, sys, threading, time
import numpy as np
from vbg.media.sinks import WindowSink
from vbg.media.frames import Frame, VideoInfo

title = sys.argv[1]
image = np.zeros((240, 320, 3), np.uint8)
image[:, :160] = (0, 0, 255)  # red left half
image[:, 160:] = (255, 0, 0)  # blue right half
sink = WindowSink(title)
sink.open(VideoInfo(320, 240, 30.0))
stop = threading.Event()
threading.Thread(target=lambda: (sys.stdin.readline(), stop.set()), daemon=True).start()
index = 0
while not stop.is_set():
    sink.write(Frame(index, image), image)
    index += 1
    if index == 10:
        print("ready", flush=True)
    while not sink.keys.empty():
        print("key", sink.keys.get(), flush=True)
    time.sleep(0.02)
sink.close()
print("closed", sink.frames_written, flush=True)
"""


@contextmanager
def window_child(display: str, title: str):
    """Run CHILD (the window, in its own process so a Qt abort cannot take pytest down); yields a queue of
    its output lines once the window is up."""
    proc = subprocess.Popen([sys.executable, "-c", CHILD, title], cwd=REPO, env=display_env(display),
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line.strip()) for line in proc.stdout], daemon=True).start()
    try:
        assert next_line(lines, 60) == "ready", proc.stderr.read() if proc.poll() is not None else ""
        yield lines
        proc.stdin.write("stop\n")
        proc.stdin.flush()
        assert proc.wait(timeout=30) == 0, proc.stderr.read()
        assert next_line(lines, 5).startswith("closed")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def next_line(lines: queue.Queue, timeout: float) -> str:
    try:
        return lines.get(timeout=timeout)
    except queue.Empty:
        return "<nothing>"


def test_window_shows_the_composited_frame(xvfb):
    with window_child(xvfb, "vbg-sinks-test"):
        deadline = time.time() + 15  # under load the window may need a moment to paint
        while True:
            time.sleep(0.3)
            shot = screenshot(xvfb).astype(int)
            red = (np.abs(shot - (0, 0, 255)).max(axis=2) < 40)
            blue = (np.abs(shot - (255, 0, 0)).max(axis=2) < 40)
            if (red.sum() > 0.9 * 160 * 240 and blue.sum() > 0.9 * 160 * 240) or time.time() > deadline:
                break
    assert red.sum() > 0.9 * 160 * 240 and blue.sum() > 0.9 * 160 * 240, (red.sum(), blue.sum())
    assert np.argwhere(red)[:, 1].mean() < np.argwhere(blue)[:, 1].mean()  # red on the left, as drawn


def send_wm_delete(display: str, window: int) -> None:
    """What a window manager's close button does: a WM_DELETE_WINDOW client message (via Xlib, by ctypes)."""
    x11 = ctypes.CDLL(ctypes.util.find_library("X11") or "libX11.so.6")

    class ClientMessage(ctypes.Structure):
        _fields_ = [("type", ctypes.c_int), ("serial", ctypes.c_ulong), ("send_event", ctypes.c_int),
                    ("display", ctypes.c_void_p), ("window", ctypes.c_ulong), ("message_type", ctypes.c_ulong),
                    ("format", ctypes.c_int), ("data", ctypes.c_long * 5)]

    class XEvent(ctypes.Union):
        _fields_ = [("xclient", ClientMessage), ("pad", ctypes.c_long * 24)]

    x11.XOpenDisplay.restype, x11.XOpenDisplay.argtypes = ctypes.c_void_p, [ctypes.c_char_p]
    x11.XInternAtom.restype = ctypes.c_ulong
    x11.XInternAtom.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
    x11.XSendEvent.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_int, ctypes.c_long, ctypes.POINTER(XEvent)]
    x11.XFlush.argtypes = x11.XCloseDisplay.argtypes = [ctypes.c_void_p]
    connection = x11.XOpenDisplay(display.encode())
    assert connection, f"cannot open {display}"
    event = XEvent()
    event.xclient.type, event.xclient.window, event.xclient.format = 33, window, 32  # 33 = ClientMessage
    event.xclient.message_type = x11.XInternAtom(connection, b"WM_PROTOCOLS", 0)
    event.xclient.data[0] = x11.XInternAtom(connection, b"WM_DELETE_WINDOW", 0)
    x11.XSendEvent(connection, window, 0, 0, ctypes.byref(event))
    x11.XFlush(connection)
    x11.XCloseDisplay(connection)


def test_window_pushes_keys_and_quit_when_closed(xvfb):
    if not shutil.which("xdotool"):
        pytest.skip("xdotool is not installed (apt-get install xdotool)")
    if not ctypes.util.find_library("X11"):
        pytest.skip("libX11 is not installed (apt-get install libx11-6)")
    title = "vbg-keys-test"
    env = display_env(xvfb)
    with window_child(xvfb, title) as lines:
        found = subprocess.run(["xdotool", "search", "--name", f"^{title}$"], env=env, capture_output=True, text=True)
        windows = found.stdout.split()
        assert windows, found.stderr
        received = []
        # one key per frame at most: OpenCV keeps only the last key pressed between two waitKey calls
        for key in ("q", "space", "Escape", "Left", "b"):
            subprocess.run(["xdotool", "key", "--window", windows[0], key], env=env, capture_output=True)
            received.append(next_line(lines, 5))
        assert received == ["key q", "key space", "key esc", "key left", "key b"]
        for window in windows:
            send_wm_delete(xvfb, int(window))
        assert next_line(lines, 5) == "key quit"
        assert next_line(lines, 0.5) == "<nothing>"  # pushed once


def test_window_without_display_is_a_clear_error(monkeypatch):
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    if not sys.platform.startswith("linux"):
        pytest.skip("DISPLAY only matters on Linux")
    sink = WindowSink()
    with pytest.raises(VbgError, match="DISPLAY is not set") as caught:
        sink.open(VideoInfo(320, 240, 30.0))
    assert "xvfb-run" in str(caught.value) and "\n" not in str(caught.value)
    sink.close()


@pytest.mark.parametrize("display, fragment", [(None, "DISPLAY is not set"),
                                               (":4321", "cannot connect to X display :4321")])
def test_window_without_display_exits_cleanly_not_qt_abort(display, fragment):
    """In a fresh process (where Qt would abort with 134 on its first call): a VbgError, a clean exit."""
    if not sys.platform.startswith("linux"):
        pytest.skip("DISPLAY only matters on Linux")
    code = ("from vbg.errors import VbgError\nfrom vbg.media.sinks import WindowSink\nfrom vbg.media.frames import VideoInfo\n"
            "import numpy as np\ntry:\n    WindowSink().open(VideoInfo(320, 240, 30.0))\n"
            "except VbgError as e:\n    print(e)\n    raise SystemExit(5)\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=display_env(display), capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 5, (proc.returncode, proc.stderr)
    assert fragment in proc.stdout


def test_display_check_accepts_a_live_server(xvfb, monkeypatch):
    monkeypatch.setenv("DISPLAY", xvfb)
    assert display_problem() is None


def test_transparent_output_is_shown_over_a_checkerboard():
    image = np.zeros((64, 64, 4), np.uint8)
    image[..., 2] = 255
    image[:, 32:, 3] = 255  # right half opaque red, left half fully transparent
    shown = over_checkerboard(image)
    assert shown.shape == (64, 64, 3)
    assert (shown[:, 32:] == (0, 0, 255)).all()
    left = shown[:, :32]
    assert set(np.unique(left)) == {140, 200} and (left[..., 0] == left[..., 2]).all()  # grey squares


def test_key_names():
    assert [key_name(c) for c in (-1, ord("q"), 27, 32, 13, 0xFF51, 0x10071, 0x250000)] == \
        [None, "q", "esc", "space", "enter", "left", "q", "left"]


# -- VirtualCameraSink ---------------------------------------------------------------------------------------------

class RecordingBackend:
    """A pyvirtualcam backend (see pyvirtualcam.camera.Backend) that keeps everything it is sent."""

    instances: list[RecordingBackend] = []

    def __init__(self, *, width, height, fps, fourcc, device, **kw):
        self.settings = {"width": width, "height": height, "fps": fps, "fourcc": fourcc, "device": device}
        self.frames: list[np.ndarray] = []
        self.closed = 0
        RecordingBackend.instances.append(self)

    def close(self):
        self.closed += 1

    def send(self, frame):
        self.frames.append(frame.copy())

    def device(self):
        return self.settings["device"] or "/dev/video-recorder"

    def native_fourcc(self):
        return None


@pytest.fixture()
def recording_backend(monkeypatch):
    from pyvirtualcam.camera import BACKENDS

    RecordingBackend.instances = []
    monkeypatch.setitem(BACKENDS, "vbg-recorder", RecordingBackend)  # register_backend, undone afterwards
    return "vbg-recorder"


def test_virtual_camera_receives_exact_bgr_frames(recording_backend):
    import pyvirtualcam
    from pyvirtualcam.util import encode_fourcc

    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, (360, 640, 3), dtype=np.uint8) for _ in range(5)]
    transparent = rng.integers(0, 256, (360, 640, 4), dtype=np.uint8)
    transparent[..., 3] = 0
    with VirtualCameraSink(backend=recording_backend) as sink:
        sink.open(VideoInfo(640, 360, 25.0))
        for i, image in enumerate(images + [transparent]):
            sink.write(Frame(i, image), image)
    backend = RecordingBackend.instances[-1]
    assert backend.settings == {"width": 640, "height": 360, "fps": 25.0, "device": None,
                                "fourcc": encode_fourcc(pyvirtualcam.PixelFormat.BGR.value)}
    assert sink.device == "/dev/video-recorder" and sink.frames_written == 6 and backend.closed == 1
    assert len(backend.frames) == 6
    for sent, image in zip(backend.frames, images):
        assert np.array_equal(sent.reshape(image.shape), image)  # no colour conversion, no copy artefacts
    assert not backend.frames[5].any()  # fully transparent -> black


def test_virtual_camera_uses_the_requested_device(recording_backend):
    with VirtualCameraSink(device="/dev/video42", backend=recording_backend) as sink:
        sink.open(VideoInfo(320, 240, 30.0))
    assert RecordingBackend.instances[-1].settings["device"] == "/dev/video42"  # passed on to pyvirtualcam


def test_virtual_camera_unknown_backend(recording_backend):
    with pytest.raises(VbgError, match="unknown virtual camera backend 'nope'"):
        VirtualCameraSink(backend="nope").open(VideoInfo(320, 240, 30.0))


def test_virtual_camera_without_loopback_device_is_a_clear_error():
    if not sys.platform.startswith("linux"):
        pytest.skip("the v4l2loopback message is for Linux")
    if Path("/sys/module/v4l2loopback").exists():
        pytest.skip("v4l2loopback is loaded here: the real device may work")
    sink = VirtualCameraSink()
    with pytest.raises(VbgError) as caught:
        sink.open(VideoInfo(320, 240, 30.0))
    message = str(caught.value)
    assert "v4l2loopback" in message and "modprobe" in message and "--vcam-device" in message
    assert "\n" not in message
    sink.close()
