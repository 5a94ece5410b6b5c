"""The video file sink (PyAV): timestamps, sizes, alpha, audio and safe partial files."""

from __future__ import annotations

import errno
import os
import time
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

from ...errors import VbgError
from ...outputs import check_writable
from ..frames import Frame, VideoInfo
from .audio import AudioCarrier
from .base import FrameSink, drop_alpha, fit_frame
from .codecs import VIDEO_OUTPUT_EXTENSIONS, X264_PRESETS, choose_pix_fmt, default_codec_for, has_alpha

#: errno values that mean "no room for the output": a full disk, a quota, a file-size limit (RLIMIT_FSIZE)
DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


def partial_path(path: Path) -> Path:
    """Where ``FileSink`` writes ``path`` until it is closed: ``.NAME.partial.EXT`` beside it."""
    return path.with_name(f".{path.stem}.partial{path.suffix}")


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
            self.pix_fmt = choose_pix_fmt(self.codec, pix_fmt or default_fmt, alpha)
        else:
            self.codec = codec
            self.pix_fmt = choose_pix_fmt(codec, pix_fmt, alpha)
        self.keeps_alpha = has_alpha(self.pix_fmt)
        self.crf, self.preset, self.bit_rate = crf, preset, bit_rate
        if preset and self.codec in ("libx264", "libx265") and preset not in X264_PRESETS:
            raise VbgError(f"unknown {self.codec} preset {preset!r}: use one of {', '.join(X264_PRESETS)}")
        self.audio_from = audio_from
        self.partial = partial_path(self.path)
        self._container: Any = None
        self._stream: Any = None
        self._audio: AudioCarrier | None = None
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
        check_writable(self.path.parent, self.path)

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

        fps = info.rate
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
        if self.codec == "libx264":
            # x264's own thread pool (1.5 per core) only competes with OpenVINO's streams on a small machine:
            # one encoder thread per 4 cores costs 12 % less CPU per 720p frame on 2 cores (7.0 -> 6.1 ms,
            # benchmarks/bench_stages.py), and the sink thread has the time (file mode is CPU-bound, not
            # encoder-bound)
            options["threads"] = str(max(1, (os.cpu_count() or 1) // 4))
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
            self._audio = AudioCarrier(self.audio_from, self._container)
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
        image = fit_frame(image, info.width, info.height)
        if self._pad != (0, 0):
            import cv2

            image = cv2.copyMakeBorder(image, 0, self._pad[1], 0, self._pad[0], cv2.BORDER_REPLICATE)
        if fmt == "bgr24" and self.pix_fmt == "yuv420p":
            # OpenCV's SIMD conversion (the same BT.601 limited-range YUV as FFmpeg's; within 1 level): about
            # 8x faster than letting the encoder call swscale, which has no fast path from bgr24 (3.6 -> 0.5 ms
            # per 720p frame here; benchmarks/bench_stages.py shows it in the sink's CPU)
            import cv2

            vf = av.VideoFrame.from_ndarray(cv2.cvtColor(image, cv2.COLOR_BGR2YUV_I420), format="yuv420p")
        else:
            vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format=fmt)
        vf.pts = self._pts(frame)
        vf.time_base = self._time_base
        try:
            self._container.mux(self._stream.encode(vf))
            self.frames_written += 1
            fps = info.rate
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
            try:
                os.replace(self.partial, self.path)
            except OSError as exc:  # the folder went away or turned read-only while the file was written
                error = error or exc
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
