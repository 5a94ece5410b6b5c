"""Helpers several test modules share (test modules never import each other)."""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import av
import cv2
import numpy as np
from conftest import REFERENCE, REPO, SAMPLES
from media import mux_tone

from vbg.media.sinks import FrameSink


class RecordingSink(FrameSink):
    """Keeps what it is sent (index, capture time, arrival time, a copy of the picture)."""

    name = "record"

    def __init__(self, delay: float = 0.0, keep_images: bool = False) -> None:
        super().__init__()
        self.delay, self.keep_images = delay, keep_images
        self.records: list[tuple[int, float, float]] = []
        self.images: list[np.ndarray] = []

    def open(self, info) -> None:
        self.info = info

    def write(self, frame, image) -> None:
        self.records.append((frame.index, frame.captured_at, time.perf_counter()))
        if self.keep_images:
            self.images.append(image.copy())
        if self.delay:
            time.sleep(self.delay)
        self.frames_written += 1


def reference_pairs():
    images = sorted((REFERENCE / "images").iterdir())
    assert len(images) == 18, "reference set incomplete"
    for path in images:
        mask = cv2.imread(str(REFERENCE / "masks" / (path.stem + ".png")), cv2.IMREAD_GRAYSCALE)
        yield path.stem, cv2.imread(str(path), cv2.IMREAD_COLOR), mask


def mean_abs_error(segmenter) -> float:
    errors = []
    for _, image, mask in reference_pairs():
        alpha = segmenter.segment(image)
        assert alpha.shape == mask.shape and alpha.dtype == np.uint8
        errors.append(np.abs(alpha.astype(np.float32) - mask).mean() / 255)
    return float(np.mean(errors))


def person_clip(path: Path, frames: int, size: tuple[int, int] = (320, 180), fps: int = 30) -> Path:
    """The sample clip's first frames (looped when more are asked for), shrunk, with a 440 Hz AAC tone."""
    pictures = []
    with av.open(str(SAMPLES / "person_720p.mp4")) as src:
        for frame in src.decode(video=0):
            pictures.append(cv2.resize(frame.to_ndarray(format="bgr24"), size, interpolation=cv2.INTER_AREA))
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = *size, "yuv420p"
        video.options = {"preset": "ultrafast"}
        audio = out.add_stream("aac", rate=48000)
        audio.layout = "mono"
        for i in range(frames):
            out.mux(video.encode(av.VideoFrame.from_ndarray(pictures[i % len(pictures)], format="bgr24")))
        out.mux(video.encode(None))
        mux_tone(out, audio, frames / fps)
    return path


def jumping_square(index: int, size: tuple[int, int] = (320, 180)) -> np.ndarray:
    """Frame ``index`` of a white 80x80 square on grey that jumps 110 px each frame (3 places, no overlap): a
    mask one frame old misses the square completely, so a picture shows whether it got its own mask."""
    image = np.full((size[1], size[0], 3), 48, np.uint8)
    left = square_left(index)
    image[50:130, left:left + 80] = 255
    return image


def square_left(index: int) -> int:
    return 10 + (index % 3) * 110


def square_clip(path: Path, frames: int, fps: int = 10) -> Path:
    """``jumping_square`` frames as H.264 (``frames`` a multiple of 3, so a looped clip keeps the pattern)."""
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = 320, 180, "yuv420p"
        video.options = {"preset": "ultrafast", "crf": "12"}
        for i in range(frames):
            out.mux(video.encode(av.VideoFrame.from_ndarray(jumping_square(i), format="bgr24")))
        out.mux(video.encode(None))
    return path


def display_env(display: str | None) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    if display:
        env["DISPLAY"] = display
    return env


def screenshot(display: str) -> np.ndarray:
    """The whole X screen as BGR, taken by ImageMagick's ``import`` in a separate process (PyAV's in-process
    x11grab crashed the test process with a segfault when run after the other tests)."""
    png = subprocess.run(["import", "-window", "root", "png:-"], env=display_env(display), capture_output=True,
                         check=True).stdout
    return cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)


def wait_for(condition, timeout: float = 5.0, interval: float = 0.01) -> bool:
    """Poll ``condition`` every ``interval`` seconds until it holds or ``timeout`` seconds pass; its last value."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()


SIZE = (320, 180)  # the live test runs' frames (vbg ctl, the control page)
#: a live run of a test pattern with a quick model (vbg ctl's and the control page's tests steer it)
LIVE = ["run", f"lavfi:testsrc2=size={SIZE[0]}x{SIZE[1]}:rate=30", "--live", "--size", "64", "--precision", "fp32",
        "--gate-threshold", "0"]


def fraction_near(images: np.ndarray, bgr) -> np.ndarray:
    """Per frame, the share of pixels within 40 levels of ``bgr`` on every channel."""
    return (np.abs(images.astype(np.int16) - np.array(bgr, np.int16)) < 40).all(axis=3).mean(axis=(1, 2))


def classify(frames: list[np.ndarray]) -> list[str]:
    """Each frame by what fills its background: blue, beach, red, or other (the blurred room)."""
    from vbg.compose.backgrounds import COLOR_NAMES, fit_image
    from vbg.media.imageio import read_image

    images = np.stack(frames)
    beach = fit_image(read_image(SAMPLES / "background_beach.jpg"), *SIZE)
    scores = {"blue": fraction_near(images, COLOR_NAMES["blue"][::-1]),
              "red": fraction_near(images, COLOR_NAMES["red"][::-1]),
              "beach": (np.abs(images.astype(np.int16) - beach).max(axis=3) < 20).mean(axis=(1, 2))}
    names = list(scores)
    table = np.stack([scores[n] for n in names], axis=1)
    return [names[row.argmax()] if row.max() > 0.2 else "other" for row in table]


def runs_of(labels: list[str], shortest: int = 5) -> list[str]:
    """The classes in the order they appear, ignoring runs shorter than ``shortest`` frames (transitions)."""
    runs: list[list] = []
    for label in labels:
        if runs and runs[-1][0] == label:
            runs[-1][1] += 1
        else:
            runs.append([label, 1])
    order = [label for label, count in runs if count >= shortest]
    return [label for i, label in enumerate(order) if i == 0 or order[i - 1] != label]


def solid_picture(bgr: tuple[int, int, int], ext: str = ".png", size: tuple[int, int] = (96, 54)) -> bytes:
    """A one-colour picture, encoded (an upload for the control page)."""
    image = np.zeros((size[1], size[0], 3), np.uint8)
    image[:] = bgr
    return cv2.imencode(ext, image)[1].tobytes()


@contextlib.contextmanager
def panel_run(args: list[str], env: dict, name: str):
    """A live ``vbg run ARGS --name NAME --panel``, quit with vbg ctl at the end of the body: yields the process
    and the control page's address once the run prints it; the run's stderr is left in ``proc.err``."""
    proc = subprocess.Popen([sys.executable, "-m", "vbg", *args, "--name", name, "--panel"], cwd=REPO,
                            env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(proc.stderr.readline, "")), daemon=True)
    reader.start()
    try:
        deadline, url = time.time() + 180, None
        while url is None and proc.poll() is None and time.time() < deadline:
            time.sleep(0.2)
            url = next((re.search(r"http://\S+", line).group(0) for line in lines if "control page: " in line), None)
        assert url, "".join(lines)
        yield proc, url
        quit_run = subprocess.run([sys.executable, "-m", "vbg", "ctl", "--name", name, "quit"], cwd=REPO,
                                  env={**os.environ, **env}, capture_output=True, text=True, timeout=30)
        assert quit_run.returncode == 0, quit_run.stderr
        proc.wait(timeout=30)
    finally:
        proc.kill()
        reader.join(timeout=10)
        proc.err = "".join(lines)
    assert proc.returncode == 0, proc.err
