"""What a new user waits for: the first ``vbg run`` of the sample clip on an empty model cache, the second
run of the same command, and a run after ``vbg convert`` prepared the model, each as a separate process.

``--repo DIR`` adds the same rows for another checkout of vbg (run with this interpreter and its packages),
measured in the same run, so two versions compare side by side on one machine in one hour.  Each cache is a
fresh temporary folder; the weights come from ``$VBG_WEIGHTS_DIR`` as for every command.

Run: ``VBG_WEIGHTS_DIR=../shared/models .venv/bin/python benchmarks/bench_first_run.py [--repo ../old]``
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from vbg.model.devices import cpu_name  # noqa: E402

CLIP = HERE.parent / "samples" / "person_720p.mp4"


def timed(repo: Path, *args: str) -> float:
    """Seconds for ``python -m vbg ARGS`` run from ``repo`` (its own vbg package first on the path)."""
    env = {**os.environ, "PYTHONPATH": str(repo)}
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "vbg", *args], cwd=repo, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{repo}: vbg {' '.join(args)} failed:\n{proc.stderr[-2000:]}")
    return time.perf_counter() - start


def rows_for(repo: Path, label: str, work: Path) -> list[tuple[str, str, float]]:
    cache = work / f"cache-{label}"
    out = lambda name: ["-o", str(work / f"{label}-{name}.mp4")]
    run = lambda name, cache_dir: timed(repo, "run", str(CLIP), *out(name), "--no-progress", "--cache-dir",
                                        str(cache_dir))
    rows = [(label, "first `vbg run` (empty cache)", run("first", cache)),
            (label, "second `vbg run` (same command)", run("second", cache))]
    prepared = work / f"cache-{label}-convert"
    rows.append((label, "`vbg convert` (empty cache)", timed(repo, "convert", "--cache-dir", str(prepared))))
    rows.append((label, "`vbg run` after that `vbg convert`", run("converted", prepared)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repo", type=Path, action="append", default=[], help="another checkout to compare")
    args = parser.parse_args()
    print(f"CPU: {cpu_name()}; clip {CLIP.name} (120 frames, 720p) to H.264, default options")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for index, repo in enumerate([HERE.parent, *args.repo]):
            rows += rows_for(repo.resolve(), "this" if index == 0 else repo.name, Path(tmp))
    print("\n| vbg | command | wall s |\n|---|---|---:|")
    for label, what, seconds in rows:
        print(f"| {label} | {what} | {seconds:.1f} |")


if __name__ == "__main__":
    main()
