"""Where the thing is in each people-free scene: object masks for ``vbg train --objects``.

A person model trained on pasted people and on bags that people carry learns "what touches a person is the
person": a hockey goal beside a player, a dog at someone's feet come out as part of the cut-out. The cure is
frames where a person stands beside or in front of a salient thing that is *not* theirs, with only the person
in the truth (``synthesis.beside_sample``). For that the trainer must know where the thing is in a scene whose
person mask is empty (``davis2016/negatives``: an animal, a car, a boat, a ball).

The official U2NETP weights answer exactly that question: they are a *salient-object* detector, the network
vbg's person weights were tuned from. Their map, thresholded at one half and kept to the regions large enough
to be the scene's subject, is the object mask. It is a training-time label, like the teacher's: nothing of it
reaches vbg.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

from ..errors import VbgError
from .labels import images_of, large_regions

#: the salient map at or above this is the object
OBJECT_THRESHOLD = 0.5
#: regions smaller than this share of the frame are not the scene's subject
OBJECT_MIN_AREA = 0.005
#: the model's input, about the official 320 x 320, with the scene's aspect
OBJECT_PIXELS = 320 * 320


def object_mask(salient: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The salient map (0..1, model resolution) as a 0/255 mask of ``size`` (width, height): thresholded,
    small regions dropped; all zero where nothing stands out."""
    full = cv2.resize(salient.astype(np.float32), size, interpolation=cv2.INTER_LINEAR)
    return large_regions(full >= OBJECT_THRESHOLD, OBJECT_MIN_AREA)


def write_object_masks(scenes: Path, weights: Path, out: Path) -> dict[str, int]:
    """``out/masks/<stem>.png`` for every image of ``scenes/images`` (and ``out/images`` linked to them);
    returns counts for the log. Masks already written are kept (a cut run resumes)."""
    import torch

    from .trainer import load_state, predict
    from ..model.u2net import U2NETP

    images = scenes / "images"
    if not images.is_dir():
        raise VbgError(f"{images} does not exist: give --scenes a folder with images/ (the people-free scenes)")
    (out / "masks").mkdir(parents=True, exist_ok=True)
    link = out / "images"
    if not link.exists():
        link.symlink_to(images.resolve(), target_is_directory=True)
    model = U2NETP(3, 1)
    model.load_state_dict(load_state(weights), strict=True)
    model.eval()
    torch.set_num_threads(2)
    counts = {"scenes": 0, "with an object": 0}
    for path in images_of(images):
        target = out / "masks" / f"{path.stem}.png"
        if target.is_file():
            mask = cv2.imread(str(target), cv2.IMREAD_REDUCED_GRAYSCALE_8)
        else:
            image = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if image is None:
                raise VbgError(f"cannot read {path}: remove it or replace it")
            mask = object_mask(predict(model, image, OBJECT_PIXELS), (image.shape[1], image.shape[0]))
            cv2.imwrite(str(target), mask)
        counts["scenes"] += 1
        counts["with an object"] += bool(mask.max())
    return counts


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m vbg.train.objects", description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenes", default="../shared/persons/davis2016/negatives",
                        help="people-free scenes, a folder with images/ (default: %(default)s)")
    parser.add_argument("--weights", default="../shared/models/u2netp.pth",
                        help="the official (salient-object) U2NETP weights (default: %(default)s)")
    parser.add_argument("--out", default="out/labels/objects", help="where masks/ goes (default: %(default)s)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        counts = write_object_masks(Path(args.scenes), Path(args.weights), Path(args.out))
    except VbgError as exc:
        print(f"vbg: {exc}", file=sys.stderr)
        return 2
    print("objects: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
