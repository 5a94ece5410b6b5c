"""Cameras through OpenCV (V4L2 on Linux): an index or /dev/videoN, the requested size and rate, reconnecting."""

from __future__ import annotations

import os
import time
from fractions import Fraction

import cv2
import numpy as np

from ...errors import VbgError, notice
from ..frames import VideoInfo
from ..v4l2 import DEFAULT_REQUEST, LINUX, CameraMode, choose_mode, fourcc_text, read_device
from .base import INPUT_HINT, RECONNECT_ATTEMPTS, FrameSource, Reconnector


def is_camera(spec: str | int) -> bool:
    """A camera index (``0``, ``"0"``) or a V4L2 device path (``/dev/video0``)."""
    return isinstance(spec, int) or str(spec).isdigit() or str(spec).startswith("/dev/video")


def camera_target(device: int | str) -> tuple[int | str, str | None]:
    """What to pass to OpenCV, and the device node that must exist on Linux (None if unknown)."""
    if isinstance(device, int) or str(device).isdigit():
        index = int(device)
        return index, f"/dev/video{index}"
    return str(device), str(device) if str(device).startswith("/dev/") else None


READ_TIMEOUT_S = 2.0  # a camera silent this long is lost (unplugged, stalled driver): reopen it


class CameraSource(FrameSource):
    """An OpenCV camera by index (``0``, ``"0"``) or device path (``/dev/video0``); always live.

    On Linux the device's modes are read first and one is chosen (``v4l2.choose_mode``: 720p30 unless asked
    otherwise, the rate before the size, YUYV before MJPG); elsewhere MJPG is asked for, which is how most
    USB webcams reach 720p/1080p at 30 fps.  A one-frame driver buffer keeps the driver from queueing stale
    frames behind our own newest-frame slot.  The first frame is grabbed in the constructor: it proves the
    camera works, and ``granted`` (printed once) says what was asked and what was really granted.
    """

    def __init__(self, device: int | str = 0, *, width: int | None = None, height: int | None = None,
                 fps: float | None = None, reconnect: int = RECONNECT_ATTEMPTS) -> None:
        super().__init__(latest_only=True)
        self.device = device
        default_w, default_h, default_fps = DEFAULT_REQUEST
        self._requested = (width or default_w, height or default_h, float(fps or default_fps))
        self._reconnector = Reconnector(self._buffer, reconnect, label=f"camera {device}")
        cap, image = self._open_camera()
        self._cap = cap
        notice(self.granted)
        granted_fps = cap.get(cv2.CAP_PROP_FPS)
        if not 0 < granted_fps < 1000:
            granted_fps = self._requested[2]
        self.info = VideoInfo(width=image.shape[1], height=image.shape[0], fps=float(granted_fps),
                              time_base=Fraction(1, 1000), frame_count=None, has_audio=False,
                              source=str(device), live=True)
        self._emit(image, None, None)  # cameras have no pts: sinks time frames by captured_at
        self._start()

    def _negotiate(self, node: str | None) -> tuple[CameraMode | None, str]:
        """The mode to ask for (None: let the driver choose) and the report's wording."""
        width, height, fps = self._requested
        wanted = f"{width}x{height} at {fps:g} fps"
        try:
            found = read_device(node) if LINUX and node else None
        except OSError:
            found = None
        mode, exact = choose_mode(found.modes, width, height, fps) if found else (None, False)
        name = f"camera {self.device}" + (f" ({found.card})" if found else "")
        if mode is None:
            return None, f"{name}: asked for {wanted}; got"
        if exact:
            return mode, f"{name}:"
        return mode, f"{name}: {wanted} is not offered (see vbg cameras); using"

    def _open_camera(self) -> tuple[cv2.VideoCapture, np.ndarray]:
        """Open the device in the negotiated mode and grab one frame; VbgError if it is not usable."""
        target, node = camera_target(self.device)
        label = f"camera {self.device}"
        if LINUX and node is not None and not os.path.exists(node):
            raise VbgError(f"{label} could not be opened (no {node}): check that a webcam is connected, "
                           f"or {INPUT_HINT}")
        mode, wording = self._negotiate(node)
        cap = cv2.VideoCapture(target, cv2.CAP_V4L2 if LINUX else cv2.CAP_ANY)
        try:
            if not cap.isOpened():
                raise VbgError(f"{label} could not be opened: check that no other program is using it and that "
                               f"you may access it (video group), or {INPUT_HINT}")
            width, height, fps = self._requested
            if mode is not None:
                width, height, fps = mode.width, mode.height, min(fps, mode.fps)
            cap.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter_fourcc(*(mode.fourcc if mode else "MJPG")))
            for prop, value in ((cv2.CAP_PROP_FRAME_WIDTH, width), (cv2.CAP_PROP_FRAME_HEIGHT, height),
                                (cv2.CAP_PROP_FPS, fps), (cv2.CAP_PROP_BUFFERSIZE, 1),
                                (cv2.CAP_PROP_READ_TIMEOUT_MSEC, READ_TIMEOUT_S * 1000)):
                cap.set(prop, float(value))
            ok, image = cap.read()
            if not ok or image is None:
                raise VbgError(f"{label} opened but delivered no frame: check that it is not in use, "
                               f"or {INPUT_HINT}")
        except BaseException:
            cap.release()
            raise
        got_fps = cap.get(cv2.CAP_PROP_FPS)
        got = (f"{fourcc_text(int(cap.get(cv2.CAP_PROP_FOURCC)))} {image.shape[1]}x{image.shape[0]}"
               + (f" at {got_fps:g} fps" if 0 < got_fps < 1000 else ""))
        self.granted = f"{wording} {got}"
        return cap, image

    def _reopen(self, timeout: float) -> None:
        self._cap, image = self._open_camera()
        self._emit(image, None, None)

    def _produce(self) -> None:
        failures, last_frame = 0, time.monotonic()
        while not self._buffer.closed:
            if not self._buffer.wanted():
                if not self._hold():
                    return
                failures, last_frame = 0, time.monotonic()
            ok, image = self._cap.read()
            if not ok or image is None:
                failures += 1  # tolerate a few hiccups (USB resets); then reopen it (unplugged and back)
                stalled = time.monotonic() - last_frame >= READ_TIMEOUT_S
                if failures >= 10 or stalled:
                    self._release()
                    why = f"no frame for {READ_TIMEOUT_S:g} s" if stalled else f"{failures} failed reads"
                    reopened, error = self._reconnector.run(self._reopen, why)
                    if not reopened:
                        if error != "closed":
                            self.lost = (f"camera {self.device} stopped delivering frames after {self._next_index} "
                                         f"frames; {self._reconnector.attempts} reconnect attempts failed ({error})")
                        return
                    failures, last_frame = 0, time.monotonic()
                    continue
                if self._buffer.wait_closed(0.05):
                    return
                continue
            failures, last_frame = 0, time.monotonic()
            if not self._emit(image, None, None):
                return

    def _hold(self) -> bool:
        """Nobody wants frames: release the camera (its light goes off) until someone does, then reopen it.
        False when the source closed meanwhile or the camera did not come back."""
        self._release()
        why, back = getattr(self._buffer.demand, "reasons",
                            ("nobody is watching the virtual camera", "the virtual camera has a viewer"))
        notice(f"camera {self.device} released: {why}")
        if not self._buffer.wait_wanted():
            return False
        try:
            self._reopen(0)
        except VbgError:
            reopened, error = self._reconnector.run(self._reopen, "it did not reopen for a new viewer")
            if not reopened:
                self.lost = f"camera {self.device} did not reopen for a viewer of the virtual camera ({error})"
                return False
        notice(f"camera {self.device} reopened: {back}")
        return True

    def _release(self) -> None:
        cap, self._cap = self._cap, None
        if cap is not None:
            cap.release()
