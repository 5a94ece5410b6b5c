"""What the control socket and the control page cost a live run: CPU per frame of a paced, gated live run with
vbg's control socket listening and nobody connected, the same with the control page served (``--panel``) and no
page open, side by side with another checkout (``--repo``, e.g. one from before the socket existed), in
interleaved rounds; then how long ``vbg ctl status`` takes to answer a running job.

Each row is a whole ``vbg run CLIP --live --loop --null --max-frames N`` process (the clip paced at its 30 fps,
the change gate on, as on a call), its CPU from ``os.wait4``; compare the rows of one run.

Run: ``VBG_WEIGHTS_DIR=../shared/models .venv/bin/python benchmarks/bench_control.py --repo ../before``
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from vbg.model.devices import cpu_name  # noqa: E402

CLIP = HERE.parent / "samples" / "person_720p.mp4"


def live_run(repo: Path, frames: int, name: str, extra: tuple[str, ...] = ()) -> tuple[float, float]:
    """(CPU seconds per frame, wall seconds) of one live run from ``repo`` (``extra``: more flags)."""
    args = [sys.executable, "-m", "vbg", "run", str(CLIP), "--live", "--loop", "--null", "--max-frames", str(frames)]
    if repo == HERE.parent:
        args += ["--name", name, *extra]
    start = time.perf_counter()
    proc = subprocess.Popen(args, cwd=repo, env={**os.environ, "PYTHONPATH": str(repo)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    stderr = proc.stderr.read()
    proc.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{repo}: vbg run failed:\n{stderr[-2000:]}")
    return (usage.ru_utime + usage.ru_stime) / frames, time.perf_counter() - start


def status_latency(rounds: int = 20) -> float:
    """Median ms for ``vbg ctl status`` to answer a running live job (the client's process start included)."""
    job = subprocess.Popen([sys.executable, "-m", "vbg", "run", str(CLIP), "--live", "--loop", "--null",
                            "--name", "bench-status"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    times = []
    try:
        deadline = time.time() + 60
        while time.time() < deadline and len(times) < rounds:
            start = time.perf_counter()
            ok = subprocess.run([sys.executable, "-m", "vbg", "ctl", "--name", "bench-status", "status"],
                                capture_output=True).returncode == 0
            if ok:
                times.append((time.perf_counter() - start) * 1000)
            else:
                time.sleep(0.5)  # still starting
    finally:
        job.terminate()
        job.wait()
    return statistics.median(times) if times else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repo", type=Path, required=True, help="the checkout to compare with")
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    rows = {"this checkout (socket listening, nobody connected)": (HERE.parent, ()),
            "this checkout with --panel (no page open)": (HERE.parent, ("--panel",)),
            f"{args.repo.name}": (args.repo.resolve(), ())}
    cpu: dict[str, list[float]] = {label: [] for label in rows}
    for repo, extra in rows.values():  # untimed: the model's cache, the live timing, the page cache
        live_run(repo, 30, "bench-control", extra)
    for _ in range(args.rounds):
        for label, (repo, extra) in rows.items():
            cpu[label].append(live_run(repo, args.frames, "bench-control", extra)[0])
    print(f"CPU: {cpu_name()}; {args.frames} frames of {CLIP.name} live at 30 fps, gated, null sink; "
          f"{args.rounds} interleaved rounds after a warm-up run of each\n")
    print("| vbg | CPU ms per frame (median) | each round |\n|---|---:|---|")
    for label, values in cpu.items():
        print(f"| {label} | {statistics.median(values) * 1000:.2f} | "
              + ", ".join(f"{v * 1000:.2f}" for v in values) + " |")
    print(f"\n`vbg ctl status` answered a running job in {status_latency():.0f} ms (median, process start included)")


if __name__ == "__main__":
    main()
