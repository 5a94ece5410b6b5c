"""Single-image background replacement (the seed notebook's workflow) as a function, plus its figure."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .compositing import Compositor
from .imageio import check_output_path, write_atomic
from .refine import MaskRefiner
from .segmenter import Segmenter


@dataclass
class StillResult:
    """The matte, the composited picture and what inference cost."""

    alpha: np.ndarray  # uint8 HxW
    result: np.ndarray  # BGR (or BGRA when transparent)
    inference_ms: float


def replace_background(image: np.ndarray, segmenter: Segmenter, compositor: Compositor,
                       refiner: MaskRefiner | None = None) -> StillResult:
    """Segment ``image`` (BGR uint8), refine the matte (default settings unless ``refiner`` is given) and
    composite it onto the compositor's current background."""
    refiner = refiner or MaskRefiner()
    alpha = refiner.refine(image, segmenter.infer(image))
    return StillResult(alpha, compositor.compose(image, alpha), segmenter.last_latency_ms)


def save_figure(path: str | Path, image: np.ndarray, result: StillResult, title: str = "") -> Path:
    """The notebook's three-panel figure (original | mask | result), written atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    p = check_output_path(path, (".png", ".jpg", ".jpeg", ".pdf", ".svg"))
    composite = result.result
    panels = [("original", image[..., ::-1]), ("mask", result.alpha),
              ("result", composite[..., [2, 1, 0, 3]] if composite.shape[2] == 4 else composite[..., ::-1])]
    fig, axes = plt.subplots(1, 3, figsize=(15, 5.4))
    for ax, (label, picture) in zip(axes, panels):
        ax.imshow(picture, cmap="gray" if picture.ndim == 2 else None, vmin=0, vmax=255)
        ax.set_title(label)
        ax.axis("off")
    fig.suptitle(title or f"inference {result.inference_ms:.1f} ms")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format=p.suffix.lstrip(".").replace("jpg", "jpeg"), dpi=80)
    plt.close(fig)
    write_atomic(p, buf.getvalue())
    return p
