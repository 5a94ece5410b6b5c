"""Where the CPU goes in a ``vbg run`` of a file: CPU time per frame for each stage's threads.

The pipeline is built exactly as ``vbg run CLIP -o OUT.mp4`` builds it (``vbg.app.build_pipeline``, the
defaults unless ``--set key=value`` changes them).  While it runs, every thread's CPU time is read from
``/proc/self/task`` (Linux) and each thread is put under a stage:

- the pipeline's own Python threads by name (source reader = demux + decode calls, capture, submit, compose =
  refinement + compositing + overlay, sink = colour conversion + encoder calls);
- ``av:*`` threads: FFmpeg's decoder threads (FFmpeg names them);
- threads that exist once the model is compiled and has run: OpenVINO's inference threads;
- threads that appear later, unnamed: the encoder's own threads (x264) and other native helpers.

CPU time, unlike wall time, barely moves when the machine is shared, so the table is comparable across runs.
Run: ``.venv/bin/python benchmarks/bench_stages.py`` (``--frames``, ``--null`` for a null sink, ``--set``;
``--null --set live=true --set gate=true`` times a live, gated run on the clip paced at its rate).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
from dataclasses import fields
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vbg.app import build_pipeline  # noqa: E402
from vbg.config import RunConfig  # noqa: E402
from vbg.model.devices import cpu_name  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")
STAGES = {"vbg-AVSource": "decode (PyAV calls, reader thread)", "capture": "capture hand-off",
          "submit": "submit (live only)", "compose": "refine + composite + overlay",
          "MainThread": "main thread (waits)"}


def thread_cpu() -> dict[int, tuple[str, float]]:
    """tid -> (comm, CPU seconds) for every thread of this process."""
    out = {}
    for task in Path("/proc/self/task").iterdir():
        try:
            comm = (task / "comm").read_text().strip()
            stat = (task / "stat").read_text()
        except OSError:
            continue  # ended meanwhile
        parts = stat[stat.rindex(")") + 2:].split()
        out[int(task.name)] = (comm, (int(parts[11]) + int(parts[12])) / TICK)
    return out


class Sampler:
    """Polls ``thread_cpu`` so that threads that end before the run does are still counted."""

    def __init__(self, period: float = 0.25) -> None:
        self.period = period
        self.seen: dict[int, tuple[str, float]] = {}
        self.names: dict[int, str] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sampler", daemon=True)

    @property
    def thread_id(self) -> int | None:
        """The sampler's own thread (its polling shows up as a stage of its own)."""
        return self._thread.native_id

    def sample(self) -> None:
        for thread in threading.enumerate():
            if thread.native_id is not None:
                self.names.setdefault(thread.native_id, thread.name)
        self.seen.update(thread_cpu())

    def _run(self) -> None:
        while not self._stop.wait(self.period):
            self.sample()

    def __enter__(self) -> Sampler:
        self.sample()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()


def stage_of(tid: int, comm: str, names: dict[int, str], model_threads: set[int], sampler_id: int) -> str:
    name = names.get(tid)
    if tid == sampler_id:
        return "benchmark sampler"
    if name in STAGES:
        return STAGES[name]
    if name is not None and name.startswith("sink-"):
        return f"sink {name[5:]} (conversion + encoder calls)"
    if comm.startswith("av:"):
        return "FFmpeg decoder threads"
    if tid in model_threads:
        return "OpenVINO inference threads"
    return "encoder threads (x264) and other native threads"


def parse_sets(items: list[str]) -> dict:
    types = {f.name: f.type for f in fields(RunConfig)}
    out = {}
    for item in items:
        key, _, value = item.partition("=")
        if key not in types:
            raise SystemExit(f"--set: unknown RunConfig key {key!r}")
        words = {"true": True, "false": False, "none": None}
        if str(types[key]).startswith("list"):  # e.g. --set background=a.jpg,b.jpg
            out[key] = value.split(",")
        else:
            out[key] = words[value.lower()] if value.lower() in words else int(value) if value.isdigit() else value
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clip", default=str(ROOT / "samples" / "person_720p.mp4"))
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--null", action="store_true", help="null sink instead of an H.264 file")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="RunConfig overrides")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        config = RunConfig(input=args.clip, loop=True, max_frames=args.frames, progress=False,  # --set may override
                           null=args.null, output=None if args.null else str(Path(tmp) / "out.mp4"),
                           **parse_sets(args.set))
        pipeline = build_pipeline(config)
        segmenter = pipeline.segmenter
        queue = segmenter.infer_queue()  # warm the model: its threads exist from here on
        frame = np.zeros((1, pipeline.source.info.height, pipeline.source.info.width, 3), np.uint8)
        for _ in range(len(queue)):
            queue.start_async({0: frame})
        queue.wait_all()
        before = thread_cpu()
        model_threads = set(before) - {t.native_id for t in threading.enumerate()}
        model_threads = {t for t in model_threads if not before[t][0].startswith("av:")}
        process_start = os.times()
        with Sampler() as sampler:
            stats = pipeline.run()
        process = os.times()
        pipeline.compositor.close()

    totals: dict[str, float] = {}
    for tid, (comm, seconds) in sampler.seen.items():
        spent = seconds - before.get(tid, (comm, 0.0))[1]
        if spent > 0:
            stage = stage_of(tid, comm, sampler.names, model_threads, sampler.thread_id)
            totals[stage] = totals.get(stage, 0.0) + spent
    frames = stats.frames_out
    cpu_total = (process.user + process.system) - (process_start.user + process_start.system)
    print(f"CPU: {cpu_name()}, {os.cpu_count()} cores; {segmenter.describe()}; "
          f"{'null sink' if args.null else 'H.264 file'}; {frames} frames at {stats.output_fps:.1f} fps "
          f"({stats.seconds:.1f} s wall)\n")
    print(f"pipeline summary: {stats.summary()}\n")
    print("| stage (threads) | CPU ms per frame | share of CPU |")
    print("|---|---:|---:|")
    for stage, seconds in sorted(totals.items(), key=lambda kv: -kv[1]):
        print(f"| {stage} | {seconds / frames * 1000:.1f} | {seconds / cpu_total:.0%} |")
    print(f"| **whole process** | **{cpu_total / frames * 1000:.1f}** | "
          f"{cpu_total / stats.seconds / os.cpu_count():.0%} of {os.cpu_count()} cores |")


if __name__ == "__main__":
    main()
