"""PyTorch checkpoint -> OpenVINO IR, with the input and output handling folded into the model.

The IR takes what a camera or decoder gives (``uint8``, NHWC, BGR, any frame size) and returns an 8-bit alpha
matte at the model resolution.  Everything in between runs inside OpenVINO: resize, BGR->RGB, the
divide-by-image-maximum of the official preprocessing, ImageNet mean/scale, and the final scaling to 0..255.
Callers therefore do no per-frame numpy work before inference.

Converted models are cached on disk, keyed by everything that changes the IR (weights hash, model, input size,
IR precision, resize mode, OpenVINO version).  Torch traces the network once per model and weights, with a
dynamic input (the backbone); each input size is made from that backbone without torch (``vbg.model.fuse``), so a
new photo shape costs a tenth of a second and a compile, not a conversion.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import openvino as ov
import openvino.opset13 as ops
from openvino.preprocess import ColorFormat, PrePostProcessor, ResizeAlgorithm

from .. import choices
from ..errors import VbgError, notice
from . import fuse
from .ircache import cached_ir, ir_problem
from .weights import ModelSpec, file_sha256, load_checked


MEAN_RGB = (123.675, 116.28, 103.53)
SCALE_RGB = (58.395, 57.12, 57.375)

#: Resize modes for the folded preprocessing.  "antialias" (Pillow-style bilinear, which widens the filter when
#: shrinking) reproduces the reference masks best; "fast" (plain bilinear) saves ~25 ms per 720p frame on 2
#: cores.  See docs/measurements.md for the measured trade-off.
RESIZE_MODES = dict(zip(choices.RESIZE_MODES, (ResizeAlgorithm.RESIZE_BILINEAR_PILLOW, ResizeAlgorithm.RESIZE_LINEAR)))
PRECISIONS = choices.PRECISIONS


@dataclass(frozen=True)
class InputSize:
    """Model input size in pixels.  Any multiple of 32 works: U^2-Net pools five times."""

    width: int
    height: int

    @classmethod
    def parse(cls, value: "str | int | InputSize") -> "InputSize":
        """Accept ``320``, ``"320"`` or ``"320x192"`` (width x height); for ``auto`` see ``resolve_size``."""
        if isinstance(value, InputSize):
            return value
        text = str(value).lower().strip()
        try:
            parts = [int(p) for p in text.split("x")] if "x" in text else [int(text)] * 2
            width, height = parts
        except ValueError:
            raise VbgError(f"bad input size {value!r}: use auto, auto:N, N or WxH, e.g. auto, 320 or 352x192"
                           ) from None
        if width <= 0 or height <= 0 or width % 32 or height % 32 or max(width, height) > 2048:
            raise VbgError(f"bad input size {value!r}: width and height must be multiples of 32 between 32 and 2048")
        return cls(width, height)

    def __str__(self) -> str:
        return f"{self.width}x{self.height}"

    @classmethod
    def for_frame(cls, width: int, height: int, pixels: int, ceiling: bool = False) -> "InputSize":
        """The multiple-of-32 size closest to the frame's aspect with about ``pixels`` pixels (``ceiling``: at
        most that many).

        Why: U2NETP is fully convolutional, so a 16:9 camera frame need not be squeezed into a square; the same
        pixel budget (the same cost) spent on the frame's own shape keeps people their real width.  Among the
        sizes within 15 % of the budget (85-100 % with ``ceiling``), the one whose aspect is nearest the frame's
        wins.  Video takes the ceiling, so ``auto`` never costs more than the square it replaces: 1280x720 with
        a 256x256 budget gives 320x192 (352x192, 3 % over, measured 0.96 of the square's speed).  Stills take
        the nearest aspect: a 550x832 full-body photo gets 224x320 rather than 192x320, which scored 0.91
        instead of 0.90 on the full-body validation photos (docs/person-model.md).
        """
        aspect = width / height
        low, high = (AUTO_FILL, 1.0) if ceiling else (1 - AUTO_SLACK, 1 + AUTO_SLACK)
        best = None
        for w in range(32, 2049, 32):
            for h in range(32, 2049, 32):
                if not low * pixels <= w * h <= high * pixels:
                    continue
                score = (abs(math.log(w / h / aspect)), abs(w * h - pixels))
                if best is None or score < best[0]:
                    best = (score, cls(w, h))
        if best is None:
            raise VbgError(f"no input size of about {pixels} pixels fits a {width}x{height} frame")
        return best[1]


#: ``--size auto``: the frame's aspect at about AUTO_SIDE x AUTO_SIDE pixels (docs/person-model.md measures it).
AUTO_SIDE = 256
#: ``auto`` sizes for stills lie within 15 % of that budget; for video within 85-100 % of it: never more than
#: the square (so never slower), never much less.
AUTO_SLACK = 0.15
AUTO_FILL = 0.85
#: The frame assumed when ``auto`` has no frame to follow (a 720p camera).
DEFAULT_FRAME = (1280, 720)


def resolve_size(value: "str | int | InputSize", frame: tuple[int, int] | None = None, video: bool = False
                 ) -> InputSize:
    """The model input size for ``value`` and frames of ``frame`` = (width, height).

    ``auto`` follows the frame's aspect at about AUTO_SIDE² pixels (``auto:N``: N² pixels; ``video``: at most),
    so a 16:9 camera gets 320x192 and a 3:4 portrait 224x288 instead of a square that squeezes people; N and
    WxH are fixed sizes."""
    text = str(value).lower().strip()
    if not text.startswith("auto"):
        return InputSize.parse(value)
    side = text.partition(":")[2]
    try:
        side_px = int(side) if side else AUTO_SIDE
    except ValueError:
        side_px = 0
    if text[4:5] not in ("", ":") or not 32 <= side_px <= 2048:
        raise VbgError(f"bad input size {value!r}: use auto or auto:N with N between 32 and 2048, e.g. auto:256")
    width, height = frame or DEFAULT_FRAME
    return InputSize.for_frame(width, height, side_px * side_px, ceiling=video)


def ir_precision(precision: str) -> str:
    """The weight format stored on disk for a runtime precision (bf16 runs the fp32 IR)."""
    return "fp16" if precision == "fp16" else "fp32"


def openvino_version() -> str:
    """OpenVINO's release number, e.g. ``2026.4.1`` (the build hash is left out of cache keys)."""
    return ov.get_version().split("-")[0]


#: what the first-use line promises: tracing and converting the backbone, measured 15-25 s on 2 cores (torch import,
#: tracing, conversion); every input size after that is built from it in about 0.1 s (``vbg.model.fuse``)
CONVERT_SECONDS = 25

#: how the graph is built: 2 = the fused map from matrix-product side resizes; 3 = the same, around a backbone
#: converted once for every size (``u2net.WeightedSides`` + ``fuse.fused_model``)
GRAPH_VERSION = 3
#: how a model is assembled around its backbone: 2 = the colour swap after the resize (``fold_input``: same
#: values, the swap 0.3 ms instead of 4 on a whole 720p frame); 3 = opset1 max pools (``fuse.plain_max_pools``:
#: int8 after each pool)
ASSEMBLY_VERSION = 3
BACKBONE = "backbone"  # the size part of a backbone entry's name
#: the size of a model that runs every input size (``fuse.any_size_model``): one compile serves photos of every
#: shape, each resized outside the model to its own ``auto`` size (``Segmenter`` with ``any_size``)
ANY_SIZE = "any"
#: Backbones made from the bundled person weights ship with vbg (``python -m vbg.model.shipped``), so the default
#: model needs neither torch nor NNCF on first use: each size is built from them in a tenth of a second.
SHIPPED_IR = Path(__file__).resolve().parents[1] / "assets" / "ir"


@dataclass(frozen=True)
class IRKey:
    """Everything that changes a converted model; its string form names the cache entry.  ``size`` None is the
    backbone (any size, no folded input handling), from which each size's entry is built."""

    model: str
    weights_sha256: str
    size: InputSize | str | None  # an InputSize, ANY_SIZE or None (the backbone)
    precision: str  # the IR's weight format: fp32 or fp16
    resize: str | None  # None for the backbone and ANY_SIZE (their inputs come at the size they run)
    openvino: str

    @property
    def dirname(self) -> str:
        shape = (f"{BACKBONE}-{self.precision}" if self.size is None else f"{self.size}-{self.precision}"
                 if self.size == ANY_SIZE else f"{self.size}-{self.precision}-{self.resize}")
        assembly = "" if self.size is None else f"a{ASSEMBLY_VERSION}"
        return f"{self.model}-{shape}-{self.weights_sha256[:12]}-ov{self.openvino}-g{GRAPH_VERSION}{assembly}"

    @property
    def shipped_name(self) -> str:
        """A backbone's name among the shipped ones: no OpenVINO version, since any later OpenVINO reads the IR."""
        return f"{self.model}-{BACKBONE}-{self.precision}-{self.weights_sha256[:12]}-g{GRAPH_VERSION}"


def shipped_backbone(name: str) -> Path | None:
    """The ``model.xml`` of the shipped backbone ``name`` (see ``SHIPPED_IR``), or None if vbg has none intact."""
    folder = SHIPPED_IR / name
    return folder / "model.xml" if ir_problem(folder) is None else None


def fold_input(model: ov.Model, resize: str | None) -> PrePostProcessor:
    """A PrePostProcessor that makes ``model`` take uint8 NHWC BGR frames of any size (``build()`` it); with
    ``resize`` None (an ``ANY_SIZE`` model), frames come already at the size the model runs them at.

    Order matters for accuracy: resize first (on float), then the official "divide by the image maximum"
    (written as ``x * 255 / max(x)`` so the mean/scale stay in 0..255 units), then mean and scale.  And for
    speed: the BGR->RGB swap comes after the resize, on the model's pixels rather than the frame's (the same
    values; on a whole 720p frame the swap alone took about 4 ms of the network's 50 on one thread,
    ``ASSEMBLY_VERSION``).
    """
    try:
        algorithm = None if resize is None else RESIZE_MODES[resize]
    except KeyError:
        raise VbgError(f"unknown resize mode {resize!r}: choose one of {', '.join(RESIZE_MODES)}") from None

    def divide_by_max(node: ov.Output) -> ov.Output:
        peak = ops.reduce_max(node, ops.constant(np.array([1, 2, 3], np.int64)), keep_dims=True)
        peak = ops.maximum(peak, ops.constant(np.float32(1.0)))  # a black frame stays black, not NaN
        return ops.multiply(node, ops.divide(ops.constant(np.float32(255.0)), peak)).output(0)

    ppp = PrePostProcessor(model)
    tensor = ppp.input().tensor() \
        .set_element_type(ov.Type.u8) \
        .set_layout(ov.Layout("NHWC")) \
        .set_color_format(ColorFormat.BGR)
    ppp.input().model().set_layout(ov.Layout("NCHW"))
    steps = ppp.input().preprocess().convert_element_type(ov.Type.f32)
    if algorithm is not None:
        tensor.set_spatial_dynamic_shape()
        steps.resize(algorithm)
    steps.convert_color(ColorFormat.RGB) \
        .custom(divide_by_max) \
        .mean(list(MEAN_RGB)) \
        .scale(list(SCALE_RGB))
    return ppp


def fold_preprocessing(model: ov.Model, resize: str | None) -> ov.Model:
    """Make ``model`` take uint8 NHWC BGR frames of any size (``fold_input``) and return a uint8 matte."""
    def to_u8_range(node: ov.Output) -> ov.Output:
        return ops.add(ops.multiply(node, ops.constant(np.float32(255.0))), ops.constant(np.float32(0.5))).output(0)

    ppp = fold_input(model, resize)
    ppp.output().postprocess().custom(to_u8_range)
    ppp.output().tensor().set_element_type(ov.Type.u8)
    return ppp.build()


def preprocessor(size: InputSize, resize: str) -> ov.Model:
    """Frames -> the float NCHW tensor the backbone reads at ``size``: the folded input handling alone (what
    calibration feeds the backbone, so that it sees exactly what it will see at run time)."""
    param = ops.parameter([1, 3, size.height, size.width], np.float32, name="x")
    return fold_input(ov.Model([ops.result(param)], [param], "input"), resize).build()


def backbone_inputs(frames: list[np.ndarray]) -> list[np.ndarray]:
    """The backbone's float input for each frame, made by the folded input handling itself (``preprocessor``) at
    the size ``--size auto`` gives the frame's shape (the backbone takes any): what int8 calibration feeds it."""
    core, made = ov.Core(), {}
    inputs = []
    for frame in frames:
        size = resolve_size("auto", (frame.shape[1], frame.shape[0]))
        if size not in made:
            made[size] = core.compile_model(preprocessor(size, "antialias"), "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
        inputs.append(np.array(made[size](np.ascontiguousarray(frame)[None])[0]))
    return inputs


def convert_backbone(spec: ModelSpec, weights: Path, module=None) -> ov.Model:
    """Trace the checkpoint's weighted side maps (``u2net.WeightedSides``) with ``openvino.convert_model``, with a
    dynamic spatial input, so that ``fuse.fused_model`` can make any size of it."""
    import torch

    from .u2net import WeightedSides

    module = module if module is not None else load_checked(spec, weights)
    with torch.no_grad():
        return ov.convert_model(WeightedSides(module), example_input=torch.zeros(1, 3, 256, 256),
                                input=[(1, 3, -1, -1)])


def convert_to_openvino(spec: ModelSpec, weights: Path, size: InputSize, module=None) -> ov.Model:
    """The network at ``size`` without folded input handling (float NCHW RGB in, the fused map out)."""
    return fuse.fused_model(convert_backbone(spec, weights, module), size.height, size.width)


def build_backbone(spec: ModelSpec, weights: Path, precision: str, cache: Path, force: bool = False) -> Path:
    """The backbone IR (``precision`` fp32 or fp16 weights): the shipped one for the bundled weights, else the
    cached one, converted first if needed: the only step that needs torch, once per model and weights, whatever
    the sizes.  ``force`` converts again, shipped or not."""
    key = IRKey(spec.name, file_sha256(weights), None, precision, None, openvino_version())
    shipped = None if force else shipped_backbone(key.shipped_name)
    if shipped is not None:
        return shipped
    entry = cache / "ir" / key.dirname

    def convert() -> tuple[ov.Model, dict]:
        module = load_checked(spec, weights)  # a bad checkpoint is its own one-line error, before the notice
        fp16 = " in fp16" if precision == "fp16" else ""
        if not entry.is_dir():  # the first time; a damaged entry says so itself (ircache)
            notice(f"first use of {spec.name}{fp16}: converting it to OpenVINO once, about {CONVERT_SECONDS} s on "
                   f"2 cores; later runs, at any size, load it from {cache / 'ir'}")
        return convert_backbone(spec, weights, module), {
            "model": spec.name, "weights": str(weights), "weights_sha256": key.weights_sha256, "input_size": "any",
            "precision": precision, "openvino": key.openvino, "graph": GRAPH_VERSION}

    return cached_ir(entry, convert, force=force, compress_to_fp16=precision == "fp16")


def build_ir(spec: ModelSpec, weights: Path, size: InputSize | str, precision: str, resize: str,
             cache: Path, force: bool = False, calibration: str | Path | None = None) -> Path:
    """The cached IR for these settings, made from the model's backbone if needed.  Returns the ``.xml`` path.

    The backbone is converted (or, for ``int8``, quantised on the frames of ``calibration``, a folder; default:
    the bundled samples, see ``vbg.model.quantize``) once per model; each size's entry is that backbone reshaped
    with the fused output and the input handling added, a tenth of a second.  Entries are locked, written and
    checked as every cache entry is (``vbg.model.ircache``).  ``force`` makes the backbone and the entry again.
    ``size`` ``ANY_SIZE`` builds the model that runs every size (no folded resize: ``resize`` is then the
    caller's, outside the model).
    """
    if precision not in PRECISIONS:
        raise VbgError(f"unknown precision {precision!r}: choose one of {', '.join(PRECISIONS)}")
    if resize not in RESIZE_MODES:
        raise VbgError(f"unknown resize mode {resize!r}: choose one of {', '.join(RESIZE_MODES)}")
    any_size = size == ANY_SIZE
    key = IRKey(spec.name, file_sha256(weights), size, ir_precision(precision), None if any_size else resize,
                openvino_version())
    if precision == "int8":
        from .quantize import CalibrationSet, build_int8_backbone, int8_dirname, shipped_int8_name

        calibration_set = CalibrationSet.find(calibration)  # a bad folder fails before any conversion
        entry = cache / "ir" / int8_dirname(key.dirname, calibration_set)

        def find_backbone() -> Path:
            fp32 = IRKey(spec.name, key.weights_sha256, None, "fp32", None, key.openvino)
            shipped = None if force else shipped_backbone(shipped_int8_name(fp32.shipped_name, calibration_set))
            return shipped or build_int8_backbone(build_backbone(spec, weights, "fp32", cache),
                                                  cache / "ir" / int8_dirname(fp32.dirname, calibration_set),
                                                  calibration_set, backbone_inputs, force)
    else:
        entry = cache / "ir" / key.dirname

        def find_backbone() -> Path:
            return build_backbone(spec, weights, key.precision, cache, force)

    def assemble() -> tuple[ov.Model, dict]:
        """Only when the entry is missing or damaged: a start that finds it checks no backbone."""
        path = find_backbone()
        backbone = ov.Core().read_model(path)
        model = (fold_preprocessing(fuse.any_size_model(backbone), None) if any_size else
                 fold_preprocessing(fuse.fused_model(backbone, size.height, size.width), resize))
        meta = json.loads((path.parent / "meta.json").read_text())
        meta.pop("files", None)
        meta.update({"input_size": str(size), "resize": key.resize, "backbone": path.parent.name})
        return model, meta

    return cached_ir(entry, assemble, force=force, compress_to_fp16=key.precision == "fp16")
