"""Soak test: 10,000 frames through the live pipeline from a looping, paced source; memory and threads.

A live session runs for hours, so anything that grows per frame (a queue, a list of timings, a thread per
reconnect or per mask) shows up as RSS growth or a thread leak long before it crashes a call.  This runs the
real pipeline (PyAV decode with --loop and live pacing, async OpenVINO inference, compositing with the FPS
overlay, a sink thread) on the sample clip at its own 30 fps and reports:

- RSS after the warm-up (the first ``--warmup`` frames of the soak) and at the end, and the peak;
- Python threads and OS threads (``/proc/self/status``) before the soak and after it (after a short warm-up
  pipeline on the same compiled model, so OpenVINO's own thread pool already exists);
- frames in/out and dropped frames (live mode drops stale frames by design; they are counted, not lost).

Targets: RSS growth < 30 MB, no thread leak.  10,000 frames at 30 fps take about 6 minutes.

Run: ``flock /tmp/vbg-cpu.lock .venv/bin/python benchmarks/soak.py`` (``--frames``, ``--help``).
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vbg.compose.backgrounds import ImageBackground  # noqa: E402

from vbg.compose.compositing import Compositor  # noqa: E402
from vbg.pipeline.core import Pipeline, PipelineOptions, RunStats  # noqa: E402
from vbg.model.segmenter import Segmenter, SegmenterConfig  # noqa: E402
from vbg.media.sinks import NullSink  # noqa: E402
from vbg.media.sources import open_source  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def proc_status(field: str) -> int:
    """An integer field of /proc/self/status (VmRSS in kB, Threads)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def rss_mb() -> float:
    return proc_status("VmRSS") / 1024


def threads() -> tuple[int, int]:
    """(Python threads, OS threads of the process)."""
    return threading.active_count(), proc_status("Threads")


def live_run(segmenter: Segmenter, clip: str, background: str, frames: int,
             on_pipeline=None) -> RunStats:
    source = open_source(clip, loop=True, live=True)
    pipeline = Pipeline(source, segmenter, Compositor([ImageBackground(background)]), [NullSink()],
                        PipelineOptions(max_frames=frames, progress=False))
    if on_pipeline is not None:
        on_pipeline(pipeline)
    return pipeline.run()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=10_000)
    parser.add_argument("--warmup", type=int, default=300, help="frames before the RSS baseline is taken")
    parser.add_argument("--clip", default=str(ROOT / "samples" / "person_720p.mp4"))
    parser.add_argument("--background", default=str(ROOT / "samples" / "background_beach.jpg"))
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--resize", default="fast")
    args = parser.parse_args()

    segmenter = Segmenter(SegmenterConfig(precision=args.precision, resize=args.resize))
    live_run(segmenter, args.clip, args.background, args.warmup)  # OpenVINO's pools, codecs, caches exist now
    threads_before, rss_before = threads(), rss_mb()

    samples: list[tuple[int, float]] = []  # (frames out, RSS MB)
    done = threading.Event()

    def watch(pipeline: Pipeline) -> None:
        while not done.wait(1.0):
            samples.append((pipeline.stats.frames_out, rss_mb()))

    def start_watch(pipeline: Pipeline) -> None:
        threading.Thread(target=watch, args=(pipeline,), name="soak-rss", daemon=True).start()

    stats = live_run(segmenter, args.clip, args.background, args.frames, start_watch)
    done.set()
    time.sleep(1.2)  # let the watcher exit before threads are counted
    threads_after, rss_end = threads(), rss_mb()
    baseline = next((rss for out, rss in samples if out >= args.warmup), rss_before)
    peak = max([rss for _, rss in samples] + [rss_end])

    print(f"soak: {stats.summary()}")
    print()
    print("| measurement | value | target |")
    print("|---|---|---|")
    print(f"| frames in / out | {stats.frames_in} / {stats.frames_out} | {args.frames} out |")
    print(f"| dropped frames (stale, live mode) | {stats.dropped} | counted |")
    print(f"| output fps / model fps | {stats.output_fps:.1f} / {stats.model_fps:.1f} | 30 / |")
    print(f"| RSS before the soak MB | {rss_before:.1f} | |")
    print(f"| RSS after {args.warmup} frames -> end MB | {baseline:.1f} -> {rss_end:.1f} | |")
    print(f"| RSS growth MB (peak MB) | {rss_end - baseline:+.1f} ({peak:.1f}) | < 30 |")
    print(f"| Python threads before -> after | {threads_before[0]} -> {threads_after[0]} | equal |")
    print(f"| OS threads before -> after | {threads_before[1]} -> {threads_after[1]} | equal |")
    print(f"| duration s | {stats.seconds:.0f} | |")


if __name__ == "__main__":
    main()
