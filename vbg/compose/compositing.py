"""Background replacement: turn (frame, alpha) into the output picture over one of ``backgrounds``.

All blending is integer arithmetic in OpenCV, and every background is prepared once per frame size, so the
per-frame work is one blend (``benchmarks/bench_composite.py`` measures it against numpy float code).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from ..choices import DEFAULT_BLUR
from ..errors import VbgError
from ..media.frames import VIDEO_EXTENSIONS
from ..media.imageio import read_image
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

    Only the bounding box of the matte's non-zero pixels is blended (the rest is the background as is): on a
    call the person covers half the frame or less.  When the background picture and the matte are the very
    same arrays as in the last call (a still frame: the change gate reuses both), ``bg * (1 - a)`` is reused
    too, and only the live foreground is multiplied.  The result is a new array (sinks keep it after the call).
    """

    def __init__(self) -> None:
        self._last: tuple[np.ndarray, np.ndarray, tuple[slice, slice], np.ndarray, np.ndarray] | None = None

    def __call__(self, foreground: np.ndarray, background: np.ndarray, alpha: np.ndarray) -> np.ndarray:
        last = self._last
        if last is not None and last[0] is background and last[1] is alpha:
            box, a3, back = last[2:]
        else:
            x, y, w, h = cv2.boundingRect(alpha)
            if w * h == 0:
                return background.copy()
            box = (slice(y, y + h), slice(x, x + w))
            a3 = cv2.cvtColor(alpha[box], cv2.COLOR_GRAY2BGR)
            back = cv2.multiply(background[box], cv2.bitwise_not(a3), scale=1 / 255)
            self._last = (background, alpha, box, a3, back)
        front = cv2.add(cv2.multiply(foreground[box], a3, scale=1 / 255), back)
        if front.shape[:2] == alpha.shape:
            return front
        out = background.copy()
        out[box] = front
        return out


def blend(foreground: np.ndarray, background: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """One-off blend (see ``Blender``; the compositor keeps its own for the reused buffers)."""
    return Blender()(foreground, background, alpha)


class Compositor:
    """Applies the current background, and cycles backgrounds and modes on request.

    Modes are the kinds of background (image, video, blur, color, none); ``next_background`` steps through
    the images/videos the user gave, ``next_mode`` through the kinds.  ``transparent=True`` returns BGRA
    with the matte as the alpha channel instead of blending (for formats that keep alpha).
    """

    def __init__(self, backgrounds: list[Background], transparent: bool = False, fit: str = "cover") -> None:
        if not backgrounds and not transparent:
            raise VbgError("no background given: pass --background IMAGE/VIDEO, --blur, --color or --transparent")
        self.backgrounds = list(backgrounds)
        self.transparent = transparent
        self.fit = fit  # how pictures sent later (vbg ctl background) fill the frame
        self.index = 0
        self._mode_pool = self._extend_modes()
        self._blend = Blender()
        self.default_blur = False  # the blur was chosen because no background was given (see announce)
        self._last_render: tuple[Background, np.ndarray] | None = None  # the last background picture made

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

    def show(self, background: Background) -> Background:
        """Switch to ``background`` (vbg ctl): a blur or colour replaces the one of its kind, a picture or video
        joins the pictures that ``b`` cycles (once: the same file again is selected, not added)."""
        kinds = [i for i, b in enumerate(self._mode_pool) if self._replaces(b, background)]
        if kinds:
            self.index = kinds[0]
            old, self._mode_pool[self.index] = self._mode_pool[self.index], background
            old.close()
        else:
            self._mode_pool.append(background)
            self.index = len(self._mode_pool) - 1
        return self.current

    @staticmethod
    def _replaces(old: Background, new: Background) -> bool:
        if new.name in ("blur", "color", "none"):
            return old.name == new.name
        return old.name in ("image", "video") and old.label == new.label

    def select_mode(self, mode: str) -> Background:
        """The first background of kind ``mode`` (``picture``: an image or video, else the kind's name)."""
        names = ("image", "video") if mode == "picture" else (mode,)
        found = [i for i, b in enumerate(self._mode_pool) if b.name in names]
        if not found:
            raise VbgError("no background picture to show: send one with vbg ctl background FILE")
        self.index = found[0]
        return self.current

    def pictures(self) -> list[str]:
        """The pictures and videos ``next_background`` steps through, by label (their paths as given)."""
        return [b.label for b in list(self._mode_pool) if b.name in ("image", "video")]

    def state(self) -> dict:
        """What is shown, for ``vbg ctl status`` (and the control page's thumbnails: ``pictures``)."""
        current = self.current
        blur = next((b.strength for b in self._mode_pool if isinstance(b, BlurBackground)), None)
        color = next((b.label for b in self._mode_pool if isinstance(b, ColorBackground)), None)
        mode = "transparent" if self.transparent else "picture" if current.name in ("image", "video") \
            else current.name
        return {"mode": mode, "background": current.label, "blur": blur, "color": color,
                "pictures": self.pictures()}

    def compose(self, frame: np.ndarray, alpha: np.ndarray, t: float | None = None, still: bool = False
                ) -> np.ndarray:
        """The output picture for ``frame`` with matte ``alpha`` (uint8, same HxW) at output time ``t`` (s).

        ``still``: neither the picture nor the matte changed since the last call (the change gate says so); a
        background made from the frame itself (the blur) is then reused instead of made again."""
        if self.transparent:
            return np.dstack((frame, alpha))
        background = self.current
        if isinstance(background, NoBackground):
            return frame
        last = self._last_render
        if still and background.from_frame and last is not None and last[0] is background \
                and last[1].shape == frame.shape:
            picture = last[1]
        else:
            picture = background.render(frame, alpha, t)
            self._last_render = (background, picture)
        return self._blend(frame, picture, alpha)

    def announce(self) -> None:
        """Say once, when the job really starts (not before an error), that the room is blurred because no
        background was given."""
        if self.default_blur:
            from ..errors import notice

            notice(f"no background given: blurring the real one ({DEFAULT_BLUR} px); "
                   f"choose with --background, --color, --blur PX or --transparent")
            self.default_blur = False

    def close(self) -> None:
        for background in self._mode_pool:
            background.close()


BACKGROUND_VIDEO_EXTENSIONS = VIDEO_EXTENSIONS + (".gif",)




def open_background(path: str, fit: str = "cover") -> Background:
    """One ``--background`` file, a video by its extension, else a picture.  Its problems are reported as the
    background's: a bare "image ... does not exist" reads as if the input photo were missing."""
    p = Path(path)
    kinds = f"a picture (JPEG, PNG, BMP, WebP, TIFF) or a video ({' '.join(BACKGROUND_VIDEO_EXTENSIONS)})"
    if not p.is_file():
        problem = "is not a file" if p.exists() else "does not exist"
        raise VbgError(f"background {path} {problem}: give --background the path of {kinds}")
    if path.lower().endswith(BACKGROUND_VIDEO_EXTENSIONS):
        return VideoBackground(path, fit)
    try:
        image = read_image(p)
    except VbgError:
        raise VbgError(f"background {path} cannot be read (damaged, or not a picture): give --background "
                       f"{kinds}") from None
    background = ImageBackground(image, fit)
    background.label = path
    return background


def build_compositor(pictures: list[str], blur: int | None = None, color: str | None = None,
                     transparent: bool = False, fit: str = "cover") -> Compositor:
    """A compositor with the user's backgrounds in order: pictures (videos by extension), blur, colour.

    With none of them (and no transparency) the real background is blurred, as video-call apps do by default,
    and ``Compositor.announce`` says so once the job starts."""
    chosen_for_user = not pictures and blur is None and not color and not transparent
    if chosen_for_user:
        blur = DEFAULT_BLUR
    backgrounds: list[Background] = [open_background(p, fit) for p in pictures]
    if blur is not None:
        backgrounds.append(BlurBackground(blur))
    if color:
        backgrounds.append(ColorBackground(color))
    compositor = Compositor(backgrounds, transparent=transparent, fit=fit)
    compositor.default_blur = chosen_for_user
    return compositor
