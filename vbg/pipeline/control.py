"""The user's hands on a running pipeline: keys from sinks that have a keyboard, ``vbg ctl`` commands from the
control socket (``commands.py``), pause, the overlay and mirror, background and mode changes, and snapshots.
The pipeline itself only moves frames; everything here is applied by the compositor thread between frames."""

from __future__ import annotations

import dataclasses
import queue
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import cv2
import numpy as np

from ..compose.backgrounds import fit_image
from ..compose.compositing import Compositor
from ..compose.overlay import OverlayStats, draw_overlay
from ..media.frames import Frame
from ..media.imageio import write_image
from ..media.sinks import FrameSink

#: What each key does (the README's window keys list the same).
KEYS = {"q": "quit", "esc": "quit", "quit": "quit", "space": "pause", "b": "next background", "m": "next mode",
        "o": "overlay", "s": "snapshot"}


class Controls:
    """State the keys and ``vbg ctl`` change, and the actions behind them.  ``poll`` reads every sink's key
    channel and the queued commands."""

    def __init__(self, compositor: Compositor, stop: Callable[[], None], overlay: bool = True,
                 snapshot_dir: str = ".", burn_in: bool = False, mirror: bool = False,
                 mirror_all: bool = False) -> None:
        self.compositor = compositor
        self.stop = stop
        self.overlay_on = overlay
        self.burn_in = burn_in  # --overlay: the HUD goes into files and virtual cameras too
        # the preview is mirrored like a bathroom mirror; --mirror mirrors files and virtual cameras too
        self.mirror_on = mirror
        self.mirror_all = mirror_all
        self._playing = threading.Event()  # set while not paused: a held camera waits on it
        self._playing.set()
        self.pause_picture: np.ndarray | None = None  # vbg ctl pause IMAGE: shown instead of the still
        self.snapshot_dir = snapshot_dir
        self.last_output: tuple[Frame, np.ndarray] | None = None  # newest (frame, picture) out: snapshots, pause
        self.commands: queue.Queue = queue.Queue()  # pipeline.commands.Command objects from the control socket's thread
        self.frames_out: Callable[[], int] = lambda: 0  # the pipeline's output count (replies name the frame)

    def overlay_for(self, sink: FrameSink) -> bool:
        """The HUD is a preview aid: windows show it; files and virtual cameras get it only with --overlay."""
        return self.overlay_on and (sink.interactive or self.burn_in)

    def mirror_for(self, sink: FrameSink) -> bool:
        """Call apps mirror their own self-view and send the true picture: only the preview is mirrored,
        unless --mirror asked for every output."""
        return self.mirror_on and (sink.interactive or self.mirror_all)

    def pictures(self, frame: Frame, image: np.ndarray, sinks: list[FrameSink],
                 stats: Callable[[], OverlayStats], keep: bool = False) -> list[np.ndarray]:
        """What each sink gets: ``image``, mirrored and/or with the HUD as ``mirror_for``/``overlay_for`` say,
        each variant made once.  ``image`` is drawn on in place only when every sink wants the same HUD and it
        is neither the source frame nor kept (``keep``: the paused still, shown again)."""
        wanted = [(self.overlay_for(sink), self.mirror_for(sink)) for sink in sinks]
        made: dict[tuple[bool, bool], np.ndarray] = {}
        for hud, flip in wanted:
            if (hud, flip) in made:
                continue
            picture = cv2.flip(image, 1) if flip else image
            if hud:
                mine = picture is not image or (len(set(wanted)) == 1 and not keep and image is not frame.image)
                picture = draw_overlay(picture if mine else picture.copy(), stats())
            made[hud, flip] = picture
        return [made[key] for key in wanted]

    def still(self, frame: Frame) -> np.ndarray:
        """While paused, what goes out instead of the camera: the chosen picture, else the last output."""
        h, w = frame.image.shape[:2]
        if self.pause_picture is not None:
            if self.pause_picture.shape[:2] != (h, w):
                self.pause_picture = fit_image(self.pause_picture, w, h, self.compositor.fit)
            return self.pause_picture
        if self.last_output is not None and self.last_output[1].shape[:2] == (h, w):
            return self.last_output[1]
        return frame.image

    @property
    def paused(self) -> bool:
        return not self._playing.is_set()

    def pause(self, picture: np.ndarray | None = None) -> None:
        self._playing.clear()
        self.pause_picture = picture

    def resume(self) -> None:
        self._playing.set()
        self.pause_picture = None

    def wait_resumed(self, timeout: float) -> bool:
        """Whether the run plays, waiting up to ``timeout`` seconds for a resume."""
        return self._playing.wait(timeout)

    def still_frame(self, frame: Frame) -> Frame:
        """A frame to carry the still while the camera is released: ``frame`` (the last one out) stamped now,
        so files and the frame rate go on in real time."""
        now = time.perf_counter()
        pts = None if frame.pts is None or frame.time_base is None else \
            frame.pts + round((now - frame.captured_at) / frame.time_base)
        return dataclasses.replace(frame, pts=pts, captured_at=now)

    def poll(self, sinks: Iterable[FrameSink]) -> None:
        for sink in sinks:
            while sink.keys is not None and not sink.keys.empty():
                self.press(sink.keys.get_nowait())
        while not self.commands.empty():
            self.commands.get_nowait().run(self, self.frames_out())

    def press(self, key: str) -> None:
        """Window keys: q/Esc quit, space pause, b next background, m next mode, o overlay, s snapshot."""
        action = KEYS.get(key)
        if action == "quit":
            self.stop()
        elif action == "pause":
            self.resume() if self.paused else self.pause()
        elif action == "next background":
            self.compositor.next_background()
        elif action == "next mode":
            self.compositor.next_mode()
        elif action == "overlay":
            self.overlay_on = not self.overlay_on
        elif action == "snapshot" and self.last_output is not None:
            path = Path(self.snapshot_dir) / f"vbg-snapshot-{time.strftime('%Y%m%d-%H%M%S')}.png"
            write_image(path, self.last_output[1])


class CaptureDemand:
    """Whether a live source should capture now (``FrameSource.serve_on_demand``); while not, it holds and
    releases what it can: a camera's light goes off.

    A paused run needs no camera: the call sees the still, and the user, who paused to step away or to hide,
    sees the light go off, as with a call app's "stop video". A run whose only output is a virtual camera
    that nobody reads (``readers``) needs none either."""

    def __init__(self, controls: Controls, readers=None) -> None:
        self.controls = controls
        self.readers = readers  # a ReaderWatch, or None: the outputs always want frames

    @property
    def watched(self) -> bool:
        return not self.controls.paused and (self.readers is None or self.readers.watched)

    @property
    def reasons(self) -> tuple[str, str]:
        """Why capture holds, and what will have ended the hold, for the notices."""
        if self.controls.paused:
            return "the run is paused", "the run resumed"
        return "nobody is watching the virtual camera", "the virtual camera has a viewer"

    def wait(self, timeout: float) -> bool:
        """Whether capture is wanted, waiting up to ``timeout`` seconds for it."""
        if self.controls.paused:
            self.controls.wait_resumed(timeout)
        elif self.readers is not None:
            self.readers.wait(timeout)
        return self.watched
