"""The FPS overlay: output fps, model fps, inference latency, device and precision.

White text on a translucent dark panel stays legible on any background (a white wall or a green screen),
and only the panel's pixels are blended, so drawing costs well under a millisecond per frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass
class OverlayStats:
    """What the overlay shows; the pipeline fills it in every frame."""

    output_fps: float = 0.0
    model_fps: float = 0.0
    inference_ms: float = 0.0
    label: str = ""
    extra: str = ""


def draw_overlay(image: np.ndarray, stats: OverlayStats, scale: float | None = None) -> np.ndarray:
    """Draw ``stats`` in the top-left corner of ``image`` (in place; returns it).  In BGRA images only the
    colour channels are drawn on: the alpha channel stays the matte."""
    h, w = image.shape[:2]
    scale = scale or max(0.45, min(h, w) / 720 * 0.7)
    thickness = max(1, round(scale * 2))
    lines = [
        f"output {stats.output_fps:5.1f} fps   model {stats.model_fps:5.1f} fps",
        f"inference {stats.inference_ms:6.1f} ms   {stats.label}",
    ]
    if stats.extra:
        lines.append(stats.extra)
    font = cv2.FONT_HERSHEY_SIMPLEX
    sizes = [cv2.getTextSize(text, font, scale, thickness) for text in lines]
    line_h = max(s[0][1] + s[1] for s in sizes) + round(8 * scale)
    pad = round(10 * scale)
    box_w = min(w, max(s[0][0] for s in sizes) + 2 * pad)
    box_h = min(h, line_h * len(lines) + pad)
    panel = image[:box_h, :box_w]
    color = np.ascontiguousarray(panel[..., :3]) if image.shape[2] == 4 else panel
    color[:] = cv2.addWeighted(color, 0.35, np.zeros_like(color), 0.65, 0)
    for i, text in enumerate(lines):
        y = pad + line_h * (i + 1) - round(8 * scale)
        cv2.putText(color, text, (pad, y), font, scale, (255, 255, 255), thickness, cv2.LINE_AA)
    if image.shape[2] == 4:
        panel[..., :3] = color
    return image
