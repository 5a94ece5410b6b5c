"""Reliability: bad input, faults and interrupts end in one clear line or a clean finish, never a traceback or
a half-written output.

Cases already covered elsewhere are not repeated here: missing files, no video stream, unknown device, corrupt
and wrong-architecture weights, bad config keys and values, a missing output directory (test_pipeline.py,
test_cli_image.py, test_weights.py, test_config.py, test_sources.py), Ctrl-C leaving a playable file
(test_pipeline.py) and a no-network download (test_weights.py).  Everything here is real: the CLI in a
subprocess, real FIFOs, a real full filesystem (or a real file-size limit), real signals, real conversion.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import resource
import shutil
import signal
import subprocess
import sys
import threading
import time
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from conftest import REPO, SAMPLES, assert_clean_error, run_vbg
from media import audio_duration, decode_video, indexed_frame, make_indexed_clip, read_index
from vbg.errors import VbgError

SMALL = ("--size", "192", "--precision", "bf16", "--resize", "fast")  # the quickest model: these test plumbing


@pytest.fixture(scope="module")
def env(model_cache, weights_path):
    env = {"VBG_CACHE_DIR": str(model_cache), "VBG_WEIGHTS_DIR": str(weights_path.parent)}
    # the model these tests run, prepared first: they check the one error line, not the first-use notice
    proc = run_vbg("convert", *SMALL, env=env)
    assert proc.returncode == 0, proc.stderr
    return env


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    """2 s, 320x240, 30 fps, frames that carry their index, 2 s of audio."""
    return make_indexed_clip(tmp_path_factory.mktemp("rel") / "clip.mp4", 60, 320, 240, audio_seconds=2.0)


def summary_frames_out(stderr: str) -> int:
    match = re.search(r"frames: (\d+) read, (\d+) written", stderr)
    assert match, stderr
    return int(match.group(2))


def no_outputs(folder: Path, stem: str = "o") -> bool:
    return not list(folder.glob(f"{stem}.*")) and not list(folder.glob(f".{stem}.partial*"))


# -- bad input: each one line, exit 2, nothing written --------------------------------------------------------
def _zero_bytes(tmp: Path) -> Path:
    (tmp / "empty.mp4").write_bytes(b"")
    return tmp / "empty.mp4"


def _truncated_mp4(tmp: Path) -> Path:
    full = make_indexed_clip(tmp / "full.mp4", 30, 320, 240)  # PyAV writes the index (moov) at the end
    data = full.read_bytes()
    (tmp / "cut.mp4").write_bytes(data[: len(data) // 2])
    return tmp / "cut.mp4"


def _random_bytes(tmp: Path) -> Path:
    (tmp / "noise.mkv").write_bytes(random.Random(1).randbytes(200_000))
    return tmp / "noise.mkv"


def _corrupt_middle(tmp: Path) -> Path:
    """An intact header, garbage in the middle: decoding fails part-way, after frames were written."""
    path = tmp / "damaged.mp4"
    mpeg4_clip(path, 60)
    data = bytearray(path.read_bytes())
    data[len(data) // 2: len(data) // 2 + 8000] = random.Random(7).randbytes(8000)
    path.write_bytes(bytes(data))
    return path


def _garbage_png(tmp: Path) -> Path:
    (tmp / "bg.png").write_bytes(b"\x89PNG\r\n\x1a\n" + random.Random(2).randbytes(3000))
    return tmp / "bg.png"


@pytest.mark.parametrize("make_input, extra, fragments", [
    (_zero_bytes, [], ["empty.mp4", "not a video"]),
    (_truncated_mp4, [], ["cut.mp4", "not a video", "convert it to MP4"]),
    (_random_bytes, [], ["noise.mkv", "not a video"]),
    (_corrupt_middle, [], ["damaged.mp4", "truncated or corrupt"]),
    (None, ["--background", "{bg}"], ["background ", "bg.png cannot be read", "give --background a picture"]),
    (None, ["--background", "{bg}.mp4"], ["background ", "bg.png.mp4 does not exist", "give --background the path"]),
    (None, ["--model", "u2net_tiny"], ["invalid choice: 'u2net_tiny'", "see vbg run --help"]),
], ids=["zero-byte", "truncated-mp4", "random-bytes", "corrupt-middle", "unreadable-background",
        "missing-background-video", "unknown-model"])
def test_bad_input_is_one_line_and_leaves_no_output(tmp_path, env, clip, make_input, extra, fragments):
    source = make_input(tmp_path) if make_input else clip
    args = [a.format(bg=_garbage_png(tmp_path)) if "{bg}" in a else a for a in extra]
    background = [] if "--background" in args else ["--blur"]
    proc = run_vbg("run", str(source), "-o", str(tmp_path / "o.mp4"), *background, *args, *SMALL, "--no-progress",
                   env=env)
    assert_clean_error(proc, *fragments)
    assert proc.returncode == 2
    assert no_outputs(tmp_path)


def test_a_video_given_to_the_image_command(tmp_path, env, clip):
    proc = run_vbg("image", str(clip), "-o", str(tmp_path / "o.png"), "--blur", *SMALL, env=env)
    assert_clean_error(proc, "is a video, not an image", "use vbg run")  # what to do instead
    assert no_outputs(tmp_path)


def test_output_path_equal_to_the_input(tmp_path, env, clip):
    copy = shutil.copy(clip, tmp_path / "talk.mp4")
    before = Path(copy).read_bytes()
    proc = run_vbg("run", str(copy), "-o", str(tmp_path / "." / "talk.mp4"), "--blur", *SMALL, env=env)
    assert_clean_error(proc, "is the input file", "choose another output name")
    assert Path(copy).read_bytes() == before


@contextlib.contextmanager
def read_only_dir(tmp_path: Path):
    """A directory nobody may write to: a read-only tmpfs as root (permissions do not stop root), else mode 555."""
    folder = tmp_path / "readonly"
    folder.mkdir()
    if os.geteuid() == 0:
        if subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(folder)],
                          capture_output=True).returncode != 0:
            pytest.skip("running as root without permission to mount a read-only tmpfs")
        try:
            yield folder
        finally:
            subprocess.run(["umount", str(folder)], check=False)
    else:
        folder.chmod(0o555)
        try:
            yield folder
        finally:
            folder.chmod(0o755)


def test_unwritable_output_directory_fails_before_any_work(tmp_path, env, clip):
    with read_only_dir(tmp_path) as folder:
        proc = run_vbg("run", str(clip), "-o", str(folder / "o.mp4"), "--blur", *SMALL, env=env)
        assert_clean_error(proc, "is not writable", "choose another output directory")
        assert not list(folder.iterdir())


# -- odd but valid input: processed, not rejected -----------------------------------------------------------
@pytest.mark.parametrize("width, height", [(1, 1), (33, 17)])
def test_tiny_and_odd_sized_images_run_as_one_frame_videos(tmp_path, env, width, height):
    image = tmp_path / "odd.png"
    cv2.imwrite(str(image), np.random.default_rng(0).integers(0, 255, (height, width, 3), np.uint8))
    out = tmp_path / "odd.mp4"
    proc = run_vbg("run", str(image), "-o", str(out), "--blur", *SMALL, "--no-progress", env=env)
    assert proc.returncode == 0, proc.stderr
    frames, _, _ = decode_video(out)
    # 4:2:0 needs even sizes: padded by one replicated row/column, never cropped
    assert len(frames) == 1 and frames[0].shape[:2] == (height + height % 2, width + width % 2)


def test_8k_image_is_segmented_at_full_size(tmp_path, env):
    image = np.zeros((4320, 7680, 3), np.uint8)
    image[:, :] = (40, 160, 40)  # green room
    cv2.circle(image, (3840, 2160), 1400, (200, 180, 170), -1)  # a big bright subject in the middle
    path = tmp_path / "8k.png"
    cv2.imwrite(str(path), image)
    proc = run_vbg("image", str(path), "-o", str(tmp_path / "out.png"), "--color", "#0000ff",
                   "--mask-out", str(tmp_path / "mask.png"), *SMALL, env=env)
    assert proc.returncode == 0, proc.stderr
    mask = cv2.imread(str(tmp_path / "mask.png"), cv2.IMREAD_GRAYSCALE)
    assert mask.shape == (4320, 7680)
    assert mask[2160, 3840] > mask[200, 200]  # subject above the corner of the room


# -- faults: a live source that disappears -----------------------------------------------------------------
def mpeg4_clip(path: Path, frames: int, start: int = 0) -> bytes:
    """Indexed 320x240 frames in MPEG-4 part 2 (a .nut file is streamable, like a camera pipe)."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream("mpeg4", rate=30)
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        stream.options = {"qscale": "3"}
        for i in range(start, start + frames):
            for packet in stream.encode(av.VideoFrame.from_ndarray(indexed_frame(i, 320, 240), format="bgr24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path.read_bytes()


class FifoCamera:
    """A FIFO fed by writer threads that each send a stream and then die, like a camera process that crashes."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / "camera.fifo"
        os.mkfifo(self.path)
        self.writers: list[threading.Thread] = []

    def feed(self, data: bytes, after: threading.Event | None = None) -> None:
        def write() -> None:
            if after is not None:
                after.wait(30)
                time.sleep(0.2)  # the camera process restarts: the reader has seen the end of the old stream
            with contextlib.suppress(BrokenPipeError), open(self.path, "wb") as pipe:
                pipe.write(data)

        thread = threading.Thread(target=write, daemon=True)
        thread.start()
        self.writers.append(thread)

    def release(self) -> None:
        """Unblock a writer still waiting for a reader."""
        for thread in self.writers:
            if thread.is_alive():
                with contextlib.suppress(OSError):
                    os.close(os.open(self.path, os.O_RDONLY | os.O_NONBLOCK))
            thread.join(5)


def test_lost_fifo_camera_is_reopened_when_its_writer_comes_back(tmp_path):
    from vbg.media.sources import open_source

    camera = FifoCamera(tmp_path)
    first_done = threading.Event()
    camera.feed(mpeg4_clip(tmp_path / "a.nut", 20))
    camera.feed(mpeg4_clip(tmp_path / "b.nut", 20, start=20), after=first_done)
    try:
        source = open_source(str(camera.path), live=True, reconnect=3)
        frames = []
        for frame in source:
            frames.append(frame)
            if read_index(frame.image) == 19:
                first_done.set()  # the first stream is over: its writer is gone, a new one starts
        source.close()
    finally:
        first_done.set()
        camera.release()
    indices = [read_index(f.image) for f in frames]
    assert source.reconnections == 1
    assert indices[-1] == 39 and any(i < 20 for i in indices) and any(i >= 20 for i in indices)
    pts = [f.pts for f in frames]
    assert all(b > a for a, b in zip(pts, pts[1:]))  # one continuous stream across the reconnect
    assert source.lost and "3 reconnect attempts failed" in source.lost  # then it stayed away


def test_files_and_generators_are_never_reconnected(clip):
    from vbg.media.sources import open_source

    for spec in (str(clip), "lavfi:testsrc2=size=64x64:rate=30:duration=0.2"):
        source = open_source(spec, live=True)
        assert not source.can_reconnect
        list(source)
        assert source.lost is None


def test_camera_lost_mid_stream_saves_what_was_processed_and_exits_3(tmp_path, env):
    camera = FifoCamera(tmp_path)
    camera.feed(mpeg4_clip(tmp_path / "a.nut", 60))
    out = tmp_path / "call.mp4"
    try:
        proc = run_vbg("run", str(camera.path), "--live", "--reconnect", "2", "-o", str(out), "--blur", *SMALL,
                       env=env, timeout=120)
    finally:
        camera.release()
    assert proc.returncode == 3, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "source lost:" in proc.stderr and "2 reconnect attempts failed" in proc.stderr
    frames, _, _ = decode_video(out)
    assert len(frames) == summary_frames_out(proc.stderr) > 0
    assert not list(tmp_path.glob(".call.partial*"))


# -- faults: the model cache -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def ir_cache(tmp_path_factory, weights_path):
    """A cache with one small IR (96x96 fp32), built once; tests damage copies of it."""
    from vbg.model.convert import InputSize, build_ir
    from vbg.model.weights import MODELS

    cache = tmp_path_factory.mktemp("ir-cache")
    build_ir(MODELS["u2net_lite"], weights_path, InputSize(96, 96), "fp32", "fast", cache)
    return cache


def _truncate_bin(folder: Path) -> None:
    data = (folder / "model.bin").read_bytes()
    (folder / "model.bin").write_bytes(data[: len(data) // 2])


def _garbage_xml(folder: Path) -> None:
    (folder / "model.xml").write_text("<net><layers>garbage")


def _missing_bin(folder: Path) -> None:
    (folder / "model.bin").unlink()


def _garbage_that_passes_checksums(folder: Path) -> None:
    """A broken XML whose recorded checksum matches: OpenVINO itself rejects it, and that is caught too."""
    from vbg.model.weights import file_sha256

    _garbage_xml(folder)
    meta = json.loads((folder / "meta.json").read_text())
    meta["files"]["model.xml"] = {"size": (folder / "model.xml").stat().st_size,
                                  "sha256": file_sha256(folder / "model.xml")}
    (folder / "meta.json").write_text(json.dumps(meta))


@pytest.mark.parametrize("damage, reason", [
    (_truncate_bin, "model.bin has the wrong size"),
    (_garbage_xml, "model.xml has the wrong size"),
    (_missing_bin, "model.bin is missing"),
    (_garbage_that_passes_checksums, "could not be loaded"),
])
def test_damaged_cached_ir_is_rebuilt_with_a_notice(tmp_path, ir_cache, weights_path, capfd, damage, reason):
    from vbg.model.segmenter import Segmenter

    cache = Path(shutil.copytree(ir_cache, tmp_path / "cache"))
    (folder,) = (cache / "ir").glob("u2net_lite-96x96-*")
    damage(folder)
    frame = cv2.imread(str(SAMPLES / "person.jpg"))
    seg = Segmenter(model="u2net_lite", weights=str(weights_path), cache_dir=str(cache), size=96, precision="fp32",
                    resize="fast")
    notices = [line for line in capfd.readouterr().err.splitlines() if line.startswith("vbg:")]
    assert len(notices) == 1 and reason in notices[0] and "rebuilding it" in notices[0], notices
    reference = Segmenter(model="u2net_lite", weights=str(weights_path), cache_dir=str(ir_cache), size=96,
                          precision="fp32",
                          resize="fast")
    assert np.array_equal(seg.infer(frame), reference.infer(frame))  # the rebuilt model is the same model
    from vbg.model.ircache import ir_problem

    assert ir_problem(folder) is None


@pytest.mark.parametrize("damage", ["truncated", "garbage"])
def test_a_damaged_compiled_model_blob_is_compiled_again(tmp_path, ir_cache, weights_path, damage):
    """OpenVINO's compiled-model cache (``<cache>/compiled``) makes a second start load a blob; a damaged blob
    must not stop a run: the model is compiled again and segments like a fresh one."""
    from vbg.model.segmenter import COMPILED_CACHE, Segmenter

    cache = Path(shutil.copytree(ir_cache, tmp_path / "cache"))
    shutil.rmtree(cache / COMPILED_CACHE, ignore_errors=True)  # other tests' blobs: only this model's counts here
    settings = dict(model="u2net_lite", weights=str(weights_path), cache_dir=str(cache), size=96, precision="fp32",
                    resize="fast")
    frame = cv2.imread(str(SAMPLES / "person.jpg"))
    expected = Segmenter(**settings).infer(frame)
    (blob,) = (cache / COMPILED_CACHE).glob("*.blob")
    blob.chmod(0o600)
    blob.write_bytes(blob.read_bytes()[:len(blob.read_bytes()) // 3] if damage == "truncated" else b"garbage")
    assert np.array_equal(Segmenter(**settings).infer(frame), expected)


def _convert_cmd(cache: Path, weights: Path) -> list[str]:
    return [sys.executable, "-m", "vbg", "convert", "--model", "u2net_lite", "--size", "96", "--precision", "fp32", "--resize", "fast",
            "--cache-dir", str(cache), "--weights", str(weights)]


def test_two_processes_converting_the_same_model_share_the_cache(tmp_path, weights_path):
    from vbg.model.ircache import ir_problem

    cache = tmp_path / "cache"
    procs = [subprocess.Popen(_convert_cmd(cache, weights_path), cwd=REPO, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], results
    entries = sorted(p for p in (cache / "ir").iterdir() if not p.name.endswith(".lock"))
    # the backbone and the 96x96 entry made from it, each once and intact, no temp leftovers
    assert [p.name.split("-")[1] for p in entries] == ["96x96", "backbone"], entries
    assert all(ir_problem(p) is None for p in entries)
    assert sum(err.count("converting it to OpenVINO once") for _, err in results) == 1, results
    assert all("damaged" not in err for _, err in results)


def test_a_second_conversion_waits_for_the_holder_and_reuses_its_ir(tmp_path, ir_cache, weights_path):
    """The test plays the first process: it holds the entry's lock, the real second process says it waits;
    the test then puts a finished IR in place and releases the lock; the second process must reuse that IR
    (same files, not rebuilt) instead of converting again."""
    from filelock import FileLock

    from vbg.model.ircache import ir_problem

    (built,) = (ir_cache / "ir").glob("u2net_lite-96x96-*")
    (backbone,) = (ir_cache / "ir").glob("u2net_lite-backbone-fp32-*")
    cache = tmp_path / "cache"
    (cache / "ir").mkdir(parents=True)
    shutil.copytree(backbone, cache / "ir" / backbone.name)  # converted once already: the size entry is the one
    with FileLock(cache / "ir" / f".{built.name}.lock"):
        proc = subprocess.Popen(_convert_cmd(cache, weights_path), cwd=REPO, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        first_line = proc.stderr.readline()  # blocks until the process reaches the lock
        assert "another vbg is converting" in first_line and "waiting for it" in first_line, first_line
        entry = Path(shutil.copytree(built, cache / "ir" / built.name))  # the holder's finished conversion
        inode = (entry / "model.bin").stat().st_ino
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert (entry / "model.bin").stat().st_ino == inode and ir_problem(entry) is None  # reused, not replaced
    assert not list((cache / "ir").glob(".convert-*"))


# -- faults: an interrupted weights download ----------------------------------------------------------------
def test_interrupted_download_leaves_no_partial_file(tmp_path, monkeypatch, weights_path):
    """gdown is stopped half-way (as by Ctrl-C) after writing half of the file, and its own resumable
    ``*.part`` file, exactly where it writes them; the real download_weights must clean both up."""
    import gdown

    from vbg.model.weights import MODELS, resolve_weights

    half = weights_path.read_bytes()[: weights_path.stat().st_size // 2]
    calls = []

    def interrupted_download(*, id, output, quiet):  # noqa: A002 - gdown's keyword
        calls.append(id)
        Path(output).write_bytes(half)
        Path(f"{output}abcd1234.part").write_bytes(half)  # gdown's partial-file naming
        raise KeyboardInterrupt

    monkeypatch.delenv("VBG_WEIGHTS_DIR", raising=False)
    monkeypatch.setattr(gdown, "download", interrupted_download)
    with pytest.raises(KeyboardInterrupt):
        resolve_weights(MODELS["u2net_lite"], cache=tmp_path)
    assert len(calls) == 1
    assert list((tmp_path / "weights").iterdir()) == []


# -- faults: sinks that fail --------------------------------------------------------------------------------
@contextlib.contextmanager
def small_disk(tmp_path: Path):
    """(directory, preexec_fn) where writing more than ~2 MB fails: a 2 MB tmpfs when we may mount one,
    otherwise a 2 MB file-size limit (RLIMIT_FSIZE, SIGXFSZ ignored so the write fails with EFBIG)."""
    folder = tmp_path / "small"
    folder.mkdir()
    mounted = os.geteuid() == 0 and subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(folder)], capture_output=True).returncode == 0

    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (2 << 20, 2 << 20))

    try:
        yield folder, (None if mounted else limit)
    finally:
        if mounted:
            subprocess.run(["umount", str(folder)], check=False)


def test_disk_full_stops_cleanly_with_one_line_and_no_partial_file(tmp_path, env):
    # lossless 720p test pattern: several MB within the first second
    with small_disk(tmp_path) as (folder, preexec):
        proc = subprocess.run([sys.executable, "-m", "vbg", "run", "lavfi:testsrc2=size=1280x720:rate=30:duration=10",
                               "-o", str(folder / "o.mp4"), "--blur", "--crf", "0", "--preset", "ultrafast",
                               *SMALL, "--no-progress"], capture_output=True, text=True, cwd=REPO,
                              env={**os.environ, **env}, preexec_fn=preexec, timeout=300)
        assert_clean_error(proc, "disk full writing", "o.mp4", "free space or choose another output")
        assert list(folder.iterdir()) == []  # the unfinished file was removed


def test_virtual_camera_closing_mid_run_stops_the_run_and_reports_it(tmp_path, make_segmenter, monkeypatch):
    from pyvirtualcam.camera import BACKENDS

    from vbg.compose.backgrounds import ColorBackground

    from vbg.compose.compositing import Compositor
    from vbg.pipeline.core import Pipeline, PipelineOptions
    from vbg.media.sinks import FileSink, VirtualCameraSink
    from vbg.media.sources import open_source

    class ClosingCamera:
        """A pyvirtualcam backend whose device goes away after 10 frames (the app holding it quit)."""

        sent = 0

        def __init__(self, **settings):
            pass

        def send(self, frame):
            if ClosingCamera.sent == 10:
                raise RuntimeError("device /dev/video9 was closed")
            ClosingCamera.sent += 1

        def close(self):
            pass

        def device(self):
            return "/dev/video9"

        def native_fourcc(self):
            return None

    monkeypatch.setitem(BACKENDS, "vbg-closing", ClosingCamera)
    out = tmp_path / "o.mp4"
    source = open_source("lavfi:testsrc2=size=320x240:rate=30:duration=20")
    pipeline = Pipeline(source, make_segmenter(size="192", precision="bf16", resize="fast"),
                        Compositor([ColorBackground("green")]),
                        [VirtualCameraSink(backend="vbg-closing"), FileSink(out)],
                        PipelineOptions(progress=False, overlay=False))
    with pytest.raises(VbgError) as excinfo:
        pipeline.run()
    message = str(excinfo.value)
    assert "virtual camera /dev/video9 stopped accepting frames" in message and "\n" not in message
    assert ClosingCamera.sent == 10 and pipeline.stats.frames_out < 600  # stopped, not run to the end
    assert not source.running and no_outputs(tmp_path)  # a failed job leaves no half-written file


# -- interrupts --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("signum, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["SIGINT", "SIGTERM"])
def test_signal_finishes_decoded_frames_and_reports_what_the_file_holds(tmp_path, env, signum, code):
    clip = make_indexed_clip(tmp_path / "long.mp4", 900, 320, 240, audio_seconds=30.0)
    out = tmp_path / "cut.mp4"
    proc = subprocess.Popen([sys.executable, "-m", "vbg", "run", str(clip), "-o", str(out), "--blur",
                             "--no-overlay", *SMALL, "--no-progress"], cwd=REPO, env={**os.environ, **env},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    partial = tmp_path / ".cut.partial.mp4"
    deadline = time.time() + 120
    while time.time() < deadline and not (partial.exists() and partial.stat().st_size > 20_000):
        time.sleep(0.1)
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    assert "Traceback" not in err
    frames, _, _ = decode_video(out)
    assert 0 < len(frames) < 900
    assert len(frames) == summary_frames_out(err)  # the summary tells the truth about the file
    assert [read_index(f) for f in frames] == list(range(len(frames)))
    in_count = int(re.search(r"frames: (\d+) read", err).group(1))
    assert in_count == len(frames)  # every frame taken from the decoder was finished, none thrown away
    assert audio_duration(out) == pytest.approx(len(frames) / 30, abs=0.15)  # audio trimmed to the video


# -- timing and orientation metadata -----------------------------------------------------------------------
def test_variable_frame_rate_input_keeps_its_timestamps(tmp_path, make_segmenter):
    from vbg.compose.backgrounds import BlurBackground
    from vbg.compose.compositing import Compositor
    from vbg.pipeline.core import Pipeline, PipelineOptions
    from vbg.media.sinks import FileSink
    from vbg.media.sources import open_source

    rng = random.Random(3)
    pts, t = [], 0
    for _ in range(40):
        pts.append(t)
        t += rng.choice([20, 33, 33, 50, 100, 250])  # ms: 4 to 50 fps, as a phone or a screen recorder does
    vfr = tmp_path / "vfr.mkv"
    with av.open(str(vfr), "w") as out:
        stream = out.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        stream.time_base = stream.codec_context.time_base = Fraction(1, 1000)  # else x264 snaps to 1/30 s
        stream.options = {"preset": "ultrafast"}
        for i, p in enumerate(pts):
            frame = av.VideoFrame.from_ndarray(indexed_frame(i, 320, 240), format="bgr24")
            frame.pts, frame.time_base = p, Fraction(1, 1000)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    _, times_in, _ = decode_video(vfr)
    assert times_in == pytest.approx([p / 1000 for p in pts])
    result = tmp_path / "out.mp4"
    Pipeline(open_source(str(vfr)), make_segmenter(size="192", precision="bf16", resize="fast"),
             Compositor([BlurBackground(9)]), [FileSink(result)], PipelineOptions(progress=False, overlay=False)).run()
    frames, times_out, _ = decode_video(result)
    assert [read_index(f) for f in frames] == list(range(40))
    assert times_out == pytest.approx(times_in, abs=1e-6)


@pytest.mark.parametrize("rotation, turn", [(90, np.rot90), (-90, lambda a: np.rot90(a, -1)),
                                            (180, lambda a: np.rot90(a, 2))])
def test_rotation_metadata_is_honoured_by_turning_frames_upright(tmp_path, make_segmenter, rotation, turn):
    """A phone's portrait clip is stored as landscape with a display matrix; vbg turns the frames upright
    (as players do) and writes them upright, so the output needs no rotation flag."""
    from vbg.compose.backgrounds import ColorBackground
    from vbg.compose.compositing import Compositor
    from vbg.pipeline.core import Pipeline, PipelineOptions
    from vbg.media.sinks import FileSink
    from vbg.media.sources import open_source

    clip = tmp_path / "phone.mp4"
    stored = [indexed_frame(i, 320, 240) for i in range(6)]
    stored = [cv2.rectangle(f.copy(), (0, 0), (60, 30), (0, 0, 255), -1) for f in stored]  # a red corner mark
    with av.open(str(clip), "w") as out:
        stream = out.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv444p"
        stream.options = {"preset": "ultrafast", "crf": "10"}
        stream.set_display_rotation(rotation)
        for image in stored:
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="bgr24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    expected = [turn(f) for f in stored]
    source = open_source(str(clip))
    assert (source.info.height, source.info.width) == expected[0].shape[:2]
    upright = [f.image for f in source]
    assert len(upright) == 6
    for got, want in zip(upright, expected):
        assert got.shape == want.shape and np.abs(got.astype(int) - want).mean() < 4
    result = tmp_path / "upright.mp4"
    Pipeline(open_source(str(clip)), make_segmenter(size="192", precision="bf16", resize="fast"),
             Compositor([ColorBackground("black")]), [FileSink(result)],
             PipelineOptions(progress=False, overlay=False)).run()
    with av.open(str(result)) as container:
        decoded = list(container.decode(video=0))
    assert len(decoded) == 6 and all(f.rotation == 0 for f in decoded)  # no rotation flag in the output
    assert all((f.height, f.width) == expected[0].shape[:2] for f in decoded)


def test_a_forked_helper_that_is_sent_sigterm_dies_quietly():
    # OpenVINO's telemetry sends from a forked process and SIGTERMs it after a timeout when offline; that
    # child inherits vbg's SIGTERM handler and used to print a `Terminated` traceback on vbg's stderr
    script = (
        "import os, signal, sys, time\n"
        "from vbg.cli import main as m\n"
        "signal.signal(signal.SIGTERM, m._terminate)\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    time.sleep(30); os._exit(0)\n"
        "time.sleep(0.5); os.kill(pid, signal.SIGTERM)\n"
        "_, status = os.waitpid(pid, 0)\n"
        "print(os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGTERM)\n")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert proc.stdout.strip() == "True" and proc.stderr == "", proc.stderr
