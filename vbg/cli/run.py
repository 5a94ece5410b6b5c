"""``vbg run``: flags for the video pipeline.  Flags default to "not given" so a ``--config`` preset can supply
them; the merge itself lives in ``vbg.config``."""

from __future__ import annotations

import argparse
import sys

S = argparse.SUPPRESS


def add_run_parser(sub) -> None:
    from ..choices import LIVE_MASKS
    from ..config import RunConfig

    p = sub.add_parser("run", help="process a camera, video file or stream", argument_default=S,
                       description="Replace the background of a camera or video; write to a window, a file "
                                   "and/or a virtual camera.")
    p.add_argument("input", nargs="?", help="camera index (0) or /dev/videoN, video or image file, URL, or "
                                            "lavfi:FILTER (default: camera 0)")
    p.add_argument("--config", metavar="PRESET", help="a preset's name (webcam, fast, file-quality: see vbg presets) "
                                                       "or a YAML file; flags override it")
    g = p.add_argument_group("input")
    g.add_argument("--input-format", metavar="FMT", help="force an FFmpeg input format (lavfi, mpegts, ...)")
    g.add_argument("--loop", action="store_true", help="restart a file at its end")
    g.add_argument("--live", action=argparse.BooleanOptionalAction,
                   help="live contract: drop stale frames, output at the source rate (default for cameras)")
    g.add_argument("--aligned", action="store_true", help="live: each frame with its own mask (more latency)")
    g.add_argument("--live-masks", choices=LIVE_MASKS,
                   help="live: own = each frame waits (one inference) for its own mask; newest = each frame is "
                        "shown at once with the newest mask; auto (default) = own when the model's measured "
                        "rate is above the camera's")
    g.add_argument("--camera-width", type=int, metavar="PX",
                   help="camera mode to ask for (default 1280x720 at 30 fps); on Linux the closest mode the "
                        "camera lists is used, rate before size (see vbg cameras)")
    g.add_argument("--camera-height", type=int, metavar="PX")
    g.add_argument("--camera-fps", type=float, metavar="FPS")
    g.add_argument("--reconnect", type=int, metavar="N",
                   help="live inputs: reopen a lost camera/FIFO/URL N times with backoff, then end "
                        f"(default {RunConfig.reconnect})")
    g = p.add_argument_group("outputs (any combination)")
    g.add_argument("-o", "--output", metavar="FILE", help="video file: .mp4/.mkv (H.264); with --transparent .mov (ProRes 4444) or .webm (VP9 alpha)")
    g.add_argument("-y", "--overwrite", action="store_true", help="replace an existing output file (default: refuse)")
    g.add_argument("--window", action=argparse.BooleanOptionalAction,
                   help="show a window (keys: q quit, space pause, b background, m mode, o overlay, s snapshot); "
                        "--no-window turns off a preset's window")
    g.add_argument("--vcam", action="store_true", help="send to a virtual camera (v4l2loopback / OBS)")
    g.add_argument("--vcam-device", metavar="DEV", help="virtual camera device, e.g. /dev/video10")
    g.add_argument("--vcam-backend", metavar="NAME", help="pyvirtualcam backend (v4l2loopback, obs, ...)")
    g.add_argument("--vcam-always", action="store_true",
                   help="keep the camera and the model running while no app has the virtual camera open (default: "
                        "on Linux, with only --vcam as output, the camera is released and nothing runs until an "
                        "app opens it)")
    g.add_argument("--null", action="store_true", help="discard frames (benchmarks)")
    g.add_argument("--codec", help="video codec (default libx264; with --transparent prores_ks (.mov), libvpx-vp9 "
                                     "(.webm), png or qtrle)")
    g.add_argument("--crf", type=int, help=f"x264/vp9 quality, lower is better (default {RunConfig.crf})")
    g.add_argument("--preset", help=f"x264 preset (default {RunConfig.preset})")
    g = p.add_argument_group("display and control")
    g.add_argument("--overlay", action=argparse.BooleanOptionalAction,
                   help="FPS overlay: --overlay burns it into files and the virtual camera too, --no-overlay hides "
                        "it everywhere (default: in the window only; the o key toggles it)")
    g.add_argument("--mirror", action=argparse.BooleanOptionalAction,
                   help="mirror the picture: by default a live run's window is mirrored and files and the virtual "
                        "camera get the true picture (call apps mirror the self-view themselves); --mirror "
                        "mirrors every output, --no-mirror none; vbg ctl mirror on|off switches it")
    g.add_argument("--name", metavar="NAME",
                   help=f"live runs: the name vbg ctl --name NAME steers this run by (default: default, or default-2, ... when another run has that name)")
    g.add_argument("--panel", nargs="?", const=0, type=_port, metavar="PORT",
                   help="live runs: a control page in the browser on this computer (preview, backgrounds, "
                        "modes, rates); its address, with a key, is printed at start (default port: a free one)")
    g.add_argument("--max-frames", type=int, metavar="N", help="stop after N output frames")
    g.add_argument("--progress", action=argparse.BooleanOptionalAction, help="progress bar for files")
    g.add_argument("--snapshot-dir", metavar="DIR", help=f"where the s key saves PNGs (default {RunConfig.snapshot_dir})")
    g.add_argument("--requests", type=int, metavar="N", help="async infer requests (default: device optimum)")
    g = p.add_argument_group("change gate (run the model only when the picture changes)")
    g.add_argument("--gate", action=argparse.BooleanOptionalAction,
                   help="run the model only on frames whose picture changed and reuse the last mask, moved with "
                        "the picture, on the others: a still call costs a third of the CPU or less, a file is "
                        "processed faster (default: on; --no-gate runs the model on every frame)")
    g.add_argument("--gate-age", type=int, metavar="N",
                   help=f"with the gate, run the model at least every N frames (default {RunConfig.gate_age})")
    g.add_argument("--gate-threshold", type=float, metavar="LEVELS",
                   help="mean grey-level change of a small copy of the frame that counts as a change; higher "
                        f"skips more, lower follows more (default {RunConfig.gate_threshold})")
    from .common import add_background_args, add_model_args

    add_background_args(p, allow_video=True, suppress=True, window_keys=True)
    add_model_args(p, suppress=True)
    p.set_defaults(func=cmd_run)


def _port(text: str) -> int:
    """``--panel``'s optional port; a word that is no port (often the input, given after --panel) says so."""
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port: give --panel a port (1-65535) or nothing for "
                                         f"a free one, after the input (vbg run 0 --panel)")
    return int(text)


def cmd_run(args: argparse.Namespace) -> int:
    from ..config import make_config

    given = {k: v for k, v in vars(args).items() if k not in ("func", "command", "config")}
    config = make_config(getattr(args, "config", None), **given)
    from ..app import run  # after validation: a bad preset fails before anything heavy is imported

    stats = run(config, getattr(args, "config", None))
    print(f"vbg: {stats.summary()}", file=sys.stderr)
    from .common import EXIT_SOURCE_LOST

    return EXIT_SOURCE_LOST if stats.source_lost else 0
