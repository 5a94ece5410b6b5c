"""Helpers several test modules share (test modules never import each other)."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import av
import cv2
import numpy as np
from conftest import REFERENCE, SAMPLES
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


def wait_for(condition, timeout: float = 5.0) -> bool:
    """Poll ``condition`` until it holds or ``timeout`` seconds pass; its last value."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()
