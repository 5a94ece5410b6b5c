"""The control page's live preview: a small JPEG of the newest output picture, made when the page asks.

The pipeline does nothing for it: the compositor already keeps its newest picture (``Controls.last_output``,
for snapshots and pause), and a JPEG is made from it only when an open page requests one, at most once per
output picture however many pages watch.  No page open: no work at all.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import cv2
import numpy as np

WIDTH = 320  # preview width, pixels: enough to judge the cut-out, about 1 ms to shrink and encode
QUALITY = 70

Picture = Callable[[], "tuple[np.ndarray, bool] | None"]


class PreviewEncoder:
    """JPEGs of ``picture()`` (the newest output and whether to mirror it: ``Steering.picture``)."""

    def __init__(self, picture: Picture, width: int = WIDTH) -> None:
        self.picture = picture
        self.width = width
        self.encoded = 0  # JPEGs made (tests and measurements: zero while no page is open)
        self._last: tuple[np.ndarray, bool, bytes] | None = None  # keeps the source alive: its id stays unique
        self._lock = threading.Lock()

    def jpeg(self) -> bytes | None:
        """The newest picture as a JPEG ``width`` wide; None before the first output frame."""
        newest = self.picture()
        if newest is None:
            return None
        image, mirror = newest
        with self._lock:
            last = self._last
            if last is not None and last[0] is image and last[1] == mirror:
                return last[2]
            jpeg = encode(image, mirror, self.width)
            self._last = (image, mirror, jpeg)
            self.encoded += 1
        return jpeg


def encode(image: np.ndarray, mirror: bool, width: int = WIDTH, quality: int = QUALITY) -> bytes:
    """``image`` (BGR, or BGRA from a transparent run: shown over grey) shrunk to ``width``, as a JPEG."""
    h, w = image.shape[:2]
    if w > width:
        image = cv2.resize(image, (width, max(1, round(h * width / w))), interpolation=cv2.INTER_AREA)
    if image.ndim == 3 and image.shape[2] == 4:
        alpha = image[..., 3:].astype(np.float32) / 255
        image = (image[..., :3] * alpha + 128 * (1 - alpha)).astype(np.uint8)
    if mirror:
        image = cv2.flip(image, 1)
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    return data.tobytes() if ok else b""
