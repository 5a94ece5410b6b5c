"""Progress bars that read well on a terminal and in a log.

On a terminal a tqdm bar redraws in place and vanishes when done, so the summary line that follows starts on a
clean line.  In a log (stderr redirected, CI) a redrawn bar is a run of carriage returns and cursor escapes
glued to whatever comes next, so there the same bar prints a plain line every few seconds and its final count
once at the end.
"""

from __future__ import annotations

import re
import sys

from ..media.frames import VideoInfo
from .metrics import progress_interval

_ESCAPES = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class _LogLines:
    """A stream for tqdm that turns each redraw into one plain line (no ``\\r``, no cursor escapes)."""

    def __init__(self, stream) -> None:
        self.stream = stream
        self.last = ""

    def write(self, text: str) -> None:
        line = _ESCAPES.sub("", text).replace("\r", "").strip()
        if line and line != self.last:  # closing redraws the last state once more
            self.stream.write(line + "\n")
            self.last = line

    def flush(self) -> None:
        self.stream.flush()


def progress_bar(iterable=None, *, total: int | None = None, unit: str, desc: str = "vbg",
                 disable: bool = False, position: int | None = None):
    """A tqdm bar (``iterable`` wrapped, or ``update()`` by hand) in the terminal or log style above."""
    from tqdm import tqdm

    interval = progress_interval()  # lively on a terminal, every few seconds in a log
    if sys.stderr.isatty():
        return tqdm(iterable, total=total, unit=unit, desc=desc, disable=disable, position=position, leave=False,
                    dynamic_ncols=True, mininterval=interval)
    return _log_bar(tqdm)(iterable, total=total, unit=unit, desc=desc, disable=disable, leave=True, ascii=True,
                          ncols=80, file=_LogLines(sys.stderr), mininterval=interval, maxinterval=interval * 2)


def _log_bar(tqdm):
    """tqdm for a log, whose final count is printed once.  Closing redraws the bar with the overall rate, which
    differs from the rate of a final count already printed (the last item came after a long one, such as the
    first photo, which converts the model), so the same 100 % line appeared twice."""

    class LogBar(tqdm):
        def close(self) -> None:
            if not self.disable and getattr(self, "last_print_n", None) == self.n:
                self.leave = False  # already on its own line: close only clears (nothing, in a log)
            super().close()

    return LogBar


class FrameProgress:
    """The file-mode bar: called with the number of frames written so far; ``close()`` at the end."""

    def __init__(self, total: int | None) -> None:
        self.bar = progress_bar(total=total, unit="frame")

    @classmethod
    def of(cls, info: VideoInfo, max_frames: int | None) -> "FrameProgress":
        total = info.frame_count
        if max_frames is not None:
            total = min(total, max_frames) if total else max_frames
        return cls(total)

    def __call__(self, frames_out: int) -> None:
        self.bar.update(frames_out - self.bar.n)

    def close(self) -> None:
        self.bar.close()
