"""``vbg bench``: flags for the device x precision x size x hint matrix; the work is in ``vbg.bench``."""

from __future__ import annotations

import argparse
import sys


def _list(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def _devices(text: str) -> list[str]:
    """``CPU,GPU`` is two devices; ``MULTI:CPU,GPU`` is one (a meta device with its own comma list)."""
    return [text.strip()] if ":" in text else _list(text)


def _ints(text: str) -> list[int]:
    try:
        return [int(v) for v in _list(text)]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected whole numbers separated by commas, got {text!r}") from None


def add_bench_parser(sub) -> None:
    from ..bench import BenchMatrix
    from ..model.weights import MODELS

    p = sub.add_parser(
        "bench", help="compare devices, precisions, input sizes and hints on this machine",
        description="Measure every combination of --devices x --precisions x --sizes x --hints x --requests: "
                    "compile time (cold and cached), sync latency p50/p95, async throughput, pipeline fps on "
                    "a clip into a null sink, and MAE vs reference maps (--reference).  Writes a table, "
                    "bench.json, bench.csv and bench.png.  The default matrix takes a few minutes on 2 cores.  "
                    "Exit code 1 when some cells failed (the table says why), 2 when none was measured.")
    p.add_argument("--devices", type=_devices, nargs="+", action="extend", metavar="DEV",
                   help="e.g. CPU,GPU,NPU,AUTO or CPU MULTI:CPU,GPU HETERO:GPU,CPU (default: every device "
                        "present); missing ones are listed as not available")
    p.add_argument("--precisions", type=_list, default=["fp32", "bf16", "int8"], metavar="LIST",
                   help="fp32,fp16,bf16,int8 (default fp32,bf16,int8)")
    p.add_argument("--sizes", type=_list, default=["320"], metavar="LIST", help="model input sizes (default 320)")
    p.add_argument("--hints", type=lambda t: [h.upper() for h in _list(t)], default=["THROUGHPUT"],
                   metavar="LIST", help="LATENCY,THROUGHPUT (default THROUGHPUT)")
    p.add_argument("--requests", type=_ints, default=[2], metavar="LIST",
                   help="infer requests, the same on every device (default 2)")
    p.add_argument("--resize", default="antialias", choices=["antialias", "fast"])
    p.add_argument("--model", default=BenchMatrix.model, choices=list(MODELS),
                   help="default %(default)s, the bundled person weights; the official weights (u2net_lite) "
                        "are the ones the project's --reference maps were made with")
    p.add_argument("--weights", metavar="PATH")
    p.add_argument("--cache-dir", metavar="DIR")
    p.add_argument("--calibration", metavar="DIR", help="int8 calibration images/videos (default: the samples)")
    p.add_argument("--clip", metavar="FILE", help="clip for the pipeline and the latency frames "
                                                 "(default samples/person_720p.mp4)")
    p.add_argument("--frames", type=int, default=60, help="pipeline frames per cell (default %(default)s)")
    p.add_argument("--runs", type=int, default=20, help="synchronous runs per cell (default %(default)s)")
    p.add_argument("--seconds", type=float, default=3.0, help="async run per cell, seconds (default %(default)s)")
    p.add_argument("--reference", metavar="DIR", help="folder with images/ and masks/: adds the MAE column")
    p.add_argument("--out", default="bench-out", metavar="DIR", help="where bench.json/csv/png go (default %(default)s)")
    p.set_defaults(func=cmd_bench)


def cmd_bench(args: argparse.Namespace) -> int:
    from ..bench import DEFAULT_CLIP, HEADER, Bench, BenchMatrix, problem, write_results
    from ..errors import VbgError
    from .common import EXIT_SOME_FAILED

    if min(args.frames, args.runs) <= 0 or args.seconds <= 0:
        raise VbgError("--frames, --runs and --seconds must be positive")
    devices = [d for group in args.devices for d in group] if args.devices else None
    matrix = BenchMatrix(devices=devices, precisions=args.precisions, sizes=args.sizes, hints=args.hints,
                         requests=args.requests, resize=args.resize, model=args.model, weights=args.weights,
                         cache_dir=args.cache_dir, calibration=args.calibration,
                         clip=args.clip or str(DEFAULT_CLIP), frames=args.frames, runs=args.runs,
                         seconds=args.seconds, reference=args.reference)
    bench = Bench(matrix)
    print(HEADER)
    print("|---" * (HEADER.count("|") - 1) + "|", flush=True)
    results = bench.run()
    trouble = problem(results)
    if not any(r.status == "ok" for r in results):
        raise VbgError(trouble)  # nothing measured: no files, only the reason
    paths = write_results(results, matrix, args.out)
    print(f"\nwrote {', '.join(str(p) for p in paths.values())}")
    if trouble:  # some cells measured, some failed: the files hold both, the exit code says so
        print(f"vbg: error: {trouble}", file=sys.stderr)
        return EXIT_SOME_FAILED
    return 0
