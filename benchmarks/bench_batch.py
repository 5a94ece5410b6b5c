"""Many files on one machine: ``vbg batch`` layouts against one ``vbg run`` after another.

Rows, measured in one run on the same N copies of the sample clip (720p, 4 s, with audio), default settings
(person model, int8, auto size) to H.264:
- sequential: ``vbg run FILE -o OUT`` per file, one process each (what a shell loop does);
- batch 1x2: ``vbg batch`` on a local cluster of 1 worker with 2 OpenVINO threads (the default on 2 cores);
- batch 2x1: 2 workers with 1 thread each.
Each batch row includes starting its cluster and compiling the model once per worker. A last line gives
the scheduler's own cost per task (no-op tasks on a 2-worker local cluster), the figure that says what one
more machine adds: per-file work divided among machines plus this overhead.

Run: ``.venv/bin/python benchmarks/bench_batch.py [--files 6]``.  Needs an idle machine; compare rows of one
run.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vbg.model.devices import cpu_name  # noqa: E402

CLIP = ROOT / "vbg" / "assets" / "samples" / "person_720p.mp4"
VBG = [sys.executable, "-m", "vbg"]


def timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if proc.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{proc.stderr}")
    return time.perf_counter() - start


def scheduler_overhead_ms(tasks: int = 300) -> float:
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster, Client(cluster) as c:
        c.gather(c.map(abs, range(20)))  # warm up
        start = time.perf_counter()
        c.gather(c.map(abs, range(1000, 1000 + tasks)))
        return (time.perf_counter() - start) / tasks * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=6)
    parser.add_argument("--cache-dir", help="IR cache (default: vbg's); built before timing")
    args = parser.parse_args()
    cache = ["--cache-dir", args.cache_dir] if args.cache_dir else []
    frames = 120 * args.files

    with tempfile.TemporaryDirectory() as tmp:
        inputs = Path(tmp) / "in"
        inputs.mkdir()
        for i in range(args.files):
            shutil.copy(CLIP, inputs / f"clip{i}.mp4")
        timed([*VBG, "run", str(inputs / "clip0.mp4"), "-o", str(Path(tmp) / "warm.mp4"), "--blur", *cache])
        rows = []
        out = Path(tmp) / "seq"
        out.mkdir()
        seconds = sum(timed([*VBG, "run", str(p), "-o", str(out / p.name), "--blur", "--no-progress", *cache])
                      for p in sorted(inputs.iterdir()))
        rows.append(("sequential vbg run", "1 process x all cores", seconds))
        for workers, threads in ((1, 2), (2, 1)):
            seconds = timed([*VBG, "batch", str(inputs), "-o", str(Path(tmp) / f"b{workers}x{threads}"), "--blur",
                             "--workers", str(workers), "--threads", str(threads), "--no-progress", *cache])
            rows.append((f"vbg batch {workers}x{threads}", f"{workers} worker x {threads} thread", seconds))

    print(f"CPU: {cpu_name()}; {args.files} files of 120 frames (1280x720, 4 s, AAC), default model settings, "
          f"H.264\n")
    print("| mode | layout | wall s | files/min | frames/s |\n|---|---|---|---|---|")
    for name, layout, seconds in rows:
        print(f"| {name} | {layout} | {seconds:.1f} | {args.files / seconds * 60:.1f} | {frames / seconds:.1f} |")
    print(f"\nDask scheduler overhead: {scheduler_overhead_ms():.2f} ms per task (no-op tasks, 2 local workers)")


if __name__ == "__main__":
    main()
