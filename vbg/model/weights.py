"""Model registry and weight resolution: where a checkpoint comes from, and proof that it is the right one.

The project's own person weights (``u2netp_person``, trained with ``vbg train``) ship inside the package and are
checked against their SHA-256. The official checkpoints are looked up in a fixed order so that offline
machines, CI and first-time users all work:

1. an explicit path (``--weights PATH``);
2. the directory in the ``VBG_WEIGHTS_DIR`` environment variable, holding the official file names;
3. the cache directory (``--cache-dir``, else ``VBG_CACHE_DIR``, else ``~/.cache/vbg``), under ``weights/``;
4. a gdown download from the official Google Drive ids, written to a temporary file and renamed into the cache
   only after it loads into the architecture with ``strict=True``.

Nothing here imports torch at module level: a start from a cached OpenVINO IR only needs the file hash.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import VbgError, notice

if TYPE_CHECKING:  # pragma: no cover
    from torch import nn

ENV_WEIGHTS_DIR = "VBG_WEIGHTS_DIR"
ASSETS = Path(__file__).resolve().parents[1] / "assets"  # package data: the bundled person weights
ENV_CACHE_DIR = "VBG_CACHE_DIR"


@dataclass(frozen=True)
class ModelSpec:
    """One selectable model: its architecture, official checkpoint name and download ids."""

    name: str
    arch: str  # "U2NETP" or "U2NET": the class in vbg.model.u2net
    filename: str
    gdrive_ids: tuple[str, ...]
    size_mb: float
    description: str
    sha256: str | None = None  # bundled weights: the file in vbg/assets must have this hash

    @property
    def bundled(self) -> bool:
        return self.sha256 is not None

    def new_module(self) -> "nn.Module":
        """An untrained torch module of this architecture (imports torch)."""
        from . import u2net

        return getattr(u2net, self.arch)(3, 1)


PERSON_SHA256 = "a215730b7ca1a207f55885d2b18ccf191a924bebfc06065a85d9dcd4c3ee7a48"  # vbg/assets/u2netp_person.pth

MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(
            "u2net_lite", "U2NETP", "u2netp.pth",
            # the U-2-Net authors' id first, then the OpenVINO notebook's mirror
            ("1rbSTGKAE-MTxBYHd-51l2hMOQPT_7EPy", "1W8E4FHIlTVstfRkYmNOjbr0VDXTZm0jD"),
            4.7, "U^2-Net-lite, official weights: salient objects",
        ),
        ModelSpec(
            "u2netp_person", "U2NETP", "u2netp_person.pth", (), 4.7,
            "U^2-Net-lite fine-tuned by vbg on person masks (default; research-use data, see docs/person-model.md)",
            sha256=PERSON_SHA256,
        ),
        ModelSpec("u2net", "U2NET", "u2net.pth", ("1ao1ovG1Qtx4b7EoskHXmi2E9rp5CHLcZ",),
                  176.3, "U^2-Net, salient objects"),
        ModelSpec("u2net_human_seg", "U2NET", "u2net_human_seg.pth", ("1m_Kgs91b21gayc2XLW0ou8yugAIadWVP",),
                  176.3, "U^2-Net trained for people"),
    )
}
DEFAULT_MODEL = "u2netp_person"


def get_spec(name: str) -> ModelSpec:
    """The registry entry for ``name``, or a VbgError listing the valid names."""
    try:
        return MODELS[name]
    except KeyError:
        raise VbgError(f"unknown model {name!r}: choose one of {', '.join(MODELS)}") from None


def cache_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """The cache root: explicit override, else $VBG_CACHE_DIR, else ~/.cache/vbg."""
    if override:
        return Path(override).expanduser()
    env = os.environ.get(ENV_CACHE_DIR)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "vbg"


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file, read in chunks (the 176 MB checkpoints take well under a second)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def find_weights(spec: ModelSpec, weights: str | os.PathLike[str] | None = None,
                 cache: Path | None = None) -> Path | None:
    """The first existing checkpoint in the lookup order (without downloading), or None.

    An explicit ``weights`` path that does not exist is an error rather than a silent fall-through.
    """
    if weights is not None:
        path = Path(weights).expanduser()
        if not path.is_file():
            raise VbgError(f"weights file {path} does not exist: check the --weights path")
        return path
    if spec.bundled:
        return bundled_weights(spec)
    env = os.environ.get(ENV_WEIGHTS_DIR)
    candidates = [Path(env).expanduser() / spec.filename] if env else []
    candidates.append((cache or cache_dir()) / "weights" / spec.filename)
    return next((p for p in candidates if p.is_file()), None)


def bundled_weights(spec: ModelSpec) -> Path:
    """The weights file shipped in the package, after checking its hash (a damaged install is an error)."""
    path = ASSETS / spec.filename
    if not path.is_file():
        raise VbgError(f"the bundled {spec.name} weights ({path}) are missing: reinstall vbg, or pass --weights PATH")
    if file_sha256(path) != spec.sha256:
        raise VbgError(f"the bundled {spec.name} weights ({path}) are damaged (SHA-256 mismatch): reinstall vbg")
    return path


def resolve_weights(spec: ModelSpec, weights: str | os.PathLike[str] | None = None,
                    cache: Path | None = None, download: bool = True) -> Path:
    """A checkpoint path for ``spec``: found locally, or downloaded into the cache."""
    found = find_weights(spec, weights, cache)
    if found is not None:
        return found
    target = (cache or cache_dir()) / "weights" / spec.filename
    if not download:
        raise VbgError(f"no {spec.filename} found (looked in ${ENV_WEIGHTS_DIR} and {target.parent}): "
                       f"pass --weights PATH or allow the download")
    return download_weights(spec, target)


NO_CONNECTION = "no connection"


def download_weights(spec: ModelSpec, target: Path) -> Path:
    """Download ``spec``'s checkpoint with gdown (progress bar on stderr) and move it to ``target`` once it loads.

    The download goes to a temporary file in the target directory, so an interrupted or corrupt download never
    leaves a file that a later run would trust; the temporary file (and the partial file gdown keeps for
    resuming) is removed whatever happens, Ctrl-C included.
    """
    import gdown

    import requests

    target.parent.mkdir(parents=True, exist_ok=True)
    errors = []
    for file_id in spec.gdrive_ids:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{spec.filename}.", suffix=".part", dir=target.parent)
        os.close(fd)
        tmp = Path(tmp_name)
        try:
            if file_id == spec.gdrive_ids[0]:  # the other ids are mirrors of the same file
                notice(f"downloading the {spec.name} weights ({spec.size_mb:.0f} MB) from Google Drive, once")
            result = gdown.download(id=file_id, output=str(tmp), quiet=False)
            if not result or not tmp.is_file() or tmp.stat().st_size == 0:
                raise OSError("empty download")
            load_checked(spec, tmp)
            os.replace(tmp, target)
            return target
        except VbgError as exc:
            errors.append(str(exc))
        except (requests.ConnectionError, requests.Timeout):
            errors.append(NO_CONNECTION)
        except Exception as exc:  # gdown raises requests errors, its own errors, OSError...
            errors.append(f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:200])
        finally:  # also on Ctrl-C: no partial file may stay in the cache
            tmp.unlink(missing_ok=True)
            for leftover in target.parent.glob(f"{tmp.name}*.part"):  # gdown's own resumable partial file
                leftover.unlink(missing_ok=True)
    fetch = f"https://drive.google.com/uc?id={spec.gdrive_ids[0]}"
    if all(e == NO_CONNECTION for e in errors):  # no try reached the server: say that, not the library's text
        raise VbgError(f"no network to download the {spec.name} weights: copy {spec.filename} ({fetch}) into "
                       f"{target.parent}/ or pass --weights PATH")
    raise VbgError(f"could not download {spec.filename} ({'; '.join(errors)}): download it from {fetch} and copy "
                   f"it into {target.parent}/, or pass --weights PATH")


def _guess_model(state: dict) -> str | None:
    """Which registered architecture a state_dict belongs to, judged by its first conv's width."""
    w = state.get("stage1.rebnconvin.conv_s1.weight")
    if w is None or len(getattr(w, "shape", ())) != 4:
        return None
    return {16: "u2net_lite", 32: "u2net"}.get(int(state.get("stage1.rebnconv1.conv_s1.weight", w).shape[0]))


def load_checked(spec: ModelSpec, path: Path) -> "nn.Module":
    """Load ``path`` into ``spec``'s architecture with ``strict=True``, in eval mode.

    Turns the ways a checkpoint goes wrong (truncated file, not a checkpoint, another architecture) into a
    VbgError that says which one it is and what to do.
    """
    import torch

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise VbgError(f"weights file {path} is truncated or not a PyTorch checkpoint "
                       f"({type(exc).__name__}): delete it and download it again, or pass a good --weights file"
                       ) from None
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise VbgError(f"weights file {path} holds a {type(state).__name__}, not a state_dict: "
                       f"pass the official {spec.filename}")
    module = spec.new_module()
    try:
        module.load_state_dict(state, strict=True)
    except RuntimeError:
        guess = _guess_model(state)
        hint = (f"they look like {guess} weights: use --model {guess}" if guess and guess != spec.name
                else f"pass the official {spec.filename}")
        raise VbgError(f"weights file {path} does not fit the {spec.name} ({spec.arch}) architecture: {hint}"
                       ) from None
    return module.eval()
