"""How good a person mask is: IoU, boundary F-measure, MAE, and a summary over a set of images.

The same functions score PyTorch checkpoints during training and the OpenVINO models in
``benchmarks/bench_person.py``, so the table written every epoch and the table in docs/person-model.md mean the same thing.
Masks are compared at the photo's own resolution; a prediction counts as person where it is at least 0.5.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

BOUNDARY_TOLERANCE_PX = 2


def iou(pred: np.ndarray, truth: np.ndarray) -> float:
    """Intersection over union of two boolean masks (1.0 when both are empty)."""
    union = np.logical_or(pred, truth).sum()
    return float(np.logical_and(pred, truth).sum() / union) if union else 1.0


def _boundary(mask: np.ndarray) -> np.ndarray:
    m = mask.astype(np.uint8)
    return (m - cv2.erode(m, np.ones((3, 3), np.uint8))) > 0


def boundary_f(pred: np.ndarray, truth: np.ndarray, tolerance: int = BOUNDARY_TOLERANCE_PX) -> float:
    """F-measure of boundary pixels matched within ``tolerance`` pixels (Perazzi et al.'s contour accuracy)."""
    bp, bt = _boundary(pred), _boundary(truth)
    if not bp.any() and not bt.any():
        return 1.0
    if not bp.any() or not bt.any():
        return 0.0
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * tolerance + 1, 2 * tolerance + 1))
    near_t = cv2.dilate(bt.astype(np.uint8), kernel) > 0
    near_p = cv2.dilate(bp.astype(np.uint8), kernel) > 0
    precision = (bp & near_t).sum() / bp.sum()
    recall = (bt & near_p).sum() / bt.sum()
    return float(2 * precision * recall / (precision + recall)) if precision + recall else 0.0


@dataclass(frozen=True)
class ImageScore:
    iou: float
    boundary_f: float
    mae: float


def score(alpha: np.ndarray, truth: np.ndarray) -> ImageScore:
    """Score a soft matte (uint8 0..255 or float 0..1, any size) against a 0/255 mask."""
    if alpha.dtype == np.uint8:
        alpha = alpha.astype(np.float32) / 255.0
    if alpha.shape != truth.shape:
        alpha = cv2.resize(alpha, (truth.shape[1], truth.shape[0]), interpolation=cv2.INTER_LINEAR)
    gt = truth > 127
    pred = alpha >= 0.5
    return ImageScore(iou(pred, gt), boundary_f(pred, gt), float(np.abs(alpha - gt).mean()))


@dataclass(frozen=True)
class SetScore:
    """A set of images summed up: mean IoU, how many fall under IoU 0.8, mean boundary F and MAE."""

    count: int
    miou: float
    under_08: int
    boundary_f: float
    mae: float

    @classmethod
    def of(cls, scores: list[ImageScore]) -> "SetScore":
        if not scores:
            return cls(0, float("nan"), 0, float("nan"), float("nan"))
        return cls(len(scores), float(np.mean([s.iou for s in scores])), sum(s.iou < 0.8 for s in scores),
                   float(np.mean([s.boundary_f for s in scores])), float(np.mean([s.mae for s in scores])))

    def row(self) -> str:
        return f"{self.count:5d} {self.miou:7.4f} {self.under_08:6d} {self.boundary_f:7.4f} {self.mae:7.4f}"

    HEADER = "    n    mIoU  <0.8  bndF@2     MAE"
