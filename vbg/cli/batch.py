"""``vbg batch``: many files (videos and images), on this machine's cores or on a Dask cluster."""

from __future__ import annotations

import argparse
import dataclasses

S = argparse.SUPPRESS
BATCH_ONLY = ("inputs", "output", "overwrite", "address", "workers", "retries", "progress", "func", "command",
              "config")


def add_batch_parser(sub) -> None:
    from ..config import RunConfig
    from .common import add_background_args, add_model_args

    p = sub.add_parser("batch", help="process many videos and images, locally or on a Dask cluster",
                       argument_default=S,
                       description="Replace the background of every video and image in files and folders "
                                   "(folders are searched recursively). Each file runs end to end on one Dask "
                                   "worker; finished files are skipped when the batch runs again.")
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="video or image files, or folders of them")
    p.add_argument("-o", "--output", required=True, metavar="OUTDIR",
                   help="folder for the results (created if missing); names follow the inputs")
    p.add_argument("-y", "--overwrite", action="store_true", default=False,
                   help="replace results made with other settings, or not by vbg batch (default: refuse before "
                        "any work; results made with the same settings are skipped either way)")
    p.add_argument("--config", metavar="PRESET", help="a preset's name (see vbg presets) or a YAML file; flags "
                                                       "override it")
    g = p.add_argument_group("cluster")
    g.add_argument("--address", metavar="tcp://HOST:8786",
                   help="run on an existing Dask scheduler (its workers must see the same paths); "
                        "default: a local cluster on this machine's cores")
    g.add_argument("--workers", type=int, metavar="N", help="local workers (default: one per 4 cores, at least one)")
    g.add_argument("--threads", type=int, metavar="N",
                   help="OpenVINO threads per worker (default: the cores divided among the local workers)")
    g.add_argument("--retries", type=int, default=2, metavar="N",
                   help="re-run a file whose task failed this many times (default %(default)s)")
    g.add_argument("--progress", action=argparse.BooleanOptionalAction, default=True,
                   help="progress bars over files and frames (default on)")
    g = p.add_argument_group("video encoding")
    g.add_argument("--codec", help="video codec (default libx264; with --transparent prores_ks (.mov) or "
                                     "libvpx-vp9 (.webm))")
    g.add_argument("--crf", type=int, help=f"x264/vp9 quality, lower is better (default {RunConfig.crf})")
    g.add_argument("--preset", help=f"x264 preset (default {RunConfig.preset})")
    add_background_args(p, allow_video=True, suppress=True)
    add_model_args(p, suppress=True)
    p.set_defaults(func=cmd_batch)


def cmd_batch(args: argparse.Namespace) -> int:
    from ..config import make_config
    from ..errors import VbgError
    from ..batch.jobs import plan_batch

    given = {k: v for k, v in vars(args).items() if k not in BATCH_ONLY}
    config = make_config(getattr(args, "config", None), **given)
    for name in ("workers", "retries"):
        value = getattr(args, name, None)
        if value is not None and value < (1 if name == "workers" else 0):
            raise VbgError(f"--{name} {value}: use {'1 or more' if name == 'workers' else '0 or more'}")
    jobs = plan_batch(args.inputs, args.output, config.transparent)
    from ..app import compositor_for
    from ..choices import DEFAULT_BLUR

    # backgrounds are checked here, before any worker starts; the default-blur notice is printed once
    compositor = compositor_for(config)
    compositor.announce()
    compositor.close()
    if not (config.background or config.blur or config.color or config.transparent):
        config = dataclasses.replace(config, blur=DEFAULT_BLUR)
    from ..batch.runner import BatchRunner, Layout, print_summary

    layout = Layout.for_machine(getattr(args, "workers", None), config.threads)
    runner = BatchRunner(jobs, config, address=getattr(args, "address", None), layout=layout,
                         retries=args.retries, progress=args.progress, overwrite=args.overwrite or config.overwrite)
    return print_summary(runner.run(), args.output)
