"""How a pipeline runs: ``PipelineOptions`` (the model, source, background and sinks are objects passed
separately), apart from ``core`` so that settings and threads read on their own."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..media.frames import Frame, VideoInfo
from .gate import GateConfig


@dataclass
class PipelineOptions:
    """How the pipeline runs (the model, source, background and sinks are objects passed separately)."""

    live: bool | None = None  # None: follow the source (cameras are live, files are not)
    aligned: bool = False
    requests: int | None = None  # infer requests; None = the compiled model's optimal number
    own_masks: bool | None = None  # live: frames wait for their own mask; None = the segmenter's measured plan
    overlay: bool | None = None  # None: on preview windows only; True: burned into every output too; False: none
    max_frames: int | None = None  # stop after this many output frames (None: until the source ends)
    progress: bool = True  # progress bar with ETA in file mode
    sink_queue: int = 4  # frames buffered per sink
    snapshot_dir: str = "."
    on_frame: Callable[[int], None] | None = None  # observer: called with frames_out after each ordered frame
    gate: GateConfig | None = None  # run the model only when the picture changed (None: on every frame)
    observe: Callable[[Frame, np.ndarray], None] | None = None  # called with each output frame and its alpha
    mirror: bool | None = None  # None: live previews mirrored; True: every output of a live run; False: none

    def live_for(self, info: VideoInfo) -> bool:
        """The live contract applies to cameras (and live streams) unless ``live`` says otherwise."""
        return info.live if self.live is None else self.live
