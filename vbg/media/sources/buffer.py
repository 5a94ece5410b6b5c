"""Delivery policies between a capture thread and its consumer: a bounded queue (files) or the newest frame
(live), and pacing to the source's rate."""

from __future__ import annotations

import threading
import time
from collections import deque

from ..frames import Frame

QUEUE_FRAMES = 8  # file mode: frames decoded ahead of the consumer (memory bound: 8 x one frame)
LIVE_MAX_LAG = 1.0  # live pacing: a stall longer than this (e.g. a suspended process) restarts the schedule


class FrameBuffer:
    """The hand-off between one producer thread and ``read()``; its policy is the file/live contract.

    One class for every threaded source, so that backpressure, dropping and shutdown behave identically
    whether frames come from a decoder, a camera or a still image.
    """

    def __init__(self, latest_only: bool, capacity: int = QUEUE_FRAMES) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1, got {capacity}")
        self.latest_only = latest_only
        self.capacity = 1 if latest_only else capacity
        self.dropped = 0  # live mode: frames replaced before anyone read them
        self._frames: deque[Frame] = deque()
        self._cond = threading.Condition()
        self._closed = threading.Event()
        self._ended = False
        self._error: BaseException | None = None
        #: who wants the frames (``FrameSource.serve_on_demand``): while ``demand.watched`` is false, producers
        #: hold (``wait_wanted``); None: frames are always wanted
        self.demand = None
        self.idle_seconds = 0.0  # time producers held because nobody wanted frames

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    def __len__(self) -> int:
        """Frames waiting to be read."""
        with self._cond:
            return len(self._frames)

    def put(self, frame: Frame) -> bool:
        """Offer a frame.  File mode waits while the queue is full; live mode replaces an unread frame.

        Returns False once the buffer is closed: the producer should stop.
        """
        with self._cond:
            if not self.latest_only:
                while len(self._frames) >= self.capacity and not self._closed.is_set():
                    self._cond.wait()
            if self._closed.is_set():
                return False
            if self.latest_only and self._frames:
                self._frames.clear()
                self.dropped += 1
            self._frames.append(frame)
            self._cond.notify_all()
            return True

    def end(self, error: BaseException | None = None) -> None:
        """No more frames will come; ``error`` (if any) is raised by ``get()`` once queued frames are read."""
        with self._cond:
            self._ended = True
            self._error = error
            self._cond.notify_all()

    def get(self) -> Frame | None:
        """The next frame, waiting for one; None at the end of the stream or once closed."""
        with self._cond:
            while not self._frames and not self._ended and not self._closed.is_set():
                self._cond.wait()
            if self._closed.is_set():
                return None
            if self._frames:
                frame = self._frames.popleft()
                self._cond.notify_all()  # room for a producer waiting on a full queue
                return frame
            if self._error is not None:
                raise self._error
            return None

    def wanted(self) -> bool:
        demand = self.demand
        return demand is None or demand.watched

    def wait_wanted(self) -> bool:
        """Producer side: hold while nobody wants frames (no CPU: a wait on the demand); False if closed."""
        start = time.perf_counter()
        while not self.wanted() and not self._closed.is_set():
            self.demand.wait(0.25)
        self.idle_seconds += time.perf_counter() - start
        return not self._closed.is_set()

    def wait_closed(self, timeout: float) -> bool:
        """Sleep up to ``timeout`` seconds, waking early on ``close()``; True if closed."""
        return self._closed.wait(timeout)

    def close(self) -> None:
        """Wake both sides: the producer's ``put`` returns False and ``get`` returns None from now on."""
        with self._cond:
            self._closed.set()
            self._frames.clear()
            self._cond.notify_all()


class Pacer:
    """Releases frames on a wall-clock schedule, like a camera: never early.

    Late frames differ by mode.  Live (newest-frame slot): a late frame is released at once, so after a
    hiccup the overdue frames replace each other in the slot and count as dropped, exactly like a camera
    driver that overwrites frames nobody fetched; the average rate stays the stream's.  Only a long stall
    (``LIVE_MAX_LAG``) restarts the schedule, so a resumed process does not race through minutes of video.
    File mode (every frame delivered): after two frame intervals late (the consumer held the queue back) the
    schedule restarts from now, so the consumer never gets a burst.
    """

    def __init__(self, buffer: FrameBuffer, fps: float) -> None:
        self._buffer = buffer
        self._max_lag = LIVE_MAX_LAG if buffer.latest_only else 2 / fps
        self._origin: float | None = None  # wall-clock time of media time 0

    def wait(self, media_time: float) -> bool:
        """Wait until ``media_time`` (seconds) is due; False if the buffer was closed meanwhile.  While nobody
        wants frames it holds first; the schedule then restarts (a held source does not race to catch up)."""
        if not self._buffer.wanted():
            if not self._buffer.wait_wanted():
                return False
            self._origin = None
        now = time.perf_counter()
        if self._origin is None:
            self._origin = now - media_time
        delay = self._origin + media_time - now
        if delay < -self._max_lag:
            self._origin -= delay  # fell behind (slow consumer in file mode, loaded machine): due now
        elif delay > 0:
            return not self._buffer.wait_closed(delay)
        return not self._buffer.closed
