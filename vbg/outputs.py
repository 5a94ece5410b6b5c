"""Where jobs write, checked before any model work: ``vbg image`` on a folder and ``vbg batch`` share the rules
(one input per output name, never onto an input), so both refuse the same mistakes with the same words."""

from __future__ import annotations

from pathlib import Path

from .errors import VbgError


def check_outputs(jobs: list[tuple[Path, list[Path]]], fix: str) -> None:
    """``jobs``: (input, its outputs).  Raise if two inputs would write one file, or an output is an input;
    ``fix`` ends the collision message (what to do instead)."""
    sources = {source.resolve() for source, _ in jobs}
    seen: dict[Path, Path] = {}
    for source, outputs in jobs:
        for out in outputs:
            target = out.resolve()
            if target in sources:
                raise VbgError(f"output {out} is an input file: choose another name or output folder "
                               f"(inputs are never overwritten)")
            if target in seen and seen[target] != source:
                raise VbgError(f"{seen[target]} and {source} would both be written as {out}: {fix}")
            seen[target] = source
