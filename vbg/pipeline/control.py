"""The user's hands on a running pipeline: keys from sinks that have a keyboard, pause, the overlay toggle,
background and mode cycling, and snapshots.  The pipeline itself only moves frames."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from ..compose.compositing import Compositor
from ..media.frames import Frame
from ..media.imageio import write_image
from ..media.sinks import FrameSink

#: What each key does (the window's help line in the README lists the same).
KEYS = {"q": "quit", "esc": "quit", "quit": "quit", "space": "pause", "b": "next background", "m": "next mode",
        "o": "overlay", "s": "snapshot"}


class Controls:
    """State the keys change, and the actions behind them.  ``poll`` reads every sink's key channel."""

    def __init__(self, compositor: Compositor, stop: Callable[[], None], overlay: bool = True,
                 snapshot_dir: str = ".") -> None:
        self.compositor = compositor
        self.stop = stop
        self.overlay_on = overlay
        self.paused = False
        self.snapshot_dir = snapshot_dir
        self.last_output: tuple[Frame, np.ndarray] | None = None  # newest (frame, picture) out: snapshots, pause

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
