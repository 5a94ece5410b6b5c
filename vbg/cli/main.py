"""The ``vbg`` command: a thin argparse layer over the Python API.

Every user-fixable problem arrives here as a ``VbgError`` and is printed as one line (``vbg: error: …``) with
exit code 2; Ctrl-C exits with 130 and SIGTERM with 143 after the job has closed its outputs; a live input
that was lost (and could not be reopened) ends the job normally but exits with 3.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence

from ..errors import Terminated, VbgError
from .common import EXIT_INTERRUPTED, EXIT_TERMINATED, EXIT_USAGE, CliParser


def build_parser() -> argparse.ArgumentParser:
    parser = CliParser(prog="vbg", description="Real-time virtual background with U^2-Net on OpenVINO.")
    parser.add_argument("--version", action="version", version=f"vbg {package_version()}")
    sub = parser.add_subparsers(dest="command", required=True)

    from .batch import add_batch_parser
    from .bench import add_bench_parser
    from .cameras import add_cameras_parser
    from .ctl import add_ctl_parser
    from .doctor import add_doctor_parser
    from .image import add_image_parser
    from .model import add_model_parsers
    from .presets import add_presets_parser
    from .run import add_run_parser
    from .service import add_service_parser
    from .train import add_train_parser

    add_image_parser(sub)
    add_model_parsers(sub)
    add_run_parser(sub)
    add_cameras_parser(sub)
    add_doctor_parser(sub)
    add_ctl_parser(sub)
    add_presets_parser(sub)
    add_service_parser(sub)
    add_batch_parser(sub)
    add_bench_parser(sub)
    add_train_parser(sub)
    return parser


def package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("vbg")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown (not installed)"


_MAIN_PID = os.getpid()


def _terminate(signum, frame) -> None:
    if os.getpid() != _MAIN_PID:
        # a forked helper (OpenVINO's telemetry sends from one and SIGTERMs it after a timeout when offline)
        # inherits this handler: let it die quietly instead of printing a Terminated traceback on our stderr
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
        return
    raise Terminated()


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _terminate)  # finish like Ctrl-C: outputs closed and playable
    try:
        return func(args)
    except VbgError as exc:
        print(f"vbg: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt as exc:
        stats = getattr(exc, "stats", None)  # set by the pipeline: what the outputs hold
        if stats is not None:
            print(f"vbg: {stats.summary()}", file=sys.stderr)
        terminated = isinstance(exc, Terminated)
        print("vbg: terminated" if terminated else "vbg: interrupted", file=sys.stderr)
        return EXIT_TERMINATED if terminated else EXIT_INTERRUPTED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
