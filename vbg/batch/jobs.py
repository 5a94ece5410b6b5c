"""What a batch will do: one ``BatchJob`` per input file, its output name, and the sidecar that says it is done.

Outputs are written under a work name (``.NAME.vbg-TOKEN.EXT``, one token per attempt) and renamed when
complete, then a sidecar ``.NAME.EXT.vbg.json`` records the input's size and mtime and the settings' hash.
A job whose output and sidecar match is skipped, so a batch can be re-run after a crash, a killed worker or
Ctrl-C and does only what is missing; Dask may also run a task twice, and the second run is then a skip.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

from ..config import RunConfig
from ..errors import VbgError
from ..media.imageio import IMAGE_EXTENSIONS
from ..media.frames import VIDEO_EXTENSIONS
from ..outputs import check_outputs, check_writable, existing_folder

#: Run settings that do not change what a file's output looks like (left out of the settings hash).
NOT_IN_HASH = ("input", "output", "window", "vcam", "vcam_device", "vcam_backend", "null", "progress",
               "snapshot_dir", "requests", "threads", "cache_dir", "live", "loop", "reconnect",
               "name")


@dataclass(frozen=True)
class BatchJob:
    """One input file and where its result goes."""

    input: Path
    output: Path
    kind: str  # "video" or "image"

    @property
    def sidecar(self) -> Path:
        return self.output.with_name(f".{self.output.name}.vbg.json")

    def work_path(self) -> Path:
        """A fresh name for one attempt's output (same extension, so the muxer or encoder is the same)."""
        return self.output.with_name(f".{self.output.stem}.vbg-{uuid.uuid4().hex[:8]}{self.output.suffix}")

    def leftovers(self) -> list[Path]:
        """Work files of earlier attempts (and the file sink's own ``.partial`` names of them)."""
        from ..media.sinks.file import partial_path

        folder = self.output.parent
        if not folder.is_dir():
            return []
        pattern = folder / f".{self.output.stem}.vbg-*{self.output.suffix}"
        return sorted(folder.glob(pattern.name)) + sorted(folder.glob(partial_path(pattern).name))


def settings_hash(config: RunConfig) -> str:
    """Hash of everything that shapes the output (model, size, precision, background, refinement, codec)."""
    from .. import __version__

    values = {k: v for k, v in asdict(config).items() if k not in NOT_IN_HASH}
    values["vbg"] = __version__
    for key in ("weights", "calibration"):  # a path stands for its content: its size and mtime
        if values.get(key) and Path(values[key]).exists():
            stat = Path(values[key]).stat()
            values[key] = [values[key], stat.st_size, stat.st_mtime_ns]
    blob = json.dumps(values, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def input_stamp(path: Path) -> dict:
    stat = path.stat()
    return {"input": str(path), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def is_complete(job: BatchJob, key: str) -> dict | None:
    """The sidecar's record when ``job``'s output exists and was made from this input with these settings."""
    try:
        record = json.loads(job.sidecar.read_text())
        stamp = input_stamp(job.input)
    except (OSError, ValueError):
        return None
    same = all(record.get(k) == v for k, v in stamp.items()) and record.get("settings") == key
    return record if same and job.output.is_file() else None


def why_not_complete(job: BatchJob, key: str) -> str:
    """Why an existing output is not this batch's result: what its sidecar says it was made from."""
    try:
        record = json.loads(job.sidecar.read_text())
    except (OSError, ValueError):
        return "not made by vbg batch"
    if record.get("settings") != key:
        return "other settings"
    return "an older version of its input"


def refuse_replacing(jobs: list[BatchJob], key: str, overwrite: bool) -> None:
    """Fail before any work if the batch would replace results it did not make with these settings, from these
    inputs (``vbg run`` and ``vbg image`` refuse to replace any existing output the same way), unless
    ``overwrite`` (``-y``).  Results made with the same settings are skipped, not replaced, so they pass."""
    if overwrite:
        return
    found = [(job, why_not_complete(job, key)) for job in jobs
             if job.output.exists() and is_complete(job, key) is None]
    if found:
        shown = ", ".join(f"{job.output} ({why})" for job, why in found[:3])
        more = f" and {len(found) - 3} more" if len(found) > 3 else ""
        results, them = ("result", "it") if len(found) == 1 else ("results", "them")
        raise VbgError(f"{len(found)} existing {results} would be replaced: {shown}{more}: add -y (--overwrite) to "
                       f"replace {them}, or choose another -o folder")


def write_sidecar(job: BatchJob, key: str, **facts) -> None:
    record = {**input_stamp(job.input), "settings": key, **facts}
    tmp = job.sidecar.with_name(job.sidecar.name + f".{uuid.uuid4().hex[:8]}.tmp")
    tmp.write_text(json.dumps(record, indent=1))
    os.replace(tmp, job.sidecar)


def output_name(path: Path, kind: str, transparent: bool) -> str:
    """Images keep their name (``.png`` when transparent); videos keep .mp4/.mkv/.mov, others become .mp4,
    and transparent videos become .mov (ProRes 4444) unless they are .webm (VP9 alpha)."""
    suffix = path.suffix.lower()
    if kind == "image":
        return path.stem + ".png" if transparent else path.name
    if transparent:
        return path.stem + (".webm" if suffix == ".webm" else ".mov")
    return path.stem + (suffix if suffix in (".mp4", ".mkv", ".mov") else ".mp4")


def kind_of(path: Path) -> str | None:
    suffix = path.suffix.lower()
    return "video" if suffix in VIDEO_EXTENSIONS else "image" if suffix in IMAGE_EXTENSIONS else None


def plan_batch(inputs: list[str], outdir: str, transparent: bool = False) -> list[BatchJob]:
    """Jobs for files and folders (searched recursively; a folder's sub-folders are kept under ``outdir``).

    Checked before any model work: the inputs exist, no two inputs share an output name, no output is an
    input, and nothing already under ``outdir`` (earlier results) is taken as input."""
    out = Path(outdir)
    if out.exists() and not out.is_dir():
        raise VbgError(f"-o {out} is a file: vbg batch writes into a folder; give a folder name")
    out_resolved = out.resolve()
    jobs: list[BatchJob] = []
    for text in inputs:
        root = Path(text)
        if root.is_dir() and root.resolve() == out_resolved:
            raise VbgError(f"-o {out} is the input folder {root}: give another output folder (e.g. -o {root}-vbg); "
                           f"results are never written among the inputs")
        if root.is_dir():
            found = [p for p in sorted(root.rglob("*")) if p.is_file() and kind_of(p)
                     and not any(part.startswith(".") for part in p.relative_to(root).parts)
                     and out_resolved not in p.resolve().parents]
            if not found:
                raise VbgError(f"folder {root} has no videos or images "
                               f"({', '.join(VIDEO_EXTENSIONS + IMAGE_EXTENSIONS)})")
            for path in found:
                rel = path.relative_to(root)
                jobs.append(BatchJob(path, out / rel.parent / output_name(path, kind_of(path), transparent),
                                     kind_of(path)))
        elif root.is_file():
            kind = kind_of(root)
            if kind is None:
                raise VbgError(f"{root} is neither a video ({', '.join(VIDEO_EXTENSIONS)}) nor an image "
                               f"({', '.join(IMAGE_EXTENSIONS)}): rename it or leave it out")
            jobs.append(BatchJob(root, out / output_name(root, kind, transparent), kind))
        else:
            raise VbgError(f"input {root} does not exist: check the path")
    check_outputs([(j.input, [j.output]) for j in jobs], "process them in separate batches or rename one")
    check_writable(existing_folder(out), out)
    return jobs
