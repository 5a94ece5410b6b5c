"""``vbg doctor``: checks the cameras and v4l2loopback virtual cameras and prints the fix for each problem."""

from __future__ import annotations

import argparse
import json


def add_doctor_parser(sub) -> None:
    p = sub.add_parser("doctor", help="check cameras and the virtual camera set-up; print the fix for each problem",
                       description="Check every /dev/video* device and the v4l2loopback module: its version, "
                                   "exclusive_caps and keep_format, whether each virtual camera takes a writer or "
                                   "is stuck, who holds it, and what Chrome, Zoom and OBS need. Each problem comes "
                                   "with the one command that fixes it. Exit code 0: no problems; 1: problems "
                                   "found.")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=cmd_doctor)


def cmd_doctor(args: argparse.Namespace) -> int:
    from ..doctor import examine, render

    report = examine()
    if args.json:
        print(json.dumps(report.as_dict(), indent=1))
    else:
        print("\n".join(render(report)))
    return 0 if report.ok else 1
