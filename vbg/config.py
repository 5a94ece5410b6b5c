"""Run settings: one dataclass, YAML presets (``vbg/presets/``, by name), and validation that names the offending
flag or key.

Precedence is defaults < ``--config FILE`` < command-line flags.  YAML keys are the long flag names with
underscores (``--max-frames`` -> ``max_frames``).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import VbgError
from .choices import FIT_MODES, LIVE_MASKS, PRECISIONS, RESIZE_MODES
from .model.settings import DEFAULT_DEVICE
from .model.weights import DEFAULT_MODEL, MODELS


@dataclass
class RunConfig:
    """Everything ``vbg run`` needs.  Field comments are the user documentation of each key."""

    # input
    input: str = "0"  # camera index or device path, video/image file, URL, or lavfi:FILTER
    input_format: str | None = None  # force a PyAV/FFmpeg input format (e.g. lavfi, v4l2, mpegts)
    loop: bool = False  # restart a file input at its end
    live: bool | None = None  # live contract (drop stale frames); default: yes for cameras, no for files
    aligned: bool = False  # live: pair each frame with its own mask (model-rate output, more latency)
    live_masks: str = "auto"  # live: own (each frame waits for its mask), newest, or auto (own if the model keeps up)
    camera_width: int | None = None
    camera_height: int | None = None
    camera_fps: float | None = None
    reconnect: int = 3  # live inputs (camera, FIFO, URL): reopen attempts with backoff after it is lost
    # outputs (any combination)
    output: str | None = None  # video file (.mp4/.mkv/.mov/.webm)
    window: bool = False
    vcam: bool = False
    vcam_device: str | None = None
    vcam_backend: str | None = None
    vcam_always: bool = False  # keep capturing and inferring while no app has the virtual camera open
    null: bool = False  # discard output (benchmarks)
    overwrite: bool = False  # replace an existing output file (-y); otherwise the run refuses before any work
    codec: str | None = None  # default: libx264 (yuv420p), or an alpha-capable codec with transparent
    crf: int | None = 23
    preset: str | None = "veryfast"
    # model
    model: str = DEFAULT_MODEL
    device: str = DEFAULT_DEVICE  # a GPU where OpenVINO lists one (integrated first), else the CPU
    # The person model at the frame's aspect in at most 256x256 pixels (320x192 for 720p; a live input steps
    # down when the model cannot keep up); precision from the CPU's abilities for files, and for live inputs
    # the most accurate one that keeps 1.5x the camera's rate; plain resize: docs/person-model.md has the
    # tables this was chosen from.
    size: str = "auto"
    precision: str = "auto"
    resize: str = "fast"
    weights: str | None = None
    cache_dir: str | None = None
    calibration: str | None = None  # int8: folder of images/videos to calibrate on (default: the samples)
    requests: int | None = None  # async infer requests; default: the device's optimal number
    # the change gate (vbg/pipeline/gate.py): run the model only on frames whose picture changed, reuse the last
    # mask (moved with the picture) on the others; null = on (false: the model runs on every frame)
    gate: bool | None = None
    gate_age: int = 30  # frames: with the gate, the model still runs at least this often
    gate_threshold: float = 1.0  # mean grey-level change of a 160 px thumbnail that counts as a change
    threads: int | None = None  # CPU inference threads; default: all cores (vbg batch sets it per worker)
    # background
    background: list[str] = field(default_factory=list)  # images or videos; the first is used, keys cycle
    color: str | None = None
    blur: int | None = None
    transparent: bool = False
    fit: str = "cover"  # how pictures fill the frame: cover (crop), contain (letterbox) or stretch
    # mask refinement (see vbg/compose/refine.py)
    refine: bool = True  # false: the model's soft mask, bilinear upsampling, no smoothing
    ramp: str | None = "64,192"  # alpha levels mapped to 0 and 255, soft in between; "off" keeps the raw map
    guided: bool = True  # edge-aware upsampling guided by the frame
    feather: float = 0.7  # edge softening, Gaussian sigma in pixels (0 = off)
    smooth: float = 0.75  # temporal smoothing where successive masks agree, 0..<1 (0 = off)
    # display and control
    overlay: bool | None = None  # FPS overlay: None = in the preview window only; true = in every output too
    max_frames: int | None = None
    progress: bool = True
    snapshot_dir: str = "."
    name: str | None = None  # live runs: the name vbg ctl --name steers this run by (default: default, or default-2 ...)
    mirror: bool | None = None  # None: the live preview window is mirrored; true: every output too; false: none
    panel: int | None = None  # live runs: serve the control page on 127.0.0.1 at this port (0: a free one)


CHOICES = {  # the lists the model and compositing modules define, so a new choice needs no edit here
    "precision": ("auto", *PRECISIONS),
    "live_masks": LIVE_MASKS,
    "resize": tuple(RESIZE_MODES),
    "model": tuple(MODELS),
    "fit": FIT_MODES,
}
POSITIVE = ("camera_width", "camera_height", "camera_fps", "requests", "threads", "max_frames", "blur", "gate_age")


def _check_type(name: str, value: Any, annotation: Any) -> Any:
    """Coerce/validate one value against the field's annotation, or raise naming it (``name``: see ``_name``)."""
    is_union = typing.get_origin(annotation) in (typing.Union, types.UnionType)
    args = typing.get_args(annotation) if is_union else ()
    optional = type(None) in args
    if value is None:
        if optional:
            return None
        raise VbgError(f"{name} must not be empty")
    base = next((a for a in args if a is not type(None)), annotation) if args else annotation
    origin = typing.get_origin(base)
    if origin is list:
        items = value if isinstance(value, list) else [value]
        if not all(isinstance(v, (str, Path)) for v in items):
            raise VbgError(f"{name} must be a list of paths, got {value!r}")
        return [str(v) for v in items]
    if base is bool:
        if not isinstance(value, bool):
            raise VbgError(f"{name} must be true or false, got {value!r}")
        return value
    if base is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise VbgError(f"{name} must be a whole number, got {value!r}")
        return value
    if base is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise VbgError(f"{name} must be a number, got {value!r}")
        return float(value)
    if base is str:
        if isinstance(value, (dict, list, bool)):
            raise VbgError(f"{name} must be text, got {value!r}")
        return str(value)
    return value


def validate(values: dict[str, Any], origin: str = "config") -> dict[str, Any]:
    """Check keys and values; returns the coerced values.  Errors name the flag (``origin`` "option": the
    command line) or the file and its key, as the user wrote it."""
    hints = typing.get_type_hints(RunConfig)
    clean = {}
    for key, value in values.items():
        if key not in hints:
            near = [k for k in hints if k.startswith(str(key)[:3])]  # YAML keys may be numbers or null
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            raise VbgError(f"{origin}: unknown key {key!r}{hint}; see vbg presets --show webcam for the valid keys")
        name = _name(key, origin)
        if key == "ramp" and (value is False or isinstance(value, list)):  # YAML `off` / `[8, 248]`
            value = ",".join(str(v) for v in value) if value else "off"
        value = _check_type(name, value, hints[key])
        if key in CHOICES and value not in CHOICES[key]:
            raise VbgError(f"{name} must be one of {', '.join(CHOICES[key])}, got {value!r}")
        if key in POSITIVE and value is not None and value <= 0:
            raise VbgError(f"{name} must be positive, got {value!r}")
        if key in ("reconnect", "gate_threshold") and value < 0:
            raise VbgError(f"{name} must be 0 or more, got {value!r}")
        if key in ("ramp", "feather", "smooth") and value is not None:
            _check_refinement(key, value, name)
        if key == "panel" and value is not None and not 0 <= value <= 65535:
            raise VbgError(f"{name} must be a port number (1-65535), or 0 for a free one, got {value!r}")
        if key == "crf" and value is not None and not 0 <= value <= 63:
            raise VbgError(f"{name} must be between 0 and 63 (lower: better quality, bigger file), got {value!r}")
        clean[key] = value
    return clean


def _name(key: str, origin: str) -> str:
    """How an error names a setting: on the command line the flag (``--max-frames``), in a file the file and
    its key (``my.yaml: key 'max_frames'``)."""
    if origin == "option":
        return "INPUT" if key == "input" else f"--{key.replace('_', '-')}"
    return f"{origin}: key {key!r}"


def _check_refinement(key: str, value: Any, name: str) -> None:
    """Refinement keys are checked by building the refinement settings they describe."""
    from .compose.refine import RefineConfig

    try:
        RefineConfig.from_settings(**{key: value})
    except VbgError as exc:
        raise VbgError(f"{name}: {exc}") from None


PRESETS = Path(__file__).parent / "presets"  # installed with the package; configs/ in the repository links here


def presets() -> dict[str, Path]:
    """The presets installed with vbg, by name (``webcam`` for ``presets/webcam.yaml``)."""
    return {p.stem: p for p in sorted(PRESETS.glob("*.yaml"))}


def preset_summary(path: Path) -> str:
    """A preset's first comment line: what it is for."""
    for line in path.read_text().splitlines():
        if line.startswith("#"):
            return line.lstrip("# ").strip()
    return ""


def find_config(name: str | Path) -> Path:
    """A ``--config`` value as a file: an existing YAML path, else an installed preset's name (with or
    without ``.yaml``), so ``--config webcam`` works from any folder."""
    p = Path(name)
    if p.is_file():
        return p
    known = presets()
    stem = p.name[:-5] if p.name.endswith(".yaml") else p.name
    if stem in known and (p.parent == Path(".") or p.parent.name == "configs"):
        return known[stem]
    raise VbgError(f"config {name} is neither a file nor a preset: use a YAML file or one of "
                   f"{', '.join(known)} (vbg presets lists them)")


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Read a preset (a file, or an installed preset's name) into validated values."""
    import yaml

    p = find_config(path)
    try:
        data = yaml.safe_load(p.read_text()) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise VbgError(f"config file {p} is not valid YAML{where}: fix the syntax") from None
    if not isinstance(data, dict):
        raise VbgError(f"config file {p} must be a mapping of key: value lines")
    return validate(data, origin=str(p))


def make_config(config_file: str | Path | None = None, **overrides: Any) -> RunConfig:
    """Defaults, then the preset file, then explicit overrides (the CLI's flags)."""
    values: dict[str, Any] = {}
    if config_file:
        values.update(load_yaml(config_file))
    values.update(validate(overrides, origin="option"))
    return dataclasses.replace(RunConfig(), **values)
