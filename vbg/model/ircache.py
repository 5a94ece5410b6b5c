"""The on-disk IR cache: one entry per (model, weights, size, precision, resize, OpenVINO [, calibration]) key.

Every entry, fp32/fp16 from conversion or int8 from quantisation, is made the same way:
- a file lock per entry: one process builds it, the others say so once and wait, then reuse it;
- written to a temporary folder beside it and renamed into place, so an interrupted build never leaves a
  half-written model that a later start would load;
- ``meta.json`` records each file's size and SHA-256, checked before every use (``ir_problem``), and a
  damaged entry is rebuilt with a one-line notice.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import openvino as ov

from ..errors import VbgError, notice
from .weights import file_sha256

IR_FILES = ("model.xml", "model.bin")  # checked against the sizes and hashes recorded in meta.json


def ir_problem(folder: Path) -> str | None:
    """Why the cached IR in ``folder`` cannot be trusted (one phrase), or None if it is intact.

    A truncated ``model.bin``, a garbage ``model.xml`` or a missing file is caught before OpenVINO reads it
    (hashing the few-MB U2NETP IR takes milliseconds).  An entry without checksums counts as damaged."""
    if not folder.is_dir():
        return "missing"
    try:
        files = json.loads((folder / "meta.json").read_text())["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return "meta.json is missing or unreadable"
    for name in IR_FILES:
        path = folder / name
        expected = files.get(name) if isinstance(files, dict) else None
        if not path.is_file():
            return f"{name} is missing"
        if not isinstance(expected, dict) or path.stat().st_size != expected.get("size"):
            return f"{name} has the wrong size"
        if file_sha256(path) != expected.get("sha256"):
            return f"{name} does not match its checksum"
    return None


def unwritable_cache(entry: Path, exc: OSError) -> VbgError:
    """The one-line error for a model that must be prepared in a cache folder that cannot take it."""
    cache = entry.parent.parent
    return VbgError(f"cannot prepare the model in the cache folder {cache} ({exc.strerror or exc}): give a writable "
                    f"one with --cache-dir or $VBG_CACHE_DIR, or prepare it there first with vbg convert")


def cached_ir(entry: Path, build: Callable[[], tuple[ov.Model, dict]], *, force: bool = False,
              compress_to_fp16: bool = False, doing: str = "converting") -> Path:
    """The ``model.xml`` of cache entry ``entry``, made with ``build() -> (model, meta)`` when it is missing,
    damaged or ``force``d.  ``doing`` names the work in the waiting notice ("converting", "quantising")."""
    xml = entry / "model.xml"
    if not force and ir_problem(entry) is None:
        return xml
    from filelock import FileLock, Timeout

    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        lock = FileLock(entry.parent / f".{entry.name}.lock")
        try:
            lock.acquire(timeout=0)
        except Timeout:
            notice(f"another vbg is {doing} {entry.name}; waiting for it")
            lock.acquire()
    except OSError as exc:  # a read-only cache serves what it holds, but cannot take a new model
        raise unwritable_cache(entry, exc) from None
    try:
        problem = ir_problem(entry)  # another process may have built it while this one waited
        if problem is None and not force:
            return xml
        if problem not in (None, "missing"):
            notice(f"cached model {entry} is damaged ({problem}); rebuilding it")
        model, meta = build()
        try:
            tmp = Path(tempfile.mkdtemp(prefix=".build-", dir=entry.parent))
        except OSError as exc:
            raise unwritable_cache(entry, exc) from None
        try:
            ov.save_model(model, tmp / "model.xml", compress_to_fp16=compress_to_fp16)
            meta["files"] = {name: {"size": (tmp / name).stat().st_size, "sha256": file_sha256(tmp / name)}
                             for name in IR_FILES}
            (tmp / "meta.json").write_text(json.dumps(meta, indent=2))
            if entry.exists():
                shutil.rmtree(entry)
            os.replace(tmp, entry)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    finally:
        lock.release()
    return xml
