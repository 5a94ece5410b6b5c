"""Weights between the starting point and the fine-tune: keep a share of what the fine-tune changed.

A fine-tune on new kinds of data (people-free scenes, video frames, groups) also drifts on what the starting
weights already did well. Interpolating the two sets of weights, ``start + share x (tuned - start)``, keeps
most of the new skill and most of the old accuracy: both come from one starting point, so the straight line
between them stays in one basin (Wortsman et al., *Robust fine-tuning of zero-shot models*, CVPR 2022,
"WiSE-FT"). Measured for the person weights in docs/training.md.
"""

from __future__ import annotations

import torch


def blend(start: dict[str, torch.Tensor], tuned: dict[str, torch.Tensor], share: float) -> dict[str, torch.Tensor]:
    """``start + share x (tuned - start)`` for every floating-point tensor (batch-norm statistics included:
    they are frozen in training, so they agree); other tensors (counters) come from ``tuned``.  ``share`` is
    checked where the user gives it (``Trainer``: above 0, at most 1)."""
    if start.keys() != tuned.keys():
        raise ValueError("the two weight sets have different layers: not one architecture")
    out = {}
    for name, value in tuned.items():
        if value.is_floating_point():
            base = start[name].to(value.dtype)
            out[name] = base + share * (value - base)
        else:
            out[name] = value.clone()
    return out
