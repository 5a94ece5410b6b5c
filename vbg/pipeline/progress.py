"""The file-mode progress bar: an observer of the output frame count (tqdm, with an ETA when the length is
known)."""

from __future__ import annotations

from ..media.frames import VideoInfo
from .metrics import progress_interval


class FrameProgress:
    """Called with the number of frames written so far; ``close()`` at the end."""

    def __init__(self, total: int | None) -> None:
        from tqdm import tqdm

        interval = progress_interval()  # in a log (stderr not a terminal) a line every few seconds
        self.bar = tqdm(total=total, unit="frame", desc="vbg", leave=False, dynamic_ncols=True,
                        mininterval=interval, maxinterval=max(interval, 10.0))

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
