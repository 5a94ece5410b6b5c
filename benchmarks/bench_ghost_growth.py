"""Where two sets of weights differ in ghost, image by image: is a fine-tune's extra ghost a halo around every
person or a few photos with something the truth calls background?

For each person folder's validation split (as ``vbg train`` holds it out), both weights segment every photo the
way training validation does (PyTorch fp32, the photo's aspect at 65 k pixels). The table gives the mean ghost
(% of the frame, outside the 5 px outline band) of each, split into the ring 5-15 px from the person and what
lies farther; the share of the growth that the 10 most-growing photos carry; and those photos by name.

Run: ``.venv/bin/python benchmarks/bench_ghost_growth.py --before vbg/assets/u2netp_person.pth
--after out/train27/f/last.pt [--data DIR ...]``
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vbg.model.devices import cpu_name  # noqa: E402
from vbg.train.data import find_pairs, read_pair, split  # noqa: E402
from vbg.train.scoring import BAND_PX, ghost_and_hole  # noqa: E402

PIXELS = 256 * 256
RING_PX = 15
DEFAULT_DATA = ["../shared/persons/eg1800_train", "../shared/persons/ccp_fullbody"]


def load(path: str):
    from vbg.model.u2net import U2NETP
    from vbg.train.trainer import load_state

    model = U2NETP()
    model.load_state_dict(load_state(path))
    return model.eval()


def ghost_parts(alpha: np.ndarray, truth: np.ndarray) -> tuple[float, float, float]:
    """(ghost, ring, far) in % of the frame: the metric's ghost, and the alpha 5-15 px and beyond 15 px away."""
    person = truth.astype(np.uint8)
    distance = cv2.distanceTransform(1 - person, cv2.DIST_L2, 3)
    ring = (distance > BAND_PX) & (distance <= RING_PX)
    far = distance > RING_PX
    ghost, _ = ghost_and_hole(alpha, truth)
    return 100 * ghost, 100 * float(alpha[ring].sum()) / truth.size, 100 * float(alpha[far].sum()) / truth.size


def main() -> None:
    from vbg.train.trainer import predict

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", required=True, help="weights (a state_dict or a vbg train checkpoint)")
    parser.add_argument("--after", required=True)
    parser.add_argument("--data", action="append", help="person folders (default: portraits and full body)")
    parser.add_argument("--val-fraction", type=float, default=0.1, help="as vbg train's (default %(default)s)")
    parser.add_argument("--show", type=int, default=3, help="most-growing photos named per folder")
    args = parser.parse_args()
    before, after = load(args.before), load(args.after)
    print(f"CPU: {cpu_name()}\nbefore: {args.before}\nafter:  {args.after}\n")
    print(f"| folder | n | ghost % before -> after | ring 5-{RING_PX} px | farther | top 10 share of growth | "
          "grew most |")
    print("|---|---|---|---|---|---|---|")
    for folder in args.data or DEFAULT_DATA:
        _, val = split(find_pairs(folder), args.val_fraction)
        rows = []
        for pair in val:
            image, mask = read_pair(pair)
            truth = mask > 127
            size = (mask.shape[1], mask.shape[0])
            parts = [ghost_parts(cv2.resize(predict(m, image, PIXELS), size, interpolation=cv2.INTER_LINEAR), truth)
                     for m in (before, after)]
            rows.append((pair.image.name, *parts[0], *parts[1]))
        table = np.array([r[1:] for r in rows])
        mean = table.mean(axis=0)
        growth = table[:, 3] - table[:, 0]
        order = np.argsort(-growth)
        share = growth[order[:10]].sum() / growth.sum() if growth.sum() > 0 else float("nan")
        named = ", ".join(f"{rows[i][0]} {rows[i][1]:.1f}->{rows[i][4]:.1f}" for i in order[:args.show])
        print(f"| {Path(folder).name} | {len(rows)} | {mean[0]:.2f} -> {mean[3]:.2f} | {mean[1]:.2f} -> {mean[4]:.2f} "
              f"| {mean[2]:.2f} -> {mean[5]:.2f} | {share:.0%} | {named} |")


if __name__ == "__main__":
    main()
