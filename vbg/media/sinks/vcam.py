"""The virtual camera sink (pyvirtualcam: v4l2loopback, OBS, ...)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import VbgError
from ..frames import Frame, VideoInfo
from ..v4l2 import MODPROBE, read_device
from .base import FrameSink, drop_alpha, fit_frame

def _linux_device_problem(device: str, fix: str) -> str | None:
    """Why ``device`` cannot take vbg's frames, read from the node itself, with ``fix`` (None if nothing is
    seen wrong)."""
    if not Path(device).exists():
        return f"virtual camera {device} does not exist: {fix}"
    try:
        found = read_device(device)
    except OSError as exc:
        return f"virtual camera {device} cannot be opened ({exc.strerror or exc}): {fix}"
    if not found.loopback:
        return f"{device} is {found.card!r} ({found.driver}), not a v4l2loopback virtual camera: {fix}"
    if not found.output:  # exclusive_caps=1: while a writer holds it, the node only offers capture
        return (f"virtual camera {device} is busy: another program is sending to it: stop that program or pick "
                f"another device with --vcam-device; to add one, {fix}")
    return None


#: how to get a usable virtual camera on Linux, the end of every such error
LINUX_FIX = (f"run `{MODPROBE}` (package v4l2loopback-dkms; devices=2 for a second one), "
             f"then pass the device that `vbg cameras` lists to --vcam-device")


def _no_virtual_camera(detail: str, device: str | None) -> str:
    """The one-line VbgError message for a virtual camera that cannot start, per platform."""
    if sys.platform.startswith("linux"):
        loaded = Path("/sys/module/v4l2loopback").exists()
        if device:
            return (_linux_device_problem(device, LINUX_FIX)
                    or f"virtual camera {device} could not be opened ({detail}): {LINUX_FIX}")
        # without the module pyvirtualcam's own text only repeats this advice; with it, the detail matters
        what = f"no usable virtual camera device ({detail})" if loaded else \
            "no virtual camera device found (v4l2loopback is not loaded)"
        return f"{what}: {LINUX_FIX}"
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
    With ``watch_readers`` (Linux, v4l2loopback) ``readers`` counts the programs that have the device open, so
    that a run can idle while nobody watches (``Pipeline``).
    """

    name = "vcam"

    def __init__(self, device: str | None = None, backend: str | None = None, watch_readers: bool = False) -> None:
        super().__init__()
        self.device, self.backend = device, backend
        self.watch_readers = watch_readers  # Linux: count the programs that have the device open (``readers``)
        self.camera: Any = None
        self.size: tuple[int, int] = (0, 0)

    def check(self) -> None:
        """An unknown backend; on Linux a missing v4l2loopback module or a named device that cannot take
        frames."""
        from pyvirtualcam.camera import BACKENDS

        if self.backend is not None and self.backend not in BACKENDS:
            names = ", ".join(sorted(BACKENDS)) or "none on this platform"
            raise VbgError(f"unknown virtual camera backend {self.backend!r}: use one of {names}")
        if sys.platform.startswith("linux") and self.backend in (None, "v4l2loopback"):
            problem = _linux_device_problem(self.device, LINUX_FIX) if self.device else None
            if problem:
                raise VbgError(problem)
            if not self.device and not Path("/sys/module/v4l2loopback").exists():
                raise VbgError(_no_virtual_camera("", None))

    def open(self, info: VideoInfo) -> None:
        import pyvirtualcam

        self.check()
        fps = info.rate
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
        if self.watch_readers and self.backend == "v4l2loopback":
            from .readers import ReaderWatch

            # one picture first: with exclusive_caps=1 a v4l2loopback device is offered to apps as a camera only
            # once its writer has sent a frame
            self.camera.send(np.zeros((info.height, info.width, 3), np.uint8))
            self.readers = ReaderWatch(self.device)

    def write(self, frame: Frame, image: np.ndarray) -> None:
        if self.camera is None:
            raise RuntimeError("VirtualCameraSink.write() before open()")
        image = fit_frame(drop_alpha(image), *self.size)
        try:
            self.camera.send(np.ascontiguousarray(image))
        except Exception as exc:  # noqa: BLE001 - each backend raises its own type (RuntimeError, OSError...)
            detail = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise VbgError(f"virtual camera {self.device} stopped accepting frames ({detail}): it was closed or "
                           f"removed; restart it (or drop --vcam) and run again") from None
        self.frames_written += 1

    def _release(self) -> None:
        if self.readers is not None:
            self.readers.close()
            self.readers = None
        if self.camera is not None:
            self.camera.close()
            self.camera = None
