"""What ``make demo`` shows, measured: the ghost of the room and the see-through person that ``vbg run`` leaves
on the bundled sample clip, for given weights and mask ramps.

``samples/make_samples.py`` made the clip, so it knows where the astronaut is in every frame
(``true_matte``). Each row runs ``vbg run --transparent`` on the clip (the defaults otherwise: the file job's
precision, refinement and temporal smoothing) and scores the alpha as training does
(``vbg.train.scoring.ghost_and_hole``): ghost as % of the frame, hole as % of the person, away from a 5 px
band around the true outline. Columns: the frames the README shows (5, 60, 110), the worst frame, and the
hole on the face alone (``make_samples.face_matte``, as % of the face): its worst frame and its worst in frames
25-35, where a wedge of the cheek used to go.

Run: ``.venv/bin/python benchmarks/bench_demo_ghost.py [--weights A.pth --weights B.pth] [--ramps "8,248;64,192"]``
(``bundled`` names the shipped person weights).
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tempfile
from pathlib import Path

import av
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vbg.model.devices import cpu_name  # noqa: E402
from vbg.train.scoring import ghost_and_hole  # noqa: E402

SHOWN = (5, 60, 110)


def samples_module():
    spec = importlib.util.spec_from_file_location("make_samples", ROOT / "samples" / "make_samples.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def alphas(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="bgra")[..., 3] for f in container.decode(video=0)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--weights", action="append", help="person weights to compare (default: bundled)")
    parser.add_argument("--ramps", default="64,192", help="';'-separated LOW,HIGH ramps (default %(default)s)")
    args = parser.parse_args()
    samples = samples_module()
    matte = samples.person_cutout(samples.astronaut_bgr())[1]
    truths = [samples.true_matte(matte, i) > 127 for i in range(samples.N_FRAMES)]
    face = samples.face_matte(matte)
    faces = [samples.true_matte(face, i) > 127 for i in range(samples.N_FRAMES)]
    print(f"CPU: {cpu_name()}; clip: samples/person_720p.mp4, {samples.N_FRAMES} frames\n")
    print("| weights | ramp | " + " | ".join(f"frame {i} ghost % / hole %" for i in SHOWN)
          + " | worst ghost % (frame) | worst hole % (frame) | worst face hole % (frame) | face hole, frames 25-35 |")
    print("|---" * (len(SHOWN) + 6) + "|", flush=True)
    for weights in args.weights or ["bundled"]:
        for ramp in args.ramps.split(";"):
            with tempfile.TemporaryDirectory() as tmp:
                out = Path(tmp) / "alpha.mov"
                command = [sys.executable, "-m", "vbg", "run", str(ROOT / "samples" / "person_720p.mp4"), "-o",
                           str(out), "--transparent", "--no-progress", "--ramp", ramp]
                if weights != "bundled":
                    command += ["--weights", weights]
                subprocess.run(command, check=True, capture_output=True)
                made = [a.astype(np.float32) / 255 for a in alphas(out)]
                scores = 100 * np.array([ghost_and_hole(a, t) for a, t in zip(made, truths)])
                face_holes = 100 * np.array([ghost_and_hole(a, t)[1] for a, t in zip(made, faces)])
            shown = " | ".join(f"{scores[i, 0]:.2f} / {scores[i, 1]:.2f}" for i in SHOWN)
            g, h, f = int(scores[:, 0].argmax()), int(scores[:, 1].argmax()), int(face_holes.argmax())
            print(f"| {weights} | {ramp} | {shown} | {scores[g, 0]:.2f} ({g}) | {scores[h, 1]:.2f} ({h}) | "
                  f"{face_holes[f]:.2f} ({f}) | {face_holes[25:36].max():.2f} |", flush=True)


if __name__ == "__main__":
    main()
