"""Which mask each frame is shown with: the live hand-off from the model's callback to the compositor, and the
reuse of a kept mask (and its refined alpha) on frames the model did not run on."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from ..compose.motion import MaskMotion, Thumb, change
from ..media.frames import Frame
from ..model.autotune import LivePlan

#: mean alpha change (levels) of a refinement of the same mask below which refinement has settled
SETTLED = 0.2
MAX_OWN_WAIT_S = 0.25  # live: the longest a frame waits for its own mask before taking the newest one


def own_mask_wait(plan: LivePlan | None, own_masks: bool | None, requests: int, rate: float) -> float:
    """Live: how long a frame may wait for its own mask (0 = newest-mask policy; ``own_masks`` None follows the
    segmenter's measured ``plan``).  Three inference latencies at the measured rate (``requests / fps``) plus a
    frame interval, at most ``MAX_OWN_WAIT_S``: long enough for a mask that is merely late, short enough that a
    stalled model never holds the output back."""
    own = own_masks if own_masks is not None else bool(plan and plan.own_masks)
    if not own:
        return 0.0
    if plan is None or plan.model_fps <= 0:
        return MAX_OWN_WAIT_S
    return min(MAX_OWN_WAIT_S, 3 * requests / plan.model_fps + 1 / rate)


@dataclass(frozen=True)
class Mask:
    """A model mask and the frame it was computed from (its capture order, capture time and thumbnail)."""

    seq: int
    mask: np.ndarray
    captured_at: float
    thumb: Thumb | None = None


class MaskBoard:
    """Live mode: the masks back from the model, and which one a frame takes.

    Own-mask policy (``own_wait`` > 0): a frame the model runs on waits, at most ``own_wait`` seconds after its
    capture, while it is in flight or not yet taken by the submit thread; a frame the model skipped (the
    newest-frame submit or the change gate) or whose mask is late takes the newest mask.  Before the first mask
    every frame waits: the room is never shown."""

    def __init__(self, own_wait: float) -> None:
        self.own_wait = own_wait
        self.lock = threading.Condition()  # guards everything below; notified on each change
        self.newest: Mask | None = None
        self._own: dict[int, Mask] = {}  # seq -> own mask not yet shown
        self._in_flight: set[int] = set()  # seqs submitted and not back
        self._submitted_seq = -1  # the newest seq submitted (older unsubmitted model frames were skipped)
        self._submitting = True  # the submit thread may still submit

    def submitted(self, seq: int) -> None:
        with self.lock:
            self._in_flight.add(seq)
            self._submitted_seq = seq
            self.lock.notify_all()  # a frame waiting for its own mask learns whether it was skipped

    def submit_ended(self) -> None:
        """No frame will be submitted any more: none waits for its mask."""
        with self.lock:
            self._submitting = False
            self.lock.notify_all()

    def arrived(self, mask: Mask) -> None:
        with self.lock:
            if self.newest is None or mask.seq > self.newest.seq:
                self.newest = mask
            if self.own_wait:
                self._own[mask.seq] = mask
            self._in_flight.discard(mask.seq)
            self.lock.notify_all()

    def for_frame(self, frame: Frame, stopped: Callable[[], bool]) -> tuple[Mask, bool] | None:
        """(mask, whether it is the frame's own) for a live frame; None once ``stopped()``."""
        deadline = frame.captured_at + self.own_wait
        with self.lock:
            while not stopped():
                if self.own_wait:
                    own = self._own.pop(frame.seq, None)
                    if own is not None:
                        self._forget_before(frame.seq)
                        return own, True
                    pending = frame.model and (frame.seq in self._in_flight
                                               or (self._submitting and self._submitted_seq < frame.seq))
                    left = deadline - time.perf_counter()
                    if pending and left > 0:
                        self.lock.wait(min(left, 0.05))
                        continue
                    self._forget_before(frame.seq + 1)
                if self.newest is not None:
                    return self.newest, False
                self.lock.wait(0.05)
        return None

    def _forget_before(self, seq: int) -> None:
        """Drop own masks of frames already passed (shown with another mask, or dropped on the way)."""
        for old in [s for s in self._own if s < seq]:
            del self._own[old]


class MaskReuse:
    """Brings a kept mask to a later frame, and skips refinement when nothing changed.

    - The picture is still since the mask's frame (thumbnail change at most ``threshold``): the mask as is.
    - It moved: the mask carried along by the optical flow between the two thumbnails.
    - The same mask as the last frame's, the picture still since that frame was refined, and refinement settled
      (the temporal smoother has finished easing towards the mask): the last refined alpha as is (refinement
      is the largest per-frame cost after the model and the blend)."""

    def __init__(self, threshold: float) -> None:
        self.threshold = threshold
        self.motion = MaskMotion()
        self._last: tuple[np.ndarray, Thumb | None, np.ndarray] | None = None  # (mask, thumb refined on, alpha)
        self._settled = False  # the last refinement of the same mask changed the alpha by at most SETTLED

    def mask_for(self, frame: Frame, kept: Mask) -> np.ndarray:
        if kept.seq == frame.seq or kept.thumb is None or frame.thumb is None:
            return kept.mask
        if change(kept.thumb, frame.thumb) <= self.threshold:
            return kept.mask
        return self.motion.carry(kept.mask, kept.thumb, frame.thumb)

    def alpha(self, frame: Frame, mask: np.ndarray, refine: Callable[[], np.ndarray]) -> tuple[np.ndarray, bool]:
        """(alpha for ``frame`` shown with ``mask``, whether the last one was reused); ``refine`` makes a new one.

        The last alpha is reused only once refinement has settled on it (the temporal smoother eases towards a
        new mask over several frames): reusing the first, half-eased alpha would hold a stale outline."""
        last = self._last
        same = (last is not None and last[0] is mask and frame.thumb is not None and last[1] is not None
                and change(last[1], frame.thumb) <= self.threshold)
        if same and self._settled:
            return last[2], True
        alpha = refine()
        self._settled = same and cv2.norm(alpha, last[2], cv2.NORM_L1) / alpha.size <= SETTLED
        self._last = (mask, frame.thumb, alpha)
        return alpha, False
