"""Frame sources: cameras, anything FFmpeg opens (through PyAV) and still images, behind one small interface.

As with Open Model Zoo's capture wrappers, the pipeline only sees ``FrameSource`` (``info``, ``read()``,
``close()``), so a webcam, a file, a ``lavfi`` generator, a URL, a FIFO or a photo are interchangeable.

Every source captures on its own daemon thread and hands frames to ``read()`` through a ``FrameBuffer``
whose policy *is* the delivery contract:

- **file mode** (``latest_only=False``): a bounded queue.  When the consumer is slower than the decoder, the
  decoder waits (backpressure) instead of dropping or piling up memory; every frame arrives exactly once.
- **live mode** (``latest_only=True``): a single slot holding the newest frame.  A frame still unread when a
  newer one arrives is discarded and counted in ``dropped``, so a slow consumer always gets the freshest
  picture and latency stays bounded by one frame instead of growing.

``Frame.index`` numbers the frames as the decoder or camera produced them, so in live mode the gaps between
the indices ``read()`` returns are exactly the dropped frames.  ``Frame.captured_at`` is stamped when the
frame became available (decoded, paced, grabbed), not when ``read()`` returns, so latency can be measured.

Errors: opening problems raise ``VbgError`` from the constructor.  Problems in the capture thread (a corrupt
file, a camera unplugged) end the stream and are re-raised by ``read()`` in the consumer's thread, on this
and every later call, so a failure can never look like a normal end of stream.
"""

from __future__ import annotations

import os
import select
import stat
import sys
import threading
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from ..errors import VbgError
from .imageio import IMAGE_EXTENSIONS, read_image
from .frames import Frame, VideoInfo

QUEUE_FRAMES = 8  # file mode: frames decoded ahead of the consumer (memory bound: 8 x one frame)
CLOSE_TIMEOUT = 1.0  # close() waits this long for the capture thread; a stuck syscall must not hang the app
LIVE_MAX_LAG = 1.0  # live pacing: a stall longer than this (e.g. a suspended process) restarts the schedule
NETWORK_TIMEOUT = 10.0  # seconds to wait on a URL (open and each read) before failing
RECONNECT_ATTEMPTS = 3  # live inputs: reopen attempts after the source is lost (0: end at once)
RECONNECT_DELAYS = (0.5, 1.0, 2.0, 4.0)  # backoff between attempts, seconds; the last value is the cap
#: FFmpeg input formats that are capture devices: their end of stream means the device went away
DEVICE_FORMATS = ("v4l2", "video4linux2", "avfoundation", "dshow", "x11grab", "gdigrab", "kmsgrab")
INPUT_HINT = "give a video file or a lavfi:FILTER source as the input instead (vbg run FILE ...)"
_LINUX = sys.platform.startswith("linux")


#: display-matrix rotation (degrees counter-clockwise, as PyAV's ``VideoFrame.rotation``) -> cv2.rotate code
_UPRIGHT = {90: cv2.ROTATE_90_COUNTERCLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_CLOCKWISE}
ROTATE_SIDEWAYS = (90, 270)


def upright_turn(rotation: float | None) -> int:
    """A display rotation as 0, 90, 180 or 270 degrees counter-clockwise (nearest quarter turn)."""
    return int(round((rotation or 0) / 90)) % 4 * 90


def upright(image: np.ndarray, rotation: float | None) -> np.ndarray:
    """Turn a decoded picture the way its display matrix says, as players do: vbg honours rotation metadata
    by processing (and writing) upright frames, so the output needs no rotation flag."""
    code = _UPRIGHT.get(upright_turn(rotation))
    return image if code is None else cv2.rotate(image, code)


def _one_line(text: object) -> str:
    """Collapse an FFmpeg/OS message to one line: user-facing errors are exactly one line."""
    return " ".join(str(text).split())


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

    def wait_closed(self, timeout: float) -> bool:
        """Sleep up to ``timeout`` seconds, waking early on ``close()``; True if closed."""
        return self._closed.wait(timeout)

    def close(self) -> None:
        """Wake both sides: the producer's ``put`` returns False and ``get`` returns None from now on."""
        with self._cond:
            self._closed.set()
            self._frames.clear()
            self._cond.notify_all()


class _Pacer:
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
        """Wait until ``media_time`` (seconds) is due; False if the buffer was closed meanwhile."""
        now = time.perf_counter()
        if self._origin is None:
            self._origin = now - media_time
        delay = self._origin + media_time - now
        if delay < -self._max_lag:
            self._origin -= delay  # fell behind (slow consumer in file mode, loaded machine): due now
        elif delay > 0:
            return not self._buffer.wait_closed(delay)
        return not self._buffer.closed


class Reconnector:
    """Reopens a lost live input with capped exponential backoff, a bounded number of times.

    A camera that is unplugged for a moment or a pipe whose writer restarts should not end a call, but a
    source that stays gone must not be retried forever: after ``attempts`` failures the stream ends cleanly
    and ``lost`` says why, so the pipeline can close its outputs and report it.
    """

    def __init__(self, buffer: FrameBuffer, attempts: int = RECONNECT_ATTEMPTS,
                 delays: tuple[float, ...] = RECONNECT_DELAYS) -> None:
        if attempts < 0:
            raise VbgError(f"reconnect attempts must be 0 or more, got {attempts}")
        self.attempts, self.delays = attempts, delays
        self.reconnections = 0  # successful reopenings
        self._buffer = buffer

    def delay(self, attempt: int) -> float:
        return self.delays[min(attempt, len(self.delays) - 1)]

    def run(self, reopen) -> tuple[bool, str]:
        """Call ``reopen(timeout)`` up to ``attempts`` times, waiting ``delay`` before each; (reopened, last
        error).  ``reopen`` raises VbgError (or OSError) when the input is still not there."""
        error = "no attempt made (reconnect is 0)"
        for attempt in range(self.attempts):
            wait = self.delay(attempt)
            if self._buffer.wait_closed(wait):
                return False, "closed"
            try:
                reopen(wait)
            except (VbgError, OSError) as exc:
                error = _one_line(exc)
                continue
            self.reconnections += 1
            return True, ""
        return False, error


def open_fifo_when_written(path: str, timeout: float) -> int | None:
    """A blocking read descriptor on the FIFO ``path`` once a writer has sent data, or None after ``timeout``.

    Opening a FIFO for reading blocks until a writer appears, which would hang a reconnect attempt forever.
    A non-blocking descriptor polled for input waits at most ``timeout`` (on Linux a FIFO that had no writer
    since it was opened reports nothing, not a hang-up).  The descriptor itself is returned, to be read as
    FFmpeg's ``pipe:FD``: reopening the path would block again once a quick writer has already gone, even
    with its data still in the pipe.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        if any(event & select.POLLIN for _, event in poller.poll(timeout * 1000)):
            os.set_blocking(fd, True)
            return fd
    except BaseException:
        os.close(fd)
        raise
    os.close(fd)
    return None


def _is_fifo(path: str) -> bool:
    try:
        return stat.S_ISFIFO(os.stat(path).st_mode)
    except OSError:
        return False


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


class AVSource(FrameSource):
    """Anything FFmpeg opens through PyAV: video files, ``lavfi`` generators, URLs, pipes and FIFOs.

    The container is opened (and checked) in the constructor, so a bad input fails at once with a
    ``VbgError``; decoding then runs on the capture thread, which owns the container and closes it.

    ``loop=True`` restarts at the end (seek, or reopen when the input cannot seek); ``index`` and ``pts``
    keep increasing across loops, so writers see one continuous stream.  ``pace=True`` releases frames at
    the stream's rate in wall-clock time, so a file or a generator (which otherwise runs as fast as it can)
    behaves like a camera.  ``options`` are FFmpeg options for the demuxer/protocol (e.g. ``rtsp_transport``).

    A *live* input that can go away (a FIFO, a URL, a capture device) is reopened ``reconnect`` times with
    backoff when it ends or fails (see ``Reconnector``); then the stream ends and ``lost`` says why.  Files
    and generators are never retried: their end is the end.
    """

    def __init__(self, spec: str, *, format: str | None = None, loop: bool = False, latest_only: bool = False,
                 pace: bool = False, options: dict | None = None, reconnect: int = RECONNECT_ATTEMPTS) -> None:
        super().__init__(latest_only=latest_only)
        self.spec, self.format, self.loop, self.pace = str(spec), format, loop, pace
        self.options = {str(k): str(v) for k, v in (options or {}).items()}
        self._reconnector = Reconnector(self._buffer, reconnect)
        self._fifo = _is_fifo(self.spec) and self.format != "lavfi"
        self._fifo_fd: int | None = None  # after a FIFO reconnect: the descriptor FFmpeg reads (pipe:FD)
        self.can_reconnect = latest_only and (
            self._fifo or ("://" in self.spec and not self.spec.startswith("file:"))
            or self.spec.startswith("pipe:") or (self.format or "") in DEVICE_FORMATS)
        self._container = self._open()
        try:
            self._first_pass, self._peeked = self._peek()
            self.info = self._describe(self._container)
        except BaseException:
            self._container.close()
            raise
        self._start()

    def _peek(self):
        """Decode the first frame now: it proves the input decodes, and its display matrix (phones record
        portrait video as rotated landscape) gives the upright size.  Returns (decoder, first frame)."""
        decoder = self._container.decode(self._container.streams.video[0])
        try:
            return decoder, next(decoder, None)
        except av.FFmpegError as exc:
            raise VbgError(f"cannot read {self.spec!r}: its first frame does not decode "
                           f"({_one_line(exc.strerror or exc)}); the file may be truncated or corrupt") from None

    def _decode(self) -> Iterator[av.VideoFrame]:
        """This pass's frames: the first pass continues the constructor's decoder after the peeked frame."""
        peeked, self._peeked = self._peeked, None
        if peeked is not None:
            yield peeked
            yield from self._first_pass
        else:
            yield from self._container.decode(self._container.streams.video[0])

    def _open(self, url: str | None = None) -> av.container.InputContainer:
        """Open the input (or ``url`` standing in for it) and its first video stream, turning every failure
        into a one-line VbgError."""
        spec = self.spec
        what = f"lavfi source {spec!r}" if self.format == "lavfi" else f"video {spec!r}"
        network = "://" in spec and not spec.startswith("file:")
        try:
            container = av.open(url or spec, format=self.format, options=self.options,
                                timeout=NETWORK_TIMEOUT if network else None)
        except FileNotFoundError:
            raise VbgError(f"cannot open {what}: no such file or directory; check the path") from None
        except IsADirectoryError:
            raise VbgError(f"cannot open {what}: it is a directory; pass a video file") from None
        except PermissionError:
            raise VbgError(f"cannot open {what}: permission denied; check the file's permissions") from None
        except av.InvalidDataError:
            as_format = f" as {self.format}" if self.format else ""
            raise VbgError(f"cannot open {what}: not a video FFmpeg can read{as_format} (invalid data); "
                           f"check the file, or convert it to MP4") from None
        except av.FFmpegError as exc:
            reason = _one_line(exc.strerror or exc)
            if self.format == "lavfi":
                raise VbgError(f"cannot open {what}: {reason}; check the filter name and options, "
                               f"e.g. lavfi:testsrc2=size=640x360:rate=30") from None
            raise VbgError(f"cannot open {what}: {reason}; check the path or URL") from None
        except ValueError as exc:  # PyAV: unknown format name
            if self.format and "format" in str(exc):
                raise VbgError(f"unknown input format {self.format!r}: use one FFmpeg knows "
                               f"(e.g. lavfi, mpegts, v4l2) or leave it out to detect it") from None
            raise VbgError(f"cannot open {what}: {_one_line(exc)}; check the input") from None
        if not container.streams.video:
            kinds = " and ".join(sorted({s.type for s in container.streams}))
            container.close()
            found = f"only {kinds}" if kinds else "no streams at all"
            raise VbgError(f"cannot open {spec!r} as video: it has no video stream ({found}); pass a video file")
        # Frame/slice threading: decoding keeps up with large frames without blocking other work.
        container.streams.video[0].thread_type = "AUTO"
        return container

    def _describe(self, container: av.container.InputContainer) -> VideoInfo:
        stream = container.streams.video[0]
        width, height = stream.codec_context.width, stream.codec_context.height
        if self._peeked is not None and upright_turn(self._peeked.rotation) in ROTATE_SIDEWAYS:
            width, height = height, width  # frames are turned upright (see upright())
        if not width or not height:
            raise VbgError(f"cannot use {self.spec!r}: FFmpeg could not determine the frame size; "
                           f"check the file or pass --input-format")
        rate = stream.average_rate or stream.guessed_rate or Fraction(30)
        time_base = stream.time_base or 1 / Fraction(rate)
        frame_count = None
        if not (self.loop or self.latest_only):
            # Exact when the container says so; otherwise an estimate from the duration that errs low (sinks
            # treat "fewer frames than frame_count" as an interrupted job).  The container's duration is only
            # trusted when the video is its only stream: an audio track may be longer.
            seconds = None
            if stream.duration and stream.time_base:
                seconds = float(stream.duration * stream.time_base)
            elif container.duration and container.duration > 0 and len(container.streams) == 1:
                seconds = container.duration / av.time_base
            if stream.frames and stream.frames > 0:
                frame_count = int(stream.frames)
            elif seconds:
                frame_count = int(seconds * float(rate) + 0.01) or None
        return VideoInfo(width=width, height=height, fps=float(rate), time_base=Fraction(time_base),
                         frame_count=frame_count, has_audio=bool(container.streams.audio), source=self.spec,
                         live=self.latest_only)

    @property
    def reconnections(self) -> int:
        """How many times the lost input was reopened successfully."""
        return self._reconnector.reconnections

    def _reopen(self, timeout: float) -> None:
        """One reconnect attempt; a FIFO is only opened once a writer is there (opening would block)."""
        if not self._fifo:
            self._container = self._open()  # a new frame size is fitted by the sinks (see sinks._fit)
            return
        fd = open_fifo_when_written(self.spec, timeout)
        if fd is None:
            raise VbgError(f"no writer on {self.spec} within {timeout:.1f} s")
        try:
            self._container = self._open(f"pipe:{fd}")
        except BaseException:
            os.close(fd)
            raise
        self._fifo_fd = fd

    def _reconnect(self, reason: str) -> bool:
        """The live input ended or failed: reopen it with backoff, or record it as lost; True if reopened."""
        self._release()
        reopened, error = self._reconnector.run(self._reopen)
        if not reopened and error != "closed":
            self.lost = (f"{self.spec} lost after {self._next_index} frames ({reason}); "
                         f"{self._reconnector.attempts} reconnect attempts failed ({error})")
        return reopened

    def _rewind(self) -> None:
        """Go back to the start for ``loop``: seek if the input allows it, else open it again."""
        try:
            self._container.seek(0)
            return
        except (av.FFmpegError, OSError):
            pass
        self._container.close()
        self._container = self._open()

    def _produce(self) -> None:
        time_base = self.info.time_base
        nominal_step = max(1, round(1 / (self.info.fps * time_base)))  # one frame in time_base units
        pacer = _Pacer(self._buffer, self.info.fps) if self.pace else None
        last_out: int | None = None  # last pts handed out (across loops)
        step = nominal_step
        passes = 0
        while True:
            offset: int | None = None  # this pass's pts offset, fixed at its first frame
            decoded = 0
            try:
                for vf in self._decode():
                    if self._buffer.closed:
                        return
                    pts = vf.pts if vf.pts is not None else (0 if last_out is None else last_out + step)
                    if offset is None:
                        offset = 0 if last_out is None else last_out + step - pts
                    out = pts + offset
                    if last_out is not None and out <= last_out:
                        out = last_out + 1  # writers need strictly increasing timestamps
                    duration = getattr(vf, "duration", None)  # PyAV >= 14
                    step = duration if duration and duration > 0 else nominal_step
                    image = upright(vf.to_ndarray(format="bgr24"), vf.rotation)
                    if pacer is not None and not pacer.wait(float(out * time_base)):
                        return
                    if not self._emit(image, out, time_base):
                        return
                    last_out = out
                    decoded += 1
                passes += 1
                if self.can_reconnect and not self._buffer.closed:
                    if self._reconnect(f"end of stream after {decoded} frames"):
                        continue
                    return
                if not self.loop or self._buffer.closed:
                    return
                if decoded == 0:
                    if passes == 1:
                        return  # an empty stream is simply empty, looped or not
                    raise VbgError(f"cannot loop {self.spec!r}: no frames after rewinding it; "
                                   f"the input cannot restart, drop --loop")
                self._rewind()
            except av.FFmpegError as exc:
                reason = _one_line(exc.strerror or exc)
                if self.can_reconnect and not self._buffer.closed:
                    if self._reconnect(reason):
                        continue
                    return
                hint = ("check the network and the stream" if "://" in self.spec
                        else "the file may be truncated or corrupt")
                raise VbgError(f"decoding {self.spec!r} failed after {self._next_index} frames: {reason}; "
                               f"{hint}") from None

    def _release(self) -> None:
        container, self._container = self._container, None
        if container is not None:
            container.close()
        fd, self._fifo_fd = self._fifo_fd, None
        if fd is not None:
            os.close(fd)  # FFmpeg's pipe: protocol leaves the descriptor to its owner


def _camera_target(device: int | str) -> tuple[int | str, str | None]:
    """What to pass to OpenCV, and the device node that must exist on Linux (None if unknown)."""
    if isinstance(device, int) or str(device).isdigit():
        index = int(device)
        return index, f"/dev/video{index}"
    return str(device), str(device) if str(device).startswith("/dev/") else None


class CameraSource(FrameSource):
    """An OpenCV camera by index (``0``, ``"0"``) or device path (``/dev/video0``); always live.

    MJPG is requested because most USB webcams only reach 720p/1080p at 30 fps compressed, and a one-frame
    driver buffer keeps the driver from queueing stale frames behind our own newest-frame slot.  The first
    frame is grabbed in the constructor: it proves the camera works and gives the size really granted.
    """

    def __init__(self, device: int | str = 0, *, width: int | None = None, height: int | None = None,
                 fps: float | None = None, reconnect: int = RECONNECT_ATTEMPTS) -> None:
        super().__init__(latest_only=True)
        self.device = device
        self._requested = (width, height, fps)
        self._reconnector = Reconnector(self._buffer, reconnect)
        cap, image = self._open_camera()
        self._cap = cap
        granted_fps = cap.get(cv2.CAP_PROP_FPS)
        if not 0 < granted_fps < 1000:
            granted_fps = fps or 30.0
        self.info = VideoInfo(width=image.shape[1], height=image.shape[0], fps=float(granted_fps),
                              time_base=Fraction(1, 1000), frame_count=None, has_audio=False,
                              source=str(device), live=True)
        self._emit(image, None, None)  # cameras have no pts: sinks time frames by captured_at
        self._start()

    def _open_camera(self) -> tuple[cv2.VideoCapture, np.ndarray]:
        """Open the device with the requested settings and grab one frame; VbgError if it is not usable."""
        target, node = _camera_target(self.device)
        label = f"camera {self.device}"
        if _LINUX and node is not None and not os.path.exists(node):
            raise VbgError(f"{label} could not be opened (no {node}): check that a webcam is connected, "
                           f"or {INPUT_HINT}")
        cap = cv2.VideoCapture(target, cv2.CAP_V4L2 if _LINUX else cv2.CAP_ANY)
        try:
            if not cap.isOpened():
                raise VbgError(f"{label} could not be opened: check that no other program is using it and that "
                               f"you may access it (video group), or {INPUT_HINT}")
            cap.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter_fourcc(*"MJPG"))
            width, height, fps = self._requested
            for prop, value in ((cv2.CAP_PROP_FRAME_WIDTH, width), (cv2.CAP_PROP_FRAME_HEIGHT, height),
                                (cv2.CAP_PROP_FPS, fps)):
                if value:
                    cap.set(prop, float(value))
            cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)
            ok, image = cap.read()
            if not ok or image is None:
                raise VbgError(f"{label} opened but delivered no frame: check that it is not in use, "
                               f"or {INPUT_HINT}")
        except BaseException:
            cap.release()
            raise
        return cap, image

    def _reopen(self, timeout: float) -> None:
        self._cap, image = self._open_camera()
        self._emit(image, None, None)

    def _produce(self) -> None:
        failures = 0
        while not self._buffer.closed:
            ok, image = self._cap.read()
            if not ok or image is None:
                failures += 1  # tolerate a few hiccups (USB resets); then reopen it (unplugged and back)
                if failures >= 10:
                    self._release()
                    reopened, error = self._reconnector.run(self._reopen)
                    if not reopened:
                        if error != "closed":
                            self.lost = (f"camera {self.device} stopped delivering frames after {self._next_index} "
                                         f"frames; {self._reconnector.attempts} reconnect attempts failed ({error})")
                        return
                    failures = 0
                    continue
                if self._buffer.wait_closed(0.05):
                    return
                continue
            failures = 0
            if not self._emit(image, None, None):
                return

    def _release(self) -> None:
        cap, self._cap = self._cap, None
        if cap is not None:
            cap.release()


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
        pacer = _Pacer(self._buffer, self.info.fps)
        index = 0
        while pacer.wait(float(index * self._time_base)):
            if not self._emit(self.image.copy(), index, self._time_base):
                return
            index += 1


def _is_camera(spec: str | int) -> bool:
    return isinstance(spec, int) or spec.isdigit() or spec.startswith("/dev/video")


def open_source(spec: str | int | os.PathLike, *, format: str | None = None, loop: bool = False, live: bool | None = None,
                width: int | None = None, height: int | None = None, fps: float | None = None,
                reconnect: int = RECONNECT_ATTEMPTS) -> FrameSource:
    """Open ``spec`` with the right source.

    - an int, a digit string or ``/dev/video*`` -> ``CameraSource`` (``width``/``height``/``fps`` requested);
    - an existing image file (.jpg .jpeg .png .bmp .webp .tif .tiff) -> ``ImageSource`` (``fps``, default 30);
    - anything else -> ``AVSource``; ``lavfi:GRAPH`` means ``format='lavfi'``.

    ``live=None`` follows the input: cameras are live, everything else is read in file mode.  ``live=True``
    on a file or generator makes it behave like a camera: paced to its frame rate, newest frame only.
    ``reconnect`` is how many times a lost live input (camera, FIFO, URL, device) is reopened.
    """
    if isinstance(spec, bool):
        raise TypeError("spec must be a str or an int camera index, not bool")
    if isinstance(spec, os.PathLike):
        spec = os.fspath(spec)
    text = str(spec)
    if format is None and _is_camera(spec):
        if live is False:
            raise VbgError(f"camera {text} is always live: drop --no-live, or record a file first and give it "
                           f"as the input (vbg run FILE ...)")
        return CameraSource(int(text) if text.isdigit() else text, width=width, height=height, fps=fps,
                            reconnect=reconnect)
    if text.startswith("lavfi:"):
        format, text = "lavfi", text[len("lavfi:"):]
    live = bool(live)
    if format is None and Path(text).suffix.lower() in IMAGE_EXTENSIONS and Path(text).is_file():
        return ImageSource(text, loop=loop, latest_only=live, fps=fps or 30.0)
    return AVSource(text, format=format, loop=loop, latest_only=live, pace=live, reconnect=reconnect)
