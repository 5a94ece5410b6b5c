"""Weights between the starting point and the fine-tune: keep a share of what the fine-tune changed.

A fine-tune on new kinds of data (people-free scenes, video frames, groups) also drifts on what the starting
weights already did well. Interpolating the two sets of weights, ``start + share x (tuned - start)``, keeps
most of the new skill and most of the old accuracy: both come from one starting point, so the straight line
between them stays in one basin (Wortsman et al., *Robust fine-tuning of zero-shot models*, CVPR 2022,
"WiSE-FT"). Averaging several fine-tunes of one starting point ("model soup", Wortsman et al., ICML 2022)
rests on the same fact: each run's drift away from what the start did well is partly its own, and the mean
keeps what the runs share. Measured for the person weights in docs/training.md.
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


def average(states: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """The mean of several weight sets of one architecture (fine-tunes of one starting point); other tensors
    (counters) come from the first."""
    first = states[0]
    if any(s.keys() != first.keys() for s in states[1:]):
        raise ValueError("the weight sets have different layers: not one architecture")
    return {name: (sum(s[name].to(value.dtype) for s in states) / len(states) if value.is_floating_point()
                   else value.clone()) for name, value in first.items()}
