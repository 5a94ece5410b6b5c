"""What the v4l2loopback module is and what state its devices are in, read from sysfs and the devices themselves.

Why one place: the ioctls a virtual-camera writer must send depend on the module's version, and a device that an
earlier writer left behind can offer capture only, or nothing at all, until the module is reloaded.  The writer
(``vcamwriter``), the vcam sink's error messages and ``vbg doctor`` all read these facts here, so they say the
same thing and name the same fix.

With ``exclusive_caps=1`` (what Chrome needs) a device announces *output* while no writer streams to it and
*capture* while one does, so ``VIDIOC_QUERYCAP`` alone tells a free device from a busy one; ``/proc/*/fd`` (see
``holders``) tells a busy device from a stuck one.
"""

from __future__ import annotations

import enum
import fcntl
import os
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .v4l2 import MODPROBE

SYS_MODULE = Path("/sys/module/v4l2loopback")
DKMS = Path("/var/lib/dkms/v4l2loopback")  # one folder per version, holding one per kernel it was built for
DRIVER = "v4l2 loopback"  # VIDIOC_QUERYCAP's driver field for every v4l2loopback version
CAP_VIDEO_CAPTURE = 0x1
CAP_VIDEO_OUTPUT = 0x2
CAP_DEVICE_CAPS = 0x80000000
#: v4l2loopback's own per-device control (V4L2_CID_USER_BASE | 0xf000): 1 keeps the format, and with it the
#: capture-only state, after the writer has gone.  A control, not a module parameter.
KEEP_FORMAT_CID = 0x0098F900
#: the first version that starts streaming on write() and gives the device back when such a writer closes
IMPLICIT_STREAMING = (0, 13)
#: how the module is loaded from scratch: the README's "Virtual camera set-up" line
LOAD = MODPROBE
INSTALL = "sudo apt install v4l2loopback-dkms"  # Debian/Ubuntu; Fedora: akmod-v4l2loopback, Arch: v4l2loopback-dkms

Version = tuple[int, ...]


def parse_version(text: str) -> Version | None:
    """``"0.12.7"`` -> (0, 12, 7); None for text without a leading number."""
    parts = []
    for piece in text.strip().split("."):
        digits = piece[:len(piece) - len(piece.lstrip("0123456789"))]  # the leading digits: "4-rc1" -> "4"
        if not digits:
            break
        parts.append(int(digits))
        if digits != piece:
            break
    return tuple(parts) or None


def version_text(version: Version | None) -> str:
    return ".".join(map(str, version)) if version else "unknown version"


def loaded(root: Path = SYS_MODULE) -> bool:
    return root.is_dir()


def module_version(root: Path = SYS_MODULE, dkms: Path = DKMS) -> Version | None:
    """The loaded module's version: ``/sys/module/v4l2loopback/version``, which 0.12.x does not write (it has
    no MODULE_VERSION), so else the one version DKMS built for the running kernel (Debian's and Ubuntu's
    v4l2loopback-dkms); None when not loaded or not told."""
    if not root.is_dir():
        return None
    try:
        return parse_version((root / "version").read_text())
    except OSError:
        pass
    built = [v for v in (dkms.iterdir() if dkms.is_dir() else ()) if (v / os.uname().release).is_dir()]
    return parse_version(built[0].name) if len(built) == 1 else None


def module_parameters(root: Path = SYS_MODULE) -> dict[str, str]:
    """The readable module parameters (``exclusive_caps``, ``video_nr``, ``max_buffers``, ...) as sysfs prints
    them; ``devices`` and ``card_label`` are not readable there."""
    folder = root / "parameters"
    params = {}
    for entry in sorted(folder.iterdir()) if folder.is_dir() else ():
        try:
            params[entry.name] = entry.read_text().strip()
        except OSError:
            continue
    return params


def exclusive_caps(number: int, loopback_numbers: Sequence[int], params: dict[str, str]) -> bool | None:
    """Whether ``/dev/video<number>`` was created with ``exclusive_caps=1``: the parameter's entry at the index
    the device was made with (its place in ``video_nr``, else its place among the loopback devices)."""
    flags = [f.strip() for f in params.get("exclusive_caps", "").split(",") if f.strip()]
    asked = [int(n) for n in params.get("video_nr", "").split(",") if n.strip().lstrip("-").isdigit()]
    index = asked.index(number) if number in asked else (
        sorted(loopback_numbers).index(number) if number in loopback_numbers else -1)
    if 0 <= index < len(flags):
        return flags[index] in ("Y", "1")
    return None


@dataclass(frozen=True)
class NodeCaps:
    """A device node's VIDIOC_QUERYCAP answer: what it is and what it offers right now."""

    path: str
    driver: str
    card: str
    bus_info: str
    capture: bool
    output: bool

    @property
    def loopback(self) -> bool:
        return self.driver == DRIVER


def query_caps(path: str) -> NodeCaps:
    """Open ``path`` for a moment and ask it VIDIOC_QUERYCAP; OSError (ENOENT, EACCES, EBUSY, ...) as raised."""
    from linuxpy.video.raw import IOC, v4l2_capability

    fd = os.open(path, os.O_RDWR | os.O_NONBLOCK)
    try:
        cap = v4l2_capability()
        fcntl.ioctl(fd, IOC.QUERYCAP, cap)
    finally:
        os.close(fd)
    caps = cap.device_caps if cap.capabilities & CAP_DEVICE_CAPS else cap.capabilities
    return NodeCaps(path=path, driver=cap.driver.decode(errors="replace"), card=cap.card.decode(errors="replace"),
                    bus_info=cap.bus_info.decode(errors="replace"), capture=bool(caps & CAP_VIDEO_CAPTURE),
                    output=bool(caps & CAP_VIDEO_OUTPUT))


def keep_format(path: str) -> bool | None:
    """The device's keep_format control; None where it cannot be read."""
    from linuxpy.video.raw import IOC, v4l2_control

    try:
        fd = os.open(path, os.O_RDWR | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        control = v4l2_control(id=KEEP_FORMAT_CID)
        fcntl.ioctl(fd, IOC.G_CTRL, control)
        return bool(control.value)
    except OSError:
        return None
    finally:
        os.close(fd)


def node_number(path: str) -> int:
    digits = "".join(c for c in Path(path).name if c.isdigit())
    return int(digits) if digits else -1


def video_nodes(root: str = "/dev") -> list[str]:
    """Every /dev/videoN, in number order."""
    return sorted((str(p) for p in Path(root).glob("video*") if p.name[5:].isdigit()), key=node_number)


class State(enum.Enum):
    """What a loopback device can do now, and so what a writer or a call app finds there."""

    READY = "ready"  # offers output: a writer can start
    BUSY = "busy"  # capture only and held open: a writer streams to it (on 0.12 perhaps a dead one's reader)
    KEPT = "kept"  # capture only, nobody holds it, keep_format=1: the format is locked
    STUCK = "stuck"  # nothing (or capture only) and nobody holds it: only a module reload frees it


def classify(caps: NodeCaps, held: bool, keep: bool | None = None) -> State:
    if caps.output:
        return State.READY
    if held:
        return State.BUSY
    if caps.capture and keep:
        return State.KEPT
    return State.STUCK


def explain(caps: NodeCaps, state: State, version: Version | None) -> str:
    """Why a device in ``state`` takes no writer, in a few words for one line."""
    path = caps.path
    if state is State.KEPT:
        return f"{path} offers capture only with nobody sending: keep_format=1 locks it after its writer has gone"
    offers = "capture only" if caps.capture else "neither output nor capture"
    why = ("a writer that never started streaming (pyvirtualcam, an older vbg) left it stuck when it ended, as "
           f"v4l2loopback {version_text(version)} does" if version and version < IMPLICIT_STREAMING
           else "a previous writer left it stuck")
    return f"the v4l2loopback module is loaded but {path} offers {offers} and nobody holds it: {why}"


def keep_format_fix(path: str) -> str:
    return f"v4l2-ctl -d {path} --set-ctrl keep_format=0"


def reload_fix(devices: Sequence[NodeCaps], params: dict[str, str], kill: Sequence[int] = ()) -> str:
    """The one command that reloads the module with the devices it has now (numbers and names kept) and
    ``exclusive_caps=1`` for each, after ending ``kill`` (processes that hold a loopback device, which
    ``modprobe -r`` would refuse)."""
    numbers = [node_number(d.path) for d in devices] or [10]
    labels = [d.card for d in devices] or ["vbg"]
    quoted = [f'"{label}"' if " " in label else label for label in labels]  # modprobe's quoting of a value
    options = [f"devices={len(numbers)}", "video_nr=" + ",".join(map(str, numbers)),
               "exclusive_caps=" + ",".join("1" for _ in numbers), "card_label=" + ",".join(quoted)]
    if params.get("max_buffers", "2") != "2":  # a non-default setting the user chose: kept
        options.append(f"max_buffers={params['max_buffers']}")
    reload = "sudo modprobe -r v4l2loopback && sudo modprobe v4l2loopback " + " ".join(map(shlex.quote, options))
    return (f"kill {' '.join(map(str, sorted(set(kill))))} && " if kill else "") + reload
