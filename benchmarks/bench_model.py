"""Model speed (and accuracy) per precision and input size, on one device.

Prints one table row per configuration:
- sync latency p50/p95 of ``Segmenter.infer`` on a 1280x720 frame (resize etc. happen inside the model), with
  the LATENCY performance hint, as ``vbg image`` and the live pipeline use it;
- async throughput with an ``AsyncInferQueue`` of the compiled model's optimal size under the THROUGHPUT hint,
  as the file pipeline uses it;
- MAE against the official U2NETP maps (0..1 scale), when the reference set is available.

Run: ``.venv/bin/python benchmarks/bench_model.py`` (``--help`` for the grid).  Shared machines are noisy:
compare rows of one run, not numbers across runs.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vbg.model.autotune import measure_fps  # noqa: E402
from vbg.model.segmenter import Segmenter, SegmenterConfig  # noqa: E402
from vbg.model.devices import cpu_name  # noqa: E402

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "testdata" / "u2netp_reference"


def sync_latency(segmenter: Segmenter, frame: np.ndarray, runs: int) -> tuple[float, float]:
    for _ in range(3):
        segmenter.infer(frame)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        segmenter.infer(frame)
        times.append((time.perf_counter() - start) * 1000)
    return float(np.percentile(times, 50)), float(np.percentile(times, 95))


def async_fps(segmenter: Segmenter, frame: np.ndarray, seconds: float) -> tuple[float, int]:
    return measure_fps(segmenter.compiled, seconds, Segmenter.check_frame(frame), segmenter.optimal_requests)


def reference_mae(segmenter: Segmenter) -> float | None:
    if not (REFERENCE / "images").is_dir():
        return None
    errors = []
    for path in sorted((REFERENCE / "images").iterdir()):
        mask = cv2.imread(str(REFERENCE / "masks" / (path.stem + ".png")), cv2.IMREAD_GRAYSCALE)
        alpha = segmenter.segment(cv2.imread(str(path)))
        errors.append(np.abs(alpha.astype(np.float32) - mask).mean() / 255)
    return float(np.mean(errors))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="CPU")
    parser.add_argument("--sizes", default="320,192", help="comma-separated input sizes (N or WxH)")
    parser.add_argument("--precisions", default="fp32,fp16,bf16")
    parser.add_argument("--resize", default="antialias,fast")
    parser.add_argument("--frame", default="1280x720", help="frame size fed to the model")
    parser.add_argument("--runs", type=int, default=30, help="sync runs per row")
    parser.add_argument("--seconds", type=float, default=4.0, help="async run length per row")
    parser.add_argument("--no-accuracy", action="store_true")
    parser.add_argument("--model", default="u2net_lite",
                        help="u2net_lite (default: the official weights, which the MAE column's maps come from)")
    parser.add_argument("--weights")
    parser.add_argument("--cache-dir")
    args = parser.parse_args()

    w, h = (int(v) for v in args.frame.split("x"))
    frame = np.random.default_rng(0).integers(0, 256, (h, w, 3), dtype=np.uint8)
    header = ("| size | precision | resize | sync p50 ms | sync p95 ms | sync fps | async fps (requests) "
              "| MAE vs official |")
    print(f"CPU: {cpu_name()}; device {args.device}, model {args.model}, {w}x{h} frames\n")
    print(header)
    print("|---" * (header.count("|") - 1) + "|")
    for size in args.sizes.split(","):
        for precision in args.precisions.split(","):
            for resize in args.resize.split(","):
                base = SegmenterConfig(model=args.model, device=args.device, size=size, precision=precision,
                                       resize=resize,
                                       weights=args.weights, cache_dir=args.cache_dir)
                latency = Segmenter(base)
                p50, p95 = sync_latency(latency, frame, args.runs)
                mae = None if args.no_accuracy or args.model != "u2net_lite" else reference_mae(latency)
                throughput = Segmenter(base, performance_hint="THROUGHPUT")
                fps, requests = async_fps(throughput, frame, args.seconds)
                mae_text = "-" if mae is None else f"{mae:.4f}"
                print(f"| {latency.size} | {precision} | {resize} | {p50:.1f} | {p95:.1f} | {1000 / p50:.1f} "
                      f"| {fps:.1f} ({requests}) | {mae_text} |", flush=True)


if __name__ == "__main__":
    main()
