"""Whether a window can open here (X11/Wayland probing) and the names of the keys it reports."""

from __future__ import annotations

import os
import re
import socket
import sys
from pathlib import Path

#: waitKeyEx codes -> names pushed to ``WindowSink.keys``.  Arrows differ per backend: X11 keysyms (GTK and
#: Qt on Linux), Qt key codes, Windows virtual-key codes (in the high word).
KEY_NAMES = {
    27: "esc", 32: "space", 13: "enter", 10: "enter", 9: "tab", 8: "backspace", 127: "delete",
    0xFF51: "left", 0xFF52: "up", 0xFF53: "right", 0xFF54: "down", 0xFF1B: "esc", 0xFF0D: "enter",
    0x01000012: "left", 0x01000013: "up", 0x01000014: "right", 0x01000015: "down",
    0x250000: "left", 0x260000: "up", 0x270000: "right", 0x280000: "down",
}


def key_name(code: int) -> str | None:
    """A ``cv2.waitKeyEx`` code as the name the pipeline understands ('q', 'esc', 'space', 'left', ...).

    GTK puts modifier bits above the low 16 bits; Qt gives ASCII or X keysyms; both are handled."""
    if code < 0:
        return None
    for candidate in (code, code & 0xFFFF):
        if candidate in KEY_NAMES:
            return KEY_NAMES[candidate]
    low = code & 0xFFFF
    if low <= 0xFF:
        char = chr(low)
        return char if char.isprintable() else f"key{low}"
    return f"key{code:#x}"


def _x_server_reachable(display: str) -> bool | None:
    """Whether the X server named by ``display`` accepts connections (None: cannot tell, let the toolkit try).

    opencv-python's Qt aborts the process when it cannot connect, so a stale DISPLAY must be caught here."""
    match = re.fullmatch(r"(?:unix)?:(\d+)(?:\.\d+)?", display)
    if match:
        number = match.group(1)
        for address in (f"\0/tmp/.X11-unix/X{number}", f"/tmp/.X11-unix/X{number}"):  # abstract, then file
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(1.0)
                try:
                    sock.connect(address)
                    return True
                except OSError:
                    continue
        return False
    match = re.fullmatch(r"([\w.-]+):(\d+)(?:\.\d+)?", display)  # host:N, e.g. ssh's localhost:10.0
    if match:
        try:
            socket.create_connection((match.group(1), 6000 + int(match.group(2))), timeout=1.0).close()
            return True
        except OSError:
            return False
    return None


def _qt_has_wayland() -> bool:
    """opencv-python bundles Qt with only the xcb (X11) platform plugin; a Wayland-only session needs a build
    that has the wayland plugin (or a GTK build)."""
    try:
        import importlib.util

        spec = importlib.util.find_spec("cv2")
        plugins = Path(spec.origin).parent / "qt" / "plugins" / "platforms" if spec and spec.origin else None
    except (ImportError, ValueError):
        return True
    if plugins is None or not plugins.is_dir():
        return True  # not the bundled Qt: assume the toolkit handles Wayland
    return any("wayland" in p.name for p in plugins.iterdir())


def display_problem() -> str | None:
    """Why a window cannot be opened here (one line), or None.  Checked without touching OpenCV's GUI,
    whose first call aborts the whole process (Qt, exit 134) when there is no display."""
    if sys.platform in ("win32", "darwin") or os.environ.get("QT_QPA_PLATFORM"):
        return None  # desktop platforms always have one; an explicit Qt platform (e.g. offscreen) is the user's
    display = os.environ.get("DISPLAY", "")
    if not display:
        if os.environ.get("WAYLAND_DISPLAY") and _qt_has_wayland():
            return None
        return ("no display for the window sink (DISPLAY is not set): run on a desktop, use xvfb-run, "
                "or write to a file with -o")
    if _x_server_reachable(display) is False:
        return (f"no display for the window sink (cannot connect to X display {display}): check DISPLAY, "
                f"use xvfb-run, or write to a file with -o")
    return None
