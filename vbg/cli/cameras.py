"""``vbg cameras``: the capture devices and virtual cameras this machine has, with their modes."""

from __future__ import annotations

import argparse


def add_cameras_parser(sub) -> None:
    p = sub.add_parser("cameras", help="list cameras and virtual cameras (V4L2 on Linux) with their modes",
                       description="List /dev/video* capture devices with their formats, sizes and top frame "
                                   "rates, and v4l2loopback virtual cameras for --vcam-device.")
    p.set_defaults(func=cmd_cameras)


def cmd_cameras(args: argparse.Namespace) -> int:
    from ..media.v4l2 import LINUX, MODPROBE, list_devices

    if not LINUX:
        print("vbg cameras lists V4L2 devices on Linux; here, try vbg run 0, 1, ... (camera indexes), and "
              "OBS's Virtual Camera for --vcam")
        return 0
    devices = list_devices()
    if not devices:
        print(f"no /dev/video* devices: connect a webcam (and check you are in the video group); for a virtual "
              f"camera run `{MODPROBE}`")
        return 0
    for device in devices:
        print("\n".join(device.describe()))
    if not any(d.loopback for d in devices):
        print(f"no virtual camera: run `{MODPROBE}` for --vcam")
    return 0
