"""``vbg image``: one image, or many (files and folders) into a folder."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import VbgError
from .common import EXIT_SOME_FAILED, add_background_args, add_model_args


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
    from ..media.imageio import read_image, write_image
    from ..still import IMAGE_SETTINGS, StillProcessor, plan_image_jobs, save_figure

    # Validate every path before the (slow) model start, so bad input fails fast and writes nothing.
    jobs = plan_image_jobs(args.inputs, args.output, args.mask_out, args.figure_out, args.transparent,
                           args.overwrite)
    single = len(args.inputs) == 1 and not Path(args.inputs[0]).is_dir()
    first = read_image(jobs[0].input) if single else None
    processor = StillProcessor.from_settings(**{key: getattr(args, key) for key in IMAGE_SETTINGS})

    def process(job, image) -> str:
        result = processor.process(image)
        write_image(job.output, result.result)
        if job.mask_out:
            write_image(job.mask_out, result.alpha)
        if job.figure_out:
            save_figure(job.figure_out, image, result, f"{result.model}: inference {result.inference_ms:.1f} ms")
        return (f"{job.input}: {image.shape[1]}x{image.shape[0]}, {result.model}, "
                f"inference {result.inference_ms:.1f} ms -> {job.output}")

    for folder in {p.parent for job in jobs for p in (job.output, job.mask_out, job.figure_out) if p}:
        folder.mkdir(parents=True, exist_ok=True)  # output folders were checked writable by plan_image_jobs
    try:
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
    finally:
        processor.close()
    print(f"vbg: {len(jobs) - len(failed)} of {len(jobs)} images written to {args.output}"
          + (f"; failed: {', '.join(str(p) for p in failed)}" if failed else ""), file=sys.stderr)
    return EXIT_SOME_FAILED if failed else 0
