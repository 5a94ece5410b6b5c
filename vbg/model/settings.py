"""What model to run and how (``SegmenterConfig``), apart from the Segmenter so that the command-line flags read
its defaults without loading OpenVINO."""

from __future__ import annotations

from dataclasses import dataclass

from .weights import DEFAULT_MODEL

DEFAULT_DEVICE = "default"  # a GPU where OpenVINO lists one, else the CPU (vbg.model.devices.choose_device)


@dataclass(frozen=True)
class SegmenterConfig:
    """What to run: model, device, input size, precision ("auto" picks per device) and resize mode.

    ``size="auto"`` follows the aspect of ``frame`` (width, height of the frames to come; 1280x720 if unknown)."""

    model: str = DEFAULT_MODEL
    device: str = DEFAULT_DEVICE
    size: str | int = "auto"
    frame: tuple[int, int] | None = None
    precision: str = "auto"
    resize: str = "antialias"
    weights: str | None = None
    cache_dir: str | None = None
    performance_hint: str = "LATENCY"  # or THROUGHPUT; "LIVE": measured per machine (see autotune.plan_live)
    calibration: str | None = None  # int8 only: folder of calibration images/videos (default: the samples)
    target_fps: float | None = None  # video: the rate to keep up with, for "auto" and "LIVE" (None: stills)
    live: bool = False  # a camera's pace: plain size "auto" may step down so the model keeps up (autotune.choose_size)
    threads: int | None = None  # CPU inference threads (None: all cores); several workers on one machine share them
    any_size: bool = False  # stills: one compiled model for frames of every shape, each at its own size (CPU only)
