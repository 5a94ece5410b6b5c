"""The video pipeline end to end: real decoding, real OpenVINO inference, real encoding.

File mode must keep every frame once, in order, with its timestamps and audio; live mode must keep up with a
paced source by reusing masks and dropping what is stale.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from fractions import Fraction

import numpy as np
import pytest

from conftest import REPO, assert_clean_error, run_vbg
from media import audio_duration, decode_video, make_indexed_clip, read_index
from vbg.compose.backgrounds import BlurBackground, ColorBackground
from vbg.compose.compositing import Compositor
from vbg.pipeline.core import Pipeline
from vbg.pipeline.options import PipelineOptions
from helpers import RecordingSink, square_clip, square_left
from vbg.media.sinks import FileSink, VirtualCameraSink
from vbg.media.sources import open_source


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """3 s, 640x360, 30 fps, indexed frames, 3 s of AAC audio."""
    return make_indexed_clip(tmp_path_factory.mktemp("media") / "clip.mp4", 90, audio_seconds=3.0)


@pytest.fixture()
def segmenter(make_segmenter):
    return make_segmenter(precision="bf16", resize="fast", size="192")


def test_file_mode_keeps_every_frame_in_order_with_timestamps_and_audio(tmp_path, clip, model_cache):
    out = tmp_path / "out.mp4"
    proc = run_vbg("run", str(clip), "-o", str(out), "--blur", "--no-overlay", "--size", "192",
                   env={"VBG_CACHE_DIR": str(model_cache)})
    assert proc.returncode == 0, proc.stderr
    assert "frames: 90 read, 90 written, none dropped" in proc.stderr
    assert proc.stderr.count("%|") <= 6, proc.stderr  # a log gets a progress line every few seconds, not per frame
    frames, times, rate = decode_video(out)
    src_frames, src_times, _ = decode_video(clip)
    assert [read_index(f) for f in frames] == list(range(90))
    assert times == pytest.approx(src_times, abs=1e-3) and rate == 30
    assert audio_duration(out) == pytest.approx(audio_duration(clip), abs=0.03)
    assert not list(tmp_path.glob(".*partial*"))


def test_max_frames_summary_counts_only_the_frames_written_in_plain_words(tmp_path, clip, model_cache):
    """--max-frames reads no frame past the limit (it would count as input the job never used), and the
    summary says in words how long a frame took to go through, typical and slowest."""
    out = tmp_path / "out.mp4"
    proc = run_vbg("run", str(clip), "-o", str(out), "--blur", "--size", "192", "--max-frames", "30",
                   env={"VBG_CACHE_DIR": str(model_cache)})
    assert proc.returncode == 0, proc.stderr
    summary = proc.stderr.splitlines()[-1]
    assert summary.startswith("vbg: frames: 30 read, 30 written, none dropped, in "), summary
    assert "from reading to output" in summary and "slowest 1 in 20" in summary, summary
    assert "writing the file" in summary and "p50" not in summary and "capture->sink" not in summary, summary
    assert [read_index(f) for f in decode_video(out)[0]] == list(range(30))

def test_file_mode_keeps_unusual_time_base(tmp_path, segmenter):
    clip = make_indexed_clip(tmp_path / "tb.mkv", 40, fps=25, time_base=Fraction(1, 90000))
    out = tmp_path / "out.mkv"
    source = open_source(str(clip))
    assert source.info.frame_count == 40  # from the container duration (mkv stores no frame count)
    stats = Pipeline(source, segmenter, Compositor([BlurBackground()]), [FileSink(out)],
                     PipelineOptions(overlay=False, progress=False)).run()
    assert stats.frames_in == stats.frames_out == 40 and stats.dropped == 0
    frames, times, _ = decode_video(out)
    assert [read_index(f) for f in frames] == list(range(40))
    assert times == pytest.approx([i / 25 for i in range(40)], abs=1e-3)


def test_file_mode_backpressure_with_slow_sink_loses_nothing(tmp_path, clip, segmenter):
    slow = RecordingSink(delay=0.02)
    stats = Pipeline(open_source(str(clip)), segmenter, Compositor([BlurBackground()]), [slow],
                     PipelineOptions(overlay=False, progress=False, sink_queue=2)).run()
    assert [r[0] for r in slow.records] == list(range(90))
    assert stats.dropped == 0


def test_live_mode_reuses_masks_and_keeps_source_rate(make_segmenter):
    """A paced 30 fps source: output follows the source, the model runs slower, masks are reused."""
    segmenter = make_segmenter(precision="fp32")  # 320x320 fp32: slower than 30 fps on any CPU this runs on
    source = open_source("lavfi:testsrc2=size=1280x720:rate=30", live=True)
    sink = RecordingSink()
    pipeline = Pipeline(source, segmenter, Compositor([ColorBackground("green")]), [sink],
                        PipelineOptions(max_frames=120, requests=1))
    stats = pipeline.run()
    indices = [r[0] for r in sink.records]
    assert indices == sorted(set(indices))  # in order, never repeated
    span = sink.records[-1][2] - sink.records[0][2]
    output_rate = (len(sink.records) - 1) / span
    assert stats.masks < stats.frames_out  # the model is slower than the camera: masks were reused
    assert output_rate > 2 * stats.model_fps  # output is not tied to the model's rate
    assert output_rate > 0.6 * 30  # and stays near the source rate (generous: shared CI machines)


def test_live_mode_drops_stale_frames_for_a_slow_consumer(segmenter):
    """A sink that takes 100 ms per frame must see fresh frames, not a growing backlog."""
    source = open_source("lavfi:testsrc2=size=640x360:rate=30", live=True)
    slow = RecordingSink(delay=0.1)
    stats = Pipeline(source, segmenter, Compositor([ColorBackground("green")]), [slow],
                     PipelineOptions(max_frames=60, overlay=False)).run()
    assert stats.dropped > 0
    ages = [arrival - captured for _, captured, arrival in slow.records]
    assert max(ages[len(ages) // 2:]) < 1.0  # bounded: a backlog would grow to several seconds
    indices = [r[0] for r in slow.records]
    assert indices == sorted(set(indices)) and indices[-1] - indices[0] > len(indices)  # gaps = drops


def test_live_aligned_pairs_each_frame_with_its_own_mask(segmenter):
    # 240 fps: faster than any CPU runs the model, so frames must be dropped whatever the machine
    source = open_source("lavfi:testsrc2=size=640x360:rate=240", live=True)
    sink = RecordingSink()
    stats = Pipeline(source, segmenter, Compositor([ColorBackground("green")]), [sink],
                     PipelineOptions(max_frames=20, aligned=True, overlay=False)).run()
    assert stats.frames_out == len(sink.records) == 20
    assert stats.masks >= stats.frames_out  # every output frame had its own inference
    assert stats.dropped > 0  # frames arriving while the model was busy were dropped


def square_coverage(index: int, image: np.ndarray) -> float:
    """Share of frame ``index``'s white square that comes out white (not the green background)."""
    left = square_left(index)
    region = image[55:125, left + 5:left + 75]
    return float((region.min(axis=2) > 200).mean())


@pytest.mark.parametrize("own", [True, False], ids=["own-mask", "newest-mask"])
def test_live_frames_get_their_own_mask_when_the_model_keeps_up(tmp_path, make_segmenter, own):
    """A square jumps to a new place every frame of a paced 10 fps source, so a frame shown with the previous
    frame's mask loses its square to the background.  The salient-object weights at 96x96 find the square and
    run far above 10 fps: with the own-mask policy each frame waits for its mask and keeps the square; with the
    newest-mask policy each frame is shown at once, with the mask of an earlier frame."""
    segmenter = make_segmenter(size="128", precision="bf16", resize="fast", performance_hint="THROUGHPUT")
    clip = square_clip(tmp_path / "square.mp4", 30)
    sink = RecordingSink(keep_images=True)
    stats = Pipeline(open_source(str(clip), loop=True, live=True), segmenter, Compositor([ColorBackground("green")]),
                     [sink], PipelineOptions(max_frames=30, overlay=False, own_masks=own)).run()
    indices = [r[0] for r in sink.records]
    assert indices == sorted(set(indices)) and len(indices) == 30
    coverage = [square_coverage(i, image) for i, image in zip(indices, sink.images)]
    if own:
        assert stats.own_masks is not None and stats.own_masks >= 24, stats.summary()
        assert np.median(coverage) > 0.9, coverage
        assert "own mask on" in stats.summary()
    else:
        assert stats.own_masks is None
        assert np.median(coverage) < 0.2, coverage  # the mask of an earlier frame: the square is elsewhere


class RecordingCamera:
    """A pyvirtualcam backend that records what it is sent (registered by the test, as pyvirtualcam allows)."""

    sent: list[np.ndarray] = []
    opened: dict = {}

    def __init__(self, *, width, height, fps, fourcc, device, **kw):
        RecordingCamera.opened = {"width": width, "height": height, "fps": fps, "fourcc": fourcc}
        RecordingCamera.sent = []

    def close(self):
        pass

    def send(self, frame):
        RecordingCamera.sent.append(frame.copy())

    def device(self):
        return "recording-cam"

    def native_fourcc(self):
        return None


def test_virtual_camera_file_and_recorder_sinks_at_once(tmp_path, clip, segmenter, monkeypatch):
    import pyvirtualcam
    from pyvirtualcam.camera import BACKENDS
    from pyvirtualcam.util import decode_fourcc

    monkeypatch.setitem(BACKENDS, "vbg-test-recorder", RecordingCamera)  # register_backend, undone afterwards
    vcam = VirtualCameraSink(backend="vbg-test-recorder")
    record = RecordingSink(keep_images=True)
    out = tmp_path / "both.mp4"
    stats = Pipeline(open_source(str(clip)), segmenter, Compositor([ColorBackground("#0000ff")]),
                     [vcam, FileSink(out), record], PipelineOptions(overlay=False, progress=False)).run()
    assert stats.frames_out == 90 and len(RecordingCamera.sent) == 90 and vcam.device == "recording-cam"
    assert RecordingCamera.opened["width"] == 640 and RecordingCamera.opened["height"] == 360
    assert decode_fourcc(RecordingCamera.opened["fourcc"]) == pyvirtualcam.PixelFormat.BGR.value  # no conversion
    for sent, image in zip(RecordingCamera.sent, record.images):
        assert np.array_equal(sent.reshape(image.shape), image)  # exactly the composited BGR pixels
    assert len(decode_video(out)[0]) == 90


@pytest.mark.skipif(not sys.platform.startswith("linux") or any(p.startswith("video") for p in os.listdir("/dev")),
                    reason="needs Linux without any /dev/video* device")
def test_virtual_camera_without_loopback_device_is_a_clear_error(tmp_path, clip, model_cache):
    proc = run_vbg("run", str(clip), "--vcam", "--blur", "--size", "192", env={"VBG_CACHE_DIR": str(model_cache)})
    assert_clean_error(proc, "v4l2loopback", "modprobe")


class PreviewSink(RecordingSink):
    """Stands for a window: an interactive sink."""

    interactive = True


def _hud_run(segmenter, overlay, transparent=False) -> tuple[RecordingSink, RecordingSink]:
    source = open_source("lavfi:testsrc2=size=640x360:rate=30:duration=1")
    preview, file_like = PreviewSink(keep_images=True), RecordingSink(keep_images=True)
    compositor = Compositor([] if transparent else [ColorBackground("white")], transparent=transparent)
    Pipeline(source, segmenter, compositor, [preview, file_like],
             PipelineOptions(progress=False, max_frames=10, overlay=overlay)).run()
    return preview, file_like


def _hud_shown(image: np.ndarray, plain: np.ndarray) -> bool:
    """The top-left corner differs from the same frame without the overlay (a darkened panel with text)."""
    return float(np.abs(image[:40, :200, :3].astype(int) - plain[:40, :200, :3]).mean()) > 20


def test_overlay_is_on_the_preview_only_unless_asked(segmenter):
    default_preview, default_file = _hud_run(segmenter, overlay=None)
    burned_preview, burned_file = _hud_run(segmenter, overlay=True)
    _, plain = _hud_run(segmenter, overlay=False)
    plain = plain.images[-1]
    assert _hud_shown(default_preview.images[-1], plain)  # the window shows it by default
    assert np.abs(default_file.images[-1].astype(int) - plain).mean() < 1  # files get the clean picture
    assert _hud_shown(burned_preview.images[-1], plain) and _hud_shown(burned_file.images[-1], plain)  # --overlay


def test_overlay_never_enters_the_alpha_channel(segmenter):
    _, burned = _hud_run(segmenter, overlay=True, transparent=True)
    _, plain = _hud_run(segmenter, overlay=False, transparent=True)
    burned, plain = burned.images[-1], plain.images[-1]
    assert burned.shape[2] == 4 and _hud_shown(burned, plain)
    assert np.abs(burned[..., 3].astype(int) - plain[..., 3]).mean() < 1  # alpha is the matte, HUD or not


@pytest.mark.parametrize("args, fragments", [
    (["{tmp}/missing.mp4", "-o", "{tmp}/o.mp4", "--blur"], ["no such file or directory"]),
    (["{clip}", "-o", "{tmp}/nodir/o.mp4", "--blur"], ["does not exist; create it first"]),
    (["{clip}", "-o", "{tmp}/o.xyz", "--blur"], ["unknown video extension"]),
    (["{clip}", "--blur"], ["no output"]),
    (["{clip}", "-o", "{tmp}/o.mp4", "--blur", "--transparent"], ["cannot store transparency"]),
    (["7", "--window", "--blur"], ["camera 7 could not be opened", "as the input instead (vbg run FILE"]),
    (["{pyproject}", "-o", "{tmp}/o.mp4", "--blur"], ["no video stream"]),
])
def test_run_bad_input(tmp_path, clip, model_cache, args, fragments):
    subs = {"tmp": str(tmp_path), "clip": str(clip), "pyproject": str(REPO / "pyproject.toml")}
    proc = run_vbg("run", *[a.format(**subs) for a in args], env={"VBG_CACHE_DIR": str(model_cache)})
    assert_clean_error(proc, *fragments)
    assert not list(tmp_path.glob("o.*")) and not list(tmp_path.glob(".o.partial*"))


def test_window_without_display_fails_cleanly(clip, model_cache):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["VBG_CACHE_DIR"] = str(model_cache)
    proc = subprocess.run([sys.executable, "-m", "vbg", "run", str(clip), "--window", "--blur", "--size", "192"],
                          capture_output=True, text=True, env=env, cwd=REPO, timeout=300)
    assert_clean_error(proc, "no display")
    assert proc.returncode == 2  # not Qt's abort (134)


def test_latency_starts_when_the_pipeline_can_take_the_frame(clip, segmenter):
    """A source reads ahead while the model compiles; that wait is start-up, not capture->sink latency."""
    source = open_source(str(clip))
    time.sleep(4.0)  # stands for the model's compile time after the source was opened
    stats = Pipeline(source, segmenter, Compositor([ColorBackground("white")]), [RecordingSink()],
                     PipelineOptions(progress=False, max_frames=5, overlay=False)).run()
    _, p95 = stats.latency.percentiles("capture->sink")
    assert p95 < 4000, p95  # before the fix every frame carried the 4 s start-up wait
