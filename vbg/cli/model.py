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

    p = sub.add_parser("convert", help="convert the PyTorch weights to a cached OpenVINO IR")
    add_model_args(p)
    p.add_argument("--force", action="store_true", help="rebuild even if the IR is cached")
    p.set_defaults(func=cmd_convert)


def cmd_devices(args: argparse.Namespace) -> int:
    import openvino as ov

    from ..model.autotune import HEADROOM, LIVE_MARGIN, SIZE_MARGIN, SMALLER_AUTO_SIDES, cached_lines
    from ..model.devices import cpu_name, list_devices
    from ..model.weights import cache_dir

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
        measured = cached_lines(cache_dir(args.cache_dir), cpu_name() if info.name == "CPU" else info.full_name)
        print(f"       --precision auto: the most accurate precision whose measured model fps is >= {HEADROOM:g} x "
              f"the input's frame rate; live runs give each frame its own mask when the model's is >= "
              f"{LIVE_MARGIN:g} x the camera's, and a live --size auto steps down to auto:"
              f"{'/auto:'.join(map(str, SMALLER_AUTO_SIDES))} when the model's is under {SIZE_MARGIN:g} x the "
              "camera's"
              + ("; measured here:" if measured else "; not measured yet (first run)"))
        for line in measured:
            print(f"         {line}")
    print("AUTO   picks among the devices above")
    return 0


def cmd_convert(args: argparse.Namespace) -> int:
    from ..model.convert import build_ir, resolve_size
    from ..model.weights import cache_dir, get_spec, resolve_weights

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
