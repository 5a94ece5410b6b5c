"""Which capture mode vbg asks a camera for (``v4l2.choose_mode``), on mode tables real devices report, and
``vbg cameras`` on a machine without cameras.  The same choice against a real V4L2 device runs in the VM
(tests/test_camera_vm.py)."""

from __future__ import annotations

import pytest

from conftest import run_vbg
from vbg.media.v4l2 import CameraMode, choose_mode


def modes(fourcc: str, table: dict[tuple[int, int], list[float]]) -> list[CameraMode]:
    return [CameraMode(fourcc, w, h, fps) for (w, h), rates in table.items() for fps in rates]


# vivid's YUYV table (v4l2-ctl --list-formats-ext in the VM), top rates trimmed to what matters
VIVID = modes("YUYV", {(320, 180): [5, 12.5, 30, 60], (640, 360): [5, 12.5, 25, 30, 40],
                       (640, 480): [5, 12.5, 25], (1280, 720): [5, 10, 12.5], (1920, 1080): [2, 5]})
# a typical USB webcam: raw YUYV is slow at 720p, MJPG reaches 30 fps
WEBCAM = (modes("YUYV", {(640, 480): [15, 30], (1280, 720): [5, 10]})
          + modes("MJPG", {(640, 480): [15, 30], (1280, 720): [15, 30], (1920, 1080): [15, 30]}))


@pytest.mark.parametrize("table, asked, expected, exact", [
    (VIVID, (640, 360, 30), CameraMode("YUYV", 640, 360, 30), True),
    (VIVID, (1280, 720, 30), CameraMode("YUYV", 640, 360, 30), False),  # the rate wins over the size
    (VIVID, (1920, 1080, 60), CameraMode("YUYV", 320, 180, 60), False),
    (VIVID, (1280, 720, 10), CameraMode("YUYV", 1280, 720, 10), True),  # the lowest rate that reaches it
    (WEBCAM, (1280, 720, 30), CameraMode("MJPG", 1280, 720, 30), True),  # MJPG where raw is too slow
    (WEBCAM, (640, 480, 30), CameraMode("YUYV", 640, 480, 30), True),  # raw where it reaches the rate
    (WEBCAM, (3840, 2160, 60), CameraMode("MJPG", 1920, 1080, 30), False),  # nothing reaches 60: the best rate
])
def test_the_mode_asked_for_is_one_the_camera_has(table, asked, expected, exact):
    assert choose_mode(table, *asked) == (expected, exact)


def test_a_camera_with_only_formats_opencv_cannot_convert_is_left_to_the_driver():
    assert choose_mode([CameraMode("H264", 1280, 720, 30)], 1280, 720, 30) == (None, False)


def test_cameras_on_a_machine_without_any_says_how_to_get_them():
    proc = run_vbg("cameras")
    assert proc.returncode == 0 and "Traceback" not in proc.stderr
    assert "no /dev/video* devices" in proc.stdout and "modprobe v4l2loopback" in proc.stdout
