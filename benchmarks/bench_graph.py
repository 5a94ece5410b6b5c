"""The model graph before and after the matrix-product fusion (``convert.GRAPH_VERSION`` 1 -> 2), side by side.

Graph 1 is what vbg converted before: the traced network's fused output, i.e. five one-channel side maps
resized by Interpolate, concatenated with the first, and fused by a 1x1 convolution.  Graph 2 is what it
converts now (``u2net.FusedOutput``): the same sum written as scalar weights and two small matrix products
per side map.  Both get the same folded preprocessing and, for int8, the same NNCF recipe and calibration
frames; then each precision is timed async in alternating rounds (``autotune.measure_side_by_side``) on the
first frame of the sample clip, shrunk by OpenCV as the pipeline feeds it.  It also prints how far the masks
of the two graphs are apart.

Run: ``.venv/bin/python benchmarks/bench_graph.py`` (``--model``, ``--size``, ``--rounds``; about 3 minutes,
most of it quantising graph 1 once).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import openvino as ov  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

from vbg.media.sources import open_source  # noqa: E402
from vbg.model.autotune import measure_side_by_side  # noqa: E402
from vbg.model.convert import build_ir, fold_preprocessing, resolve_size  # noqa: E402
from vbg.model.devices import cpu_name, runtime_config  # noqa: E402
from vbg.model.quantize import CalibrationSet, quantize_model  # noqa: E402
from vbg.model.segmenter import Segmenter, SegmenterConfig  # noqa: E402
from vbg.model.weights import cache_dir, get_spec, load_checked  # noqa: E402

PRECISIONS = ("fp32", "bf16", "int8")


class TracedFusedOutput(nn.Module):
    """Graph 1: the network's own first output, traced as it is (Interpolate + Concat + 1x1 convolution)."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)[0]


def graph1_irs(model: str, weights: Path, size, folder: Path) -> dict[str, Path]:
    """fp32 and int8 IRs of graph 1 in ``folder`` (int8 quantised exactly as ``vbg.model.quantize`` does)."""
    shape = (1, 3, size.height, size.width)
    with torch.no_grad():
        traced = ov.convert_model(TracedFusedOutput(load_checked(get_spec(model), weights)),
                                  example_input=torch.zeros(shape), input=[shape])
    fp32 = folder / "graph1-fp32" / "model.xml"
    fp32.parent.mkdir(parents=True)
    ov.save_model(fold_preprocessing(traced, "fast"), fp32, compress_to_fp16=False)
    (fp32.parent / "meta.json").write_text(json.dumps({"model": model, "graph": 1}))
    quantized, _ = quantize_model(fp32, CalibrationSet.find(None))
    int8 = folder / "graph1-int8" / "model.xml"
    ov.save_model(quantized, int8)
    return {"fp32": fp32, "bf16": fp32, "int8": int8}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="u2netp_person")
    parser.add_argument("--size", default="320x192", help="the default's input for a 720p clip")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=1.0, help="per model and round")
    parser.add_argument("--cache-dir")
    args = parser.parse_args()

    size = resolve_size(args.size)
    segmenter = Segmenter(SegmenterConfig(model=args.model, size=str(size), precision="fp32", resize="fast",
                                          cache_dir=args.cache_dir))
    frame = segmenter.model_input(next(iter(open_source(str(ROOT / "samples" / "person_720p.mp4")))).image)
    core = ov.Core()
    cache = cache_dir(args.cache_dir)
    with tempfile.TemporaryDirectory() as tmp:
        old = graph1_irs(args.model, segmenter.weights_path, size, Path(tmp))
        models, masks = {}, {}
        for precision in PRECISIONS:
            new = build_ir(segmenter.spec, segmenter.weights_path, size, precision, "fast", cache)
            for graph, ir in (("graph 1", old[precision]), ("graph 2", new)):
                name = f"{graph} {precision}"
                models[name] = core.compile_model(ir, "CPU", runtime_config(core, "CPU", precision, "THROUGHPUT"))
                masks[name] = models[name]({0: frame})[0].astype(np.int16)
        rates = measure_side_by_side(models, frame, args.rounds, args.seconds)

    print(f"CPU: {cpu_name()}; {args.model} {size}, fast resize, frames shrunk as the pipeline feeds them; "
          f"{args.rounds} alternating rounds of {args.seconds:g} s, async fps medians\n")
    print("| precision | graph 1 fps | graph 2 fps | graph 2 / graph 1 | mask difference, mean / max levels |")
    print("|---|---:|---:|---:|---|")
    for precision in PRECISIONS:
        before, after = rates[f"graph 1 {precision}"], rates[f"graph 2 {precision}"]
        diff = np.abs(masks[f"graph 1 {precision}"] - masks[f"graph 2 {precision}"])
        print(f"| {precision} | {before:.1f} | {after:.1f} | {after / before:.2f} | "
              f"{diff.mean():.3f} / {diff.max()} |")


if __name__ == "__main__":
    main()
