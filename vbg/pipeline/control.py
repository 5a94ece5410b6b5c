"""The user's hands on a running pipeline: keys from sinks that have a keyboard, pause, the overlay toggle,
background and mode cycling, and snapshots.  The pipeline itself only moves frames."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from ..compose.compositing import Compositor
from ..compose.overlay import OverlayStats, draw_overlay
from ..media.frames import Frame
from ..media.imageio import write_image
from ..media.sinks import FrameSink

#: What each key does (the README's window keys list the same).
KEYS = {"q": "quit", "esc": "quit", "quit": "quit", "space": "pause", "b": "next background", "m": "next mode",
        "o": "overlay", "s": "snapshot"}


class Controls:
    """State the keys change, and the actions behind them.  ``poll`` reads every sink's key channel."""

    def __init__(self, compositor: Compositor, stop: Callable[[], None], overlay: bool = True,
                 snapshot_dir: str = ".", burn_in: bool = False) -> None:
        self.compositor = compositor
        self.stop = stop
        self.overlay_on = overlay
        self.burn_in = burn_in  # --overlay: the HUD goes into files and virtual cameras too
        self.paused = False
        self.snapshot_dir = snapshot_dir
        self.last_output: tuple[Frame, np.ndarray] | None = None  # newest (frame, picture) out: snapshots, pause

    def overlay_for(self, sink: FrameSink) -> bool:
        """The HUD is a preview aid: windows show it; files and virtual cameras get it only with --overlay."""
        return self.overlay_on and (sink.interactive or self.burn_in)

    def with_overlay(self, frame: Frame, image: np.ndarray, sinks: Iterable[FrameSink],
                     stats: Callable[[], OverlayStats]) -> np.ndarray:
        """``image`` with the HUD drawn on it; on a copy when some sink still gets the plain picture (or the
        picture is the source frame itself). The alpha channel of a transparent picture stays the matte."""
        wanted = [self.overlay_for(sink) for sink in sinks]
        if not any(wanted):
            return image
        in_place = all(wanted) and image is not frame.image
        return draw_overlay(image if in_place else image.copy(), stats())

    def poll(self, sinks: Iterable[FrameSink]) -> None:
        for sink in sinks:
            while sink.keys is not None and not sink.keys.empty():
                self.press(sink.keys.get_nowait())

    def press(self, key: str) -> None:
        """Window keys: q/Esc quit, space pause, b next background, m next mode, o overlay, s snapshot."""
        action = KEYS.get(key)
        if action == "quit":
            self.stop()
        elif action == "pause":
            self.paused = not self.paused
        elif action == "next background":
            self.compositor.next_background()
        elif action == "next mode":
            self.compositor.next_mode()
        elif action == "overlay":
            self.overlay_on = not self.overlay_on
        elif action == "snapshot" and self.last_output is not None:
            path = Path(self.snapshot_dir) / f"vbg-snapshot-{time.strftime('%Y%m%d-%H%M%S')}.png"
            write_image(path, self.last_output[1])
