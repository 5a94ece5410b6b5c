"""``vbg devices`` and ``vbg convert``: what OpenVINO offers here, and building the cached IRs."""

from __future__ import annotations

import argparse
import time

from .common import add_model_args


def add_model_parsers(sub) -> None:
    p = sub.add_parser("devices", help="list OpenVINO devices, the precisions they support and what "
                                       "--precision auto measured here")
    p.add_argument("--cache-dir", metavar="DIR", help="model cache folder (default $VBG_CACHE_DIR or ~/.cache/vbg)")
    p.set_defaults(func=cmd_devices)

    p = sub.add_parser("convert", help="prepare the model a later vbg run / vbg image will use (convert, "
                                       "quantise, compile, time), so that run starts at once",
                       description="Prepare exactly what `vbg run` (a video file), a camera run or `vbg image` "
                                   "will use with the same options, so the first real run starts at once: the "
                                   "OpenVINO IR, the int8 model when the precision is int8, the compiled blob, and "
                                   "for --for camera the timing that --precision auto and --size auto use.")
    p.add_argument("--for", dest="target", choices=CONVERT_TARGETS, default="run",
                   help="what to prepare for: run = vbg run on a video file, camera = vbg run on a camera (live), "
                        "image = vbg image, whose default resize is antialias (default %(default)s)")
    p.add_argument("--frame", metavar="WxH", default="1280x720",
                   help="the size of the frames or images to come (default %(default)s)")
    p.add_argument("--fps", type=float, default=30.0, help="run/camera: their frame rate (default %(default)s)")
    p.add_argument("--config", metavar="PRESET", help="a preset's name or YAML file, as given to vbg run")
    add_model_args(p, suppress=True)
    p.add_argument("--force", action="store_true", help="convert again even if the IR is cached")
    p.set_defaults(func=cmd_convert)


def cmd_devices(args: argparse.Namespace) -> int:
    """Each device on a few labelled lines, and what was timed here as a table: one line per model and size,
    one column per precision."""
    import openvino as ov

    from ..model.autotune import HEADROOM, LIVE_MARGIN, SIZE_MARGIN, SMALLER_AUTO_SIDES, cached_rows
    from ..model.devices import cpu_name, default_precision, list_devices
    from ..model.weights import cache_dir

    core = ov.Core()
    print(f"OpenVINO {ov.get_version()}")
    smaller = ", then ".join(f"auto:{side}" for side in SMALLER_AUTO_SIDES)
    for info in list_devices(core):
        precisions = ["fp32", "fp16 (IR; computed in " + ("f16" if "FP16" in info.capabilities else "f32") + ")"]
        if "BF16" in info.capabilities:
            precisions.append("bf16")
        if "INT8" in info.capabilities:
            precisions.append("int8 (NNCF)")
        print(f"\n{info.name}: {info.full_name}")
        for label, text in (
                ("capabilities", ", ".join(info.capabilities)),
                ("vbg precisions", ", ".join(precisions)),
                ("--precision auto", ""),
                ("  video files", f"{default_precision(core, info.name, video=True)} (measured fastest at the same "
                                  "accuracy)"),
                ("  photos", default_precision(core, info.name)),
                ("  live inputs", f"the most accurate one that runs at {HEADROOM:g}x the camera's rate or more"),
                ("  own masks", f"a frame waits for its own mask if the model runs at {LIVE_MARGIN:g}x the "
                                "camera's rate or more"),
                ("  --size auto", f"live inputs step down to {smaller} under {SIZE_MARGIN:g}x the camera's "
                                  "rate")):
            print(f"  {label + ':':18s} {text}".rstrip())
        rows = cached_rows(cache_dir(args.cache_dir), cpu_name() if info.name == "CPU" else info.full_name)
        if not rows:
            print("  timed here: nothing yet (the first live run times it)")
            continue
        print("  timed here, model frames a second (* timed while the CPU was busy: timed again next run):")
        for line in _measured_table(rows):
            print(f"    {line}")
    print("\nAUTO: picks among the devices above")
    return 0


def _measured_table(rows) -> list[str]:
    """``cached_rows`` as aligned columns: model, size, resize, threads, one per precision timed, when."""
    from ..model.autotune import ACCURACY_ORDER

    precisions = [p for p in ACCURACY_ORDER if any(p in row.fps for row in rows)]
    other = any(row.openvino for row in rows)
    header = ["model", "size", "resize", "threads", *precisions, *(["OpenVINO"] if other else []), "timed"]
    cells = [[row.model, row.size, row.resize, row.threads,
              *(f"{row.fps[p]:.0f}" + ("*" if p in row.busy else "") if p in row.fps else "-" for p in precisions),
              *([row.openvino or "this"] if other else []), row.timed or "?"] for row in rows]
    widths = [max(len(line[i]) for line in [header, *cells]) for i in range(len(header))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip() for line in [header, *cells]]


CONVERT_TARGETS = ("run", "camera", "image")
MODEL_KEYS = ("model", "device", "size", "precision", "resize", "weights", "cache_dir", "calibration")


def cmd_convert(args: argparse.Namespace) -> int:
    """Build a real Segmenter from the same settings functions ``vbg run`` and ``vbg image`` use: whatever it
    prepares (IR, int8, compiled blob, timing) is then found in the cache by the real run."""
    from ..app import image_segmenter_config, segmenter_config
    from ..config import make_config
    from ..errors import VbgError
    from ..model.segmenter import Segmenter
    from ..model.settings import SegmenterConfig

    given = {key: getattr(args, key) for key in MODEL_KEYS if hasattr(args, key)}
    if args.target == "image":
        given.setdefault("resize", SegmenterConfig.resize)  # vbg image's own default
    config = make_config(args.config, **given)
    try:
        width, height = (int(v) for v in args.frame.lower().split("x"))
        if width <= 0 or height <= 0:
            raise ValueError
    except ValueError:
        raise VbgError(f"bad --frame {args.frame!r}: use WIDTHxHEIGHT, e.g. 1280x720") from None
    if not args.fps > 0:
        raise VbgError(f"bad --fps {args.fps}: use a positive frame rate, e.g. 30")
    frame = (width, height)
    if args.target == "image":
        settings = image_segmenter_config(config, frame)
    else:
        settings = segmenter_config(config, frame, live=args.target == "camera", fps=args.fps)
    start = time.perf_counter()
    segmenter = Segmenter(settings, rebuild=args.force)
    rate = "" if args.target == "image" else f" at {args.fps:g} fps"
    print(f"ready for vbg {'image' if args.target == 'image' else 'run'} ({args.target}, {width}x{height}{rate}): "
          f"{segmenter.describe()}, {settings.resize} resize, in {segmenter.ir_path.parent} "
          f"({time.perf_counter() - start:.1f} s)")
    return 0
