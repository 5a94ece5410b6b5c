"""Model speed of the default against the previous defaults, side by side: interleaved rounds, medians.

Each model is compiled once (THROUGHPUT hint, OpenVINO's number of requests) and timed async on 1280x720
frames of the sample clip, fed two ways: whole (the model's folded resize shrinks them, as vbg fed every model
before ``Segmenter.model_input``) and as the pipeline feeds them now (shrunk by OpenCV first with ``--resize
fast``).  The rounds go model after model, ``--rounds`` times, so a slow moment of a shared machine hits every
row alike; the table gives each row's median and its ratio to the first row (the default before the person
model: the official weights, int8 at 256x256).

Run: ``VBG_WEIGHTS_DIR=../shared/models .venv/bin/python benchmarks/bench_default_speed.py``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vbg.media.sources import open_source  # noqa: E402
from vbg.model.autotune import measure_fps  # noqa: E402
from vbg.model.devices import cpu_name  # noqa: E402
from vbg.model.segmenter import Segmenter, SegmenterConfig  # noqa: E402

#: (label, model, size): the previous defaults, then today's (``auto`` for a 720p30 clip)
MODELS = (
    ("official int8 256x256 (the default before the person model)", "u2net_lite", "256"),
    ("person int8 352x192 (the previous person default)", "u2netp_person", "352x192"),
    ("person int8 auto = 320x192 (the default)", "u2netp_person", "auto"),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=2.0, help="per row and round")
    parser.add_argument("--cache-dir")
    args = parser.parse_args()

    frame = next(iter(open_source(str(ROOT / "samples" / "person_720p.mp4")))).image
    rows = []
    for label, model, size in MODELS:
        segmenter = Segmenter(SegmenterConfig(model=model, size=size, precision="int8", resize="fast",
                                              frame=(1280, 720), target_fps=30.0, cache_dir=args.cache_dir,
                                              performance_hint="THROUGHPUT"))
        rows.append((f"{label}, whole frames in", segmenter, segmenter.check_frame(frame)))
        rows.append((f"{label}, shrunk first (the pipeline now)", segmenter, segmenter.model_input(frame)))
    rates: dict[str, list[float]] = {label: [] for label, _, _ in rows}
    for _ in range(args.rounds):
        for label, segmenter, batch in rows:
            rates[label].append(measure_fps(segmenter.compiled, args.seconds, batch,
                                            segmenter.optimal_requests)[0])
    print(f"CPU: {cpu_name()}; {args.rounds} rounds of {args.seconds:g} s per row, interleaved; async fps medians\n")
    print("| model, input | fps (median) | vs the first row |")
    print("|---|---:|---:|")
    first = statistics.median(rates[rows[0][0]])
    for label, segmenter, _ in rows:
        fps = statistics.median(rates[label])
        print(f"| {label} | {fps:.1f} | {fps / first:.2f} |")


if __name__ == "__main__":
    main()
