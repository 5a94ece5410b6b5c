"""Anything FFmpeg opens, through PyAV: files, lavfi generators, URLs, FIFOs and capture devices."""

from __future__ import annotations

import os
import select
import stat
from collections.abc import Iterator
from fractions import Fraction

import av

from ...errors import VbgError
from ..frames import VideoInfo
from .base import (
    DEVICE_FORMATS,
    NETWORK_TIMEOUT,
    RECONNECT_ATTEMPTS,
    ROTATE_SIDEWAYS,
    FrameSource,
    Reconnector,
    one_line,
    upright,
    upright_turn,
)
from .buffer import Pacer


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


def is_fifo(path: str) -> bool:
    try:
        return stat.S_ISFIFO(os.stat(path).st_mode)
    except OSError:
        return False


def is_network(spec: str) -> bool:
    """A URL FFmpeg fetches over the network (``file:`` URLs are local)."""
    return "://" in spec and not spec.startswith("file:")


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
        self._reconnector = Reconnector(self._buffer, reconnect, label=str(spec))
        self._fifo = is_fifo(self.spec) and self.format != "lavfi"
        self._fifo_fd: int | None = None  # after a FIFO reconnect: the descriptor FFmpeg reads (pipe:FD)
        self.can_reconnect = latest_only and (
            self._fifo or is_network(self.spec)
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
                           f"({one_line(exc.strerror or exc)}); the file may be truncated or corrupt") from None

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
        try:
            container = av.open(url or spec, format=self.format, options=self.options,
                                timeout=NETWORK_TIMEOUT if is_network(spec) else None)
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
            reason = one_line(exc.strerror or exc)
            if self.format == "lavfi":
                raise VbgError(f"cannot open {what}: {reason}; check the filter name and options, "
                               f"e.g. lavfi:testsrc2=size=640x360:rate=30") from None
            raise VbgError(f"cannot open {what}: {reason}; check the path or URL") from None
        except ValueError as exc:  # PyAV: unknown format name
            if self.format and "format" in str(exc):
                raise VbgError(f"unknown input format {self.format!r}: use one FFmpeg knows "
                               f"(e.g. lavfi, mpegts, v4l2) or leave it out to detect it") from None
            raise VbgError(f"cannot open {what}: {one_line(exc)}; check the input") from None
        if not container.streams.video:
            kinds = " and ".join(sorted({s.type for s in container.streams}))
            container.close()
            found = f"only {kinds}" if kinds else "no streams at all"
            raise VbgError(f"cannot open {spec!r} as video: it has no video stream ({found}); pass a video file")
        # Frame threading keeps a file's decoding fast; a paced (live) input needs one frame at a time, where
        # frame threading only adds a frame of delay and ~0.4 ms of CPU per 720p frame (bench_gating's clips)
        container.streams.video[0].thread_type = "SLICE" if self.pace else "AUTO"
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
            self._container = self._open()  # a new frame size is fitted by the sinks (see sinks.base.fit_frame)
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
        reopened, error = self._reconnector.run(self._reopen, reason)
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
        pacer = Pacer(self._buffer, self.info.fps) if self.pace else None
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
                reason = one_line(exc.strerror or exc)
                if self.can_reconnect and not self._buffer.closed:
                    if self._reconnect(reason):
                        continue
                    return
                hint = ("check the network and the stream" if is_network(self.spec)
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
