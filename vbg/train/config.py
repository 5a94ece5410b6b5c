"""A training run's settings, apart from the loop so that ``vbg --help`` and the flags read them without
importing torch."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..errors import VbgError


def check_weights_file(path: str | Path, what: str = "weights") -> Path:
    """A starting or averaged weights file exists (``what``: how the message names it, e.g. the flag)."""
    path = Path(path)
    if not path.is_file():
        raise VbgError(f"{what} {path} is not a file: give the path of a U2NETP .pth (a state_dict or a vbg train "
                       "checkpoint)")
    return path


@dataclass
class TrainConfig:
    """Everything a run depends on; stored in each checkpoint so that ``--resume`` can check it."""

    data: list[str] = field(default_factory=list)  # folders with images/ and masks/, each DIR or DIR:REPEAT
    backgrounds: str | None = None
    out: str = "out/train"
    init: str | None = None  # the official u2netp.pth (or any U2NETP state_dict) to start from
    epochs: float = 3.0
    max_steps: int | None = None  # stop after this many steps in all (tiny runs, tests)
    minutes: float | None = None  # stop (with a checkpoint) after this much wall time in this process
    batch_size: int = 8
    lr: float = 8e-5
    warmup_steps: int = 50
    weight_decay: float = 1e-2
    iou_weight: float = 1.0
    far_weight: float = 0.0  # extra BCE weight on pixels away from the outline (ghosts and holes)
    blend: float = 1.0  # weights.pth keeps this share of the fine-tune's change from init (vbg.train.blend)
    average_with: list[str] = field(default_factory=list)  # other runs' weights, averaged into weights.pth
    composite: float = 0.5  # share of samples pasted onto a background (the rest are crops of the photo)
    groups: float = 0.0  # share of the composites with two or three people (vbg.train.synthesis)
    portrait_groups: float | None = None  # the same for portrait subjects (None: as groups)
    crowds: float = 0.0  # share of the composites with a crowd behind the subject
    objects: str | None = None  # object masks of the people-free scenes (vbg.train.objects)
    beside: float = 0.0  # share of the composites with the person beside one of those objects
    val_fraction: float = 0.1
    val_pixels: int = 256 * 256  # validation input size: the photo's aspect at this many pixels
    val_limit: int | None = None  # score at most this many validation images per folder
    val_frames: int = 40  # group and crowd frames of the held-out people per photo folder and kind (0: none)
    score: list[str] = field(default_factory=list)  # folders scored whole at each validation, never trained on
    seed: int = 0
    bf16: str = "auto"  # auto | on | off
    workers: int = 1  # threads building batches ahead
    checkpoint_every: int = 50  # steps
