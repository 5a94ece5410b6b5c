"""The ``vbg`` command: a thin argparse layer over the Python API.

Every user-fixable problem arrives here as a ``VbgError`` and is printed as one line (``vbg: error: …``) with
exit code 2; Ctrl-C exits with 130 and SIGTERM with 143 after the job has closed its outputs; a live input
that was lost (and could not be reopened) ends the job normally but exits with 3.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from .errors import Terminated, VbgError

EXIT_USAGE = 2
EXIT_SOURCE_LOST = 3  # the outputs are complete up to the moment the live input went away
EXIT_INTERRUPTED = 130  # 128 + SIGINT
EXIT_TERMINATED = 143  # 128 + SIGTERM


def add_model_args(parser: argparse.ArgumentParser, suppress: bool = False) -> None:
    """Options that choose and build the segmentation model (shared by every subcommand that runs it).

    ``suppress`` leaves unset options out of the namespace, so a config preset can provide them.
    """
    from .convert import PRECISIONS, RESIZE_MODES
    from .weights import DEFAULT_MODEL, MODELS

    g = parser.add_argument_group("model")
    if suppress:
        g = _SuppressingGroup(g)
    g.add_argument("--model", default=DEFAULT_MODEL, choices=list(MODELS), help="segmentation model (default %(default)s)")
    g.add_argument("--device", default="CPU", help="OpenVINO device: CPU, GPU, NPU, AUTO, ... (default %(default)s)")
    g.add_argument("--size", default="auto",
                   help="model input size: auto (the frame's aspect at about 256x256 pixels), auto:N (at NxN), "
                        "N or WxH in multiples of 32 (default %(default)s)")
    g.add_argument("--precision", default="auto", choices=["auto", *PRECISIONS],
                   help="auto = bf16 on CPUs that have it, fp16 on GPU/NPU, else fp32; int8 = NNCF-quantised "
                        "(default %(default)s)")
    g.add_argument("--resize", default="antialias", choices=list(RESIZE_MODES),
                   help="input resize inside the model: antialias matches the reference, fast saves time")
    g.add_argument("--weights", metavar="PATH", help="PyTorch checkpoint (default: $VBG_WEIGHTS_DIR, cache, download)")
    g.add_argument("--cache-dir", metavar="DIR", help="weights and IR cache (default: $VBG_CACHE_DIR or ~/.cache/vbg)")
    g.add_argument("--calibration", metavar="DIR", help="int8: images/videos to calibrate on (default: the samples)")


class _SuppressingGroup:
    """Adds arguments with ``default=SUPPRESS`` whatever default the caller passes."""

    def __init__(self, group) -> None:
        self.group = group

    def add_argument(self, *names, **kwargs):
        kwargs["default"] = argparse.SUPPRESS
        kwargs["help"] = kwargs.get("help", "").replace(" (default %(default)s)", "")
        return self.group.add_argument(*names, **kwargs)


def segmenter_config(args: argparse.Namespace, **extra):
    from .segmenter import SegmenterConfig

    return SegmenterConfig(model=args.model, device=args.device, size=args.size, precision=args.precision,
                           resize=args.resize, weights=args.weights, cache_dir=args.cache_dir,
                           calibration=args.calibration, **extra)


def add_background_args(parser: argparse.ArgumentParser, allow_video: bool, suppress: bool = False) -> None:
    from .compositing import DEFAULT_BLUR

    g = parser.add_argument_group("background (several: the first is used, the b and m keys cycle them)")
    if suppress:
        g = _SuppressingGroup(g)
    kind = "IMAGE or VIDEO" if allow_video else "IMAGE"
    g.add_argument("--background", "-b", action="append", default=[], metavar=kind, help=f"replacement {kind.lower()}")
    g.add_argument("--color", metavar="COLOR", help="flat colour: #rrggbb, r,g,b or a name (green, blue, ...)")
    g.add_argument("--blur", nargs="?", const=DEFAULT_BLUR, type=int, metavar="PX",
                   help=f"blur the real background (default {DEFAULT_BLUR} px; also what happens with no background "
                        f"option at all)")
    g.add_argument("--transparent", action="store_true",
                   help="keep the matte as alpha (.png/.webp/.tiff images, .mov ProRes 4444/.webm VP9 videos)")
    g.add_argument("--fit", choices=["cover", "contain", "stretch"], default="cover",
                   help="how a picture fills the frame: cover crops, contain letterboxes (default %(default)s)")
    add_refine_args(parser, suppress)


def add_refine_args(parser: argparse.ArgumentParser, suppress: bool = False) -> None:
    """Mask refinement options (vbg/refine.py), with RunConfig's defaults (``vbg image`` has no presets)."""
    from .config import RunConfig

    g = parser.add_argument_group("mask refinement")
    if suppress:
        g = _SuppressingGroup(g)
    g.add_argument("--refine", action=argparse.BooleanOptionalAction, default=RunConfig.refine,
                   help="refine the mask: ramp, edge-aware upsampling, feather, temporal smoothing (default on)")
    g.add_argument("--ramp", metavar="LOW,HIGH", default=RunConfig.ramp,
                   help="alpha levels mapped to 0 and 255, soft in between, or off (default %(default)s)")
    g.add_argument("--guided", action=argparse.BooleanOptionalAction, default=RunConfig.guided,
                   help="edge-aware upsampling guided by the frame (default on)")
    g.add_argument("--feather", type=float, metavar="SIGMA", default=RunConfig.feather,
                   help="soften edges by a Gaussian of SIGMA pixels, 0 = off (default %(default)s)")
    g.add_argument("--smooth", type=float, metavar="W", default=RunConfig.smooth,
                   help="temporal smoothing weight where successive masks agree, 0 = off (default %(default)s)")


def refine_config(args: argparse.Namespace):
    from .refine import RefineConfig

    return RefineConfig.from_settings(args.refine, args.ramp, args.guided, args.feather, args.smooth)


def cmd_image(args: argparse.Namespace) -> int:
    """One image, or many (files and folders) with one compiled model per input shape and per-file errors."""
    from .compositing import build_compositor
    from .imageio import read_image, write_image
    from .refine import MaskRefiner
    from .still import plan_image_jobs, replace_background, save_figure

    # Validate every path before the (slow) model start, so bad input fails fast and writes nothing.
    jobs = plan_image_jobs(args.inputs, args.output, args.mask_out, args.figure_out, args.transparent)
    single = len(args.inputs) == 1 and not Path(args.inputs[0]).is_dir()
    first = read_image(jobs[0].input) if single else None
    compositor = build_compositor(args.background, args.blur, args.color, args.transparent, args.fit)
    segmenters = _SegmenterPerShape(args)

    def process(job, image) -> str:
        segmenter = segmenters.get(image)
        result = replace_background(image, segmenter, compositor, MaskRefiner(refine_config(args)))
        write_image(job.output, result.result)
        if job.mask_out:
            write_image(job.mask_out, result.alpha)
        if job.figure_out:
            save_figure(job.figure_out, image, result,
                        f"{segmenter.describe()}: inference {result.inference_ms:.1f} ms")
        return (f"{job.input}: {image.shape[1]}x{image.shape[0]}, {segmenter.describe()}, "
                f"inference {result.inference_ms:.1f} ms -> {job.output}")

    if single:
        print(process(jobs[0], first))
        return 0
    from tqdm import tqdm

    for folder in {p.parent for job in jobs for p in (job.output, job.mask_out, job.figure_out) if p}:
        folder.mkdir(parents=True, exist_ok=True)
    failed = []
    from .metrics import progress_interval

    for job in tqdm(jobs, unit="image", desc="vbg", mininterval=progress_interval(), leave=False):
        try:
            process(job, read_image(job.input))
        except VbgError as exc:  # this file only: the rest go on
            failed.append(job.input)
            tqdm.write(f"vbg: error: {exc}", file=sys.stderr)
    print(f"vbg: {len(jobs) - len(failed)} of {len(jobs)} images written to {args.output}"
          + (f"; failed: {', '.join(str(p) for p in failed)}" if failed else ""), file=sys.stderr)
    return 1 if failed else 0


class _SegmenterPerShape:
    """``--size auto`` gives portrait and landscape images different input shapes: one compiled model each,
    built on first use and warmed up once (the first call includes one-off allocations)."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.made: dict[str, object] = {}

    def get(self, image):
        from .convert import resolve_size
        from .segmenter import Segmenter

        frame = (image.shape[1], image.shape[0])
        key = str(resolve_size(self.args.size, frame))
        if key not in self.made:
            segmenter = Segmenter(segmenter_config(self.args, frame=frame))
            segmenter.infer(image)
            self.made[key] = segmenter
        return self.made[key]


def cmd_devices(args: argparse.Namespace) -> int:
    import openvino as ov

    from .devices import list_devices

    core = ov.Core()
    print(f"OpenVINO {ov.get_version()}")
    for info in list_devices(core):
        precisions = ["fp32", "fp16 (IR; computed in " + ("f16" if "FP16" in info.capabilities else "f32") + ")"]
        if "BF16" in info.capabilities:
            precisions.append("bf16")
        if "INT8" in info.capabilities:
            precisions.append("int8 (NNCF)")
        print(f"{info.name:6s} {info.full_name}")
        print(f"       capabilities: {', '.join(info.capabilities)}")
        print(f"       vbg precisions: {', '.join(precisions)}")
    print("AUTO   picks among the devices above")
    return 0


def cmd_convert(args: argparse.Namespace) -> int:
    from .convert import build_ir, resolve_size
    from .weights import cache_dir, get_spec, resolve_weights

    spec = get_spec(args.model)
    size = resolve_size(args.size)
    cache = cache_dir(args.cache_dir)
    precisions = ["fp32", "fp16"] if args.precision == "auto" else [args.precision]
    weights = resolve_weights(spec, args.weights, cache)
    for precision in precisions:
        start = time.perf_counter()
        xml = build_ir(spec, weights, size, precision, args.resize, cache, force=args.force,
                       calibration=args.calibration)
        print(f"{spec.name} {size} {precision}: {xml} ({time.perf_counter() - start:.1f} s)")
    return 0


class _Parser(argparse.ArgumentParser):
    """Usage mistakes (an unknown --model, a missing value) get the same one-line form as every other error;
    the full usage stays in --help.  Subcommand parsers are made from this class too."""

    def error(self, message: str):
        self.exit(EXIT_USAGE, f"vbg: error: {message}; see {self.prog} --help\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="vbg", description="Real-time virtual background with U^2-Net on OpenVINO.")
    parser.add_argument("--version", action="version", version=f"vbg {package_version()}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("image", help="replace the background of images (files or folders)")
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="image files or folders of images")
    p.add_argument("-o", "--output", required=True,
                   help="result image (.png keeps transparency); a folder for several inputs or a folder input")
    p.add_argument("--mask-out", metavar="PATH", help="also write the alpha matte (a folder for several inputs)")
    p.add_argument("--figure-out", metavar="PATH",
                   help="also write an original | mask | result figure (a folder for several inputs)")
    add_background_args(p, allow_video=False)
    add_model_args(p)
    p.set_defaults(func=cmd_image)

    p = sub.add_parser("devices", help="list OpenVINO devices and the precisions they support")
    p.set_defaults(func=cmd_devices)

    p = sub.add_parser("convert", help="convert the PyTorch weights to a cached OpenVINO IR")
    add_model_args(p)
    p.add_argument("--force", action="store_true", help="rebuild even if the IR is cached")
    p.set_defaults(func=cmd_convert)

    from .batch.cli import add_batch_parser
    from .bench_cli import add_bench_parser
    from .train.cli import add_train_parser

    add_batch_parser(sub)
    add_bench_parser(sub)
    add_train_parser(sub)
    try:
        from .run_cli import add_run_parser
    except ImportError:  # the video pipeline is optional while it is being built
        pass
    else:
        add_run_parser(sub)
    return parser


def package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("vbg")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown (not installed)"


def _terminate(signum, frame) -> None:
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
