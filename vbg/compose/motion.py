"""How much a picture moved, and a mask moved with it, measured on thumbnails.

The change gate (``vbg.pipeline.gate``) and the mask hand-off both need to compare two frames: the one a mask
was computed from and the one it is about to be shown on.  Full frames are far too costly for that, so each
frame gets a ``Thumb`` once: its grey levels shrunk by area averaging to ``THUMB_SIDE`` pixels on the long side
(160x90 for 720p) and blurred.  Averaging 8x8 pixels and a 5x5 blur leave sensor noise of sigma 6 a mean
change of well under half a grey level (tests/test_gate.py), so noise does not count as change, while a shift of one thumbnail pixel (8 frame pixels)
moves an edge by tens of levels.

``MaskMotion`` measures the change between two thumbnails (the mean absolute difference, in grey levels) and,
when the picture moved, the dense optical flow between them (OpenCV's DIS, ultrafast preset: about 0.1 ms at
160x90), which can carry a mask along: the cut-out follows a lean or a shift between two model runs.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .resize import shrink

THUMB_SIDE = 160  # pixels on the long side of a thumbnail
THUMB_BLUR = (5, 5)


@dataclass(frozen=True)
class Thumb:
    """A frame's blurred grey thumbnail (uint8)."""

    grey: np.ndarray

    @classmethod
    def of(cls, image: np.ndarray, side: int = THUMB_SIDE) -> "Thumb":
        h, w = image.shape[:2]
        scale = min(1.0, side / max(h, w))
        grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image  # grey first: half the cost
        small = shrink(grey, (max(1, round(w * scale)), max(1, round(h * scale))))
        return cls(cv2.GaussianBlur(small, THUMB_BLUR, 0))


def change(a: Thumb, b: Thumb) -> float:
    """Mean absolute grey-level difference between two thumbnails (inf when their sizes differ: a new stream)."""
    if a.grey.shape != b.grey.shape:
        return float("inf")
    return float(cv2.norm(a.grey, b.grey, cv2.NORM_L1)) / a.grey.size


@dataclass(frozen=True)
class Motion:
    """The picture's motion from thumbnail ``source`` to thumbnail ``target``: the flow (for each target pixel,
    where it was in the source, in thumbnail pixels) and the change left once the source is moved by it."""

    flow: np.ndarray
    residual: float


class MaskMotion:
    """Optical flow between thumbnails, and masks carried along by it (one instance per thread: DIS keeps
    buffers)."""

    def __init__(self) -> None:
        self._dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST)

    def between(self, source: Thumb, target: Thumb) -> Motion:
        flow = self._dis.calc(target.grey, source.grey, None)
        moved = warp(source.grey, flow)
        return Motion(flow, float(cv2.norm(target.grey, moved, cv2.NORM_L1)) / target.grey.size)

    def carry(self, mask: np.ndarray, source: Thumb, target: Thumb) -> np.ndarray:
        """``mask`` (computed on the source frame, any resolution) moved to where the target frame has it."""
        return warp(mask, self.between(source, target).flow)


def warp(image: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """``image`` resampled by ``flow`` (a thumbnail's flow is scaled to the image's size)."""
    h, w = image.shape[:2]
    fh, fw = flow.shape[:2]
    if (fh, fw) != (h, w):
        flow = cv2.resize(flow, (w, h), interpolation=cv2.INTER_LINEAR) * np.float32((w / fw, h / fh))
    grid_x, grid_y = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return cv2.remap(image, grid_x + flow[..., 0], grid_y + flow[..., 1], cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_REPLICATE)
