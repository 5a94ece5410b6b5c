"""The converted model reproduces the official U2NETP maps, at every precision, through the public API."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from conftest import REFERENCE, modules_loaded_by_cached_start
from helpers import mean_abs_error, reference_pairs

# Mean absolute error on a 0..1 scale against the official maps, per precision (issue #2's bounds).
MAE_BOUNDS = {"fp32": 0.008, "fp16": 0.010, "bf16": 0.010}


@pytest.mark.parametrize("precision", ["fp32", "fp16", "bf16"])
def test_matches_official_maps(make_segmenter, precision):
    segmenter = make_segmenter(precision=precision)
    assert segmenter.precision == precision
    mae = mean_abs_error(segmenter)
    print(f"{precision}: MAE {mae:.4f}")
    assert mae <= MAE_BOUNDS[precision]


def test_one_model_of_every_size_gives_each_photo_its_own_size_and_the_same_matte(make_segmenter):
    """Stills (``any_size``): one compiled model, each photo resized outside it to its own ``auto`` size by the
    filter the folded resize uses; the official maps are still matched, and each photo's matte is the one a
    model of its size alone gives."""
    every = make_segmenter(precision="fp32", any_size=True)
    assert every.any_size and mean_abs_error(every) <= MAE_BOUNDS["fp32"]  # at 320x320, as the official maps
    every = make_segmenter(precision="fp32", size="auto", any_size=True)
    photo = cv2.imread(str(sorted((REFERENCE / "images").iterdir())[0]))
    for rows, cols in ((720, 1280), (800, 600), (333, 500)):
        frame = cv2.resize(photo, (cols, rows), interpolation=cv2.INTER_AREA)
        alone = make_segmenter(precision="fp32", size="auto", frame=(cols, rows))
        assert not alone.any_size and every.model_input(frame).shape[1:3] == (alone.size.height, alone.size.width)
        # levels of 255: Pillow 0.1-0.5 here, OpenCV's area filter 0.9, plain bilinear 1.7-4.4
        assert np.abs(every.infer(frame).astype(np.float32) - alone.infer(frame)).mean() < 0.75
    assert str(every.size) == str(alone.size)  # it reports the size it ran last


def test_fast_resize_is_close_in_fp32(make_segmenter):
    """The plain-bilinear variant trades a little accuracy for speed, but stays within the fp32 bound."""
    assert mean_abs_error(make_segmenter(precision="fp32", resize="fast")) <= MAE_BOUNDS["fp32"]


def test_fast_resize_frames_are_shrunk_before_the_model_with_the_same_masks(make_segmenter):
    """With ``resize="fast"`` the frame goes in already shrunk by OpenCV (cheaper than the model's float resize
    of the whole frame); the masks must be those of the model's own resize."""
    seg = make_segmenter(size="320x192", precision="fp32", resize="fast")
    frame = cv2.resize(cv2.imread(str(sorted((REFERENCE / "images").iterdir())[0])), (1280, 720))
    assert seg.model_input(frame).shape == (1, 192, 320, 3)
    whole = seg._request.infer({0: seg.check_frame(frame)})[0][0, 0]  # the model's own resize
    assert np.abs(seg.infer(frame).astype(np.float32) - whole).mean() < 0.5  # levels of 255
    assert make_segmenter(precision="fp32").model_input(frame).shape == (1, 720, 1280, 3)  # antialias: whole


def test_precisions_really_differ_in_compute(make_segmenter):
    """bf16 must not silently be fp32 (or vice versa): the CPU plugin default would blur that distinction."""
    image = next(reference_pairs())[1]
    fp32 = make_segmenter(precision="fp32").infer(image).astype(int)
    bf16 = make_segmenter(precision="bf16").infer(image).astype(int)
    hints = {p: str(make_segmenter(precision=p).compiled.get_property("INFERENCE_PRECISION_HINT"))
             for p in ("fp32", "bf16")}
    assert "float32" in hints["fp32"] and "bfloat16" in hints["bf16"], hints
    assert np.abs(fp32 - bf16).max() > 0


def test_alpha_at_frame_size_for_any_frame_shape(make_segmenter):
    segmenter = make_segmenter(precision="bf16")
    for h, w in ((720, 1280), (97, 203), (480, 640)):
        frame = np.zeros((h, w, 3), np.uint8)
        frame[h // 4: 3 * h // 4, w // 3: 2 * w // 3] = 230  # a bright salient block on black
        alpha = segmenter.segment(frame)
        assert alpha.shape == (h, w)
        inside = alpha[3 * h // 8: 5 * h // 8, 4 * w // 9: 5 * w // 9].mean()
        corner = alpha[: h // 8, : w // 8].mean()
        assert inside > 200 and corner < 30, (inside, corner)


def test_non_square_input_size(make_segmenter):
    """A landscape 320x192 input (WxH) still finds the same objects (mean IoU vs the reference maps)."""
    segmenter = make_segmenter(precision="bf16", size="320x192")
    assert list(segmenter.compiled.outputs[0].get_partial_shape().to_shape())[2:] == [192, 320]
    ious = []
    for _, image, mask in reference_pairs():
        ours, ref = segmenter.segment(image) > 127, mask > 127
        ious.append((ours & ref).sum() / (ours | ref).sum())
    assert np.mean(ious) > 0.85, ious


def test_rejects_bad_frames(make_segmenter):
    segmenter = make_segmenter(precision="bf16")
    for bad in (np.zeros((10, 10), np.uint8), np.zeros((10, 10, 3), np.float32), np.zeros((10, 10, 4), np.uint8)):
        with pytest.raises(ValueError, match="uint8 HxWx3"):
            segmenter.segment(bad)


def test_ir_is_cached_and_keyed(make_segmenter, model_cache):
    fp32 = make_segmenter(precision="fp32")
    bf16 = make_segmenter(precision="bf16")
    fp16 = make_segmenter(precision="fp16")
    assert fp32.ir_path == bf16.ir_path  # bf16 is a runtime hint on the fp32 IR
    assert fp16.ir_path != fp32.ir_path
    assert fp16.ir_path.with_suffix(".bin").stat().st_size < 0.6 * fp32.ir_path.with_suffix(".bin").stat().st_size
    name = fp32.ir_path.parent.name
    assert name.startswith("u2net_lite-320x320-fp32-antialias-") and "-ov20" in name


def test_cached_start_does_not_import_torch(make_segmenter, model_cache, weights_path):
    make_segmenter(precision="bf16")  # make sure the IR exists
    assert modules_loaded_by_cached_start(weights_path, model_cache, ("torch",), precision="bf16") == []


def test_unavailable_device_lists_available(weights_path, model_cache):
    from vbg.errors import VbgError
    from vbg.model.segmenter import Segmenter

    with pytest.raises(VbgError, match=r"device 'NPU' is not available here: choose one of CPU"):
        Segmenter(device="NPU", weights=str(weights_path), cache_dir=str(model_cache))


def test_auto_device_runs(make_segmenter):
    segmenter = make_segmenter(device="AUTO", precision="fp32")
    frame = cv2.imread(str(next((REFERENCE / "images").iterdir())))
    assert segmenter.segment(frame).shape == frame.shape[:2]


@pytest.mark.parametrize("text", ["100", "320x100", "0", "abc", "320x320x3", "-32"])
def test_bad_input_sizes(text):
    from vbg.model.convert import InputSize
    from vbg.errors import VbgError

    with pytest.raises(VbgError, match="input size"):
        InputSize.parse(text)


def test_input_size_parsing():
    from vbg.model.convert import InputSize

    assert InputSize.parse("320") == InputSize(320, 320)
    assert InputSize.parse("192x320") == InputSize(192, 320)
    assert str(InputSize.parse(256)) == "256x256"


def test_one_backbone_conversion_gives_the_networks_fused_map_at_every_size(weights_path):
    """The backbone is traced once with a dynamic input; each size adds the matrix-product resizes, the sum and
    the sigmoid in OpenVINO (``fuse.fused_model``).  At each size, that graph computes the network's own fused
    map (its first output), and the matrices are PyTorch's bilinear resize, not an approximation of it."""
    import openvino as ov
    import torch

    from vbg.model.convert import convert_backbone
    from vbg.model.fuse import any_size_model, fused_model
    from vbg.model.u2net import U2NETP, bilinear_matrix, upsample_like
    from vbg.model.weights import get_spec

    net = U2NETP()
    net.load_state_dict(torch.load(weights_path, map_location="cpu"))
    net.eval()
    backbone = convert_backbone(get_spec("u2net_lite"), weights_path, net)
    core = ov.Core()
    every_size = core.compile_model(any_size_model(backbone), "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    for shape in [(192, 320), (288, 224), (64, 96)]:
        x = torch.randn(1, 3, *shape, generator=torch.Generator().manual_seed(0))
        compiled = core.compile_model(fused_model(backbone, *shape), "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
        with torch.no_grad():
            expected = net(x)[0].numpy()
        for got in (compiled(x.numpy())[0], every_size(x.numpy())[0]):  # one size, and the model of every size
            assert got.shape == expected.shape == (1, 1, *shape)
            assert np.abs(got - expected).max() < 1e-4, shape
    side = torch.randn(1, 1, 6, 10)
    target = torch.zeros(1, 1, 192, 320)
    by_matrices = bilinear_matrix(192, 6) @ side @ bilinear_matrix(320, 10).T
    assert torch.allclose(by_matrices, upsample_like(side, target), atol=1e-6)


def test_the_default_device_is_a_gpu_where_openvino_lists_one_else_the_cpu(weights_path, model_cache, caplog):
    import openvino as ov

    from vbg.model.devices import choose_device
    from vbg.model.segmenter import Segmenter

    gpus = [d for d in ov.Core().available_devices if d.startswith("GPU")]
    choice = choose_device(ov.Core())
    if gpus:
        assert choice.device in gpus
    else:  # these machines: the CPU path, for real
        assert choice.device == "CPU" and "no GPU" in choice.reason
    with caplog.at_level("WARNING", logger="vbg"):
        segmenter = Segmenter(model="u2net_lite", weights=str(weights_path), cache_dir=str(model_cache), size="64",
                              precision="fp32")
    assert segmenter.config.device == choice.device and choice.device in segmenter.describe()
    said = [r.getMessage() for r in caplog.records if r.getMessage().startswith("device ")]
    assert said == ([choice.reason] if gpus else [])  # one line where a GPU was chosen, none on a CPU-only machine
    assert segmenter.segment(np.full((90, 160, 3), 128, np.uint8)).shape == (90, 160)


def test_the_inference_queue_has_let_go_of_its_callback_when_close_returns(make_segmenter):
    """An OpenVINO worker can hold the last finished request a moment after ``wait_all``; letting go of it then
    releases the Python callback from that thread, which aborts the process (exit 134, after a complete output)
    when the interpreter is already shutting down.  ``close()`` returns only once the callback is released, and
    every request's result has come back once."""
    from vbg.model.asyncqueue import CallbackQueue
    from vbg.model.segmenter import Segmenter

    segmenter = make_segmenter(precision="fp32", resize="fast", size="192")
    frame = segmenter.model_input(np.zeros((360, 640, 3), np.uint8))
    for _ in range(20):  # a worker outlives wait_all in about 1 run in 4
        seen: list[tuple[int, tuple[int, ...]]] = []
        queue = CallbackQueue(segmenter.compiled, 2, lambda request, i: seen.append(
            (i, Segmenter.mask_from_request(request).shape)))
        for i in range(4):
            queue.start_async({0: frame}, i)
        queue.close()
        assert queue.released
        assert sorted(seen) == [(i, (192, 192)) for i in range(4)]
        with pytest.raises(RuntimeError, match="closed"):
            queue.start_async({0: frame}, 4)


def test_the_shipped_backbones_are_the_bundled_weights_converted_and_quantised():
    """vbg ships the bundled model's backbones (``vbg/assets/ir``) so that its first use needs no torch and no NNCF.
    They must be what ``python -m vbg.model.shipped`` makes from today's weights, calibration media and graph:
    the same sources (recorded hashes), and the fp32 one computes what a fresh conversion computes."""
    import json

    import openvino as ov

    from vbg.model.convert import GRAPH_VERSION, IRKey, convert_backbone, openvino_version, shipped_backbone
    from vbg.model.fuse import fused_model
    from vbg.model.quantize import RECIPE, CalibrationSet, shipped_int8_name
    from vbg.model.weights import DEFAULT_MODEL, cache_dir, file_sha256, get_spec, resolve_weights

    spec = get_spec(DEFAULT_MODEL)
    weights = resolve_weights(spec, None, cache_dir(None))
    key = IRKey(spec.name, file_sha256(weights), None, "fp32", None, openvino_version())
    calibration = CalibrationSet.find(None)
    fp32 = shipped_backbone(key.shipped_name)
    int8 = shipped_backbone(shipped_int8_name(key.shipped_name, calibration))
    assert fp32 is not None and int8 is not None, "run make ship-ir after changing the weights, graph or samples"
    meta = json.loads((int8.parent / "meta.json").read_text())
    assert meta["weights_sha256"] == file_sha256(weights) and meta["graph"] == GRAPH_VERSION
    assert meta["calibration_sha256"] == calibration.sha256 and meta["recipe"] == RECIPE
    core = ov.Core()
    x = np.random.default_rng(0).normal(0, 1, (1, 3, 192, 320)).astype(np.float32)
    fresh = fused_model(convert_backbone(spec, weights), 192, 320)
    outputs = [core.compile_model(model, "CPU", {"INFERENCE_PRECISION_HINT": "f32"})(x)[0]
               for model in (fresh, fused_model(core.read_model(fp32), 192, 320))]
    assert np.abs(outputs[0] - outputs[1]).max() < 1e-5
