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
        parts = [f"frames in {self.frames_in}, out {self.frames_out}, dropped {self.dropped}",
                 f"output {self.output_fps:.1f} fps, model {self.model_fps:.1f} fps over {self.seconds:.1f} s"
                 + (f" ({self.model})" if self.model else "")]
        if self.masks < self.frames_out:
            parts.append(f"model ran on {self.masks} of {self.frames_out} frames")
        if self.own_masks is not None:
            parts.append(f"own mask on {self.own_masks} of {self.frames_out} frames")
        stages = []
        for stage in self.latency.stages():
            p = self.latency.percentiles(stage)
            if p:
                stages.append(f"{stage} {p[0]:.1f}/{p[1]:.1f}")
        if stages:
            parts.append("latency p50/p95 ms: " + ", ".join(stages))
        if self.idle_seconds >= 0.1:
            parts.append(f"idle {self.idle_seconds:.1f} s with nobody watching the virtual camera")
        if self.source_lost:
            parts.append(f"source lost: {self.source_lost}")
        return " | ".join(parts)
