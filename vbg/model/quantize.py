"""INT8 post-training quantisation of the cached fp32 backbone with NNCF, once per model, cached like the other IRs.

The backbone (``convert.build_backbone``) takes any input size, so it is quantised once and every size is then
built from the int8 backbone as from the fp32 one (``fuse.fused_model``): a new size costs a tenth of a second,
not another quantisation.  Calibration items are the frames of ``samples/person_720p.mp4`` plus
``samples/person.jpg`` by default, or the images and videos of a folder the user gives (``--calibration DIR``),
each put through the folded input handling (``convert.backbone_inputs``) at the size ``--size auto`` gives its shape.

What NNCF is told, and why (measured on the 18 reference images, mean MAE vs the official maps, 320x320):

- The folded pre- and postprocessing are not part of the backbone, so they stay in float; the weighting of the
  side maps at its end is kept in float through ``IgnoredScope``.
- Bias correction is off.  U2NETP has batch-norm-folded channels with almost-zero weights and large biases;
  fast bias correction moved the mask far from the reference (MAE 0.089), the full algorithm less (0.052).
- Convolutions whose input has a few channels far larger than the rest stay in float.  One activation scale per
  tensor cannot cover both; in U2NETP this is exactly one layer (``stage2d.rebnconv1d``, largest channel 18x the
  median; the next worst layer is 8x).  With it kept in float the MAE is 0.0048 instead of 0.052.

torch is not needed here and nncf is imported only when a model is actually quantised: a cached INT8 start
hashes the calibration files for the cache key, nothing more.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import openvino as ov

from ..errors import VbgError, notice
from ..media.frames import VIDEO_EXTENSIONS
from .ircache import cached_ir

#: Where the default calibration media live: package data, so an installed wheel has them (the repository's
#: ``samples/`` links to the same files).
SAMPLES = Path(__file__).resolve().parents[1] / "assets" / "samples"  # package data (vbg/assets)
DEFAULT_CALIBRATION = ("person_720p.mp4", "person.jpg")
#: At most this many frames are used (NNCF's ``subset_size``); videos are sampled evenly to stay under it.
#: 32 frames gave the same MAE as 64 (statistics collection costs about a second per frame on 2 cores).
SUBSET_SIZE = 32
#: A convolution stays in float when its largest input channel exceeds the median channel by this factor.
OUTLIER_RATIO = 12.0
#: Part of the cache key; bumped whenever the recipe above changes, so older cached INT8 IRs are not reused.
RECIPE = f"r2s{SUBSET_SIZE}"  # r2: the backbone, once for every size, on the folded input handling's tensors


def nncf_version() -> str:
    """NNCF's version without importing it (importing nncf takes seconds and pulls in a lot)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("nncf")
    except PackageNotFoundError:
        raise VbgError("precision int8 needs NNCF: pip install nncf") from None


@dataclass(frozen=True)
class CalibrationSet:
    """The files calibration frames come from, and a hash of their names and contents for the cache key."""

    files: tuple[Path, ...]
    sha256: str

    @classmethod
    def find(cls, folder: str | Path | None = None) -> "CalibrationSet":
        """The default sample media, or every image and video in ``folder`` (not recursive)."""
        from ..media.imageio import IMAGE_EXTENSIONS

        if folder is None:
            files = [SAMPLES / name for name in DEFAULT_CALIBRATION]
            missing = [f for f in files if not f.is_file()]
            if missing:
                raise VbgError(f"calibration media {missing[0]} not found (a damaged install): reinstall vbg, or "
                               f"pass --calibration DIR with a few images or a clip of people")
        else:
            root = Path(folder)
            if not root.is_dir():
                raise VbgError(f"calibration folder {root} does not exist: give a folder of images or videos")
            files = sorted(p for p in root.iterdir()
                           if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS + VIDEO_EXTENSIONS)
            if not files:
                raise VbgError(f"calibration folder {root} has no images or videos "
                               f"({', '.join(IMAGE_EXTENSIONS + VIDEO_EXTENSIONS)})")
        h = hashlib.sha256()
        for path in files:
            h.update(path.name.encode() + b"\0")
            with open(path, "rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    h.update(chunk)
        return cls(tuple(files), h.hexdigest())

    def frames(self, limit: int = SUBSET_SIZE) -> list[np.ndarray]:
        """Up to ``limit`` BGR uint8 frames: every image, then evenly spaced frames of the videos."""
        from ..media.imageio import read_image
        from ..media.sources import open_source

        images = [read_image(p) for p in self.files if p.suffix.lower() not in VIDEO_EXTENSIONS]
        videos = [p for p in self.files if p.suffix.lower() in VIDEO_EXTENSIONS]
        budget = max(limit - len(images), 0)
        frames: list[np.ndarray] = []
        for i, path in enumerate(videos):
            decoded = [f.image for f in open_source(str(path))]
            share = budget // len(videos) + (1 if i < budget % len(videos) else 0)
            if decoded and share:
                picks = np.linspace(0, len(decoded) - 1, min(share, len(decoded))).round().astype(int)
                frames.extend(decoded[j] for j in picks)
        frames.extend(images)
        if not frames:
            raise VbgError("no calibration frames could be read: check the calibration media")
        return frames[:limit]


def int8_dirname(fp32_dirname: str, calibration: CalibrationSet) -> str:
    """An int8 cache entry's name: the fp32 key's with the precision swapped, plus the calibration hash, NNCF's
    version and the recipe."""
    return (fp32_dirname.replace("-fp32-", "-int8-", 1)
            + f"-cal{calibration.sha256[:12]}-nncf{nncf_version()}-{RECIPE}")


def shipped_int8_name(fp32_shipped_name: str, calibration: CalibrationSet) -> str:
    """The shipped int8 backbone's name for a shipped fp32 name: without NNCF's version, which only made it."""
    return fp32_shipped_name.replace("-fp32-", "-int8-", 1) + f"-cal{calibration.sha256[:12]}-{RECIPE}"


def _float_regions(model: ov.Model) -> list[str]:
    """Names of the ops before the first and after the last convolutions: the folded pre/postprocessing."""
    names: list[str] = []
    for forward in (True, False):
        seen: set[str] = set()
        stack = list(model.get_parameters() if forward else model.get_results())
        while stack:
            node = stack.pop()
            name = node.get_friendly_name()
            if name in seen or node.get_type_name() == "Convolution":
                continue
            seen.add(name)
            if node.get_type_name() not in ("Parameter", "Result", "Constant"):
                names.append(name)
            if forward:
                stack.extend(t.get_node() for out in node.outputs() for t in out.get_target_inputs())
            else:
                stack.extend(i.get_source_output().get_node() for i in node.inputs())
    return names


def outlier_convolutions(model: ov.Model, inputs: list[np.ndarray], ratio: float = OUTLIER_RATIO) -> list[str]:
    """Convolutions whose input's largest channel (max |x| over ``inputs``) exceeds the median channel ``ratio``x.

    Runs the float model once per input with each convolution input's per-channel peak added as an output (the
    peaks are reduced inside OpenVINO: copying the whole activations out to NumPy took 28 s of a minute).
    """
    import openvino.opset13 as ops

    model = model.clone()  # the peak nodes hang off its convolutions' inputs
    convs = [op for op in model.get_ordered_ops() if op.get_type_name() == "Convolution"]
    axes = ops.constant(np.array([0, 2, 3], np.int64))
    peak_outputs = [ops.reduce_max(ops.abs(conv.input_value(0)), axes, keep_dims=False).output(0) for conv in convs]
    probe = ov.Model(peak_outputs, model.get_parameters(), "peaks")
    compiled = ov.Core().compile_model(probe, "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    peaks: list[np.ndarray] | None = None
    for item in inputs:
        current = list(compiled(item).values())
        peaks = current if peaks is None else [np.maximum(a, b) for a, b in zip(peaks, current)]
    assert peaks is not None
    return [conv.get_friendly_name() for conv, peak in zip(convs, peaks)
            if peak.max() > ratio * max(float(np.median(peak)), 1e-6)]


#: calibration frames -> the backbone's float inputs (``convert.backbone_inputs``: the folded input handling)
Prepare = Callable[[list[np.ndarray]], list[np.ndarray]]


def build_int8_backbone(fp32_xml: Path, final: Path, calibration_set: CalibrationSet, prepare: Prepare,
                        force: bool = False) -> Path:
    """The INT8 backbone in the cache entry ``final``, quantised from the fp32 backbone at ``fp32_xml`` first if
    needed: once per model, weights and calibration, for every input size.  ``prepare`` turns the calibration
    frames into what the backbone reads.  Returns the .xml.  Same cache rules as every IR
    (``vbg.model.ircache``)."""

    def quantize() -> tuple[ov.Model, dict]:
        if not final.is_dir():  # the first time; a damaged entry says so itself (ircache)
            notice(f"first use of int8 for {final.name.split('-')[0]}: quantising it with NNCF once, "
                   f"about a minute on 2 cores, for every input size; later runs load it from {final.parent}")
        return quantize_model(fp32_xml, calibration_set, prepare)

    return cached_ir(final, quantize, force=force, doing="quantising")


def quantize_model(fp32_xml: Path, calibration: CalibrationSet, prepare: Prepare) -> tuple[ov.Model, dict]:
    """Quantise the fp32 backbone at ``fp32_xml``; returns the model and its cache metadata.

    NNCF's own output is kept out of vbg's lines: its INFO log is off, and its "Statistics collection" bars
    (rich, on stdout; NNCF has no switch for them) go nowhere. vbg's notice has said what is going on."""
    import contextlib
    import io
    import logging

    import nncf

    nncf.set_log_level(logging.WARNING)
    start = time.perf_counter()
    model = ov.Core().read_model(fp32_xml)
    frames = calibration.frames()
    inputs = prepare(frames)
    keep_float = outlier_convolutions(model, inputs)
    ignored = nncf.IgnoredScope(names=_float_regions(model) + keep_float, validate=False)
    with contextlib.redirect_stdout(io.StringIO()):
        quantized = nncf.quantize(
            model, nncf.Dataset(inputs), subset_size=len(inputs), ignored_scope=ignored,
            advanced_parameters=nncf.AdvancedQuantizationParameters(disable_bias_correction=True))
    meta = json.loads((fp32_xml.parent / "meta.json").read_text())
    meta.pop("files", None)
    meta.update({"precision": "int8", "nncf": nncf_version(), "recipe": RECIPE,
                 "calibration": [str(f) for f in calibration.files], "calibration_sha256": calibration.sha256,
                 "calibration_frames": len(frames), "float_convolutions": keep_float,
                 "quantize_seconds": round(time.perf_counter() - start, 1)})
    return quantized, meta
