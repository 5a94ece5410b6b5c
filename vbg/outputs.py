"""Where jobs write, checked before any model work: ``vbg image`` on a folder and ``vbg batch`` share the rules
(one input per output name, never onto an input), so both refuse the same mistakes with the same words."""

from __future__ import annotations

import tempfile
from pathlib import Path

from .errors import VbgError


def check_writable(folder: Path, target: Path) -> None:
    """Fail unless a file can be created in ``folder`` (for ``target``), before any work.  A real probe file,
    not ``os.access``: root passes every permission check, and some file systems (``/proc``, a read-only
    mount seen through another one) refuse only the creation itself."""
    try:
        with tempfile.TemporaryFile(dir=folder, prefix=".vbg-probe-"):
            pass
    except OSError as exc:
        raise VbgError(f"cannot write {target}: directory {folder} is not writable ({exc.strerror or exc}); "
                       f"choose another output directory or fix its permissions") from None


def refuse_existing(outputs: list[Path], overwrite: bool) -> None:
    """Fail before any work if an output exists, unless ``overwrite`` (``-y``): ffmpeg's rule, without its
    question, so a script or a second run never replaces a result by accident and never waits on a prompt."""
    if overwrite:
        return
    existing = [p for p in outputs if p.is_file()]
    if existing:
        more = f" (and {len(existing) - 1} more)" if len(existing) > 1 else ""
        raise VbgError(f"{existing[0]}{more} already exists: add -y (--overwrite) to replace it, or choose another "
                       f"output name")


def existing_folder(path: Path) -> Path:
    """``path`` if it is a folder, else its nearest existing ancestor (where a missing folder would be made)."""
    path = path.absolute()
    while not path.is_dir() and path != path.parent:
        path = path.parent
    return path


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
