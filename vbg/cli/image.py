"""``vbg image``: one image, or many (files and folders) into a folder."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import VbgError
from .common import add_background_args, add_model_args


def add_image_parser(sub) -> None:
    p = sub.add_parser("image", help="replace the background of images (files or folders)")
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="image files or folders of images")
    p.add_argument("-o", "--output", required=True,
                   help="result image (.png keeps transparency); a folder for several inputs or a folder input")
    p.add_argument("-y", "--overwrite", action="store_true",
                   help="replace existing output files (default: refuse before any work)")
    p.add_argument("--mask-out", metavar="PATH", help="also write the alpha matte (a folder for several inputs)")
    p.add_argument("--figure-out", metavar="PATH",
                   help="also write an original | mask | result figure (a folder for several inputs)")
    add_background_args(p, allow_video=False, still=True)
    add_model_args(p)
    p.set_defaults(func=cmd_image)


def cmd_image(args: argparse.Namespace) -> int:
    """One image, or many (files and folders) with one compiled model per input shape and per-file errors."""
    from ..app import build_refiner, compositor_for
    from ..media.imageio import read_image, write_image
    from ..still import plan_image_jobs, replace_background, save_figure

    # Validate every path before the (slow) model start, so bad input fails fast and writes nothing.
    jobs = plan_image_jobs(args.inputs, args.output, args.mask_out, args.figure_out, args.transparent,
                           args.overwrite)
    single = len(args.inputs) == 1 and not Path(args.inputs[0]).is_dir()
    first = read_image(jobs[0].input) if single else None
    config = image_config(args)
    compositor = compositor_for(config)
    segmenters = _SegmenterPerShape(config)

    def process(job, image) -> str:
        segmenter = segmenters.get(image)
        compositor.announce()  # once, now that the model is ready
        result = replace_background(image, segmenter, compositor, build_refiner(config))
        write_image(job.output, result.result)
        if job.mask_out:
            write_image(job.mask_out, result.alpha)
        if job.figure_out:
            save_figure(job.figure_out, image, result,
                        f"{segmenter.describe()}: inference {result.inference_ms:.1f} ms")
        return (f"{job.input}: {image.shape[1]}x{image.shape[0]}, {segmenter.describe()}, "
                f"inference {result.inference_ms:.1f} ms -> {job.output}")

    for folder in {p.parent for job in jobs for p in (job.output, job.mask_out, job.figure_out) if p}:
        folder.mkdir(parents=True, exist_ok=True)  # output folders were checked writable by plan_image_jobs
    if single:
        print(process(jobs[0], first))
        return 0
    from tqdm import tqdm

    from ..pipeline.progress import progress_bar

    failed = []
    for job in progress_bar(jobs, unit="image"):
        try:
            process(job, read_image(job.input))
        except VbgError as exc:  # this file only: the rest go on
            failed.append(job.input)
            tqdm.write(f"vbg: error: {exc}", file=sys.stderr)
    print(f"vbg: {len(jobs) - len(failed)} of {len(jobs)} images written to {args.output}"
          + (f"; failed: {', '.join(str(p) for p in failed)}" if failed else ""), file=sys.stderr)
    return 1 if failed else 0


#: ``vbg image`` flags that are run settings (``RunConfig`` keys); the rest are paths of this command.
IMAGE_SETTINGS = ("model", "device", "size", "precision", "resize", "weights", "cache_dir", "calibration",
                  "background", "color", "blur", "transparent", "fit", "refine", "ramp", "guided", "feather")


def image_config(args: argparse.Namespace):
    """The run settings of ``vbg image``: its flags (with their own defaults: auto precision, antialias)
    checked like any preset, so image, video and batch are assembled by the same ``app`` functions."""
    from ..config import make_config

    return make_config(None, **{key: getattr(args, key) for key in IMAGE_SETTINGS})


class _SegmenterPerShape:
    """``--size auto`` gives portrait and landscape images different input shapes: one compiled model each,
    built on first use and warmed up once (the first call includes one-off allocations)."""

    def __init__(self, config) -> None:
        self.config = config
        self.made: dict[str, object] = {}

    def get(self, image):
        from ..app import image_segmenter_config
        from ..model.convert import resolve_size
        from ..model.segmenter import Segmenter

        frame = (image.shape[1], image.shape[0])
        key = str(resolve_size(self.config.size, frame))
        if key not in self.made:
            segmenter = Segmenter(image_segmenter_config(self.config, frame))
            segmenter.infer(image)
            self.made[key] = segmenter
        return self.made[key]
