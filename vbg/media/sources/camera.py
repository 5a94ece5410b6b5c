"""Cameras through OpenCV (V4L2 on Linux): an index or /dev/videoN, the requested size and rate, reconnecting."""

from __future__ import annotations

import os
from fractions import Fraction

import cv2
import numpy as np

from ...errors import VbgError
from ..frames import VideoInfo
from .base import INPUT_HINT, LINUX, RECONNECT_ATTEMPTS, FrameSource, Reconnector


def is_camera(spec: str | int) -> bool:
    """A camera index (``0``, ``"0"``) or a V4L2 device path (``/dev/video0``)."""
    return isinstance(spec, int) or str(spec).isdigit() or str(spec).startswith("/dev/video")


def camera_target(device: int | str) -> tuple[int | str, str | None]:
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
        target, node = camera_target(self.device)
        label = f"camera {self.device}"
        if LINUX and node is not None and not os.path.exists(node):
            raise VbgError(f"{label} could not be opened (no {node}): check that a webcam is connected, "
                           f"or {INPUT_HINT}")
        cap = cv2.VideoCapture(target, cv2.CAP_V4L2 if LINUX else cv2.CAP_ANY)
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
