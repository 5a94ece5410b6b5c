"""What a new user waits for: the first ``vbg run`` of the sample clip on an empty model cache, the second
run of the same command, and a run after ``vbg convert`` prepared the model, each as a separate process; with
``--photos``, also a first ``vbg image`` of a folder of 27 photos of 18 shapes against 27 photos of one shape,
the smallest of them (480x480) and the largest (1600x1080) (each on an empty cache; the photos are the sample
photo resized, so their model input sizes differ).

``--repo DIR`` adds the same rows for another checkout of vbg (run with this interpreter and its packages),
measured in the same run, so two versions compare side by side on one machine in one hour.  Each cache is a
fresh temporary folder; the weights come from ``$VBG_WEIGHTS_DIR`` as for every command.

Run: ``VBG_WEIGHTS_DIR=../shared/models .venv/bin/python benchmarks/bench_first_run.py [--repo ../old] [--photos]``
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
PHOTO = HERE.parent / "samples" / "person.jpg"
#: 18 photo shapes (width, height) from portrait to panorama; 27 photos take them in turn
SHAPES = [(w, h) for w in (480, 640, 800, 1024, 1280, 1600) for h in (480, 720, 1080)]


def photo_folders(work: Path) -> dict[str, Path]:
    """Three folders of 27 photos: one shape each (the smallest, the largest), and the 18 shapes in turn."""
    import cv2

    image = cv2.imread(str(PHOTO))
    folders = {"one shape 480x480": work / "photos-one", "one shape 1600x1080": work / "photos-large",
               "18 shapes": work / "photos-mixed"}
    for label, folder in folders.items():
        folder.mkdir()
        for i in range(27):
            size = {"one shape 480x480": SHAPES[0], "one shape 1600x1080": SHAPES[-1]}.get(label) or \
                SHAPES[i % len(SHAPES)]
            cv2.imwrite(str(folder / f"p{i:02d}.jpg"), cv2.resize(image, size, interpolation=cv2.INTER_AREA))
    return folders


def photo_rows(repo: Path, label: str, work: Path, folders: dict[str, Path]) -> list[tuple[str, str, float]]:
    rows = []
    for model in ("u2netp_person", "u2net_lite"):
        for shapes, folder in folders.items():
            cache, out = work / f"cache-{label}-{model}-{shapes}", work / f"out-{label}-{model}-{shapes}"
            seconds = timed(repo, "image", str(folder), "-o", f"{out}/", "--cache-dir", str(cache),
                            "--model", model)
            rows.append((label, f"first `vbg image` of 27 photos, {shapes}, {model} (empty cache)", seconds))
    return rows


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
    parser.add_argument("--photos", action="store_true", help="also a folder of photos of 18 shapes against one")
    parser.add_argument("--photos-only", action="store_true", help="only the photo folders (no vbg run rows)")
    args = parser.parse_args()
    print(f"CPU: {cpu_name()}; clip {CLIP.name} (120 frames, 720p) to H.264, default options")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folders = photo_folders(Path(tmp)) if args.photos or args.photos_only else {}
        for index, repo in enumerate([HERE.parent, *args.repo]):
            label = "this" if index == 0 else repo.name
            if not args.photos_only:
                rows += rows_for(repo.resolve(), label, Path(tmp))
            if folders:
                rows += photo_rows(repo.resolve(), label, Path(tmp), folders)
    print("\n| vbg | command | wall s |\n|---|---|---:|")
    for label, what, seconds in rows:
        print(f"| {label} | {what} | {seconds:.1f} |")


if __name__ == "__main__":
    main()
