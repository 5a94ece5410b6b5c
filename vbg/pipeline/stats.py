"""What a run did: frame counts, rates and per-stage latencies, for the one-line summary, tests and benchmarks."""

from __future__ import annotations

from dataclasses import dataclass, field

from .metrics import LatencyStats


@dataclass
class RunStats:
    """What happened, for the one-line summary and for tests/benchmarks."""

    frames_in: int = 0
    frames_out: int = 0
    dropped: int = 0
    masks: int = 0
    seconds: float = 0.0
    latency: LatencyStats = field(default_factory=LatencyStats)
    sink_dropped: dict[str, int] = field(default_factory=dict)
    model: str = ""  # the segmenter's label; with "(auto)" when --precision auto chose the precision
    own_masks: int | None = None  # live, own-mask policy: frames shown with their own mask (None: other policies)
    alphas_reused: int = 0  # frames shown with the last refined alpha (nothing changed: see pipeline.masks)
    idle_seconds: float = 0.0  # capture held because nobody watched the virtual camera
    source_lost: str | None = None  # a live input went away and could not be reopened (see sources.Reconnector)

    @property
    def output_fps(self) -> float:
        return self.frames_out / self.seconds if self.seconds else 0.0

    @property
    def model_fps(self) -> float:
        return self.masks / self.seconds if self.seconds else 0.0

    def summary(self) -> str:
        """The end-of-job line, in words a user reads without knowing the pipeline: how many frames went
        through, how fast, and how long one frame took from being read to being output (typical, and the
        slowest 1 in 20), then the same for each step."""
        dropped = f"{self.dropped} dropped to keep up" if self.dropped else "none dropped"
        parts = [f"frames: {self.frames_in} read, {self.frames_out} written, {dropped}, in {self.seconds:.1f} s "
                 f"({self.output_fps:.1f} a second)",
                 f"model{f' {self.model}' if self.model else ''}: {self.model_fps:.1f} masks a second"]
        if self.masks < self.frames_out:
            parts.append(f"model ran on {self.masks} of {self.frames_out} frames")
        if self.own_masks is not None:
            parts.append(f"own mask on {self.own_masks} of {self.frames_out} frames (the others showed the newest)")
        through = self.latency.percentiles("capture->sink")
        if through:
            parts.append(f"each frame took {through[0]:.0f} ms from reading to output, "
                         f"{through[1]:.0f} ms for the slowest 1 in 20")
        steps = []
        for stage in self.latency.stages():
            p = self.latency.percentiles(stage)
            if p and stage != "capture->sink":
                steps.append(f"{_step_name(stage)} {p[0]:.1f}/{p[1]:.1f} ms")
        if steps:
            parts.append("steps, typical/slowest 1 in 20: " + ", ".join(steps))
        if self.idle_seconds >= 0.1:
            parts.append(f"idle {self.idle_seconds:.1f} s with nobody watching the virtual camera")
        if self.source_lost:
            parts.append(f"source lost: {self.source_lost}")
        return " | ".join(parts)


#: the summary's words for the pipeline's latency stages (``sink[NAME]`` is writing to that output)
_STEPS = {"infer": "model", "refine": "mask edges", "composite": "blending",
          "mask-age": "age of the mask shown"}
_OUTPUTS = {"file": "writing the file", "window": "showing the window", "vcam": "sending to the virtual camera",
            "null": "discarding"}


def _step_name(stage: str) -> str:
    if stage.startswith("sink[") and stage.endswith("]"):
        name = stage[5:-1]
        return _OUTPUTS.get(name, f"output {name}")
    return _STEPS.get(stage, stage)
