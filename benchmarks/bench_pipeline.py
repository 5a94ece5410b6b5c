"""Pipeline overhead and live behaviour, measured side by side on one compiled model and one clip.

Rows:
1. model only: the clip's decoded frames pushed through ``AsyncInferQueue`` as fast as it goes, whole (the
   model's folded resize shrinks them: the issue's reference) and shrunk by OpenCV first (what the pipeline
   feeds it with ``--resize fast``, see ``Segmenter.model_input``);
2. file mode -> null sink, and file mode -> H.264 file: the whole pipeline (decode, infer, composite,
   encode); the ratio to (1) is the pipeline's efficiency (target >= 0.9);
3. live mode on the clip paced at its own 30 fps, side by side: the default model and a slow one (fp32 320),
   each with the measured policy (``auto``, what ``vbg run`` does) and with each policy forced (own mask,
   newest mask): output fps (target >= 29), mask updates/s (target >= 28 when the model keeps up), the share
   of frames shown with their own mask, mask age, latency, drops and RSS growth (``--live-seconds`` each).

Run: ``.venv/bin/python benchmarks/bench_pipeline.py`` (``--help``).  Compare ratios within one run: the
machines are shared and absolute numbers move.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vbg.app import LIVE_MASK_POLICY  # noqa: E402
from vbg.config import RunConfig  # noqa: E402
from vbg.compose.backgrounds import ImageBackground  # noqa: E402
from vbg.compose.compositing import Compositor  # noqa: E402
from vbg.pipeline.core import Pipeline, PipelineOptions  # noqa: E402
from vbg.model.segmenter import Segmenter, SegmenterConfig  # noqa: E402
from vbg.media.sinks import FileSink, NullSink  # noqa: E402
from vbg.media.sources import open_source  # noqa: E402
from vbg.model.devices import cpu_name  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def model_only_fps(segmenter: Segmenter, clip: str, frames: int, prepare=Segmenter.check_frame) -> float:
    """The decoded clip's frames through the model as fast as it goes: whole 720p frames (``check_frame``: the
    model resizes them) or ``segmenter.model_input`` (shrunk by OpenCV first, as the pipeline feeds them)."""
    images = [prepare(f.image) for f in open_source(clip)]
    queue = segmenter.infer_queue()
    for image in images[: len(queue)]:  # warm-up
        queue.start_async({0: image})
    queue.wait_all()
    start = time.perf_counter()
    for i in range(frames):
        queue.start_async({0: images[i % len(images)]})
    queue.wait_all()
    return frames / (time.perf_counter() - start)


def file_mode(segmenter: Segmenter, clip: str, background: str, frames: int, sink) -> float:
    source = open_source(clip, loop=True)
    stats = Pipeline(source, segmenter, Compositor([ImageBackground(background)]), [sink],
                     PipelineOptions(max_frames=frames, progress=False)).run()
    return stats.frames_out / stats.seconds


def live_mode(config: SegmenterConfig, clip: str, background: str, seconds: float, policy: str):
    """A live run on the clip paced at its own rate; ``policy``: auto (measured, as ``vbg run``), own, newest."""
    source = open_source(clip, loop=True, live=True)
    hint, own_masks = LIVE_MASK_POLICY[policy]
    segmenter = Segmenter(config, performance_hint=hint, target_fps=source.info.rate)
    plan = segmenter.live_plan
    chosen = policy if policy != "auto" else f"auto: {'own' if plan and plan.own_masks else 'newest'}"
    pipeline = Pipeline(source, segmenter, Compositor([ImageBackground(background)]), [NullSink()],
                        PipelineOptions(own_masks=own_masks))
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
    return stats, growth, source.info.fps, chosen, segmenter


def live_rows(runs) -> None:
    """One column per live run, side by side."""
    header = " | ".join(f"{label}" for label, *_ in runs)
    print(f"\n| live, clip paced at its rate | {header} |")
    print("|---|" + "---|" * len(runs))

    def row(name, cell) -> None:
        print(f"| {name} | " + " | ".join(cell(stats, growth, fps) for _, stats, growth, fps in runs) + " |")

    def pct(stats, stage, q=(50, 95)):
        p = stats.latency.percentiles(stage, q)
        return f"{p[0]:.0f} / {p[1]:.0f}" if p else "-"

    row("output fps", lambda st, g, fps: f"{st.output_fps:.1f} (source {fps:.0f})")
    row("mask updates/s", lambda st, g, fps: f"{st.model_fps:.1f}")
    row("frames shown with their own mask", lambda st, g, fps: "-" if st.own_masks is None else
        f"{st.own_masks / max(st.frames_out, 1):.0%}")
    row("age of the mask shown, p50 / p95 ms", lambda st, g, fps: pct(st, "mask-age"))
    row("inference p50 / p95 ms", lambda st, g, fps: pct(st, "infer"))
    row("capture->sink latency p50 / p95 ms", lambda st, g, fps: pct(st, "capture->sink"))
    row("dropped frames", lambda st, g, fps: f"{st.dropped} of {st.frames_in}")
    row("RSS growth after warm-up, MB", lambda st, g, fps: f"{g:.1f}")


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
    parser.add_argument("--live-seconds", type=float, default=60.0, help="per live run (six runs)")
    parser.add_argument("--slow-size", default="320", help="the slow model of the live comparison")
    parser.add_argument("--slow-precision", default="fp32")
    parser.add_argument("--weights")
    parser.add_argument("--cache-dir")
    args = parser.parse_args()

    info = open_source(args.clip).info
    # sized and, with ``auto``, given the precision that ``vbg run`` gives the clip
    config = SegmenterConfig(device=args.device, size=args.size, precision=args.precision, resize=args.resize,
                             weights=args.weights, cache_dir=args.cache_dir, frame=info.size, target_fps=info.rate)
    segmenter = Segmenter(config, performance_hint="THROUGHPUT")
    print(f"CPU: {cpu_name()}; {segmenter.describe()}, resize {args.resize}, {segmenter.optimal_requests} requests, "
          f"clip {args.clip}\n")
    model = model_only_fps(segmenter, args.clip, args.frames)
    fed = model_only_fps(segmenter, args.clip, args.frames, segmenter.model_input)
    null = file_mode(segmenter, args.clip, args.background, args.frames, NullSink())
    with tempfile.TemporaryDirectory() as tmp:
        encoded = file_mode(segmenter, args.clip, args.background, args.frames, FileSink(Path(tmp) / "o.mp4"))
    print("| measurement | value | target |")
    print("|---|---|---|")
    print(f"| model only, async fps, whole 720p frames in | {model:.1f} | |")
    print(f"| model only, async fps, frames shrunk as the pipeline feeds them | {fed:.1f} | |")
    print(f"| file mode -> null sink, fps | {null:.1f} | |")
    print(f"| file mode -> H.264 file, fps | {encoded:.1f} | |")
    print(f"| pipeline / model ratio, whole frames (null, file) | {null / model:.2f}, {encoded / model:.2f} "
          "| >= 0.95, >= 0.9 |")
    print(f"| pipeline / model ratio, shrunk frames (null, file) | {null / fed:.2f}, {encoded / fed:.2f} | |",
          flush=True)
    runs = []
    slow = SegmenterConfig(device=args.device, size=args.slow_size, precision=args.slow_precision,
                           resize="antialias", weights=args.weights, cache_dir=args.cache_dir, frame=info.size)
    config = dataclasses.replace(config, live=True)  # as vbg run --live (the size may step down)
    for label, model_config in (("default", config), (f"{args.slow_precision} {args.slow_size}", slow)):
        for policy in ("auto", "own", "newest"):
            stats, growth, fps, chosen, seg = live_mode(model_config, args.clip, args.background, args.live_seconds,
                                                        policy)
            runs.append((f"{label}, {chosen}", stats, growth, fps))
            print(f"live {label} {chosen}: {stats.summary()}", flush=True)
    live_rows(runs)


if __name__ == "__main__":
    main()
