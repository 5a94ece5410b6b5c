"""The change gate: run the model on a frame only when the picture changed since the model last ran.

In a call most frames differ from the one before by sensor noise alone, so the network's mask would be the
same.  The gate compares each frame's thumbnail (``vbg.compose.motion.Thumb``) with the thumbnail of the last
frame the model ran on (the reference) and lets a frame skip the model when

- the picture is still: the mean grey-level change is at most ``threshold``; the last mask is reused as is; or
- the picture moved in a way optical flow explains (a shift, a lean): what is left after moving the reference
  by the flow is at most ``threshold``, for at most ``max_tracked`` frames in a row; the last mask is moved
  with the flow (``MaskMotion.carry``).

Whatever happens, the model runs at least every ``max_age`` frames, so a slow drift or a change of light is
caught within a second at 30 fps.  On a picture in constant motion (a hand-held camera) every frame runs the
model, as without the gate.  ``docs/gating.md`` has the measurements these defaults come from.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..compose.motion import MaskMotion, Thumb, change
from ..errors import VbgError


@dataclass(frozen=True)
class GateConfig:
    """When a frame may skip the model (see the module docstring)."""

    threshold: float = 1.0  # mean grey-level change of the thumbnail that counts as a change
    max_age: int = 30  # frames: the model runs at least this often
    max_tracked: int = 3  # frames in a row a moved mask may be carried by optical flow

    def __post_init__(self) -> None:
        if self.max_age < 1 or self.max_tracked < 0 or self.threshold < 0:
            raise VbgError(f"bad gate settings {self}: need max_age >= 1, max_tracked >= 0, threshold >= 0")


class ChangeGate:
    """Decides, frame by frame in capture order, whether the model runs (stateful: one per stream)."""

    def __init__(self, config: GateConfig | None = None) -> None:
        self.config = config or GateConfig()
        self.motion = MaskMotion()
        self.reference: Thumb | None = None
        self.age = 0  # frames since the model last ran
        self.tracked = 0  # of those, frames whose mask is carried by the flow

    def should_run(self, thumb: Thumb) -> bool:
        """Whether the frame of ``thumb`` goes to the model; a frame that does becomes the reference."""
        config = self.config
        run = self.reference is None or self.age + 1 >= config.max_age
        if not run and change(self.reference, thumb) > config.threshold:
            run = (self.tracked >= config.max_tracked
                   or self.motion.between(self.reference, thumb).residual > config.threshold)
            self.tracked += not run
        if run:
            self.reference, self.age, self.tracked = thumb, 0, 0
        else:
            self.age += 1
        return run
