"""The change gate against every-frame inference, side by side: CPU, share of frames that ran the model,
accuracy against the true masks, flicker and mask age, live and in files.

The clips come from ``callclip.py`` (held-out portraits pasted on rooms, a true mask on every frame): three
call-like clips (still most of the time, a shift, a lean-in and a return, sensor noise) and one whose camera pans
and zooms all the time.  Each run is built as ``vbg run`` builds it (``vbg.app.build_pipeline``, defaults
otherwise: person model, automatic size and precision, the blurred room as background):

- **live**: the clip paced at 30 fps (``--live``) to a null sink, as a virtual camera with nobody slow on the
  other end; CPU cores = the process's CPU seconds / wall seconds over the run;
- **file**: the clip to an H.264 file as fast as it goes: frames/s.

Accuracy per frame: the output alpha at 640x360, cut at 128, against the true mask (IoU); mIoU, the worst
frame, flicker (how much more the alpha changes from frame to frame than the truth does, % of the picture),
the age of the mask shown (frames since the frame the model ran on).  Compare rows of one run: the CPU model
heads the table.

Run: ``.venv/bin/python benchmarks/bench_gating.py`` (``--help``; the clips are made once into ``--clips``).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vbg.app import build_pipeline  # noqa: E402
from vbg.config import RunConfig  # noqa: E402
from vbg.model.devices import cpu_name  # noqa: E402
from callclip import TRUTH_SIZE, clips  # noqa: E402  (this folder is on sys.path when run as a script)


@dataclass
class Result:
    """One run: speed, model share and per-frame accuracy."""

    cores: float
    fps: float
    model_share: float
    reused: float
    ious: np.ndarray
    flicker: float
    ages: np.ndarray
    summary: str

    def cells(self) -> list[str]:
        return [f"{self.cores:.2f}", f"{self.fps:.1f}", f"{self.model_share:.0%}", f"{self.reused:.0%}",
                f"{self.ious.mean():.4f}", f"{self.ious.min():.4f}", f"{self.flicker:.3f}",
                f"{self.ages.mean():.1f} / {self.ages.max()}"]


HEADER = ["CPU cores", "fps", "model ran", "alpha reused", "mIoU", "worst frame", "flicker", "mask age mean / max"]


def run_once(clip: Path, truth: np.ndarray, live: bool, gate: bool, out_dir: Path, **settings) -> Result:
    seen: dict[int, tuple[np.ndarray, int]] = {}

    def observe(frame, alpha) -> None:
        small = cv2.resize(alpha, TRUTH_SIZE, interpolation=cv2.INTER_AREA)
        seen[frame.index] = (small, frame.seq - frame.mask_seq)

    config = RunConfig(input=str(clip), live=live, gate=gate, progress=False, max_frames=len(truth),
                       null=live, output=None if live else str(out_dir / f"{clip.stem}-{gate}.mp4"), overwrite=True,
                       **settings)
    pipeline = build_pipeline(config)
    pipeline.options.observe = observe
    cpu0, wall0 = os.times(), time.perf_counter()
    stats = pipeline.run()
    cpu1, wall = os.times(), time.perf_counter() - wall0
    pipeline.compositor.close()
    cores = (cpu1.user + cpu1.system - cpu0.user - cpu0.system) / wall
    indices = sorted(seen)
    alphas = np.stack([seen[i][0] for i in indices]).astype(np.float32) / 255
    truths = truth[indices]
    cut = alphas >= 0.5
    inter = np.logical_and(cut, truths).sum(axis=(1, 2))
    union = np.logical_or(cut, truths).sum(axis=(1, 2))
    ious = np.where(union > 0, inter / np.maximum(union, 1), 1.0)
    flicker = (np.abs(np.diff(alphas, axis=0)).mean() - np.abs(np.diff(truths.astype(np.float32), axis=0)).mean())
    return Result(cores, stats.output_fps, stats.masks / max(stats.frames_out, 1),
                  stats.alphas_reused / max(stats.frames_out, 1), ious, flicker * 100,
                  np.array([seen[i][1] for i in indices]), stats.summary())


def table(title: str, rows: list[tuple[str, Result]]) -> None:
    print(f"\n| {title} | " + " | ".join(HEADER) + " |")
    print("|---|" + "---:|" * len(HEADER))
    for label, result in rows:
        print(f"| {label} | " + " | ".join(result.cells()) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clips", default=str(Path(tempfile.gettempdir()) / "vbg-callclips"),
                        help="where the clips are made (once) and kept")
    parser.add_argument("--seconds", type=float, default=15.0, help="length of each clip")
    parser.add_argument("--only", help="run only clips whose label contains this")
    parser.add_argument("--no-files", action="store_true", help="live rows only")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="RunConfig settings for every run (e.g. gate_threshold=2)")
    args = parser.parse_args()
    settings = {}
    for item in args.set:
        key, _, value = item.partition("=")
        settings[key] = int(value) if value.isdigit() else float(value) if value.replace(".", "", 1).isdigit() \
            else value
    made = [c for c in clips(Path(args.clips), args.seconds) if not args.only or args.only in c[0]]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        warm = made[0]  # builds, times and caches the default model before anything is measured
        run_once(warm[1], warm[2][:30], live=False, gate=False, out_dir=out, **settings)
        print(f"CPU: {cpu_name()}, {os.cpu_count()} cores; clips of {args.seconds:.0f} s, 1280x720 at 30 fps")
        for mode in ("live",) if args.no_files else ("live", "file"):
            rows = []
            for label, path, truth in made:
                for gate in (False, True):
                    result = run_once(path, truth, mode == "live", gate, out, **settings)
                    rows.append((f"{label}, {'gated' if gate else 'every frame'}", result))
                    print(f"{mode} {label} gate={gate}: {result.summary}", file=sys.stderr, flush=True)
            table(f"{mode}", rows)


if __name__ == "__main__":
    main()
