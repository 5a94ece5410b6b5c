"""How good a person mask is: IoU, boundary F-measure, MAE, ghost and hole, and a summary over a set of images.

The same functions score PyTorch checkpoints during training and the OpenVINO models in
``benchmarks/bench_person.py``, so the table written every epoch and the table in docs/person-model.md mean the same thing.
Masks are compared at the photo's own resolution; a prediction counts as person where it is at least 0.5.

IoU at 0.5 does not see soft errors: a leg at alpha 0.4 is half transparent on screen yet counts as
background, a lamp at alpha 0.3 is a visible ghost yet counts as nothing.  Ghost and hole measure them, away
from the outline (a band of ``BAND_PX`` pixels either side of the true edge, where soft alpha is the edge
itself): the alpha left on the background, as a share of the frame, and the alpha missing on the person, as
a share of the person.  Both are alpha mass, so a 1 % ghost is, for example, 2 % of the frame at half
opacity.  On video, flicker is the matte's change from frame to frame beyond the truth's own change.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

BOUNDARY_TOLERANCE_PX = 2
BAND_PX = 5  # half-width of the outline band that ghost and hole leave out
#: from these on, a ghost or a hole counts as visible: 0.3 % of the frame is, at full opacity, a 40x40 patch of
#: a 720p frame; 3 % of a person is, for example, a lower leg at half opacity
GHOST_VISIBLE = 0.003
HOLE_VISIBLE = 0.03
#: a person of a group frame counts when this share of the frame is its own away from its outline (one mostly
#: hidden behind another is not counted), and is dropped when the matte keeps less than half of that part
PERSON_COUNTED = 0.002


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


def ghost_and_hole(alpha: np.ndarray, gt: np.ndarray, band: int = BAND_PX) -> tuple[float, float | None]:
    """(ghost, hole) of a 0..1 ``alpha`` against the boolean truth ``gt``: alpha left on the background outside
    the outline band, as a share of the frame; alpha missing on the person outside it, as a share of the
    person (None for a frame with no person)."""
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * band + 1, 2 * band + 1))
    mask = gt.astype(np.uint8)
    far_background = cv2.dilate(mask, kernel) == 0
    inner_person = cv2.erode(mask, kernel, borderType=cv2.BORDER_CONSTANT, borderValue=1) > 0
    ghost = float(alpha[far_background].sum() / alpha.size)
    person = int(gt.sum())
    hole = float((1 - alpha[inner_person]).sum() / person) if person else None
    return ghost, hole


def dropped_people(alpha: np.ndarray, people: list[np.ndarray], band: int = BAND_PX) -> tuple[int, int]:
    """(dropped, counted) for a frame of several people: ``alpha`` the matte (0..1, the frame's size),
    ``people`` each person's visible alpha (0..1).  Each person is judged on its own inner part (more than
    ``band`` pixels inside its outline), so a kept neighbour does not hide a dropped one."""
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * band + 1, 2 * band + 1))
    dropped = counted = 0
    for person in people:
        inner = cv2.erode((person >= 0.5).astype(np.uint8), kernel) > 0
        if inner.sum() < PERSON_COUNTED * inner.size:
            continue
        counted += 1
        dropped += float(alpha[inner].mean()) < 0.5
    return dropped, counted


def people_in(truth: np.ndarray) -> list[np.ndarray]:
    """The people of a truth that draws several apart from each other (a real group photo labelled by the
    teacher): each connected region large enough to count (``PERSON_COUNTED``, away from its outline) as one
    person (0..1). Empty when fewer than two count: one person, whose drop IoU already sees. People who touch
    count as one, so a group photo's count is a lower bound."""
    count, labels = cv2.connectedComponents((truth > 127).astype(np.uint8), connectivity=8)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * BAND_PX + 1, 2 * BAND_PX + 1))
    people = []
    for i in range(1, count):
        region = (labels == i).astype(np.uint8)
        if cv2.erode(region, kernel).sum() >= PERSON_COUNTED * region.size:
            people.append(region.astype(np.float32))
    return people if len(people) >= 2 else []


def flicker(alpha: np.ndarray, before: np.ndarray, truth: np.ndarray, truth_before: np.ndarray) -> float:
    """From one video frame to the next: the alpha change that the truth's own change does not explain, as a
    share of the frame (mean |(alpha - before) - (truth - truth_before)|; 0 when the matte moves exactly as the
    person does).  Alphas: 0..1 floats or uint8, any size; truths: 0/255 masks."""
    shape = truth.shape[1], truth.shape[0]
    a, b = (cv2.resize(_unit(x), shape, interpolation=cv2.INTER_LINEAR) if x.shape != truth.shape else _unit(x)
            for x in (alpha, before))
    change = (truth > 127).astype(np.float32) - (truth_before > 127).astype(np.float32)
    return float(np.abs((a - b) - change).mean())


def _unit(alpha: np.ndarray) -> np.ndarray:
    return alpha.astype(np.float32) / 255.0 if alpha.dtype == np.uint8 else alpha.astype(np.float32)


@dataclass(frozen=True)
class ImageScore:
    iou: float
    boundary_f: float
    mae: float
    ghost: float = 0.0  # share of the frame (alpha mass on the background away from the outline)
    hole: float | None = None  # share of the person (alpha missing away from the outline); None: no person
    people: int = 0  # group frames: the people counted (``dropped_people``)
    dropped: int = 0  # ... and how many of them the matte dropped

    @property
    def visible(self) -> bool:
        """Whether a viewer would see a ghost or a hole (``GHOST_VISIBLE``, ``HOLE_VISIBLE``)."""
        return self.ghost >= GHOST_VISIBLE or (self.hole is not None and self.hole >= HOLE_VISIBLE)


def score(alpha: np.ndarray, truth: np.ndarray, people: list[np.ndarray] = ()) -> ImageScore:
    """Score a soft matte (uint8 0..255 or float 0..1, any size) against a 0/255 mask; for a frame of several
    people, ``people`` (each one's visible alpha, 0..1, the truth's size) also counts the dropped ones."""
    if alpha.dtype == np.uint8:
        alpha = alpha.astype(np.float32) / 255.0
    if alpha.shape != truth.shape:
        alpha = cv2.resize(alpha, (truth.shape[1], truth.shape[0]), interpolation=cv2.INTER_LINEAR)
    gt = truth > 127
    pred = alpha >= 0.5
    ghost, hole = ghost_and_hole(alpha, gt)
    dropped, counted = dropped_people(alpha, people)
    return ImageScore(iou(pred, gt), boundary_f(pred, gt), float(np.abs(alpha - gt).mean()), ghost, hole,
                      counted, dropped)


@dataclass(frozen=True)
class SetScore:
    """A set of images summed up: mean IoU, how many fall under IoU 0.8, mean boundary F and MAE, mean ghost
    (% of the frame) and hole (% of the person, over the images with a person), and how many images show
    either."""

    count: int
    miou: float
    under_08: int
    boundary_f: float
    mae: float
    ghost: float = float("nan")
    hole: float = float("nan")
    visible: int = 0
    flicker: float = float("nan")  # % of the frame per frame, over consecutive video frames (nan: none)
    people: int = 0  # group frames: people counted and dropped (``dropped_people``)
    dropped: int = 0

    @classmethod
    def of(cls, scores: list[ImageScore], flickers: list[float] = ()) -> "SetScore":
        """``flickers``: ``flicker`` of each pair of consecutive video frames in the set, if any."""
        if not scores:
            return cls(0, float("nan"), 0, float("nan"), float("nan"))
        holes = [s.hole for s in scores if s.hole is not None]
        return cls(len(scores), float(np.mean([s.iou for s in scores])), sum(s.iou < 0.8 for s in scores),
                   float(np.mean([s.boundary_f for s in scores])), float(np.mean([s.mae for s in scores])),
                   100 * float(np.mean([s.ghost for s in scores])),
                   100 * float(np.mean(holes)) if holes else float("nan"), sum(s.visible for s in scores),
                   100 * float(np.mean(flickers)) if len(flickers) else float("nan"),
                   sum(s.people for s in scores), sum(s.dropped for s in scores))

    @property
    def dropped_text(self) -> str:
        """The people dropped as "dropped/counted", or "" for a set without group frames."""
        return f"{self.dropped}/{self.people}" if self.people else ""

    def row(self) -> str:
        return (f"{self.count:5d} {self.miou:7.4f} {self.under_08:6d} {self.boundary_f:7.4f} {self.mae:7.4f} "
                f"{self.ghost:7.3f} {self.hole:7.3f} {self.visible:5d} {self.flicker:7.3f} "
                f"{self.dropped_text:>7}")

    HEADER = "    n    mIoU  <0.8  bndF@2     MAE ghost%F  hole%P  seen flick%F dropped"
