"""A still image as a source: once in file mode, repeated at a frame rate for a live preview."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

from ...errors import VbgError
from ..frames import VideoInfo
from ..imageio import read_image
from .base import FrameSource
from .buffer import Pacer


class ImageSource(FrameSource):
    """A still image.  File mode yields it once; with ``loop`` or ``latest_only`` it repeats at ``fps`` in
    wall-clock time, a live preview of a photo.  Each repeat is a copy, so consumers may draw on frames."""

    def __init__(self, path: str | Path, *, loop: bool = False, latest_only: bool = False,
                 fps: float = 30.0) -> None:
        if not fps or fps <= 0:
            raise VbgError(f"invalid frame rate {fps} for image {str(path)!r}: use a positive --camera-fps")
        self.image = read_image(path)
        super().__init__(latest_only=latest_only)
        self.repeat = loop or latest_only
        self._time_base = 1 / Fraction(fps).limit_denominator(1001)
        height, width = self.image.shape[:2]
        self.info = VideoInfo(width=width, height=height, fps=float(fps), time_base=self._time_base,
                              frame_count=None if self.repeat else 1, has_audio=False, source=str(path),
                              live=latest_only)
        self._start()

    def _produce(self) -> None:
        if not self.repeat:
            self._emit(self.image.copy(), 0, self._time_base)
            return
        pacer = Pacer(self._buffer, self.info.fps)
        index = 0
        while pacer.wait(float(index * self._time_base)):
            if not self._emit(self.image.copy(), index, self._time_base):
                return
            index += 1
