"""Shared vocabulary of the video side: what a stream is (``VideoInfo``) and what travels through it (``Frame``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

#: Video files vbg reads (calibration, batch folders; backgrounds also take .gif).
VIDEO_EXTENSIONS = (".mp4", ".mkv", ".mov", ".webm", ".avi", ".m4v")
#: The frame rate assumed when a source does not say (still images, some streams).
DEFAULT_FPS = 30.0


@dataclass(frozen=True)
class VideoInfo:
    """Stream facts that sources report and sinks need to write a faithful copy.

    ``fps`` is the nominal rate (what live output is paced to); ``time_base`` and the frames' ``pts`` carry
    the exact timestamps for file output.  ``frame_count`` is None for cameras and live streams.
    """

    width: int
    height: int
    fps: float
    time_base: Fraction = Fraction(1, 30)
    frame_count: int | None = None
    has_audio: bool = False
    source: str = ""
    live: bool = False

    @property
    def size(self) -> tuple[int, int]:
        return self.width, self.height

    @property
    def rate(self) -> float:
        """``fps`` where the source knows it, else 30: what writers and virtual cameras use."""
        return self.fps if self.fps and self.fps > 0 else DEFAULT_FPS


@dataclass
class Frame:
    """One decoded picture and where it sits in time.

    ``index`` counts frames from the source (0, 1, 2… also across loops); ``pts`` is in ``time_base`` units;
    ``captured_at`` is ``time.perf_counter()`` when the source produced it, for latency accounting.
    """

    index: int
    image: np.ndarray  # uint8 HxWx3 BGR
    pts: int | None = None
    time_base: Fraction | None = None
    captured_at: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)
    seq: int = -1  # the pipeline's capture order (set by Pipeline: live sources skip indices, seq does not)
    model: bool = True  # whether the model runs on this frame (the pipeline's change gate may skip it)
    thumb: object | None = None  # the change gate's thumbnail of this frame (vbg.compose.motion.Thumb)
    mask_seq: int = -1  # the seq of the frame whose model run gave this frame's mask (set when it is shown)

    def clock(self, live: bool, fps: float | None) -> float:
        """The output time in seconds (for background videos): the timestamp in files (else index / ``fps``),
        the capture time live (a background video then plays in real time)."""
        if not live and self.seconds is not None:
            return self.seconds
        if not live and fps:
            return self.index / fps
        return self.captured_at

    @property
    def seconds(self) -> float | None:
        """Presentation time in seconds, when known."""
        return None if self.pts is None or self.time_base is None else float(self.pts * self.time_base)
