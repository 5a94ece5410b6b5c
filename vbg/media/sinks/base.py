"""The sink life cycle every output follows, and the pixel helpers the sinks share."""

from __future__ import annotations

import queue
from abc import ABC, abstractmethod
from types import TracebackType

import numpy as np

from ..frames import Frame, VideoInfo


class FrameSink(ABC):
    """Where composited frames go: ``open`` once, ``write`` per frame, ``close`` once (idempotent).

    Subclasses implement ``open`` and ``write`` and put their clean-up in ``_release``, which ``close`` calls
    at most once, so a sink closed by both the pipeline and a ``with`` block finalises its output once.
    """

    name: str = "sink"
    #: True for sinks that must keep receiving frames to stay responsive (the window reads keys only when
    #: it draws); the pipeline re-sends the last picture to them while paused.
    interactive: bool = False
    #: the sink's key channel: names of keys the user pressed ("q", "space", ...), None for sinks without a
    #: keyboard; the pipeline's ``Controls`` read it
    keys: queue.Queue[str] | None = None
    #: who watches this output (a ``ReaderWatch``, for a virtual camera): None = it always wants frames (files,
    #: windows); a live run whose every output is watched this way idles while nobody watches
    readers = None

    def __init__(self) -> None:
        self.frames_written = 0
        self._closed = False

    def check(self) -> None:
        """Raise VbgError for what can be told before the model is built (no display, no virtual camera), so
        such a run fails in a moment rather than after the model is timed and compiled.  ``open`` still checks
        everything."""

    @abstractmethod
    def open(self, info: VideoInfo) -> None:
        """Allocate the output for ``info``; raise VbgError for bad settings before any frame is written."""

    @abstractmethod
    def write(self, frame: Frame, image: np.ndarray) -> None:
        """Output ``image`` (the composited picture for the source ``frame``)."""

    def close(self) -> None:
        """Finalise the output.  Safe to call twice, before ``open``, and after an error or Ctrl-C."""
        if self._closed:
            return
        self._closed = True
        self._release()

    def _release(self) -> None:
        """Free what ``open`` allocated (called at most once, by ``close``)."""

    def abandon(self) -> None:
        """The job failed: ``close`` must not leave a half-finished output behind (files remove theirs)."""

    @property
    def closed(self) -> bool:
        return self._closed

    def __enter__(self) -> FrameSink:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def drop_alpha(image: np.ndarray) -> np.ndarray:
    """BGRA -> BGR composed over black (for outputs that cannot carry transparency); BGR is returned as is."""
    if image.ndim == 3 and image.shape[2] == 3:
        return image
    import cv2

    alpha = cv2.cvtColor(np.ascontiguousarray(image[..., 3]), cv2.COLOR_GRAY2BGR)
    return cv2.multiply(np.ascontiguousarray(image[..., :3]), alpha, scale=1 / 255)


def over_checkerboard(image: np.ndarray, cell: int = 16) -> np.ndarray:
    """BGRA -> BGR over a grey checkerboard, the usual way to make transparency visible on screen."""
    if image.ndim == 3 and image.shape[2] == 3:
        return image
    h, w = image.shape[:2]
    yy, xx = np.indices((h, w)) // cell
    board = np.where((yy + xx) % 2 == 0, 200, 140).astype(np.float32)[..., None]
    alpha = image[..., 3:4].astype(np.float32) / 255
    out = image[..., :3].astype(np.float32) * alpha + board * (1 - alpha)
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def fit_frame(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """Resize a picture that does not match the output size (a source that changed resolution mid-stream)."""
    if image.shape[1] == width and image.shape[0] == height:
        return image
    import cv2

    return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)


class NullSink(FrameSink):
    """Discards frames and counts them: measures the pipeline without encoding or display costs."""

    name = "null"

    def open(self, info: VideoInfo) -> None:
        self.info = info

    def write(self, frame: Frame, image: np.ndarray) -> None:
        self.frames_written += 1


# ---------------------------------------------------------------------------------------------------------------
# Video files
# ---------------------------------------------------------------------------------------------------------------
