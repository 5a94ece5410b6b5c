"""The Linux virtual camera: which v4l2loopback device vbg writes to, and, when none can take its frames, one
line that says what is really wrong and the command that fixes it.

Why a module of its own: "no v4l2 loopback device found" (pyvirtualcam's words) covers a module that is not
loaded, a device another program streams to and a device that an earlier writer left stuck, and each has a
different fix.  The facts come from ``loopback`` and ``holders``; ``vbg doctor`` reads the same ones.
"""

from __future__ import annotations

import errno
from pathlib import Path

from ..errors import VbgError
from .holders import holders
from .loopback import (INSTALL, LOAD, NodeCaps, State, classify, explain, keep_format, keep_format_fix, loaded,
                       module_parameters, module_version, query_caps, reload_fix, video_nodes)
from .vcamwriter import LoopbackWriter

#: how to get a usable virtual camera on Linux, the end of the errors where the device itself is missing
LINUX_FIX = (f"run `{LOAD}` (package v4l2loopback-dkms; devices=2 for a second one), then pass the device that "
             f"`vbg cameras` lists to --vcam-device")
DOCTOR = "`vbg doctor` checks the whole set-up"
VIDEO_GROUP = "join the video group (`sudo usermod -aG video $USER`, then log in again)"


def loopback_devices(root: str = "/dev") -> list[NodeCaps]:
    """Every v4l2loopback node that answers, in number order."""
    found = []
    for path in video_nodes(root):
        try:
            caps = query_caps(path)
        except OSError:
            continue
        if caps.loopback:
            found.append(caps)
    return found


def device_problem(device: str) -> str | None:
    """Why ``device`` cannot take vbg's frames now, in one line with its fix; None when it can."""
    if not Path(device).exists():
        return f"virtual camera {device} does not exist: {LINUX_FIX}"
    try:
        caps = query_caps(device)
    except OSError as exc:
        fix = VIDEO_GROUP if exc.errno == errno.EACCES else DOCTOR
        return f"virtual camera {device} cannot be opened ({exc.strerror or exc}): {fix}"
    if not caps.loopback:
        return f"{device} is {caps.card!r} ({caps.driver}), not a v4l2loopback virtual camera: {LINUX_FIX}"
    return stuck_or_busy(caps)


def stuck_or_busy(caps: NodeCaps) -> str | None:
    """The line for a loopback device that offers no output: busy (someone holds it) or stuck (nobody does)."""
    held = holders(caps.path)
    state = classify(caps, bool(held), None if held else keep_format(caps.path))
    device = caps.path
    if state is State.READY:
        return None
    if state is State.BUSY:
        who = ", ".join(map(str, held))
        return (f"virtual camera {device} is busy: another program is sending to it ({who}): stop that program or "
                f"pick another device with --vcam-device; to add one, {LINUX_FIX}; {DOCTOR}")
    why = explain(caps, state, module_version())
    if state is State.KEPT:
        return f"virtual camera {device} cannot take vbg's frames: {why}: run `{keep_format_fix(device)}`; {DOCTOR}"
    fix = reload_fix(loopback_devices(), module_parameters())
    return f"virtual camera {device} cannot take vbg's frames: {why}; run `vbg doctor`, or fix it with `{fix}`"


def no_module() -> str:
    """The line for a machine where v4l2loopback is not loaded."""
    return (f"no virtual camera device found (v4l2loopback is not loaded): {LINUX_FIX} (not installed? "
            f"`{INSTALL}`); {DOCTOR}")


def choose_device() -> str:
    """The first loopback device that offers output, or VbgError naming why none does."""
    if not loaded():
        raise VbgError(no_module())
    devices = loopback_devices()
    if not devices:
        raise VbgError(f"no usable virtual camera device: the v4l2loopback module is loaded but has no devices: "
                       f"{reload_fix([], module_parameters())}")
    for caps in devices:
        if caps.output:
            return caps.path
    raise VbgError(f"no usable virtual camera device: {stuck_or_busy(devices[0])}")


def open_writer(device: str | None, width: int, height: int, fps: float) -> LoopbackWriter:
    """Open ``device`` (or the first free one) for vbg's frames, or raise VbgError with the real reason."""
    path = device or choose_device()
    writer = LoopbackWriter(path, width, height, fps, module_version())
    try:
        writer.open()
    except OSError as exc:
        problem = device_problem(path)
        raise VbgError(problem or f"virtual camera {path} could not be started ({exc.strerror or exc}): "
                                  f"run `vbg doctor`") from None
    return writer
