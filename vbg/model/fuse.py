"""The fused map, built in OpenVINO around a converted backbone: one conversion serves every input size.

U^2-Net fuses its six side maps with a 1x1 convolution over their concatenation, after resizing five of them to
full size.  A 1x1 convolution over one-channel maps is a weighted sum, and a fixed-size bilinear resize is two
small matrix products (rows x map x columns), which OpenVINO runs faster than Interpolate (docs/architecture.md).
The matrices depend on the input size, so they cannot be traced once for all sizes.  The backbone is therefore
converted once with a dynamic spatial input and returns the six side maps already weighted
(``u2net.WeightedSides``); ``fused_model`` reshapes it to one size and adds the sum, the matrices and the sigmoid
here, in NumPy and OpenVINO ops, in about 0.1 s instead of the 15-25 s that tracing and converting take.
No torch is needed, so a new photo shape or camera size costs a compile, not a conversion.

Photos come in many shapes, and even a compile per shape (0.3-0.5 s, plus the first inference's kernels) adds
up over a folder. ``any_size_model`` is the same network for every size at once: the side maps resized by
Interpolate to the input's own size, so one compiled model serves each photo at its own aspect (a new shape
then costs its first inference's kernels alone, about 0.05 s).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import openvino as ov
import openvino.opset1 as opset1
import openvino.opset13 as ops


def bilinear_matrix(size_out: int, size_in: int) -> np.ndarray:
    """(size_out, size_in) float32 weights of 1-D bilinear resizing with align_corners=False, PyTorch's formula:
    for a fixed size, resizing an (h, w) map equals ``rows @ map @ cols.T``."""
    scale = size_in / size_out
    src = np.clip((np.arange(size_out, dtype=np.float64) + 0.5) * scale - 0.5, 0, None)
    low = np.minimum(np.floor(src).astype(np.int64), size_in - 1)
    high = np.minimum(low + 1, size_in - 1)
    frac = src - low
    weights = np.zeros((size_out, size_in), np.float64)
    rows = np.arange(size_out)
    np.add.at(weights, (rows, low), 1 - frac)
    np.add.at(weights, (rows, high), frac)
    return weights.astype(np.float32)


def plain_max_pools(model: ov.Model) -> None:
    """Replace (in place) the max pools PyTorch's conversion writes (opset14, ``ceil_torch`` rounding, an unused
    indices output) by opset1 max pools with ``ceil`` rounding.

    Why: OpenVINO's CPU plugin carries int8 through an opset1 max pool but not through the newer one, so in the
    int8 network the 33 convolutions after a pool ran in bf16 on dequantised values, a seventh of its time
    (docs/measurements.md).  For U2NETP's pools (2x2, stride 2, no padding) both roundings give
    ``ceil(n / 2)`` and the same values; a pool of any other shape is left as it is."""
    for pool in [op for op in model.get_ordered_ops() if op.get_type_name() == "MaxPool"]:
        a = pool.get_attributes()
        simple = (a["kernel"] == a["strides"] and not any(a["pads_begin"]) and not any(a["pads_end"])
                  and all(d == 1 for d in a.get("dilations", [1])) and a["rounding_type"] in ("ceil", "ceil_torch"))
        if not simple or (pool.get_output_size() > 1 and pool.output(1).get_target_inputs()):
            continue
        plain = opset1.max_pool(pool.input_value(0), a["strides"], a["pads_begin"], a["pads_end"], a["kernel"],
                                "ceil", a["auto_pad"])
        plain.set_friendly_name(pool.get_friendly_name())
        pool.output(0).replace(plain.output(0))
    model.validate_nodes_and_infer_types()


def _network(backbone: ov.Model) -> ov.Model:
    """A copy of ``backbone`` to assemble a model around, its pools made int8-friendly (``plain_max_pools``)."""
    model = backbone.clone()
    plain_max_pools(model)
    return model


def _summed(model: ov.Model, full_size: Callable[[ov.Output], ov.Output]) -> ov.Model:
    """``model``'s side maps, each after the first resized to the input's size by ``full_size``, summed and put
    through the sigmoid: the model with that one output, named ``alpha``.  A single side map is the fused
    probability already and is passed on as it is."""
    sides = [result.input_value(0) for result in model.get_results()]
    fused = sides[0]
    if len(sides) > 1:
        for side in sides[1:]:
            fused = ops.add(fused, full_size(side)).output(0)
        fused = ops.sigmoid(fused).output(0)
    out = ov.Model([fused], model.get_parameters(), "u2net")
    out.outputs[0].get_tensor().set_names({"alpha"})
    return out


def fused_model(backbone: ov.Model, height: int, width: int) -> ov.Model:
    """The network at ``height`` x ``width``: ``backbone`` (float NCHW in, weighted side maps out, any size)
    reshaped, its side maps resized to full size by matrix products, summed and put through the sigmoid.

    A backbone with one output already gives the fused probability (a U^2-Net whose fusing convolution has other
    than six inputs is converted whole); it is only reshaped."""
    model = _network(backbone)
    model.reshape({model.input(0): ov.PartialShape([1, 3, height, width])})

    def by_matrices(side: ov.Output) -> ov.Output:
        side_height, side_width = side.get_shape()[2:]
        rows = ops.constant(bilinear_matrix(height, side_height))
        cols = ops.constant(np.ascontiguousarray(bilinear_matrix(width, side_width).T))
        return ops.matmul(ops.matmul(rows, side, False, False), cols, False, False).output(0)

    return _summed(model, by_matrices)


def any_size_model(backbone: ov.Model) -> ov.Model:
    """The network for every input size: ``backbone``'s side maps resized to the input's height and width by
    bilinear Interpolate (PyTorch's half-pixel rule, as ``bilinear_matrix``), summed, through the sigmoid."""
    model = _network(backbone)
    spatial = ops.constant(np.array([2, 3], np.int64))
    size = ops.gather(ops.shape_of(model.get_parameters()[0]), spatial, ops.constant(np.int64(0)))
    return _summed(model, lambda side: ops.interpolate(side, size, "linear", "sizes", axes=spatial,
                                                       coordinate_transformation_mode="pytorch_half_pixel").output(0))
