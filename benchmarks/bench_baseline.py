"""vbg against the seed notebook's per-frame method, on the same clip, machine and run.

The baseline re-implements what OpenVINO's "vision-background-removal" notebook does for each frame, applied
to a video:

- a 512x512 FP32 IR of U2NETP converted without any folded preprocessing (input: float NCHW RGB);
- compiled with ``core.compile_model(model, "CPU")`` and nothing else, as the notebook does.  It sets no
  ``INFERENCE_PRECISION_HINT``, so on a CPU with AVX-512 BF16 OpenVINO actually computes in bf16;
- per frame: ``cv2.cvtColor`` BGR->RGB, ``cv2.resize`` to 512x512, transpose to NCHW, ``(x - mean) / scale``
  in NumPy float64, one synchronous ``compiled_model([input])`` call, the map resized back to the frame with
  ``cv2.resize`` and rounded with ``np.rint`` to a 0/1 mask, and the composite made by boolean indexing
  (``new_image[mask == 1] = frame[mask == 1]`` on a copy of the background).

vbg runs its default preset (``RunConfig()``: the file pipeline into a null sink, with every default
including mask refinement) on the same clip, right after the baseline.  Both loops include decoding; neither
includes model compilation.  MAE against the official maps is computed for each: the baseline with its own
preprocessing and its ``np.rint`` 0/1 mask (the map it composites with; its soft map is shown too), vbg with
``Segmenter.segment`` (only for the official weights, ``model=u2net_lite``: the maps are that model's, so
they are no yardstick for the person weights).  ``--candidates`` adds other vbg settings as rows, with the same
clip.  The last row times the whole ``vbg run CLIP -o out.mp4`` process on 10 s of the clip (looped): start-up,
model load from the cache, the pipeline, H.264 and the audio, as a user waits for it.

Run: ``.venv/bin/python benchmarks/bench_baseline.py`` (``--help``).  Compare the ratio, measured side by side.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import openvino as ov

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vbg.bench import reference_mae  # noqa: E402
from vbg.config import RunConfig, make_config  # noqa: E402
from vbg.model.convert import InputSize, convert_to_openvino, openvino_version  # noqa: E402
from vbg.model.segmenter import Segmenter, SegmenterConfig  # noqa: E402
from vbg.media.sources import open_source  # noqa: E402
from vbg.model.devices import cpu_name  # noqa: E402
from vbg.model.weights import cache_dir, file_sha256, get_spec, resolve_weights  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT.parent / "shared" / "testdata" / "u2netp_reference"
NOTEBOOK_SIZE = 512
MEAN = np.array([123.675, 116.28, 103.53]).reshape(1, 3, 1, 1)  # float64, as in the notebook
SCALE = np.array([58.395, 57.12, 57.375]).reshape(1, 3, 1, 1)


class NotebookMethod:
    """The notebook's per-frame method: NumPy preprocessing, one sync call, rint mask, index compositing."""

    def __init__(self, weights: str | None, cache: str | None) -> None:
        spec = get_spec("u2net_lite")
        root = cache_dir(cache)
        weights_path = resolve_weights(spec, weights, root)
        xml = root / "ir" / f"notebook-{NOTEBOOK_SIZE}-fp32-{file_sha256(weights_path)[:12]}-ov{openvino_version()}" \
            / "model.xml"
        if not xml.is_file():  # plain conversion, no folded preprocessing, cached for the next run
            ov.save_model(convert_to_openvino(spec, weights_path, InputSize(NOTEBOOK_SIZE, NOTEBOOK_SIZE)), xml,
                          compress_to_fp16=False)
        self.compiled = ov.Core().compile_model(xml, "CPU")  # no hints, like the notebook
        self.output = self.compiled.output(0)

    def soft_map(self, frame: np.ndarray) -> np.ndarray:
        """The model's map at the frame's size, float in 0..1."""
        image = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
        resized = cv2.resize(image, (NOTEBOOK_SIZE, NOTEBOOK_SIZE))
        tensor = (np.expand_dims(np.transpose(resized, (2, 0, 1)), 0) - MEAN) / SCALE
        result = self.compiled([tensor])[self.output]
        return cv2.resize(np.squeeze(result), (frame.shape[1], frame.shape[0]))

    def mask(self, frame: np.ndarray) -> np.ndarray:
        """The notebook's 0/1 mask."""
        return np.rint(self.soft_map(frame)).astype(np.uint8)

    @staticmethod
    def composite(frame: np.ndarray, mask: np.ndarray, background: np.ndarray) -> np.ndarray:
        bg_removed = frame.copy()
        bg_removed[mask == 0] = 255
        new_image = background.copy()
        new_image[mask == 1] = bg_removed[mask == 1]
        return new_image


def run_baseline(method: NotebookMethod, clip: str, background_path: str, frames: int) -> float:
    """Frames/s of decode + the notebook's per-frame work, output discarded (like vbg's null sink)."""
    source = open_source(clip, loop=True)
    background = None
    done = 0
    start = time.perf_counter()
    for item in source:
        frame = item.image
        if background is None:  # the notebook resizes its background once, to the image size
            background = cv2.resize(cv2.imread(background_path), (frame.shape[1], frame.shape[0]))
        method.composite(frame, method.mask(frame), background)
        done += 1
        if done >= frames:
            break
    seconds = time.perf_counter() - start
    source.close()
    return done / seconds


def run_vbg(clip: str, background: str, frames: int, weights: str | None, cache: str | None, **settings) -> float:
    """Frames/s of vbg's file pipeline on ``clip`` into a null sink (defaults unless ``settings`` override)."""
    from vbg.app import build_pipeline

    config = make_config(input=clip, loop=True, null=True, progress=False, max_frames=frames,
                         background=[background], weights=weights, cache_dir=cache, **settings)
    pipeline = build_pipeline(config)
    try:
        stats = pipeline.run()
    finally:
        pipeline.compositor.close()
    return stats.output_fps


def run_cli(clip: str, background: str, frames: int, cache: str | None) -> float:
    """Seconds of the whole ``vbg run CLIP --loop --max-frames N -o out.mp4`` process (start-up, model load from
    the cache, decode, pipeline, H.264 encode, audio, file close): what a user waits for."""
    env = dict(os.environ, **({"VBG_CACHE_DIR": cache} if cache else {}))
    with tempfile.TemporaryDirectory() as tmp:
        command = [sys.executable, "-m", "vbg", "run", clip, "--loop", "--max-frames", str(frames), "--no-progress",
                   "--background", background, "-y", "-o", str(Path(tmp) / "out.mp4")]
        subprocess.run(command, env=env, check=True, capture_output=True)  # warm: IRs cached, files in page cache
        start = time.perf_counter()
        subprocess.run(command, env=env, check=True, capture_output=True)
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clip", default=str(ROOT / "samples" / "person_720p.mp4"))
    parser.add_argument("--background", default=str(ROOT / "samples" / "background_beach.jpg"))
    parser.add_argument("--frames", type=int, default=120, help="frames per row (the clip has 120; it loops)")
    parser.add_argument("--reference", default=str(REFERENCE), help="folder with images/ and masks/")
    parser.add_argument("--candidates", default="",
                        help="extra vbg rows, e.g. 'size=256,precision=bf16;precision=int8' (semicolon-separated)")
    parser.add_argument("--cli-frames", type=int, default=300, help="frames of the whole-process CLI row")
    parser.add_argument("--weights")
    parser.add_argument("--cache-dir")
    args = parser.parse_args()

    defaults = RunConfig()
    baseline = NotebookMethod(args.weights, args.cache_dir)
    have_reference = Path(args.reference, "images").is_dir()
    rows = []
    base_fps = run_baseline(baseline, args.clip, args.background, args.frames)
    base_mae = reference_mae(lambda im: baseline.mask(im) * np.uint8(255), args.reference) if have_reference else None
    soft_mae = (reference_mae(lambda im: np.clip(baseline.soft_map(im) * 255 + 0.5, 0, 255).astype(np.uint8),
                              args.reference) if have_reference else None)
    rows.append(("notebook method: 512x512 FP32 IR (no hint: bf16 on this CPU), float64 NumPy, sync, rint mask",
                 base_fps, base_mae))
    variants = [("vbg default preset", {})]
    for text in filter(None, args.candidates.split(";")):
        variants.append((f"vbg {text}", dict(kv.split("=", 1) for kv in text.split(","))))
    for label, settings in variants:
        fps = run_vbg(args.clip, args.background, args.frames, args.weights, args.cache_dir, **settings)
        merged = {"size": defaults.size, "precision": defaults.precision, "resize": defaults.resize, **settings}
        if not settings:
            label += f" ({merged['size']}, {merged['precision']}, {merged['resize']})"
        mae = None
        model = make_config(**settings).model
        if have_reference and model == "u2net_lite":  # the maps are the salient model's: no yardstick for people
            segmenter = Segmenter(SegmenterConfig(model=model, size=merged["size"], precision=merged["precision"],
                                                  resize=merged["resize"], weights=args.weights,
                                                  cache_dir=args.cache_dir))
            mae = reference_mae(segmenter.segment, args.reference)
        rows.append((label, fps, mae))

    whole = run_cli(args.clip, args.background, args.cli_frames, args.cache_dir)
    fixed = run_cli(args.clip, args.background, 1, args.cache_dir)
    rows.append((f"`vbg run CLIP -o out.mp4` with the defaults: the whole process, {args.cli_frames} frames "
                 f"({args.cli_frames / 30:.0f} s of 720p30) to H.264", args.cli_frames / whole, None))

    print(f"CPU: {cpu_name()}; clip {args.clip}, {args.frames} frames per row, OpenVINO {ov.get_version()}\n")
    print("| method | frames/s | x baseline | MAE vs official maps |")
    print("|---|---|---|---|")
    for label, fps, mae in rows:
        mae_text = "-" if mae is None else f"{mae:.4f}"
        print(f"| {label} | {fps:.2f} | {fps / base_fps:.1f}x | {mae_text} |")
    print(f"\nwhole process: {whole:.2f} s for {args.cli_frames} frames; the same command for 1 frame (start-up, "
          f"model load, file close): {fixed:.2f} s")
    if soft_mae is not None:
        print(f"\nbaseline MAE with its soft map instead of the rint mask: {soft_mae:.4f}")


if __name__ == "__main__":
    main()
