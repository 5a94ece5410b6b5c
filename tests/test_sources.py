"""Frame sources on real media: clips encoded here with PyAV, lavfi generators, a FIFO, still images.

Each test clip frame carries its own index in the pixels (8 bits as big flat blocks), so a test can tell
which decoded frame it received, not just how many.  Timing assertions are one-sided or use medians and
generous bounds: the suite must pass on a loaded 2-core machine.
"""

from __future__ import annotations

import os
import random
import statistics
import threading
import time
from contextlib import contextmanager
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from media import indexed_frame, mux_tone, read_index
from helpers import wait_for
from vbg.errors import VbgError
from vbg.media.sources import AVSource, CameraSource, FrameBuffer, ImageSource, open_source
from vbg.media.frames import Frame

W, H, FPS = 320, 240, 30


def indexed_image(index: int) -> np.ndarray:
    """A 320x240 BGR frame showing ``index`` in its pixels (see tests/media.py)."""
    return indexed_frame(index, W, H)


pixel_index = read_index
LAVFI = f"lavfi:testsrc2=size={W}x{H}:rate={FPS}"


# -- media helpers ------------------------------------------------------------------------------------------
def make_clip(path: Path, frames: int, *, audio: bool = False, format: str | None = None) -> Path:
    """Encode ``frames`` indexed frames (MPEG-4 part 2, 30 fps) and optionally one second of AAC tone."""
    with av.open(str(path), "w", format=format) as out:
        video = out.add_stream("mpeg4", rate=FPS)
        video.width, video.height, video.pix_fmt = W, H, "yuv420p"
        video.options = {"qscale": "3"}
        sound = out.add_stream("aac", rate=48000) if audio else None  # every stream before the first packet
        for i in range(frames):
            for packet in video.encode(av.VideoFrame.from_ndarray(indexed_image(i), format="bgr24")):
                out.mux(packet)
        for packet in video.encode():
            out.mux(packet)
        if sound is not None:
            mux_tone(out, sound, 1.0, amplitude=0.2, sample_format="fltp")
    return path


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("clips")
    return {"audio": make_clip(root / "with_audio.mp4", 30, audio=True),
            "silent": make_clip(root / "silent.mp4", 12)}


@contextmanager
def watchdog(source, seconds: float = 15.0):
    """Close ``source`` if the test is still reading after ``seconds``: a bug fails the test, never hangs it."""
    timer = threading.Timer(seconds, source.close)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
        source.close()



def one_line_error(excinfo, *fragments: str) -> str:
    message = str(excinfo.value)
    assert "\n" not in message and message.strip() == message, message
    for fragment in fragments:
        assert fragment in message, message
    return message


# -- FrameBuffer: the two delivery policies -----------------------------------------------------------------
def frame(i: int) -> Frame:
    return Frame(i, np.zeros((2, 2, 3), np.uint8))


def test_file_policy_blocks_the_producer_when_full_and_loses_nothing():
    buffer = FrameBuffer(latest_only=False, capacity=2)
    assert buffer.put(frame(0)) and buffer.put(frame(1))
    third = threading.Thread(target=buffer.put, args=(frame(2),), daemon=True)
    third.start()
    third.join(0.2)
    assert third.is_alive() and len(buffer) == 2  # backpressure: waits for room instead of dropping
    assert buffer.get().index == 0
    third.join(2)
    assert not third.is_alive()
    buffer.end()
    assert [buffer.get().index, buffer.get().index] == [1, 2]
    assert buffer.get() is None and buffer.get() is None and buffer.dropped == 0


def test_live_policy_keeps_only_the_newest_frame_and_counts_drops():
    buffer = FrameBuffer(latest_only=True)
    for i in range(3):
        assert buffer.put(frame(i))
    assert buffer.dropped == 2 and len(buffer) == 1
    assert buffer.get().index == 2
    buffer.put(frame(3))  # the slot was empty: nothing dropped
    assert buffer.dropped == 2 and buffer.get().index == 3


def test_buffer_error_comes_after_queued_frames_and_stays():
    buffer = FrameBuffer(latest_only=False)
    buffer.put(frame(0))
    buffer.end(VbgError("decoding failed"))
    assert buffer.get().index == 0
    for _ in range(2):
        with pytest.raises(VbgError, match="decoding failed"):
            buffer.get()


def test_closed_buffer_wakes_both_sides():
    buffer = FrameBuffer(latest_only=False, capacity=1)
    buffer.put(frame(0))
    results = []
    producer = threading.Thread(target=lambda: results.append(buffer.put(frame(1))), daemon=True)
    producer.start()
    time.sleep(0.05)
    buffer.close()
    producer.join(2)
    assert results == [False] and buffer.get() is None


# -- AVSource: files, loops, lavfi, FIFOs -------------------------------------------------------------------
@pytest.mark.parametrize("name, count, audio", [("audio", 30, True), ("silent", 12, False)])
def test_file_mode_delivers_every_frame_once_in_order(clips, name, count, audio):
    source = open_source(str(clips[name]))
    assert isinstance(source, AVSource)
    with watchdog(source):
        info = source.info
        assert (info.width, info.height, info.fps, info.frame_count) == (W, H, FPS, count)
        assert info.has_audio is audio and info.live is False and info.source == str(clips[name])
        frames = list(source)
        assert source.read() is None and source.read() is None  # the end stays the end
    assert [f.index for f in frames] == list(range(count))
    assert [pixel_index(f.image) for f in frames] == list(range(count))
    assert all(f.image.shape == (H, W, 3) and f.image.dtype == np.uint8 for f in frames)
    assert all(f.time_base == info.time_base for f in frames)
    pts = [f.pts for f in frames]
    assert all(b > a for a, b in zip(pts, pts[1:]))
    assert frames[-1].seconds == pytest.approx((count - 1) / FPS, abs=1e-3)
    assert source.frames_read == count and source.dropped == 0
    assert not source.running  # the decode thread ended and released the container


def test_file_mode_applies_backpressure_instead_of_dropping():
    source = open_source(LAVFI)  # an endless generator in file mode: it decodes ahead, but only so far
    with watchdog(source):
        assert source.info.frame_count is None and not source.info.live
        assert wait_for(lambda: source.pending == 8)
        time.sleep(0.2)
        assert source.pending == 8 and source.running  # the decoder waits for the consumer
        frames = [source.read() for _ in range(20)]
    assert [f.index for f in frames] == list(range(20))
    assert [f.pts for f in frames] == list(range(20))  # lavfi's time base is 1/rate
    assert source.dropped == 0


def test_loop_continues_past_the_end_with_increasing_index_and_pts(clips):
    source = open_source(str(clips["silent"]), loop=True)
    with watchdog(source):
        assert source.info.frame_count is None
        frames = [source.read() for _ in range(30)]
    assert [f.index for f in frames] == list(range(30))
    assert [pixel_index(f.image) for f in frames] == [i % 12 for i in range(30)]
    steps = {b.pts - a.pts for a, b in zip(frames, frames[1:])}
    assert len(steps) == 1 and steps.pop() > 0  # one even step, also where the clip wraps around


def test_loop_reopens_inputs_that_cannot_seek():
    source = open_source(f"{LAVFI}:duration=0.2", loop=True)  # 6 frames; lavfi cannot seek, so it reopens
    with watchdog(source):
        frames = [source.read() for _ in range(15)]
    assert [f.index for f in frames] == list(range(15))
    assert [f.pts for f in frames] == list(range(15))


def test_lavfi_source():
    source = open_source(LAVFI)
    with watchdog(source):
        info = source.info
        assert (info.width, info.height, info.fps, info.time_base) == (W, H, FPS, Fraction(1, FPS))
        assert info.frame_count is None and info.has_audio is False
        frames = [source.read() for _ in range(5)]
    assert [f.index for f in frames] == [0, 1, 2, 3, 4] and frames[0].image.shape == (H, W, 3)
    finite = open_source(f"{LAVFI}:duration=0.5")
    with watchdog(finite):
        assert len(list(finite)) == 15 and finite.read() is None


@pytest.mark.parametrize("container", ["nut", "mpegts"])
def test_fifo_is_read_to_the_end(tmp_path, container):
    data = make_clip(tmp_path / f"clip.{container}", 20, format=container).read_bytes()
    fifo = tmp_path / "camera.fifo"
    os.mkfifo(fifo)

    def feed():
        with open(fifo, "wb") as pipe:  # blocks until the source opens the FIFO
            pipe.write(data)

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    try:
        source = open_source(str(fifo))
        with watchdog(source):
            assert (source.info.width, source.info.height) == (W, H)
            frames = list(source)
    finally:
        if writer.is_alive():  # the source never opened the FIFO: release the writer
            os.close(os.open(fifo, os.O_RDONLY | os.O_NONBLOCK))
        writer.join(5)
    assert [pixel_index(f.image) for f in frames] == list(range(20))
    pts = [f.pts for f in frames]
    assert all(b > a for a, b in zip(pts, pts[1:]))


def test_decode_errors_reach_the_consumer(tmp_path):
    path = make_clip(tmp_path / "damaged.mp4", 60)
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    noise = random.Random(7)
    data[middle:middle + 8000] = bytes(noise.randrange(256) for _ in range(8000))
    path.write_bytes(data)
    source = open_source(str(path))  # the header is intact: opening works
    received = []
    with watchdog(source):
        with pytest.raises(VbgError) as excinfo:
            for f in source:
                received.append(f)
        one_line_error(excinfo, "damaged.mp4", "decoding")
        with pytest.raises(VbgError):  # and it is not forgotten: no silent end of stream
            source.read()
    assert 0 < len(received) < 60
    assert [f.index for f in received] == list(range(len(received)))


# -- live mode ----------------------------------------------------------------------------------------------
def test_live_mode_is_paced_and_never_repeats_a_frame():
    source = open_source(LAVFI, live=True)
    with watchdog(source):
        assert source.info.live and source.info.frame_count is None
        start = time.perf_counter()
        frames = [source.read() for _ in range(15)]
        elapsed = time.perf_counter() - start
    indices = [f.index for f in frames]
    assert all(b > a for a, b in zip(indices, indices[1:]))
    assert all(f.pts == f.index for f in frames)  # index counts generated frames, even dropped ones
    assert elapsed >= 0.3  # released at the stream's rate (nominally 14/30 s), not as fast as lavfi can go
    assert elapsed < 5


def test_paced_file_mode_keeps_every_frame_at_the_stream_rate(clips):
    source = AVSource(str(clips["silent"]), pace=True)  # a file played in real time, nothing dropped
    with watchdog(source):
        frames = list(source)
    assert [pixel_index(f.image) for f in frames] == list(range(12)) and source.dropped == 0
    # never released early: frame k is due k/30 s after frame 0 (small allowance for the clock reads)
    assert frames[-1].captured_at - frames[0].captured_at >= 11 / FPS - 0.01


def test_live_mode_drops_stale_frames_for_a_slow_consumer():
    source = open_source(LAVFI, live=True)
    indices, ages = [], []
    with watchdog(source):
        source.read()
        for _ in range(10):
            time.sleep(0.1)  # a consumer at ~10 fps on a 30 fps source
            f = source.read()
            ages.append(time.perf_counter() - f.captured_at)
            indices.append(f.index)
            # every index skipped so far was a frame replaced in the slot, and counted
            assert source.dropped >= f.index + 1 - source.frames_read
    assert all(b > a for a, b in zip(indices, indices[1:]))
    assert max(b - a for a, b in zip(indices, indices[1:])) >= 2
    assert source.dropped > 0 and source.frames_read == 11
    assert statistics.median(ages) < 2 / FPS  # the consumer gets the newest frame, not a stale one


def test_close_returns_quickly_while_the_reader_is_blocked():
    source = open_source(LAVFI)
    assert wait_for(lambda: source.pending == 8)  # the decode thread now waits on a full queue
    start = time.perf_counter()
    source.close()
    assert time.perf_counter() - start < 2
    assert wait_for(lambda: not source.running, 2)
    assert source.read() is None
    source.close()  # idempotent


def test_close_wakes_a_consumer_blocked_in_read():
    source = open_source(f"lavfi:testsrc2=size={W}x{H}:rate=0.2", live=True)  # one frame every 5 s
    assert source.read().index == 0
    result = []
    reader = threading.Thread(target=lambda: result.append(source.read()), daemon=True)
    reader.start()
    time.sleep(0.1)
    start = time.perf_counter()
    source.close()
    reader.join(2)
    assert not reader.is_alive() and result == [None]
    assert time.perf_counter() - start < 2 and wait_for(lambda: not source.running, 2)


# -- errors the user can fix --------------------------------------------------------------------------------
def test_missing_file(tmp_path):
    with pytest.raises(VbgError) as excinfo:
        open_source(str(tmp_path / "missing.mp4"))
    one_line_error(excinfo, "missing.mp4", "no such file")


def test_text_file_named_mp4(tmp_path):
    fake = tmp_path / "notes.mp4"
    fake.write_text("this is not a video\n" * 20)
    with pytest.raises(VbgError) as excinfo:
        open_source(str(fake))
    one_line_error(excinfo, "notes.mp4", "not a video")


@pytest.mark.parametrize("spec, kwargs, fragments", [
    ("lavfi:sine=frequency=440:duration=1", {}, ("as video", "no video stream", "only audio")),
    ("lavfi:nosuchfilter=1", {}, ("lavfi", "nosuchfilter", "filter")),
    ("x", {"format": "nosuchformat"}, ("unknown input format", "nosuchformat")),
])
def test_unusable_inputs(spec, kwargs, fragments):
    with pytest.raises(VbgError) as excinfo:
        open_source(spec, **kwargs)
    one_line_error(excinfo, *fragments)


@pytest.mark.parametrize("spec, node", [("7", "/dev/video7"), (7, "/dev/video7"), ("/dev/video9", "/dev/video9")])
def test_missing_camera(spec, node):
    if os.path.exists(node):
        pytest.skip(f"{node} exists on this machine")
    with pytest.raises(VbgError) as excinfo:
        open_source(spec)
    one_line_error(excinfo, "camera", f"(no {node})", "webcam", "as the input instead (vbg run FILE")
    with pytest.raises(VbgError):
        CameraSource(spec)


def test_camera_cannot_be_forced_out_of_live_mode():
    with pytest.raises(VbgError) as excinfo:
        open_source(0, live=False)
    one_line_error(excinfo, "always live")


# -- still images -------------------------------------------------------------------------------------------
@pytest.fixture
def photo(tmp_path) -> Path:
    path = tmp_path / "photo.png"
    cv2.imwrite(str(path), indexed_image(77))
    return path


def test_image_yields_one_frame_in_file_mode(photo):
    source = open_source(photo)  # a Path works too
    assert isinstance(source, ImageSource)
    with watchdog(source):
        assert (source.info.width, source.info.height, source.info.frame_count) == (W, H, 1)
        frames = list(source)
        assert source.read() is None
    assert len(frames) == 1 and frames[0].index == 0
    np.testing.assert_array_equal(frames[0].image, indexed_image(77))


def test_image_repeats_in_live_mode(photo):
    source = open_source(str(photo), live=True, fps=20)
    with watchdog(source):
        assert source.info.live and source.info.frame_count is None and source.info.fps == 20
        start = time.perf_counter()
        frames = [source.read() for _ in range(5)]
        elapsed = time.perf_counter() - start
    indices = [f.index for f in frames]
    assert all(b > a for a, b in zip(indices, indices[1:]))
    assert elapsed >= 0.12  # paced at 20 fps (nominally 4/20 s)
    assert all(pixel_index(f.image) == 77 for f in frames)
    frames[0].image[:] = 0  # every repeat is its own copy
    assert pixel_index(frames[1].image) == 77


def test_image_loop_in_file_mode_repeats_without_drops(photo):
    source = open_source(str(photo), loop=True)
    with watchdog(source):
        frames = [source.read() for _ in range(3)]
    assert [f.index for f in frames] == [0, 1, 2] and source.dropped == 0


def test_grey_and_transparent_images_become_bgr(tmp_path):
    grey, rgba = tmp_path / "grey.png", tmp_path / "alpha.png"
    cv2.imwrite(str(grey), np.full((H, W), 90, np.uint8))
    bgra = np.dstack([indexed_image(5), np.full((H, W), 128, np.uint8)])
    cv2.imwrite(str(rgba), bgra)
    for path, expected in ((grey, np.full((H, W, 3), 90, np.uint8)), (rgba, indexed_image(5))):
        with open_source(str(path)) as source:
            image = source.read().image
        assert image.shape == (H, W, 3) and image.dtype == np.uint8
        np.testing.assert_array_equal(image, expected)


def test_unreadable_image(tmp_path):
    fake = tmp_path / "broken.png"
    fake.write_bytes(b"not a png at all")
    with pytest.raises(VbgError) as excinfo:
        open_source(str(fake))
    one_line_error(excinfo, "broken.png", "cannot read image")
