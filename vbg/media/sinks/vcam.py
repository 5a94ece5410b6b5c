"""The virtual camera sink: vbg's own v4l2loopback writer on Linux (``vcamwriter``), pyvirtualcam elsewhere."""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

from ...errors import VbgError
from ..frames import Frame, VideoInfo
from .base import FrameSink, drop_alpha, fit_frame

LINUX = sys.platform.startswith("linux")


def _no_virtual_camera(detail: str) -> str:
    """The one-line VbgError message for an OBS / Unity Capture virtual camera that cannot start."""
    if sys.platform == "darwin":
        return (f"no virtual camera available ({detail}): install OBS Studio and start its Virtual Camera once, "
                f"then retry")
    return (f"no virtual camera available ({detail}): install OBS Studio and start its Virtual Camera once, or "
            f"install Unity Capture, then retry (pick one with --vcam-backend obs/unitycapture)")


class VirtualCameraSink(FrameSink):
    """A virtual webcam that video-call apps can select: on Linux a v4l2loopback device written by
    ``LoopbackWriter`` (which leaves the device free for the next vbg however this one ends), elsewhere (or
    with another ``--vcam-backend``) pyvirtualcam's OBS Virtual Camera / Unity Capture.

    Frames are handed over as BGR, the pipeline's own format (the Linux writer converts them to I420, as
    pyvirtualcam did); BGRA is composed over black, as cameras have no alpha.  The pipeline paces the output,
    so pyvirtualcam's ``sleep_until_next_frame`` is not used.  After ``open`` ``device`` is the device opened.
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

    @property
    def _native(self) -> bool:
        """vbg's own writer: Linux, for v4l2loopback (the default there)."""
        return LINUX and self.backend in (None, "v4l2loopback")

    def check(self) -> None:
        """An unknown backend; on Linux a missing v4l2loopback module or a named device that cannot take
        frames."""
        from pyvirtualcam.camera import BACKENDS

        if self.backend is not None and self.backend not in BACKENDS:
            names = ", ".join(sorted(BACKENDS)) or "none on this platform"
            raise VbgError(f"unknown virtual camera backend {self.backend!r}: use one of {names}")
        if self._native:
            from ..loopback import loaded
            from ..vcamdevice import device_problem, no_module

            if self.device:
                problem = device_problem(self.device)
            else:  # vbg picks the device when it opens: only the module can be checked now
                problem = None if loaded() else no_module()
            if problem:
                raise VbgError(problem)

    def open(self, info: VideoInfo) -> None:
        self.check()
        if self._native:
            from ..vcamdevice import open_writer

            # I420 halves the colour planes: an even size (a camera's always is)
            self.camera = open_writer(self.device, info.width - info.width % 2, info.height - info.height % 2,
                                      info.rate)
            self.size, self.backend = self.camera.size, "v4l2loopback"
        else:
            self.camera = self._open_pyvirtualcam(info)
            self.size, self.backend = (info.width, info.height), self.camera.backend
        self.device = self.camera.device
        if self.watch_readers and self.backend == "v4l2loopback":
            from .readers import ReaderWatch

            # one picture first: with exclusive_caps=1 a v4l2loopback device is offered to apps as a camera only
            # once its writer has sent a frame
            self._send(np.zeros((self.size[1], self.size[0], 3), np.uint8))
            self.readers = ReaderWatch(self.device)

    def _open_pyvirtualcam(self, info: VideoInfo) -> Any:
        import pyvirtualcam

        try:
            return pyvirtualcam.Camera(info.width, info.height, info.rate, fmt=pyvirtualcam.PixelFormat.BGR,
                                       device=self.device, backend=self.backend)
        except (RuntimeError, ValueError, OSError) as exc:
            # pyvirtualcam joins one line per backend it tried: keep the first
            detail = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise VbgError(_no_virtual_camera(detail)) from None

    def write(self, frame: Frame, image: np.ndarray) -> None:
        if self.camera is None:
            raise RuntimeError("VirtualCameraSink.write() before open()")
        self._send(fit_frame(drop_alpha(image), *self.size))
        self.frames_written += 1

    def _send(self, image: np.ndarray) -> None:
        try:
            self.camera.send(np.ascontiguousarray(image))
        except Exception as exc:  # noqa: BLE001 - each backend raises its own type (RuntimeError, OSError...)
            detail = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise VbgError(f"virtual camera {self.device} stopped accepting frames ({detail}): it was closed or "
                           f"removed; restart it (or drop --vcam) and run again") from None

    def _release(self) -> None:
        if self.readers is not None:
            self.readers.close()
            self.readers = None
        if self.camera is not None:
            self.camera.close()
            self.camera = None
