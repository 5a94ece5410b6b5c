"""Which V4L2 devices a Linux machine has and which capture modes a camera offers, read through linuxpy.

Users should not have to guess device numbers, and a camera should be asked for a mode it really has: OpenCV
silently keeps the old format when a FOURCC is refused and rounds sizes and rates to whatever the driver
likes, so vbg enumerates the modes first (``VIDIOC_ENUM_FMT``/``FRAMESIZES``/``FRAMEINTERVALS``), picks one
with ``choose_mode`` and can say in one line what it got and why.  Nothing here opens a stream.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field

LINUX = sys.platform.startswith("linux")

#: Pixel formats OpenCV's V4L2 backend converts to BGR, best first: raw YUYV costs no decoding, MJPG is how
#: most USB webcams reach 720p/1080p at 30 fps.
CAPTURE_FORMATS = ("YUYV", "MJPG", "UYVY", "NV12", "NV21", "YU12", "YV12", "BGR3", "RGB3", "JPEG", "GREY")
#: The one command that gives a machine a virtual camera vbg and call apps can share (README "Virtual camera set-up").
MODPROBE = "sudo modprobe v4l2loopback devices=1 video_nr=10 exclusive_caps=1 card_label=vbg"
#: What a camera is asked for when the user gives no --camera-width/-height/-fps: a call's usual 720p30.
DEFAULT_REQUEST = (1280, 720, 30.0)


@dataclass(frozen=True, order=True)
class CameraMode:
    """One discrete capture mode: pixel format, size and frame rate."""

    fourcc: str
    width: int
    height: int
    fps: float

    def __str__(self) -> str:
        return f"{self.fourcc} {self.width}x{self.height} at {self.fps:g} fps"


@dataclass(frozen=True)
class VideoDevice:
    """A /dev/videoN node: what it is and, for a capture device, its modes."""

    path: str
    card: str
    driver: str
    capture: bool
    output: bool
    modes: tuple[CameraMode, ...] = field(default=())

    @property
    def loopback(self) -> bool:
        """A v4l2loopback node: a virtual camera that vbg writes to (and call apps read from)."""
        return "loopback" in self.driver

    def describe(self) -> list[str]:
        """Lines for ``vbg cameras``: the node, its role, then its formats with sizes and top rates."""
        if self.loopback:
            role = "virtual camera (v4l2loopback): use with --vcam --vcam-device " + self.path
        elif self.capture:
            role = "camera: use as vbg run " + self.path
        else:
            role = "output only" if self.output else "no capture or output"
        lines = [f"{self.path}  {self.card!r} ({self.driver})  {role}"]
        if self.capture and not self.loopback:
            by_format: dict[str, dict[tuple[int, int], float]] = {}
            for m in self.modes:
                if m.fourcc in CAPTURE_FORMATS:
                    sizes = by_format.setdefault(m.fourcc, {})
                    sizes[(m.width, m.height)] = max(sizes.get((m.width, m.height), 0.0), m.fps)
            for fourcc in sorted(by_format, key=CAPTURE_FORMATS.index):
                listed = ", ".join(f"{w}x{h}@{fps:g}" for (w, h), fps in sorted(by_format[fourcc].items()))
                lines.append(f"    {fourcc}: {listed}")
            others = len({m.fourcc for m in self.modes} - set(by_format))
            if others:
                lines.append(f"    (+{others} more formats that vbg does not read)")
            if not self.modes:
                lines.append("    (no discrete modes listed: the driver negotiates sizes itself)")
        return lines


def fourcc_text(code: int) -> str:
    """The four characters of a V4L2/OpenCV pixel format code ('YUYV')."""
    return int(code).to_bytes(4, "little").decode("ascii", "replace").strip("\0 ")


def read_device(path: str) -> VideoDevice:
    """Query one node; OSError when it cannot be opened (missing, busy with exclusive access, no permission)
    or answers what linuxpy cannot parse (the caller then lets the driver negotiate, as before)."""
    try:
        return _query(path)
    except OSError:
        raise
    except Exception as exc:  # noqa: BLE001 - a driver answer linuxpy does not model: treat as unreadable
        raise OSError(f"{path}: cannot list its modes ({type(exc).__name__}: {exc})") from exc


def _query(path: str) -> VideoDevice:
    from linuxpy.video.device import BufferType, Capability, Device, iter_read_pixel_formats_frame_intervals

    with Device(path) as device:
        info = device.info
        caps = info.device_capabilities
        capture = bool(caps & (Capability.VIDEO_CAPTURE | Capability.VIDEO_CAPTURE_MPLANE))
        output = bool(caps & (Capability.VIDEO_OUTPUT | Capability.VIDEO_OUTPUT_MPLANE))
        modes: set[CameraMode] = set()
        if capture:
            # capture formats only (the info.formats property trips over a camera's overlay/meta buffers)
            formats = {fmt.pixel_format for fmt in info.buffer_formats(BufferType.VIDEO_CAPTURE)}
            for frame in iter_read_pixel_formats_frame_intervals(device, formats):
                fps = float(frame.max_fps)
                if fps > 0:
                    modes.add(CameraMode(fourcc_text(frame.pixel_format), frame.width, frame.height, round(fps, 3)))
        return VideoDevice(path=str(path), card=info.card, driver=info.driver, capture=capture, output=output,
                           modes=tuple(sorted(modes)))


def list_devices(root: str = "/dev") -> list[VideoDevice]:
    """Every /dev/video* node that answers, in number order; an empty list off Linux."""
    if not LINUX:
        return []
    from linuxpy.video.device import iter_video_files

    def number(path) -> int:
        digits = "".join(c for c in path.name if c.isdigit())
        return int(digits) if digits else -1

    devices = []
    for path in sorted(iter_video_files(root), key=number):
        try:
            devices.append(read_device(str(path)))
        except OSError:
            continue  # busy with exclusive access or not ours to read: leave it out
    return devices


def choose_mode(modes: list[CameraMode] | tuple[CameraMode, ...], width: int, height: int, fps: float
                ) -> tuple[CameraMode | None, bool]:
    """The mode to ask for, and whether it is exactly the request.

    Short of an exact match, the frame rate wins over the size: a call at 640x360 and 30 fps looks better
    than 1280x720 at 10 fps, and the model sees a few hundred pixels across either way.  So: the largest size
    within the request that reaches the rate; if none reaches it, the highest rate, largest size first.
    Among equals, YUYV before MJPG (no decoding), and the lowest rate that reaches the request."""
    usable = [m for m in modes if m.fourcc in CAPTURE_FORMATS]
    if not usable:
        return None, False
    rank = {f: i for i, f in enumerate(CAPTURE_FORMATS)}

    def key(m: CameraMode):
        rate_ok = m.fps >= fps * 0.97
        fits = m.width <= width and m.height <= height
        closeness = -abs(math.log(m.width * m.height / (width * height)))
        return (rate_ok, 0.0 if rate_ok else min(m.fps, fps), fits, closeness,
                -rank[m.fourcc], -m.fps if rate_ok else m.fps)

    best = max(usable, key=key)
    exact = best.width == width and best.height == height and abs(best.fps - fps) < 0.5
    return best, exact
