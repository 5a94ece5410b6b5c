"""Frame sinks: the output side of vbg (a video file, a window, a virtual camera, or nothing).

Every sink is a plain synchronous object with the same small life cycle, modelled on supervision's
``VideoSink``: ``open(info)`` once, ``write(frame, image)`` per composited picture, ``close()`` once (it is
idempotent and also runs as the context manager's exit).  The pipeline gives each sink its own thread and a
bounded queue and makes every call of one sink from that one thread, so sinks need no locks, and the
OpenCV window, whose GUI state belongs to the thread that created it, works.

``image`` is the composited picture: uint8 BGR (HxWx3) or, when the user asked for a transparent
background, BGRA (HxWx4).  Sinks that cannot show transparency compose BGRA over black (the window shows it
over a checkerboard instead, so the transparency stays visible).  ``frame`` is the *source* frame, for its
index and timestamps.
"""

from __future__ import annotations

import errno
import os
import queue
import re
import socket
import sys
import time
from abc import ABC, abstractmethod
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

from ..errors import VbgError
from .frames import Frame, VideoInfo

#: Containers FileSink writes.  Single images are written elsewhere; .avi is left out because it cannot
#: store presentation timestamps (H.264 with B-frames comes back out of order).
VIDEO_OUTPUT_EXTENSIONS = (".mp4", ".m4v", ".mkv", ".mov", ".webm")

#: Alpha-capable (codec, pixel format) per extension: what ``--transparent`` writes when no codec is given.
ALPHA_CODECS = {".mov": ("prores_ks", "yuva444p10le"), ".webm": ("libvpx-vp9", "yuva420p"), ".mkv": ("libvpx-vp9", "yuva420p")}

#: errno values that mean "no room for the output": a full disk, a quota, a file-size limit (RLIMIT_FSIZE)
DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


class FrameSink(ABC):
    """Where composited frames go: ``open`` once, ``write`` per frame, ``close`` once (idempotent).

    Subclasses implement ``open`` and ``write`` and put their clean-up in ``_release``, which ``close`` calls
    at most once, so a sink closed by both the pipeline and a ``with`` block finalises its output once.
    """

    name: str = "sink"
    #: True for sinks that must keep receiving frames to stay responsive (the window reads keys only when
    #: it draws); the pipeline re-sends the last picture to them while paused.
    interactive: bool = False

    def __init__(self) -> None:
        self.frames_written = 0
        self._closed = False

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


def _fit(image: np.ndarray, width: int, height: int) -> np.ndarray:
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


def default_codec_for(path: str | Path, alpha: bool) -> tuple[str, str]:
    """(codec, pixel format) for an output file: H.264 in yuv420p (plays everywhere), VP9 for .webm (the only
    codecs webm allows), and with ``alpha`` a codec that stores transparency: .mov -> ProRes 4444
    (yuva444p10le, what editors expect), .webm/.mkv -> VP9 (yuva420p).  Raises VbgError for transparency in a container with no alpha-capable default (mp4):
    the user asked for transparency, so silently writing black would be wrong."""
    ext = Path(path).suffix.lower()
    if alpha:
        if ext in ALPHA_CODECS:
            return ALPHA_CODECS[ext]
        raise VbgError(f"{ext or 'a file without extension'} cannot store transparency: "
                       f"write the --transparent result as .mov or .webm")
    if ext == ".webm":
        return "libvpx-vp9", "yuv420p"
    return "libx264", "yuv420p"


def _has_alpha(pix_fmt: str) -> bool:
    import av

    return any(c.is_alpha for c in av.VideoFormat(pix_fmt).components)


def _encoder(codec: str) -> Any:
    """The PyAV encoder called ``codec``, or VbgError."""
    import av

    try:
        encoder = av.Codec(codec, "w")
    except Exception:  # noqa: BLE001 - PyAV raises UnknownCodecError (a ValueError) or FFmpegError
        raise VbgError(f"unknown video encoder {codec!r}: use libx264 (or prores_ks/png/qtrle/libvpx-vp9 for "
                       f"transparency)") from None
    if encoder.type != "video":
        raise VbgError(f"{codec!r} is not a video encoder: use libx264 (or prores_ks/png/qtrle/libvpx-vp9 for transparency)")
    return encoder


def _choose_pix_fmt(codec: str, pix_fmt: str | None, alpha: bool) -> str:
    """The pixel format to encode in: the user's (checked), else yuv420p (or, for alpha, the codec's first
    alpha-capable format).  A codec without any alpha format gets an opaque one: alpha is then dropped."""
    formats = [f.name for f in (_encoder(codec).video_formats or [])]
    if pix_fmt:
        if formats and pix_fmt not in formats:
            raise VbgError(f"codec {codec} cannot encode pixel format {pix_fmt!r}: use one of {', '.join(formats)}")
        return pix_fmt
    if alpha:
        for name in formats:
            if _has_alpha(name):
                return name
    if not formats or "yuv420p" in formats:
        return "yuv420p"
    return next((f for f in formats if not _has_alpha(f)), formats[0])


class _AudioCarrier:
    """Carries the first audio stream of an input file into an output container, in step with the video.

    A stream copy (``add_stream_from_template``, bit-exact, no quality loss) when the output container
    accepts the codec, else a transcode (AAC, or Opus for .webm, which cannot hold AAC).  Packets keep their
    timestamps, so audio/video sync is exactly the input's as long as the video keeps its timestamps too.
    ``mux_until(t)`` writes the packets that start before ``t`` seconds: called after each video frame it
    keeps the file interleaved, and an interrupted job's file has sound up to where its picture stops.
    """

    TRANSCODE_TO = ("aac", "libopus", "opus", "libvorbis")

    def __init__(self, source: str, output: Any) -> None:
        import av

        self.input = av.open(source)
        try:
            self.stream_in = self.input.streams.audio[0] if self.input.streams.audio else None
            self.stream_out = None
            self.copy = True
            self._pending = None
            self._flushed = False
            if self.stream_in is None:
                return
            try:
                self.stream_out = output.add_stream_from_template(self.stream_in)
            except ValueError:  # e.g. AAC into .webm
                self.copy = False
                self.stream_out = self._transcoder(output)
            self._packets = self.input.demux(self.stream_in)
        except BaseException:
            self.input.close()
            raise

    def _transcoder(self, output: Any) -> Any:
        import av

        rate = self.stream_in.codec_context.sample_rate or 48000
        for name in self.TRANSCODE_TO:
            try:
                rates = av.Codec(name, "w").audio_rates
                out_rate = rate if not rates or rate in rates else max(rates)
                stream = output.add_stream(name, rate=out_rate)
            except (ValueError, av.FFmpegError):
                continue
            layout = self.stream_in.codec_context.layout
            if layout is not None and layout.nb_channels <= 2:
                stream.layout = layout.name
            return stream
        raise ValueError(f"no audio encoder fits the {output.format.name} container")

    def mux_until(self, output: Any, seconds: float | None) -> None:
        """Write the packets that start before ``seconds`` (None: everything that is left)."""
        if self.stream_in is None or self._flushed:
            return
        tb = self.stream_in.time_base
        while True:
            packet = self._pending if self._pending is not None else next(self._packets, None)
            self._pending = None
            if packet is None:
                return
            start = packet.pts if packet.pts is not None else packet.dts
            if start is None:  # the demuxer's final empty packet
                continue
            if seconds is not None and float(start * tb) >= seconds:
                self._pending = packet
                return
            if self.copy:
                packet.stream = self.stream_out
                output.mux(packet)
            else:
                for frame in packet.decode():
                    output.mux(self.stream_out.encode(frame))

    def finish(self, output: Any, seconds: float | None) -> None:
        """Write the rest (up to ``seconds``) and flush the encoder; once."""
        if self.stream_in is None or self._flushed:
            return
        self.mux_until(output, seconds)
        if not self.copy:
            output.mux(self.stream_out.encode(None))
        self._flushed = True

    def close(self) -> None:
        self.input.close()


class FileSink(FrameSink):
    """A video file written with PyAV, keeping the input's frame rate, time base, timestamps and audio.

    - Timing: the stream (and encoder) time base is the input's, and each frame's pts is the source frame's
      pts, so file-to-file processing keeps every timestamp (variable frame rate included).  Frames without
      a pts (cameras) get one from their capture time relative to the first frame, forced to increase.
    - Sizes: 4:2:0 formats need even dimensions; an odd width/height is padded by one replicated
      row/column rather than cropped or rejected.
    - Alpha: BGRA keeps its transparency when the pixel format has alpha (``alpha=True`` picks one, see
      ``default_codec_for``; an explicit ``codec`` gets its first alpha format).  Otherwise BGRA is composed
      over black.
    - Audio: ``audio_from`` names the input media; its first audio stream is copied (or transcoded when the
      container does not accept its codec) alongside the video, interleaved as frames are written.  A job
      that finished keeps all of it; an interrupted one (fewer frames than ``info.frame_count``, or an
      exception through ``with``) stops the audio where the picture stops.  No audio stream: no audio.
    - Safety: the file is written as ``.NAME.partial.EXT`` beside the target (same extension, so FFmpeg
      picks the same muxer) and renamed on ``close()``.  A crash never leaves a half-written file under the
      real name, and Ctrl-C (``close()`` still runs) leaves a playable one.  Nothing written: no file.

    Paths, codec and pixel format are checked in the constructor (cheap, so a typo fails before the model is
    compiled) and again in ``open()``, which creates the file.
    """

    name = "file"

    def __init__(self, path: str | Path, *, codec: str | None = None, pix_fmt: str | None = None,
                 crf: int | None = 23, preset: str | None = "veryfast", audio_from: str | None = None,
                 bit_rate: int | None = None, alpha: bool = False) -> None:
        super().__init__()
        self.path = Path(path)
        self._check_path()
        if codec is None:
            self.codec, default_fmt = default_codec_for(self.path, alpha)
            self.pix_fmt = _choose_pix_fmt(self.codec, pix_fmt or default_fmt, alpha)
        else:
            self.codec = codec
            self.pix_fmt = _choose_pix_fmt(codec, pix_fmt, alpha)
        self.keeps_alpha = _has_alpha(self.pix_fmt)
        self.crf, self.preset, self.bit_rate = crf, preset, bit_rate
        self.audio_from = audio_from
        self.partial = self.path.with_name(f".{self.path.stem}.partial{self.path.suffix}")
        self._container: Any = None
        self._stream: Any = None
        self._audio: _AudioCarrier | None = None
        self._info: VideoInfo | None = None
        self._pad = (0, 0)  # columns, rows added to make 4:2:0 sizes even
        self._time_base = Fraction(1, 1000)  # of the frames' pts (the encoder's); set in open()
        self._first_clock: float | None = None
        self._last_pts: int | None = None
        self._video_end = 0.0  # seconds: end of the last frame written
        self._interrupted = False
        self._failed = False  # a write failed (disk full, I/O error): the unfinished file is removed on close

    def _check_path(self) -> None:
        ext = self.path.suffix.lower()
        if ext not in VIDEO_OUTPUT_EXTENSIONS:
            raise VbgError(f"cannot write {self.path}: unknown video extension {self.path.suffix or '(none)'}; "
                           f"use one of {', '.join(VIDEO_OUTPUT_EXTENSIONS)}")
        if not self.path.parent.is_dir():
            raise VbgError(f"cannot write {self.path}: directory {self.path.parent} does not exist; create it first")
        if self.path.is_dir():
            raise VbgError(f"cannot write {self.path}: it is a directory; give a file name")
        if not os.access(self.path.parent, os.W_OK):  # read-only filesystem (even for root) or no permission
            raise VbgError(f"cannot write {self.path}: directory {self.path.parent} is not writable; choose "
                           f"another output directory or fix its permissions")

    # -- open ------------------------------------------------------------------------------------------------
    def open(self, info: VideoInfo) -> None:
        import av

        self._check_path()
        if self.audio_from and not Path(self.audio_from).is_file():
            raise VbgError(f"cannot copy audio from {self.audio_from}: no such file; check the input path")
        self._info = info
        tb = Fraction(info.time_base) if info.time_base else Fraction(1, 1000)
        # hand every packet to the OS as it is muxed (FFmpeg otherwise holds ~100s of KB): the partial file
        # grows visibly while encoding, and a hard crash loses less of it
        options = {"flush_packets": "1"}
        if self.path.suffix.lower() in (".mp4", ".m4v", ".mov") and tb.denominator <= 1_000_000:
            # edit lists (a non-zero first pts) are stored in the movie timescale, 1/1000 s by default:
            # use the input's so the first timestamp survives exactly too
            options["movie_timescale"] = str(tb.denominator)
        try:
            self._container = av.open(str(self.partial), "w", options=options)
        except (av.FFmpegError, OSError, ValueError) as exc:
            raise VbgError(f"cannot create {self.partial} ({exc}): check the output path and permissions") from None
        try:
            self._add_video_stream(info, tb)
            if self.audio_from:
                self._add_audio()
        except BaseException:
            self._abort()
            raise

    def _add_video_stream(self, info: VideoInfo, tb: Fraction) -> None:
        import av

        fps = info.fps if info.fps and info.fps > 0 else 30.0
        rate = Fraction(fps).limit_denominator(1001)
        try:
            stream = self._container.add_stream(self.codec, rate=rate)
        except (av.FFmpegError, ValueError) as exc:
            raise VbgError(f"cannot write {self.codec} video into {self.path.suffix} ({exc}): choose another "
                           f"--codec or extension") from None
        fmt = av.VideoFormat(self.pix_fmt)
        # 4:2:0 and 4:2:2 need even sizes: pad by one replicated column/row instead of failing
        pad_w = info.width % 2 if fmt.chroma_width(2) == 1 else 0
        pad_h = info.height % 2 if fmt.chroma_height(2) == 1 else 0
        self._pad = (pad_w, pad_h)
        stream.width, stream.height = info.width + pad_w, info.height + pad_h
        stream.pix_fmt = self.pix_fmt
        stream.time_base = tb
        stream.codec_context.time_base = tb  # encode at the input's resolution: no rounding of timestamps
        # frames are stamped in ``tb`` from here on: the muxer may change stream.time_base once the header is
        # written (Matroska always uses 1/1000), and the packets are rescaled to it then
        self._time_base = tb
        if self.bit_rate:
            stream.bit_rate = int(self.bit_rate)
        options: dict[str, str] = {}
        if self.crf is not None and not self.bit_rate and self.codec in ("libx264", "libx265", "libvpx-vp9",
                                                                        "libaom-av1", "libsvtav1"):
            options["crf"] = str(self.crf)
        if self.preset and self.codec in ("libx264", "libx265"):
            options["preset"] = self.preset
        if self.codec == "prores_ks" and self.keeps_alpha:
            options["profile"] = "4444"  # the ProRes profile that carries an alpha channel
        if self.codec == "libvpx-vp9":
            # constant quality (b=0 with crf), and fast enough for real time
            options.update({"deadline": "realtime", "cpu-used": "8", "row-mt": "1"})
            if not self.bit_rate:
                options["b"] = "0"
        stream.options = options
        self._stream = stream

    def _add_audio(self) -> None:
        import av

        try:
            self._audio = _AudioCarrier(self.audio_from, self._container)
        except (av.FFmpegError, OSError, ValueError) as exc:
            raise VbgError(f"cannot carry the audio of {self.audio_from} into {self.path.suffix} ({exc}): "
                           f"process without audio or choose .mkv") from None

    # -- write -----------------------------------------------------------------------------------------------
    def write(self, frame: Frame, image: np.ndarray) -> None:
        import av

        if self._container is None:
            raise RuntimeError("FileSink.write() outside open() ... close()")
        if image.ndim == 3 and image.shape[2] == 4 and self.keeps_alpha:
            fmt = "bgra"
        else:
            image, fmt = drop_alpha(image), "bgr24"
        info = self._info
        image = _fit(image, info.width, info.height)
        if self._pad != (0, 0):
            import cv2

            image = cv2.copyMakeBorder(image, 0, self._pad[1], 0, self._pad[0], cv2.BORDER_REPLICATE)
        vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format=fmt)
        vf.pts = self._pts(frame)
        vf.time_base = self._time_base
        try:
            self._container.mux(self._stream.encode(vf))
            self.frames_written += 1
            fps = info.fps if info.fps and info.fps > 0 else 30.0
            self._video_end = float(vf.pts * self._time_base) + 1 / fps
            if self._audio is not None:
                self._audio.mux_until(self._container, self._video_end)
        except OSError as exc:  # av.error.OSError too: FFmpeg's write errors carry the errno
            raise self._write_failed(exc) from None

    def abandon(self) -> None:
        self._failed = True

    def _write_failed(self, exc: OSError) -> VbgError:
        """A write error as one line.  The file cannot be finalised (its index would not fit either), so it is
        removed on close rather than left unplayable under the partial name."""
        self._failed = True
        reason = exc.strerror or type(exc).__name__
        if exc.errno in DISK_FULL_ERRNOS:
            return VbgError(f"disk full writing {self.path} ({reason}): free space or choose another output; "
                            f"the unfinished file was removed")
        return VbgError(f"writing {self.path} failed ({reason}): check the disk and the output path; "
                        f"the unfinished file was removed")

    def _pts(self, frame: Frame) -> int:
        """The source's pts (rescaled if it came in another time base), or capture time since the first
        frame; never repeating or going back, which the muxer would reject."""
        tb = self._time_base
        if frame.pts is not None:
            source_tb = frame.time_base or tb
            pts = frame.pts if source_tb == tb else round(frame.pts * source_tb / tb)
        else:
            clock = frame.captured_at or time.perf_counter()
            if self._first_clock is None:
                self._first_clock = clock
            pts = round((clock - self._first_clock) / tb)
        if self._last_pts is not None and pts <= self._last_pts:
            pts = self._last_pts + 1
        self._last_pts = pts
        return pts

    # -- close -----------------------------------------------------------------------------------------------
    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc_type is not None:
            self._interrupted = True  # audio then stops where the picture stops
        self.close()

    def _complete(self) -> bool:
        """Did the job reach the end of its input?  (An interrupted one gets audio only up to its last frame.)"""
        count = self._info.frame_count if self._info else None
        return not self._interrupted and (count is None or self.frames_written >= count)

    def _release(self) -> None:
        if self._container is None:
            return
        if self._failed:
            self._abort()
            return
        error: BaseException | None = None
        try:
            self._container.mux(self._stream.encode(None))  # flush the encoder's delayed frames
            if self._audio is not None and self.frames_written:
                self._audio.finish(self._container, None if self._complete() else self._video_end)
        except BaseException as exc:  # noqa: BLE001 - finalise the file first, re-raise below
            error = exc
        finalised = True
        try:
            self._container.close()  # writes the trailer (moov index for mp4): the file becomes playable
        except BaseException as exc:  # noqa: BLE001
            finalised = False
            error = error or exc
        finally:
            self._container = self._stream = None
            if self._audio is not None:
                self._audio.close()
        if finalised and self.frames_written:
            os.replace(self.partial, self.path)
        else:
            self.partial.unlink(missing_ok=True)
        if isinstance(error, OSError):
            raise self._write_failed(error) from None
        if error is not None:
            raise error

    def _abort(self) -> None:
        """open() failed: remove what it created."""
        try:
            if self._audio is not None:
                self._audio.close()
            if self._container is not None:
                self._container.close()
        except Exception:  # noqa: BLE001 - the original error matters, not this one
            pass
        self._container = self._stream = self._audio = None
        self.partial.unlink(missing_ok=True)


# ---------------------------------------------------------------------------------------------------------------
# Window
# ---------------------------------------------------------------------------------------------------------------

#: waitKeyEx codes -> names pushed to ``WindowSink.keys``.  Arrows differ per backend: X11 keysyms (GTK and
#: Qt on Linux), Qt key codes, Windows virtual-key codes (in the high word).
KEY_NAMES = {
    27: "esc", 32: "space", 13: "enter", 10: "enter", 9: "tab", 8: "backspace", 127: "delete",
    0xFF51: "left", 0xFF52: "up", 0xFF53: "right", 0xFF54: "down", 0xFF1B: "esc", 0xFF0D: "enter",
    0x01000012: "left", 0x01000013: "up", 0x01000014: "right", 0x01000015: "down",
    0x250000: "left", 0x260000: "up", 0x270000: "right", 0x280000: "down",
}


def key_name(code: int) -> str | None:
    """A ``cv2.waitKeyEx`` code as the name the pipeline understands ('q', 'esc', 'space', 'left', ...).

    GTK puts modifier bits above the low 16 bits; Qt gives ASCII or X keysyms; both are handled."""
    if code < 0:
        return None
    for candidate in (code, code & 0xFFFF):
        if candidate in KEY_NAMES:
            return KEY_NAMES[candidate]
    low = code & 0xFFFF
    if low <= 0xFF:
        char = chr(low)
        return char if char.isprintable() else f"key{low}"
    return f"key{code:#x}"


def _x_server_reachable(display: str) -> bool | None:
    """Whether the X server named by ``display`` accepts connections (None: cannot tell, let the toolkit try).

    opencv-python's Qt aborts the process when it cannot connect, so a stale DISPLAY must be caught here."""
    match = re.fullmatch(r"(?:unix)?:(\d+)(?:\.\d+)?", display)
    if match:
        number = match.group(1)
        for address in (f"\0/tmp/.X11-unix/X{number}", f"/tmp/.X11-unix/X{number}"):  # abstract, then file
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(1.0)
                try:
                    sock.connect(address)
                    return True
                except OSError:
                    continue
        return False
    match = re.fullmatch(r"([\w.-]+):(\d+)(?:\.\d+)?", display)  # host:N, e.g. ssh's localhost:10.0
    if match:
        try:
            socket.create_connection((match.group(1), 6000 + int(match.group(2))), timeout=1.0).close()
            return True
        except OSError:
            return False
    return None


def _qt_has_wayland() -> bool:
    """opencv-python bundles Qt with only the xcb (X11) platform plugin; a Wayland-only session needs a build
    that has the wayland plugin (or a GTK build)."""
    try:
        import importlib.util

        spec = importlib.util.find_spec("cv2")
        plugins = Path(spec.origin).parent / "qt" / "plugins" / "platforms" if spec and spec.origin else None
    except (ImportError, ValueError):
        return True
    if plugins is None or not plugins.is_dir():
        return True  # not the bundled Qt: assume the toolkit handles Wayland
    return any("wayland" in p.name for p in plugins.iterdir())


def display_problem() -> str | None:
    """Why a window cannot be opened here (one line), or None.  Checked without touching OpenCV's GUI,
    whose first call aborts the whole process (Qt, exit 134) when there is no display."""
    if sys.platform in ("win32", "darwin") or os.environ.get("QT_QPA_PLATFORM"):
        return None  # desktop platforms always have one; an explicit Qt platform (e.g. offscreen) is the user's
    display = os.environ.get("DISPLAY", "")
    if not display:
        if os.environ.get("WAYLAND_DISPLAY") and _qt_has_wayland():
            return None
        return ("no display for the window sink (DISPLAY is not set): run on a desktop, use xvfb-run, "
                "or write to a file with -o")
    if _x_server_reachable(display) is False:
        return (f"no display for the window sink (cannot connect to X display {display}): check DISPLAY, "
                f"use xvfb-run, or write to a file with -o")
    return None


class WindowSink(FrameSink):
    """An OpenCV window showing the output.

    Keys pressed in the window are pushed to ``keys`` (a ``queue.Queue`` the pipeline polls) as names:
    single characters ('q', 'b', ...), or 'esc', 'space', 'enter', 'tab', 'backspace', 'delete', 'left',
    'right', 'up', 'down'.  Closing the window pushes 'quit' (once).  BGRA output is shown over a
    checkerboard so the transparency is visible.  OpenCV reads keys and window events only while drawing,
    hence ``interactive``: the pipeline keeps feeding the window while paused.
    """

    name = "window"
    interactive = True

    def __init__(self, title: str = "vbg") -> None:
        super().__init__()
        self.title = title
        self.keys: queue.Queue[str] = queue.Queue()
        self._created = False
        self._seen_visible = False
        self._gone = False  # the user closed the window

    def open(self, info: VideoInfo) -> None:
        problem = display_problem()  # before any highgui call: see display_problem
        if problem:
            raise VbgError(problem)
        import cv2

        cv2.namedWindow(self.title, cv2.WINDOW_NORMAL | cv2.WINDOW_KEEPRATIO | cv2.WINDOW_GUI_NORMAL)
        self._created = True
        cv2.resizeWindow(self.title, info.width, info.height)

    def write(self, frame: Frame, image: np.ndarray) -> None:
        import cv2

        if self._gone or not self._created:
            return  # imshow would re-create a window the user closed
        cv2.imshow(self.title, over_checkerboard(image))
        self.frames_written += 1
        name = key_name(cv2.waitKeyEx(1))
        if name is not None:
            self.keys.put(name)
        try:
            visible = cv2.getWindowProperty(self.title, cv2.WND_PROP_VISIBLE) >= 1
        except cv2.error:  # Qt drops its GUI state when the last window is closed: gone too
            visible = False
        if visible:
            self._seen_visible = True
        elif self._seen_visible:
            self._gone = True
            self.keys.put("quit")

    def _release(self) -> None:
        if not self._created:
            return
        import cv2

        try:
            if not self._gone:
                cv2.destroyWindow(self.title)
            cv2.waitKey(1)  # let the GUI process the destruction
        except cv2.error:
            pass


# ---------------------------------------------------------------------------------------------------------------
# Virtual camera
# ---------------------------------------------------------------------------------------------------------------


def _no_virtual_camera(detail: str, device: str | None) -> str:
    """The one-line VbgError message for a virtual camera that cannot start, per platform."""
    if sys.platform.startswith("linux"):
        loaded = Path("/sys/module/v4l2loopback").exists()
        if device and loaded:
            return (f"virtual camera {device} could not be opened ({detail}): pass the /dev/videoN of a "
                    f"v4l2loopback device (v4l2-ctl --list-devices) to --vcam-device")
        # without the module pyvirtualcam's own text only repeats this advice; with it, the detail matters
        what = f"no usable virtual camera device ({detail})" if loaded else \
            "no virtual camera device found (v4l2loopback is not loaded)"
        return (f"{what}: run `sudo modprobe v4l2loopback devices=1 exclusive_caps=1 card_label=vbg` "
                f"(package v4l2loopback-dkms), or start OBS's virtual camera, then pass --vcam-device /dev/videoN")
    if sys.platform == "darwin":
        return (f"no virtual camera available ({detail}): install OBS Studio and start its Virtual Camera once, "
                f"then retry")
    return (f"no virtual camera available ({detail}): install OBS Studio and start its Virtual Camera once, or "
            f"install Unity Capture, then retry (pick one with --vcam-backend obs/unitycapture)")


class VirtualCameraSink(FrameSink):
    """A virtual webcam through pyvirtualcam (v4l2loopback on Linux, OBS Virtual Camera / Unity Capture on
    Windows and macOS) that video-call apps can select.

    Frames are sent as BGR (``PixelFormat.BGR``), the pipeline's own format, so no colour conversion is done
    here; BGRA is composed over black, as cameras have no alpha.  The pipeline paces the output, so
    pyvirtualcam's ``sleep_until_next_frame`` is not used.  After ``open`` ``device`` is the device opened.
    """

    name = "vcam"

    def __init__(self, device: str | None = None, backend: str | None = None) -> None:
        super().__init__()
        self.device, self.backend = device, backend
        self.camera: Any = None
        self.size: tuple[int, int] = (0, 0)

    def open(self, info: VideoInfo) -> None:
        import pyvirtualcam
        from pyvirtualcam.camera import BACKENDS

        if self.backend is not None and self.backend not in BACKENDS:
            names = ", ".join(sorted(BACKENDS)) or "none on this platform"
            raise VbgError(f"unknown virtual camera backend {self.backend!r}: use one of {names}")
        fps = info.fps if info.fps and info.fps > 0 else 30.0
        try:
            self.camera = pyvirtualcam.Camera(info.width, info.height, fps, fmt=pyvirtualcam.PixelFormat.BGR,
                                              device=self.device, backend=self.backend)
        except (RuntimeError, ValueError, OSError) as exc:
            # pyvirtualcam joins one line per backend it tried: keep the first
            detail = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise VbgError(_no_virtual_camera(detail, self.device)) from None
        self.size = (info.width, info.height)
        self.device = self.camera.device
        self.backend = self.camera.backend

    def write(self, frame: Frame, image: np.ndarray) -> None:
        if self.camera is None:
            raise RuntimeError("VirtualCameraSink.write() before open()")
        image = _fit(drop_alpha(image), *self.size)
        try:
            self.camera.send(np.ascontiguousarray(image))
        except Exception as exc:  # noqa: BLE001 - each backend raises its own type (RuntimeError, OSError...)
            detail = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise VbgError(f"virtual camera {self.device} stopped accepting frames ({detail}): it was closed or "
                           f"removed; restart it (or drop --vcam) and run again") from None
        self.frames_written += 1

    def _release(self) -> None:
        if self.camera is not None:
            self.camera.close()
            self.camera = None
