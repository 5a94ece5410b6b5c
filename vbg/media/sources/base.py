"""What every source shares: the FrameSource interface and thread, upright frames, reconnecting lost live
inputs."""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from fractions import Fraction

import cv2
import numpy as np

from ...errors import VbgError, notice
from ..frames import Frame, VideoInfo
from .buffer import QUEUE_FRAMES, FrameBuffer

CLOSE_TIMEOUT = 1.0  # close() waits this long for the capture thread; a stuck syscall must not hang the app
NETWORK_TIMEOUT = 10.0  # seconds to wait on a URL (open and each read) before failing
RECONNECT_ATTEMPTS = 3  # live inputs: reopen attempts after the source is lost (0: end at once)
RECONNECT_DELAYS = (0.5, 1.0, 2.0, 4.0)  # backoff between attempts, seconds; the last value is the cap
#: FFmpeg input formats that are capture devices: their end of stream means the device went away
DEVICE_FORMATS = ("v4l2", "video4linux2", "avfoundation", "dshow", "x11grab", "gdigrab", "kmsgrab")
INPUT_HINT = "give a video file or a lavfi:FILTER source as the input instead (vbg run FILE ...)"


#: display-matrix rotation (degrees counter-clockwise, as PyAV's ``VideoFrame.rotation``) -> cv2.rotate code
UPRIGHT_CODES = {90: cv2.ROTATE_90_COUNTERCLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_CLOCKWISE}
ROTATE_SIDEWAYS = (90, 270)


def upright_turn(rotation: float | None) -> int:
    """A display rotation as 0, 90, 180 or 270 degrees counter-clockwise (nearest quarter turn)."""
    return int(round((rotation or 0) / 90)) % 4 * 90


def upright(image: np.ndarray, rotation: float | None) -> np.ndarray:
    """Turn a decoded picture the way its display matrix says, as players do: vbg honours rotation metadata
    by processing (and writing) upright frames, so the output needs no rotation flag."""
    code = UPRIGHT_CODES.get(upright_turn(rotation))
    return image if code is None else cv2.rotate(image, code)


def one_line(text: object) -> str:
    """Collapse an FFmpeg/OS message to one line: user-facing errors are exactly one line."""
    return " ".join(str(text).split())


class Reconnector:
    """Reopens a lost live input with capped exponential backoff, a bounded number of times.

    A camera that is unplugged for a moment or a pipe whose writer restarts should not end a call, but a
    source that stays gone must not be retried forever: after ``attempts`` failures the stream ends cleanly
    and ``lost`` says why, so the pipeline can close its outputs and report it.
    """

    def __init__(self, buffer: FrameBuffer, attempts: int = RECONNECT_ATTEMPTS,
                 delays: tuple[float, ...] = RECONNECT_DELAYS, label: str = "input") -> None:
        if attempts < 0:
            raise VbgError(f"reconnect attempts must be 0 or more, got {attempts}")
        self.attempts, self.delays = attempts, delays
        self.reconnections = 0  # successful reopenings
        self.label = label  # names the input in the notices ("camera /dev/video0")
        self._buffer = buffer

    def delay(self, attempt: int) -> float:
        return self.delays[min(attempt, len(self.delays) - 1)]

    def run(self, reopen, why: str = "it ended") -> tuple[bool, str]:
        """Call ``reopen(timeout)`` up to ``attempts`` times, waiting ``delay`` before each; (reopened, last
        error).  ``reopen`` raises VbgError (or OSError) when the input is still not there.  Both the loss
        and the way back get a notice: a frozen picture with no word on stderr looks like a hang."""
        error = "no attempt made (reconnect is 0)"
        if self.attempts:
            notice(f"{self.label} lost ({why}); reopening it, up to {self.attempts} attempts")
        started = time.monotonic()
        for attempt in range(self.attempts):
            wait = self.delay(attempt)
            if self._buffer.wait_closed(wait):
                return False, "closed"
            try:
                reopen(wait)
            except (VbgError, OSError) as exc:
                error = one_line(exc)
                continue
            self.reconnections += 1
            notice(f"{self.label} is back after {time.monotonic() - started:.1f} s (attempt {attempt + 1})")
            return True, ""
        return False, error


class FrameSource(ABC):
    """A stream of BGR frames produced on a background thread.

    ``read()`` blocks until a frame is available and returns None at the end of the stream or after
    ``close()``; it raises ``VbgError`` if capture failed.  ``frames_read`` counts frames returned by
    ``read()``; ``dropped`` counts frames discarded in live mode because a newer one replaced them.
    ``lost`` is set (one line) when a live input went away and could not be reopened: the stream then
    ends normally, so everything captured so far is still processed and saved.
    Subclasses set ``info``, then call ``_start()``; their ``_produce()`` runs on the thread and calls
    ``_emit()`` per captured frame.
    """

    info: VideoInfo

    def __init__(self, *, latest_only: bool, capacity: int = QUEUE_FRAMES) -> None:
        self._buffer = FrameBuffer(latest_only, capacity)
        self._thread: threading.Thread | None = None
        self._next_index = 0
        self.frames_read = 0
        self.lost: str | None = None

    def serve_on_demand(self, demand) -> None:
        """Capture only while ``demand.watched`` (e.g. a ``ReaderWatch``: someone has the virtual camera open);
        otherwise hold, and release what can be released (a camera's light goes off)."""
        self._buffer.demand = demand

    @property
    def idle_seconds(self) -> float:
        """Time capture held because nobody wanted frames (``serve_on_demand``)."""
        return self._buffer.idle_seconds

    @property
    def latest_only(self) -> bool:
        return self._buffer.latest_only

    @property
    def dropped(self) -> int:
        return self._buffer.dropped

    @property
    def pending(self) -> int:
        """Frames captured and waiting for ``read()`` (at most the queue size, or 1 in live mode)."""
        return len(self._buffer)

    @property
    def running(self) -> bool:
        """Whether the capture thread is still alive (it ends at the end of stream, on error or on close)."""
        return self._thread is not None and self._thread.is_alive()

    # -- producer side (capture thread) ---------------------------------------------------------------------
    def _start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"vbg-{type(self).__name__}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        error: BaseException | None = None
        try:
            self._produce()
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, which re-raises it in read()
            error = exc
        finally:
            try:
                self._release()
            finally:
                self._buffer.end(error)

    @abstractmethod
    def _produce(self) -> None:
        """Capture frames and ``_emit`` them until the end, or until ``_emit`` returns False (closed)."""

    def _release(self) -> None:
        """Free the file or device; runs on the capture thread, which owns it, when it finishes."""

    def _emit(self, image: np.ndarray, pts: int | None, time_base: Fraction | None) -> bool:
        """Number and timestamp a captured image and hand it over; False once the source is closed."""
        frame = Frame(self._next_index, image, pts, time_base, captured_at=time.perf_counter())
        self._next_index += 1
        return self._buffer.put(frame)

    # -- consumer side --------------------------------------------------------------------------------------
    def read(self) -> Frame | None:
        """The next frame (file mode) or the newest one not yet returned (live mode); None at the end."""
        frame = self._buffer.get()
        if frame is not None:
            self.frames_read += 1
        return frame

    def close(self) -> None:
        """Stop capturing and release the input.  Safe from any thread, idempotent, and prompt even when the
        capture thread waits on a full queue; a ``read()`` blocked in another thread returns None."""
        self._buffer.close()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(CLOSE_TIMEOUT)

    def __iter__(self) -> Iterator[Frame]:
        while (frame := self.read()) is not None:
            yield frame

    def __enter__(self) -> FrameSource:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
