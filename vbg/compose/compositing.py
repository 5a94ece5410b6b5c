"""Background replacement: turn (frame, alpha) into the output picture over one of ``backgrounds``.

All blending is integer arithmetic in OpenCV, and every background is prepared once per frame size, so the
per-frame work is one blend (``benchmarks/bench_composite.py`` measures it against numpy float code).
"""

from __future__ import annotations

import cv2
import numpy as np

from ..choices import DEFAULT_BLUR
from ..errors import VbgError
from ..media.frames import VIDEO_EXTENSIONS
from .backgrounds import (
    Background,
    BlurBackground,
    ColorBackground,
    ImageBackground,
    NoBackground,
    VideoBackground,
)


class Blender:
    """``fg * a + bg * (1 - a)`` with a uint8 alpha, in saturating integer OpenCV ops (error <= 1 level).

    The intermediates are written into buffers kept between calls: fresh frame-sized arrays cost page faults
    whenever the allocator has handed memory back to the system, which made blend times erratic (README,
    "Compositing and mask refinement": reused against fresh buffers).  The result is a new array (sinks keep it after the call).
    """

    def __init__(self) -> None:
        self._shape: tuple[int, ...] | None = None
        self._a3 = self._inverse = self._front = self._back = np.empty(0, np.uint8)

    def __call__(self, foreground: np.ndarray, background: np.ndarray, alpha: np.ndarray) -> np.ndarray:
        if foreground.shape != self._shape:
            self._shape = foreground.shape
            self._a3, self._inverse, self._front, self._back = (np.empty_like(foreground) for _ in range(4))
        a3 = cv2.cvtColor(alpha, cv2.COLOR_GRAY2BGR, dst=self._a3)
        front = cv2.multiply(foreground, a3, dst=self._front, scale=1 / 255)
        back = cv2.multiply(background, cv2.bitwise_not(a3, dst=self._inverse), dst=self._back, scale=1 / 255)
        return cv2.add(front, back)


def blend(foreground: np.ndarray, background: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """One-off blend (see ``Blender``; the compositor keeps its own for the reused buffers)."""
    return Blender()(foreground, background, alpha)


class Compositor:
    """Applies the current background, and cycles backgrounds and modes on request.

    Modes are the kinds of background (image, video, blur, color, none); ``next_background`` steps through
    the images/videos the user gave, ``next_mode`` through the kinds.  ``transparent=True`` returns BGRA
    with the matte as the alpha channel instead of blending (for formats that keep alpha).
    """

    def __init__(self, backgrounds: list[Background], transparent: bool = False) -> None:
        if not backgrounds and not transparent:
            raise VbgError("no background given: pass --background IMAGE/VIDEO, --blur, --color or --transparent")
        self.backgrounds = list(backgrounds)
        self.transparent = transparent
        self.index = 0
        self._mode_pool = self._extend_modes()
        self._blend = Blender()

    def _extend_modes(self) -> list[Background]:
        """The backgrounds the user gave, plus one of each kind they did not, so ``m`` reaches every mode."""
        pool = list(self.backgrounds)
        kinds = {b.name for b in pool}
        for extra in (BlurBackground(), ColorBackground(), NoBackground()):
            if extra.name not in kinds:
                pool.append(extra)
        return pool

    @property
    def current(self) -> Background:
        return self._mode_pool[self.index] if self._mode_pool else NoBackground()

    def next_background(self) -> Background:
        """Next picture/video of the same family (image and video count as one family)."""
        pictures = [i for i, b in enumerate(self._mode_pool) if b.name in ("image", "video")]
        if pictures:
            later = [i for i in pictures if i > self.index]
            self.index = later[0] if later else pictures[0]
        return self.current

    def next_mode(self) -> Background:
        """Step to the next kind of background (image -> blur -> colour -> none -> ...)."""
        seen = self.current.name
        n = len(self._mode_pool)
        for step in range(1, n + 1):
            candidate = (self.index + step) % n
            if self._mode_pool[candidate].name != seen or step == n:
                self.index = candidate
                break
        return self.current

    def compose(self, frame: np.ndarray, alpha: np.ndarray, t: float | None = None) -> np.ndarray:
        """The output picture for ``frame`` with matte ``alpha`` (uint8, same HxW) at output time ``t`` (s)."""
        if self.transparent:
            return np.dstack((frame, alpha))
        background = self.current
        if isinstance(background, NoBackground):
            return frame
        return self._blend(frame, background.render(frame, alpha, t), alpha)

    def close(self) -> None:
        for background in self._mode_pool:
            background.close()


BACKGROUND_VIDEO_EXTENSIONS = VIDEO_EXTENSIONS + (".gif",)




def build_compositor(pictures: list[str], blur: int | None = None, color: str | None = None,
                     transparent: bool = False, fit: str = "cover") -> Compositor:
    """A compositor with the user's backgrounds in order: pictures (videos by extension), blur, colour.

    With none of them (and no transparency) the real background is blurred, as video-call apps do by default,
    and a notice says so."""
    if not pictures and blur is None and not color and not transparent:
        from ..errors import notice

        notice(f"no background given: blurring the real one ({DEFAULT_BLUR} px); "
               f"choose with --background, --color, --blur PX or --transparent")
        blur = DEFAULT_BLUR
    backgrounds: list[Background] = [VideoBackground(p, fit) if p.lower().endswith(BACKGROUND_VIDEO_EXTENSIONS)
                                     else ImageBackground(p, fit) for p in pictures]
    if blur is not None:
        backgrounds.append(BlurBackground(blur))
    if color:
        backgrounds.append(ColorBackground(color))
    return Compositor(backgrounds, transparent=transparent)
