"""Mask refinement: from the model's low-resolution saliency map to a stable, full-resolution alpha matte.

The model sees a 320x320 (or smaller) squeeze of the frame, so its map is soft, blocky when scaled up, and it
trembles from frame to frame with sensor noise.  Pasting it with a hard threshold (the seed notebook's
``np.rint``) cuts hair and flickers.  ``MaskRefiner`` runs four cheap stages, each optional:

1. **ramp**: a low/high ramp on the probability map instead of a threshold: below ``low`` is background,
   above ``high`` is foreground, in between stays soft.  It removes the faint veil U^2-Net leaves on
   background clutter without hardening edges.  Then small islands apart from the person are dropped.
2. **edge-aware upsampling**: a fast guided filter (He & Sun, 2015) built from box filters, fitted at the
   mask's resolution against the frame's grey levels and applied at the working resolution, so mask edges
   snap to the picture's edges instead of the model grid (see ``GuidedUpsampler``).
3. **feather**: a small Gaussian, so edges stay soft after the snap.
4. **temporal smoothing**, motion-adaptive: each pixel keeps part of its previous alpha where nothing moved
   and takes the new value where something did, so still edges stop flickering and moving ones leave no
   trail (see ``TemporalSmoother``).  It runs on frames in display order (the pipeline applies it after
   reordering).

Stages 2-4 run at a working resolution of at most 640 px (half of 720p) and one bilinear resize brings the
alpha to the frame.  Everything is uint8 or float32 OpenCV work; ``benchmarks/bench_composite.py`` prints the
cost of each stage (about 1.7 ms together for 720p on these machines).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..errors import VbgError
from .resize import shrink


#: a piece of matte apart from the rest and smaller than this share of the mask is dropped: a person's hand
#: in a call frame is about 0.7 %, a piece of lamp beside the head 0.05 % (``drop_islands``)
ISLAND_SHARE = 0.002

#: TemporalSmoother: a new alpha at most this is taken as it is (no fading remainder over the room)
SETTLE = 2


@dataclass(frozen=True)
class RefineConfig:
    """Refinement settings.  Each stage turns off on its own (``ramp=None``, ``guided=False``, ``feather=0``,
    ``temporal=0``); the defaults are what ``vbg run`` uses."""

    ramp: tuple[int, int] | None = (64, 192)  # alpha levels mapped to 0 and 255 (soft in between)
    islands: float = ISLAND_SHARE  # matte islands smaller than this share of the mask are dropped (0 = off)
    guided: bool = True  # edge-aware upsampling guided by the frame (else bilinear)
    guided_radius: int = 2  # box radius at the working resolution (about a quarter of the frame's)
    guided_eps: float = 0.1  # regularisation on a 0..1 scale: smaller snaps harder to the picture's edges
    feather: float = 0.7  # Gaussian sigma in full-resolution pixels (0 = off)
    temporal: float = 0.75  # weight of the previous alpha where consecutive mattes agree (0 = off)
    agree: int = 12  # |alpha difference| up to which the full temporal weight applies
    disagree: int = 48  # |alpha difference| from which the new alpha is taken as is (unless the picture is still)
    still: int = 4  # local grey-level change up to which the picture counts as still (full weight)
    moving: int = 12  # local grey-level change from which the picture counts as moving (no smoothing)

    def __post_init__(self) -> None:
        if self.ramp is not None:
            low, high = self.ramp
            if not 0 <= low < high <= 255:
                raise VbgError(f"bad mask ramp {low},{high}: use LOW,HIGH with 0 <= LOW < HIGH <= 255, e.g. 8,248")
        if not 0 <= self.temporal < 1:
            raise VbgError(f"bad temporal smoothing {self.temporal}: use a weight from 0 (off) to below 1, e.g. 0.75")
        if not (0 <= self.agree < self.disagree <= 255 and 0 <= self.still < self.moving <= 255):
            raise VbgError("bad motion thresholds: need 0 <= agree < disagree <= 255 and 0 <= still < moving <= 255")
        if self.feather < 0 or self.guided_radius < 1 or self.guided_eps <= 0:
            raise VbgError("bad refinement settings: feather >= 0, guided radius >= 1 and guided eps > 0 are needed")

    @classmethod
    def off(cls) -> "RefineConfig":
        """Plain soft alpha, bilinear upsampling, no smoothing: the unrefined baseline."""
        return cls(ramp=None, islands=0.0, guided=False, feather=0.0, temporal=0.0)

    @classmethod
    def from_settings(cls, refine: bool = True, ramp: str | None = "64,192", guided: bool = True,
                      feather: float = 0.7, smooth: float = 0.75) -> "RefineConfig":
        """From the user-facing settings (``vbg run``/``vbg image`` flags and config keys)."""
        if not refine:
            return cls.off()
        return cls(ramp=parse_ramp(ramp), guided=guided, feather=feather, temporal=smooth)


def parse_ramp(text: str | None) -> tuple[int, int] | None:
    """``"8,248"`` -> (8, 248); ``"off"``/``None`` -> no ramp."""
    if text is None or str(text).strip().lower() in ("off", "none", "no", ""):
        return None
    try:
        low, high = (int(v) for v in str(text).split(","))
    except ValueError:
        raise VbgError(f"bad mask ramp {text!r}: use LOW,HIGH alpha levels (e.g. 8,248) or off") from None
    return low, high


def ramp_lut(low: int, high: int) -> np.ndarray:
    """A 256-entry table mapping ``low`` -> 0 and ``high`` -> 255, linear in between."""
    levels = (np.arange(256, dtype=np.float32) - low) * (255.0 / (high - low))
    return np.clip(np.rint(levels), 0, 255).astype(np.uint8)


def drop_islands(mask: np.ndarray, share: float) -> np.ndarray:
    """``mask`` (uint8, after the ramp) without its small islands: pieces of non-zero alpha whose outline
    encloses less than ``share`` of the mask, while a larger piece exists (a frame that holds only small
    pieces keeps them). Such a piece apart from the person is a bit of the room, a lamp's shade or a frame's
    corner.  Outlines (``findContours``) are single-threaded, so the compositor's cost stays its own."""
    contours = cv2.findContours((mask > 0).view(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)[0]
    if len(contours) < 2:
        return mask
    limit = share * mask.size
    small = [c for c in contours if cv2.contourArea(c) < limit]
    if not small or len(small) == len(contours):
        return mask
    out = mask.copy()
    cv2.drawContours(out, small, -1, 0, thickness=cv2.FILLED)
    return out


def motion_weight_lut(strength: float, agree: int, disagree: int) -> np.ndarray:
    """Weight (0..255) of the previous alpha as a function of |new - previous|: ``strength`` up to ``agree``,
    falling linearly to 0 at ``disagree``."""
    diff = np.arange(256, dtype=np.float32)
    falloff = np.clip((disagree - diff) / (disagree - agree), 0.0, 1.0)
    return np.rint(255 * strength * falloff).astype(np.uint8)


class GuidedUpsampler:
    """Edge-aware upsampling with a fast guided filter built from box filters.

    The guided filter fits ``alpha = a * I + b`` in small windows (``I`` = the frame's grey levels); its
    output can be written ``mean(alpha) + a * (I - mean(I))``.  Here the first term is the plain bilinear
    upsample of the mask and the second adds the picture's own detail, scaled by how strongly the mask follows
    the picture locally.  Where the mask is flat (``a`` ~ 0) or the picture is flat (``I`` ~ its mean) the
    result is exactly the bilinear upsample; at a subject's outline the edge moves onto the picture's edge.
    ``a`` and ``mean(I)`` are computed at a resolution whose long side matches the mask (the model's
    information is not finer than that); only the final multiply-add runs at the output size.
    """

    def __init__(self, radius: int = 2, eps: float = 0.1) -> None:
        self.radius = radius
        self.eps = eps * 255.0 * 255.0  # the maths below runs on 0..255 values

    def __call__(self, grey: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """The mask at the size of ``grey`` (uint8 HxW guide), edge-aligned to it."""
        h, w = grey.shape
        up = mask if mask.shape == (h, w) else cv2.resize(mask, (w, h), interpolation=cv2.INTER_LINEAR)
        scale = max(mask.shape) / max(h, w)
        if scale >= 1:  # the mask is as detailed as the guide: nothing to add
            return up
        lw, lh = max(1, round(w * scale)), max(1, round(h * scale))
        small_i = shrink(grey, (lw, lh)).astype(np.float32)
        small_p = cv2.resize(mask, (lw, lh), interpolation=cv2.INTER_LINEAR).astype(np.float32)
        k = (2 * self.radius + 1,) * 2
        mean_i = cv2.blur(small_i, k)
        mean_p = cv2.blur(small_p, k)
        var_i = cv2.blur(small_i * small_i, k) - mean_i * mean_i
        cov_ip = cv2.blur(small_i * small_p, k) - mean_i * mean_p
        a = cv2.blur(cov_ip / (var_i + self.eps), k)
        # up + a * (I - mean_i) = up + a * I + c with c = -a * mean_i, both smooth enough to upsample
        a_full = cv2.resize(a, (w, h), interpolation=cv2.INTER_LINEAR)
        c_full = cv2.resize(a * -mean_i, (w, h), interpolation=cv2.INTER_LINEAR)
        q = a_full * grey.astype(np.float32)
        q += c_full
        q += up.astype(np.float32)
        return np.clip(q, 0, 255, out=q).astype(np.uint8)


class TemporalSmoother:
    """Motion-adaptive exponential smoothing of successive mattes (stateful: feed frames in display order).

    Each pixel keeps ``weight`` of its previous alpha.  The weight is high where nothing moved, and falls to
    zero where something did, judged two ways, either of which counts as "nothing moved":

    - the mattes agree (``|new - previous| <= agree``): a still edge trembling with noise;
    - the picture itself did not change (the difference of local 5x5 means of the grey levels <= ``still``):
      U^2-Net can flip a low-contrast region by 50+ levels from sensor noise alone, which mask agreement
      cannot tell from motion, but the unchanged picture can.  Where the picture is still, the weight is
      stronger (half the remainder: 0.875 for 0.75), since nothing there should change at all.

    The means are compared, not the pixels: the mean of 25 noisy pixels moves 5x less than one, whereas the
    mean of absolute pixel differences (what this used to compare) stays as large as the noise, and sensor
    noise of sigma 6 read as half-way to motion.

    A moving arm changes both the matte and the picture, so its edge takes the new value at once (no trail).

    Where the new alpha is settled background, at most ``settle``, it is taken as it is: the mattes there
    "agree" with a fading remainder of what was there before, so blending would keep that remainder for a
    dozen frames, a ghost of the person's last position over the room.
    """

    def __init__(self, strength: float = 0.75, agree: int = 12, disagree: int = 48, still: int = 4,
                 moving: int = 12, settle: int = SETTLE) -> None:
        self.settle = settle
        self.mask_lut = motion_weight_lut(strength, agree, disagree)
        self.picture_lut = motion_weight_lut(1 - (1 - strength) / 2 if strength > 0 else 0.0, still, moving)
        self.previous: np.ndarray | None = None
        self.previous_grey: np.ndarray | None = None

    def reset(self) -> None:
        self.previous = self.previous_grey = None

    def __call__(self, alpha: np.ndarray, grey: np.ndarray | None = None) -> np.ndarray:
        """Smoothed ``alpha``; ``grey`` (the frame's grey levels at the same size) enables the picture test."""
        previous, previous_grey = self.previous, self.previous_grey
        if grey is not None:
            grey = cv2.blur(grey, (5, 5))  # local means: noise averages out
        self.previous_grey = grey
        if previous is None or previous.shape != alpha.shape:
            self.previous = alpha
            return alpha
        weight = cv2.LUT(cv2.absdiff(alpha, previous), self.mask_lut)
        if grey is not None and previous_grey is not None and previous_grey.shape == grey.shape:
            change = cv2.absdiff(grey, previous_grey)
            weight = cv2.max(weight, cv2.LUT(change, self.picture_lut))
        # previous * w + alpha * (1 - w) in saturating uint8 ops (int16 ops are several times slower in OpenCV)
        out = cv2.add(cv2.multiply(previous, weight, scale=1 / 255),
                      cv2.multiply(alpha, cv2.bitwise_not(weight), scale=1 / 255))
        if self.settle >= 0:  # settled background: the new value
            out = cv2.bitwise_and(out, cv2.compare(alpha, self.settle, cv2.CMP_GT))
        self.previous = out
        return out


class MaskRefiner:
    """Low-resolution model matte + frame -> refined full-resolution alpha (uint8).  Stateful when temporal
    smoothing is on: call ``refine`` once per displayed frame, in order, and ``reset`` at a cut.

    The guided upsampling, feather and smoothing run at a working resolution of at most ``work_size`` pixels
    on the long side (640: half of 720p, twice the model's 320) and the result is scaled to the frame with one
    bilinear resize.  That keeps refinement near 1 ms for 720p; the edges are still placed four times more
    finely than the model's grid.
    """

    def __init__(self, config: RefineConfig | None = None, work_size: int = 640) -> None:
        self.config = config or RefineConfig()
        self.work_size = work_size
        c = self.config
        self._ramp = ramp_lut(*c.ramp) if c.ramp is not None else None
        self._guided = GuidedUpsampler(c.guided_radius, c.guided_eps) if c.guided else None
        self._temporal = (TemporalSmoother(c.temporal, c.agree, c.disagree, c.still, c.moving)
                          if c.temporal > 0 else None)

    def reset(self) -> None:
        if self._temporal is not None:
            self._temporal.reset()

    def working_size(self, frame_shape: tuple[int, ...]) -> tuple[int, int]:
        """(width, height) the refinement runs at for a frame of ``frame_shape``."""
        h, w = frame_shape[:2]
        scale = min(1.0, self.work_size / max(h, w)) if self.work_size else 1.0
        return max(1, round(w * scale)), max(1, round(h * scale))

    def ramp(self, mask: np.ndarray) -> np.ndarray:
        mask = cv2.LUT(mask, self._ramp) if self._ramp is not None else mask
        return drop_islands(mask, self.config.islands) if self.config.islands > 0 else mask

    @staticmethod
    def guide(frame: np.ndarray, size: tuple[int, int]) -> np.ndarray:
        """The frame's grey levels at ``size`` (width, height): the guided filter's and the smoother's input."""
        return cv2.cvtColor(shrink(frame, size), cv2.COLOR_BGR2GRAY)

    def upsample(self, frame: np.ndarray, mask: np.ndarray, size: tuple[int, int],
                 grey: np.ndarray | None = None) -> np.ndarray:
        """The mask at ``size`` (width, height): guided by the frame, or bilinear."""
        w, h = size
        if self._guided is not None:
            return self._guided(self.guide(frame, size) if grey is None else grey, mask)
        if mask.shape == (h, w):
            return mask
        return cv2.resize(mask, size, interpolation=cv2.INTER_LINEAR)

    def feather(self, alpha: np.ndarray, scale: float = 1.0) -> np.ndarray:
        """Gaussian softening; ``scale`` converts the frame-pixel sigma to the working resolution."""
        sigma = self.config.feather * scale
        return cv2.GaussianBlur(alpha, (0, 0), sigmaX=sigma, sigmaY=sigma) if sigma > 0 else alpha

    def smooth(self, alpha: np.ndarray, grey: np.ndarray | None = None) -> np.ndarray:
        return self._temporal(alpha, grey) if self._temporal is not None else alpha

    def refine(self, frame: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """The alpha for ``frame`` (HxWx3 BGR) from the model's ``mask`` (any size, uint8 0..255)."""
        h, w = frame.shape[:2]
        size = self.working_size(frame.shape)
        grey = self.guide(frame, size) if self._guided is not None or self._temporal is not None else None
        alpha = self.feather(self.upsample(frame, self.ramp(mask), size, grey), size[0] / w)
        alpha = self.smooth(alpha, grey)
        if alpha.shape != (h, w):
            alpha = cv2.resize(alpha, (w, h), interpolation=cv2.INTER_LINEAR)
        return alpha
