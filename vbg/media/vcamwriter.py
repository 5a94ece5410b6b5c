"""Writes frames into a v4l2loopback device with the ioctl sequence its module version needs, so that the device
is free for the next writer however vbg ends: Ctrl-C, SIGTERM or SIGKILL.

Why not pyvirtualcam: it opens the device, sets the format and ``write()``s, and never sends VIDIOC_STREAMON.
On v4l2loopback 0.12.5-0.12.7 (Debian 12, Ubuntu 24.04) such an opener is never marked as the writer, so its
close does not give the device its output capability back: with ``exclusive_caps=1`` the device then offers
nothing to any later writer until the module is reloaded (v4l2loopback issues 442, 470, 504).

The sequence, by the version in ``/sys/module/v4l2loopback/version``:

- before 0.13: open, QUERYCAP, S_FMT(OUTPUT), S_PARM, STREAMON(OUTPUT), write() each frame, STREAMOFF, close.
  STREAMON marks this open file as the writer; the driver's close handler then restores the output capability,
  and the kernel runs that handler for a killed process too.
- 0.13 and later: open, QUERYCAP, S_FMT, S_PARM, write() each frame, close.  The first write() starts streaming
  by itself and close() ends it.  No STREAMON: 0.14 refuses it without REQBUFS, and once REQBUFS has chosen
  mmap streaming, 0.15 refuses write() with EBUSY.
- unknown (a module that does not say): as before 0.13; a refused STREAMON (EINVAL) means a newer module.

``keep_format`` is never touched: set, it keeps the device capture-only after vbg has gone.  Frames go out as
I420 (YU12), as pyvirtualcam sent them; a device a reader still holds keeps the format its last writer chose,
so YUYV is written too when that is what the driver grants.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import os
from fractions import Fraction

import numpy as np

from .loopback import CAP_DEVICE_CAPS, CAP_VIDEO_OUTPUT, DRIVER, IMPLICIT_STREAMING, Version

_CONVERSIONS = {"YU12": "COLOR_BGR2YUV_I420", "YUYV": "COLOR_BGR2YUV_YUY2"}


def fourcc_code(text: str) -> int:
    return int.from_bytes(text.encode("ascii"), "little")


def fourcc_name(code: int) -> str:
    return int(code).to_bytes(4, "little").decode("ascii", "replace")


def needs_streamon(version: Version | None) -> bool:
    """Whether the writer must start streaming itself (see the module docstring)."""
    return version is None or version < IMPLICIT_STREAMING


class LoopbackWriter:
    """One open v4l2loopback device that vbg writes to.  ``open`` follows the version's sequence and raises
    OSError for the step that failed (its ``filename`` is the device); ``size`` and ``fourcc`` are what the
    driver granted, which may differ from the request when a reader keeps an earlier writer's format."""

    def __init__(self, device: str, width: int, height: int, fps: float, version: Version | None) -> None:
        self.device, self.version = device, version
        self.size = (width, height)
        self.fps = fps
        self.fourcc = "YU12"
        self.streaming = False  # STREAMON was sent (and STREAMOFF is due)
        self._fd: int | None = None

    def open(self) -> None:
        from linuxpy.video.raw import IOC, v4l2_capability

        fd = self._fd = os.open(self.device, os.O_RDWR)  # O_CLOEXEC: Python's default, no child inherits it
        try:
            # on 0.12 the answer also refreshes the caps the kernel checks S_FMT against
            cap = v4l2_capability()
            fcntl.ioctl(fd, IOC.QUERYCAP, cap)
            caps = cap.device_caps if cap.capabilities & CAP_DEVICE_CAPS else cap.capabilities
            if cap.driver.decode(errors="replace") != DRIVER:
                raise OSError(errno.ENODEV, "not a v4l2loopback device", self.device)
            if not caps & CAP_VIDEO_OUTPUT:
                raise OSError(errno.EBUSY, "the device offers no output", self.device)
            self._set_format(fd)
            self._set_rate(fd)
            if needs_streamon(self.version):
                self._stream_on(fd)
        except BaseException:
            self.close()
            raise

    def _set_format(self, fd: int) -> None:
        from linuxpy.video.raw import IOC, BufType, v4l2_format

        fmt = v4l2_format(type=BufType.VIDEO_OUTPUT)
        pix = fmt.fmt.pix
        pix.width, pix.height = self.size
        pix.pixelformat = fourcc_code("YU12")
        pix.field = 1  # V4L2_FIELD_NONE
        fcntl.ioctl(fd, IOC.S_FMT, fmt)
        granted = fourcc_name(pix.pixelformat)
        if granted not in _CONVERSIONS:
            raise OSError(errno.EINVAL, f"the device keeps format {granted} from an earlier writer, which vbg "
                                        f"cannot write", self.device)
        self.size, self.fourcc = (pix.width, pix.height), granted

    def _set_rate(self, fd: int) -> None:
        """Tell readers the frame rate (what they show as the camera's fps); drivers that refuse are fine."""
        from linuxpy.video.raw import IOC, BufType, v4l2_streamparm

        if not self.fps or self.fps <= 0:
            return
        rate = Fraction(self.fps).limit_denominator(1001)
        parm = v4l2_streamparm(type=BufType.VIDEO_OUTPUT)
        parm.parm.output.capability = 0x1000  # V4L2_CAP_TIMEPERFRAME
        parm.parm.output.timeperframe.numerator = rate.denominator
        parm.parm.output.timeperframe.denominator = rate.numerator
        try:
            fcntl.ioctl(fd, IOC.S_PARM, parm)
        except OSError:
            pass

    def _stream_on(self, fd: int) -> None:
        from linuxpy.video.raw import IOC, BufType

        try:
            fcntl.ioctl(fd, IOC.STREAMON, ctypes.c_int(BufType.VIDEO_OUTPUT))
        except OSError as exc:
            if self.version is None and exc.errno == errno.EINVAL:
                return  # a module that did not tell its version and wants REQBUFS first: 0.14 or later
            raise
        self.streaming = True

    def send(self, image: np.ndarray) -> None:
        """Write one BGR picture of ``size`` (converted to the granted format)."""
        import cv2

        if self._fd is None:
            raise OSError(errno.EBADF, "the virtual camera is closed", self.device)
        data = cv2.cvtColor(image, getattr(cv2, _CONVERSIONS[self.fourcc]))
        written = os.write(self._fd, memoryview(np.ascontiguousarray(data)).cast("B"))
        if written != data.nbytes:
            raise OSError(errno.EIO, f"short write ({written} of {data.nbytes} bytes)", self.device)

    def close(self) -> None:
        """STREAMOFF where STREAMON was sent, then close; safe to call twice."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        if self.streaming:
            from linuxpy.video.raw import IOC, BufType

            try:
                fcntl.ioctl(fd, IOC.STREAMOFF, ctypes.c_int(BufType.VIDEO_OUTPUT))
            except OSError:
                pass  # closing gives the device back all the same
            self.streaming = False
        os.close(fd)
