"""Pipeline overhead and live behaviour, measured side by side on one compiled model and one clip.

Rows:
1. model only: the clip's decoded frames pushed through ``AsyncInferQueue`` as fast as it goes;
2. file mode -> null sink, and file mode -> H.264 file: the whole pipeline (decode, infer, composite,
   encode); the ratio to (1) is the pipeline's efficiency (target >= 0.9);
3. live mode on the clip paced at its own 30 fps: output fps (target >= 29), capture->sink latency p95
   (target <= one inference latency + 2 frame intervals) and RSS growth over the run (target < 50 MB
   over 5 minutes; ``--live-seconds`` sets the length).

Run: ``.venv/bin/python benchmarks/bench_pipeline.py`` (``--help``).  Compare ratios within one run: the
machines are shared and absolute numbers move.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vbg.config import RunConfig  # noqa: E402
from vbg.compose.backgrounds import ImageBackground  # noqa: E402
from vbg.compose.compositing import Compositor  # noqa: E402
from vbg.pipeline.core import Pipeline, PipelineOptions  # noqa: E402
from vbg.model.segmenter import Segmenter, SegmenterConfig  # noqa: E402
from vbg.media.sinks import FileSink, NullSink  # noqa: E402
from vbg.media.sources import open_source  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def model_only_fps(segmenter: Segmenter, clip: str, frames: int) -> float:
    images = [f.image for f in open_source(clip)]
    queue = segmenter.infer_queue()
    for image in images[: len(queue)]:  # warm-up
        queue.start_async({0: Segmenter.check_frame(image)})
    queue.wait_all()
    start = time.perf_counter()
    for i in range(frames):
        queue.start_async({0: Segmenter.check_frame(images[i % len(images)])})
    queue.wait_all()
    return frames / (time.perf_counter() - start)


def file_mode(segmenter: Segmenter, clip: str, background: str, frames: int, sink) -> float:
    source = open_source(clip, loop=True)
    stats = Pipeline(source, segmenter, Compositor([ImageBackground(background)]), [sink],
                     PipelineOptions(max_frames=frames, progress=False)).run()
    return stats.frames_out / stats.seconds


def live_mode(config: SegmenterConfig, clip: str, background: str, seconds: float):
    segmenter = Segmenter(config, performance_hint="LATENCY")
    source = open_source(clip, loop=True, live=True)
    pipeline = Pipeline(source, segmenter, Compositor([ImageBackground(background)]), [NullSink()],
                        PipelineOptions())
    samples: list[tuple[float, float]] = []

    def watch() -> None:
        start = time.perf_counter()
        while time.perf_counter() - start < seconds:
            samples.append((time.perf_counter() - start, rss_mb()))
            time.sleep(1.0)
        pipeline.stop()

    threading.Thread(target=watch, daemon=True).start()
    stats = pipeline.run()
    warm = [m for t, m in samples if t >= min(15.0, seconds / 3)]
    growth = warm[-1] - warm[0] if len(warm) > 1 else float("nan")
    return stats, growth, source.info.fps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clip", default=str(ROOT / "samples" / "person_720p.mp4"))
    parser.add_argument("--background", default=str(ROOT / "samples" / "background_beach.jpg"))
    parser.add_argument("--device", default="CPU")
    # the model `vbg run` uses by default
    parser.add_argument("--size", default=RunConfig.size)
    parser.add_argument("--precision", default=RunConfig.precision)
    parser.add_argument("--resize", default=RunConfig.resize)
    parser.add_argument("--frames", type=int, default=240, help="frames per throughput row")
    parser.add_argument("--live-seconds", type=float, default=300.0)
    parser.add_argument("--weights")
    parser.add_argument("--cache-dir")
    args = parser.parse_args()

    config = SegmenterConfig(device=args.device, size=args.size, precision=args.precision, resize=args.resize,
                             weights=args.weights, cache_dir=args.cache_dir)
    segmenter = Segmenter(config, performance_hint="THROUGHPUT")
    print(f"{segmenter.describe()}, resize {args.resize}, {segmenter.optimal_requests} requests, clip {args.clip}\n")
    model = model_only_fps(segmenter, args.clip, args.frames)
    null = file_mode(segmenter, args.clip, args.background, args.frames, NullSink())
    with tempfile.TemporaryDirectory() as tmp:
        encoded = file_mode(segmenter, args.clip, args.background, args.frames, FileSink(Path(tmp) / "o.mp4"))
    print("| measurement | value | target |")
    print("|---|---|---|")
    print(f"| model only, async fps | {model:.1f} | |")
    print(f"| file mode -> null sink, fps | {null:.1f} | |")
    print(f"| file mode -> H.264 file, fps | {encoded:.1f} | |")
    print(f"| pipeline / model ratio (null, file) | {null / model:.2f}, {encoded / model:.2f} | >= 0.9 |",
          flush=True)
    stats, growth, fps = live_mode(config, args.clip, args.background, args.live_seconds)
    infer_p50 = stats.latency.percentiles("infer")[0]
    e2e = stats.latency.percentiles("capture->sink", (50, 95))
    budget = infer_p50 + 2000 / fps
    print(f"| live {fps:.0f} fps source: output fps | {stats.output_fps:.1f} | >= {fps - 1:.0f} |")
    print(f"| live: model fps (mask updates/s) | {stats.model_fps:.1f} | |")
    print(f"| live: capture->sink latency p50 / p95 ms | {e2e[0]:.1f} / {e2e[1]:.1f} | <= {budget:.0f} "
          f"(inference {infer_p50:.0f} + 2 frames) |")
    age = stats.latency.percentiles("mask-age", (50, 95))
    print(f"| live: age of the mask shown, p50 / p95 ms | {age[0]:.1f} / {age[1]:.1f} | |")
    print(f"| live: dropped frames | {stats.dropped} of {stats.frames_in} | |")
    print(f"| live: RSS growth over {args.live_seconds:.0f} s (after warm-up) MB | {growth:.1f} | < 50 |")


if __name__ == "__main__":
    main()
