"""The README's picture: frames 5, 60 and 110 of the sample clip (above) and of ``make demo``'s output
(below), side by side.

Run after ``make demo``: ``.venv/bin/python samples/make_readme_picture.py`` (writes docs/images/demo.jpg).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
FRAMES = (5, 60, 110)
TILE = (384, 216)


def frames_of(path: Path) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(path))
    picked, index = [], 0
    while len(picked) < len(FRAMES):
        ok, image = capture.read()
        if not ok:
            raise SystemExit(f"{path} has fewer than {FRAMES[-1] + 1} frames")
        if index in FRAMES:
            picked.append(cv2.resize(image, TILE, interpolation=cv2.INTER_AREA))
        index += 1
    return picked


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--input", type=Path, default=ROOT / "samples" / "person_720p.mp4")
    parser.add_argument("--output", type=Path, default=ROOT / "out" / "demo.mp4")
    parser.add_argument("--picture", type=Path, default=ROOT / "docs" / "images" / "demo.jpg")
    args = parser.parse_args()
    rows = [np.hstack(frames_of(args.input)), np.hstack(frames_of(args.output))]
    args.picture.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(args.picture), np.vstack(rows), [cv2.IMWRITE_JPEG_QUALITY, 85])
    print(f"wrote {args.picture}")


if __name__ == "__main__":
    main()
