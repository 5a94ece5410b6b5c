"""Backgrounds: a picture, a looping video, the real room blurred, a flat colour, or none (transparency).

They share a tiny interface (``render(frame) -> BGR image of the frame's size``), each prepared once per frame
size, so the compositor can cycle through them at run time (the window's ``b`` and ``m`` keys).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path

import cv2
import numpy as np

from ..choices import FIT_MODES
from ..errors import VbgError
from ..media.imageio import read_image
from .resize import shrink

#: Named colours accepted by ``--color`` besides ``#rrggbb`` and ``r,g,b``.
COLOR_NAMES = {
    "green": (0, 177, 64), "blue": (0, 71, 187), "black": (0, 0, 0), "white": (255, 255, 255),
    "gray": (128, 128, 128), "grey": (128, 128, 128), "red": (220, 30, 30),
}


def parse_color(text: str) -> tuple[int, int, int]:
    """``#00b140``, ``0,177,64`` or a name -> a BGR tuple."""
    value = text.strip().lower()
    try:
        if value in COLOR_NAMES:
            r, g, b = COLOR_NAMES[value]
        elif value.startswith("#") and len(value) == 7:
            r, g, b = (int(value[i:i + 2], 16) for i in (1, 3, 5))
        else:
            r, g, b = (int(v) for v in value.split(","))
        if not all(0 <= c <= 255 for c in (r, g, b)):
            raise ValueError
    except ValueError:
        raise VbgError(f"bad colour {text!r}: use #rrggbb, r,g,b (0-255) or one of {', '.join(COLOR_NAMES)}"
                       ) from None
    return b, g, r




def cover_resize(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """Scale ``image`` to fill width x height without distortion, cropping the overflow at the centre."""
    h, w = image.shape[:2]
    scale = max(width / w, height / h)
    nw, nh = max(width, round(w * scale)), max(height, round(h * scale))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    resized = cv2.resize(image, (nw, nh), interpolation=interp)
    x, y = (nw - width) // 2, (nh - height) // 2
    return np.ascontiguousarray(resized[y:y + height, x:x + width])


def contain_resize(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """Scale ``image`` to fit inside width x height without distortion, centred on black (letterbox)."""
    h, w = image.shape[:2]
    scale = min(width / w, height / h)
    nw, nh = min(width, max(1, round(w * scale))), min(height, max(1, round(h * scale)))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    out = np.zeros((height, width) + image.shape[2:], image.dtype)
    x, y = (width - nw) // 2, (height - nh) // 2
    out[y:y + nh, x:x + nw] = cv2.resize(image, (nw, nh), interpolation=interp)
    return out


def fit_image(image: np.ndarray, width: int, height: int, fit: str = "cover") -> np.ndarray:
    """``image`` at width x height: ``cover`` fills and crops, ``contain`` letterboxes, ``stretch`` distorts."""
    if image.shape[1] == width and image.shape[0] == height:
        return image
    if fit == "cover":
        return cover_resize(image, width, height)
    if fit == "contain":
        return contain_resize(image, width, height)
    if fit == "stretch":
        interp = cv2.INTER_AREA if width * height < image.shape[0] * image.shape[1] else cv2.INTER_LINEAR
        return cv2.resize(image, (width, height), interpolation=interp)
    raise VbgError(f"unknown background fit {fit!r}: choose one of {', '.join(FIT_MODES)}")


class Background(ABC):
    """Something to put behind the person.  ``render`` returns a BGR image the size of ``frame``.

    ``alpha`` (the frame's matte) lets a background avoid the subject (the blur does); ``t`` (seconds, any
    origin) lets it move with the output's clock (a background video does).
    """

    name = "background"
    #: made from the frame itself (the blur): the same picture serves again while the frame stays still
    from_frame = False

    @abstractmethod
    def render(self, frame: np.ndarray, alpha: np.ndarray | None = None, t: float | None = None) -> np.ndarray: ...

    def close(self) -> None:
        """Release files or decoders (most backgrounds hold none)."""


class ImageBackground(Background):
    """A still picture, fitted to the frame once per frame size."""

    name = "image"

    def __init__(self, image: np.ndarray | str | Path, fit: str = "cover") -> None:
        if fit not in FIT_MODES:
            raise VbgError(f"unknown background fit {fit!r}: choose one of {', '.join(FIT_MODES)}")
        self.label = str(image) if not isinstance(image, np.ndarray) else "array"
        self.image = read_image(image) if not isinstance(image, np.ndarray) else image
        self.fit = fit
        self._fitted: np.ndarray | None = None

    def render(self, frame: np.ndarray, alpha: np.ndarray | None = None, t: float | None = None) -> np.ndarray:
        h, w = frame.shape[:2]
        if self._fitted is None or self._fitted.shape[:2] != (h, w):
            self._fitted = np.ascontiguousarray(fit_image(self.image, w, h, self.fit))
        return self._fitted


class VideoBackground(Background):
    """A looping video that plays at its own frame rate, whatever the output's rate.

    The video is read by the same PyAV source as any input (``AVSource`` with ``loop``: its decode thread,
    bounded read-ahead, rotation and error mapping), so the compositor only picks a ready frame: the one
    showing at output time ``t`` (seconds since the first output frame).  A 24 fps background under 30 fps
    output repeats every fourth picture; a 60 fps one skips every other.  Without ``t`` (single images) it
    advances one picture per call.
    """

    name = "video"

    def __init__(self, path: str | Path, fit: str = "cover") -> None:
        from ..media.integrity import decode_problem
        from ..media.sources import AVSource

        if fit not in FIT_MODES:
            raise VbgError(f"unknown background fit {fit!r}: choose one of {', '.join(FIT_MODES)}")
        self.path = Path(path)
        self.label = str(path)
        self.fit = fit
        try:
            self._source = AVSource(str(self.path), loop=True)
        except VbgError as exc:
            raise VbgError(f"cannot open background video {self.path}: {exc}") from None
        problem = decode_problem(str(self.path))  # damage FFmpeg would conceal as smeared blocks, every loop
        if problem is not None:
            self._source.close()
            raise VbgError(f"background video {self.path} is damaged: {problem}; re-encode it or use another file")
        self.fps = self._source.info.fps or 30.0
        self._first: float | None = None  # the first picture's time: the loop clock starts there
        self._current: tuple[float, np.ndarray] | None = None  # (time, picture fitted to the output)
        self._ahead: tuple[float, np.ndarray] | None = None
        self._t0: float | None = None
        self._calls = 0

    def _take(self, width: int, height: int) -> tuple[float, np.ndarray]:
        try:
            frame = self._source.read()
        except VbgError as exc:
            raise VbgError(f"background video {self.path}: {exc}") from None
        if frame is None:
            raise VbgError(f"background video {self.path} has no frames: use another file")
        t = frame.seconds if frame.seconds is not None else frame.index / self.fps
        self._first = t if self._first is None else self._first
        return t - self._first, fit_image(frame.image, width, height, self.fit)

    def render(self, frame: np.ndarray, alpha: np.ndarray | None = None, t: float | None = None) -> np.ndarray:
        h, w = frame.shape[:2]
        if t is None:  # no clock: one picture per call
            t = self._calls / self.fps
        self._calls += 1
        if self._t0 is None:
            self._t0 = t
        now = t - self._t0
        if self._current is not None and now - self._current[0] > 1.0:
            # not shown for a while (another background was selected): resume where it paused instead of
            # decoding through everything that would have played meanwhile
            self._t0 += now - self._current[0]
            now = self._current[0]
        while True:
            if self._ahead is None:
                self._ahead = self._take(w, h)
            if self._current is None or self._ahead[0] <= now + 1e-6:
                self._current, self._ahead = self._ahead, None
            else:
                break
        picture = self._current[1]
        if picture.shape[:2] != (h, w):  # the output size changed: refit once
            picture = fit_image(picture, w, h, self.fit)
            self._current = (self._current[0], picture)
        return picture

    def close(self) -> None:
        self._source.close()


MIN_SIDE = 8  # the blur's small copy keeps at least this many pixels on its short side


class BlurBackground(Background):
    """The frame itself, blurred, without the subject's halo.

    A plain blur smears the person's colours into the background around them, and that glow shows right at
    the cut-out edge.  Given the matte, the blur instead averages only background pixels: it blurs
    ``frame * (1 - alpha)`` and divides by the blurred ``1 - alpha`` (a normalised convolution).  All of it
    runs on a shrunk copy, by the largest power of two that leaves a blur of 2.5 pixels or more there (and a
    copy of at least 8 pixels, so any strength costs the same): 1/8 for the default 21 px (about 1.5 ms per 720p frame here, against 2.6 ms at 1/4 and ~45 ms for
    the blur at full size; 0.4 levels from the full-size result), full size for a 2 px blur.
    """

    name = "blur"
    from_frame = True

    def __init__(self, strength: int = 21, downscale: int | None = None, halo_free: bool = True) -> None:
        if strength < 1:
            raise VbgError(f"bad blur strength {strength}: use a positive number of pixels, e.g. 21")
        self.strength = strength
        self._fixed = downscale
        self.downscale = max(1, downscale or 1)
        self.halo_free = halo_free
        self.label = f"blur {strength}"
        self._out = np.empty(0, np.uint8)

    def scale_for(self, width: int, height: int) -> int:
        """The shrink factor: the largest power of two that leaves a blur of 2.5 pixels or more and a copy of at
        least ``MIN_SIDE`` pixels, so a blur of any strength costs about the same (a 100000 px blur is a flat
        average of a tiny copy, not 2 s of filtering)."""
        if self._fixed is not None:
            return self._fixed
        scale = 1
        while self.strength / (2 * scale) >= 2.5 and min(width, height) // (2 * scale) >= MIN_SIDE:
            scale *= 2
        return scale

    def render(self, frame: np.ndarray, alpha: np.ndarray | None = None, t: float | None = None) -> np.ndarray:
        h, w = frame.shape[:2]
        self.downscale = self.scale_for(w, h)
        size = (max(1, w // self.downscale), max(1, h // self.downscale))
        small = shrink(frame, size)
        sigma = min(self.strength / self.downscale, 2.0 * max(size))  # wider than the copy is a flat average
        if self.halo_free and alpha is not None:
            # background weight 1 - alpha, floored at 2 %: under the subject, where there is no background to
            # average, the floor makes the result fall back to the plain blur (hidden by the subject anyway)
            weight = shrink(cv2.bitwise_not(alpha), size)
            weight = cv2.max(weight, 5).astype(np.float32)
            num = cv2.GaussianBlur(small.astype(np.float32) * weight[..., None], (0, 0), sigmaX=sigma, sigmaY=sigma)
            den = cv2.GaussianBlur(weight, (0, 0), sigmaX=sigma, sigmaY=sigma)
            blurred = cv2.convertScaleAbs(num / den[..., None])
        else:
            blurred = cv2.GaussianBlur(small, (0, 0), sigmaX=sigma, sigmaY=sigma)
        if self._out.shape != frame.shape:
            self._out = np.empty_like(frame)
        # into a kept buffer: the compositor blends it at once, and a fresh 2.7 MB array per frame costs page
        # faults (see Blender)
        return cv2.resize(blurred, (w, h), dst=self._out, interpolation=cv2.INTER_LINEAR)


class ColorBackground(Background):
    """A flat colour (a green screen, a brand colour)."""

    name = "color"

    def __init__(self, bgr: tuple[int, int, int] | str = (0, 177, 64)) -> None:
        self.bgr = parse_color(bgr) if isinstance(bgr, str) else tuple(bgr)
        self.label = "#%02x%02x%02x" % self.bgr[::-1]
        self._fitted: np.ndarray | None = None

    def render(self, frame: np.ndarray, alpha: np.ndarray | None = None, t: float | None = None) -> np.ndarray:
        if self._fitted is None or self._fitted.shape != frame.shape:
            self._fitted = np.empty_like(frame)
            self._fitted[:] = self.bgr
        return self._fitted


class NoBackground(Background):
    """Pass-through: the original frame, no replacement (toggled with the window's ``m`` key)."""

    name = "none"
    label = "original"

    def render(self, frame: np.ndarray, alpha: np.ndarray | None = None, t: float | None = None) -> np.ndarray:
        return frame
