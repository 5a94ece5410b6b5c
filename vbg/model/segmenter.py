"""The Segmenter: a compiled U^2-Net that turns a BGR frame into an alpha matte.

This is the only object the rest of vbg needs from the model side.  It resolves weights, builds (or reuses)
the cached IR, compiles it for the chosen device and precision, and offers two ways in:

- ``segment(frame)``: synchronous, returns the matte at the frame's size (images, tests, simple scripts);
- ``infer_queue()`` + ``mask_from_request()``: asynchronous requests for the video pipeline.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import cv2
import numpy as np
import openvino as ov

from ..errors import VbgError, notice
from .convert import ANY_SIZE, AUTO_SIDE, RESIZE_MODES, InputSize, build_ir, resolve_size
from .autotune import (SMALLER_AUTO_SIDES, LivePlan, ModelKey, PrecisionChoice, RateCache, SizeChoice,
                       choose_precision, choose_size, model_key, plan_live)
from .devices import META_DEVICES, check_device, choose_device, default_precision, runtime_config
from .settings import DEFAULT_DEVICE, SegmenterConfig
from .weights import cache_dir, get_spec, resolve_weights

COMPILED_CACHE = "compiled"  # OpenVINO's CACHE_DIR inside vbg's cache folder
MAX_MODEL_FRAME = 2048  # longer frame sides are shrunk before inference (see Segmenter.check_frame)


class Segmenter:
    """U^2-Net on OpenVINO: ``segment(bgr_uint8_frame) -> uint8 alpha`` (255 = foreground)."""

    def __init__(self, config: SegmenterConfig | None = None, core: ov.Core | None = None, rebuild: bool = False,
                 **overrides) -> None:
        """``rebuild``: convert (or quantise) the model again even if the cache holds it (``vbg convert --force``)."""
        self._rebuild = rebuild
        config = config or SegmenterConfig()
        if overrides:
            config = dataclasses.replace(config, **overrides)
        self.core = core or ov.Core()
        if config.device != DEFAULT_DEVICE:
            self._build(config)
            return
        choice = choose_device(self.core)
        try:
            self._build(dataclasses.replace(config, device=choice.device))
        except RuntimeError as exc:  # the GPU's driver or compiler failed: the CPU always works
            if choice.device == "CPU":
                raise
            why = " ".join(str(exc).split())[:120]
            notice(f"device {choice.device} failed ({why}); the model runs on the CPU instead")
            self._build(dataclasses.replace(config, device="CPU"))
            return
        if choice.device != "CPU":  # where there is no GPU there is nothing to say
            notice(choice.reason)

    def _build(self, config: SegmenterConfig) -> None:
        self.config = config
        self.spec = get_spec(config.model)
        self.size: InputSize = resolve_size(config.size, config.frame, video=config.target_fps is not None)
        # photos of many shapes: one compiled model for all, each frame resized here to its own size (other
        # devices than the CPU may not run dynamic shapes well: they keep one model per size)
        self.any_size = config.any_size and config.target_fps is None and config.device.upper() == "CPU"
        if config.resize not in RESIZE_MODES:
            raise VbgError(f"unknown resize mode {config.resize!r}: choose one of {', '.join(RESIZE_MODES)}")
        check_device(self.core, config.device)
        cache = cache_dir(config.cache_dir)
        self.weights_path = resolve_weights(self.spec, config.weights, cache)
        self.precision_choice: PrecisionChoice | None = None
        self.live_plan: LivePlan | None = None
        self.size_choice: SizeChoice | None = None
        self.precision = config.precision
        if config.precision == "auto":
            self.precision = self._auto_precision(cache)
        if config.live and str(config.size).strip().lower() == "auto" and self._measurable:
            self._auto_size(cache)
        hint = config.performance_hint
        if hint == "LIVE":
            hint = self._live_hint(cache)
        compile_config = self._compile_config(self.precision, hint)
        built_size = ANY_SIZE if self.any_size else self.size
        self.ir_path: Path = build_ir(self.spec, self.weights_path, built_size, self.precision, config.resize, cache,
                                      force=self._rebuild, calibration=config.calibration)
        self._rebuild = False  # once: a CPU fallback after a failed GPU build reuses what was just rebuilt
        try:
            self.compiled = self._compile(self.ir_path, compile_config)
        except RuntimeError:  # an IR that passed its checksums but OpenVINO rejects: rebuild it once
            notice(f"cached model {self.ir_path.parent} could not be loaded by OpenVINO; rebuilding it")
            self.ir_path = build_ir(self.spec, self.weights_path, built_size, self.precision, config.resize, cache,
                                    force=True, calibration=config.calibration)
            self.compiled = self._compile(self.ir_path, compile_config)
        self._request = self.compiled.create_infer_request()
        self.last_latency_ms = 0.0

    def _compile_config(self, precision: str, hint: str) -> dict[str, str]:
        config = runtime_config(self.core, self.config.device, precision, hint)
        if self.config.threads:
            config["INFERENCE_NUM_THREADS"] = str(self.config.threads)
        return config

    def _compile(self, ir_path: Path, compile_config: dict[str, str]) -> ov.CompiledModel:
        """Compile through OpenVINO's own cache of compiled models (``<cache>/compiled``): a later start loads
        the compiled blob instead of compiling again (0.35 s instead of 0.86 s on an AMD EPYC).
        A Core that has its own ``CACHE_DIR`` keeps it (``vbg bench`` times cold and cached compiles)."""
        if not self.core.get_property("CACHE_DIR"):
            compile_config = {**compile_config, "CACHE_DIR": str(cache_dir(self.config.cache_dir) / COMPILED_CACHE)}
        return self.core.compile_model(str(ir_path), self.config.device, compile_config)

    @property
    def _measurable(self) -> bool:
        """Video (a rate to keep) on a real device: meta devices pick their own, so there is nothing to time."""
        return (self.config.target_fps is not None
                and self.config.device.split(":")[0].upper() not in META_DEVICES)

    def _key(self, size: InputSize | None = None) -> ModelKey:
        return model_key(self.core, self.config.device, self.spec.name, self.weights_path.name,
                         str(size or self.size), self.config.resize, self.config.threads)

    def _compile_throughput(self, cache: Path, size: InputSize | None = None):
        """``precision -> CompiledModel`` with the THROUGHPUT hint: what the measurements time."""
        def compile_for(precision: str) -> ov.CompiledModel:
            ir = build_ir(self.spec, self.weights_path, size or self.size, precision, self.config.resize, cache,
                          calibration=self.config.calibration)
            return self._compile(ir, self._compile_config(precision, "THROUGHPUT"))
        return compile_for

    def _auto_precision(self, cache: Path) -> str:
        """Measured on this machine (cached) for live inputs: see ``autotune``.  Files, stills and meta devices
        take the rule from measurements on these CPUs (``devices.default_precision``: int8 for files, bf16 for
        photos where the CPU has it, fp16 on GPU/NPU).  Why: a file job loses no frame however slow the model is, so its output must not depend on how
        busy the machine was at the hour it ran; only a camera, which cannot wait, needs the measurement."""
        config = self.config
        if not (self._measurable and config.live):
            return default_precision(self.core, config.device, video=config.target_fps is not None)
        self.precision_choice = choose_precision(self.core, config.device, self._key(), config.target_fps, cache,
                                                 self._compile_throughput(cache), self._probe)
        notice(self.precision_choice.explain())
        return self.precision_choice.precision

    def _auto_size(self, cache: Path) -> None:
        """Plain ``auto`` on a live input: the default budget, or a smaller one when the model is too slow there
        for the camera's rate (measured, cached; see ``autotune.choose_size``).  Files keep the default: they
        lose no frame however long the model takes, so accuracy wins."""
        def rate_of(text: str, need: float) -> float:
            size = InputSize.parse(text)
            return RateCache(cache, lambda: self._probe(size)).rate(self._key(size), self.precision,
                                                                    self._compile_throughput(cache, size), need)

        sizes = [(side, str(resolve_size(f"auto:{side}", self.config.frame, video=True)))
                 for side in (AUTO_SIDE, *SMALLER_AUTO_SIDES)]
        self.size_choice = choose_size(sizes, rate_of, self.config.target_fps, self.precision)
        if self.size_choice is not None:
            self.size = InputSize.parse(self.size_choice.size)
            notice(self.size_choice.explain())

    def _live_hint(self, cache: Path) -> str:
        """``performance_hint="LIVE"``: THROUGHPUT when the model's measured async rate is above the input's
        (every frame can get its own mask), else LATENCY (see ``autotune.plan_live``).  Meta devices and an
        unknown rate keep LATENCY."""
        config = self.config
        if not self._measurable:
            return "LATENCY"
        self.live_plan = plan_live(self._key(), self.precision, config.target_fps, cache,
                                   self._compile_throughput(cache), self._probe)
        notice(self.live_plan.explain())
        return self.live_plan.hint

    @property
    def optimal_requests(self) -> int:
        """How many parallel infer requests the compiled model wants (OpenVINO's own estimate)."""
        return int(self.compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS"))

    def describe(self) -> str:
        """Short label for overlays and logs, e.g. ``u2net_lite CPU bf16 320x320``."""
        auto = " (auto)" if self.precision_choice is not None else ""
        size_auto = " (auto, smaller)" if self.size_choice is not None else ""
        return f"{self.spec.name} {self.config.device} {self.precision}{auto} {self.size}{size_auto}"

    @staticmethod
    def check_frame(frame: np.ndarray) -> np.ndarray:
        """Validate a BGR frame and add the batch axis the model expects (no copy for contiguous input).

        Frames longer than ``MAX_MODEL_FRAME`` pixels on a side (8K) are first shrunk with OpenCV's area
        filter: the in-model resize works in f32 on the whole frame, which is slow and memory-hungry at 8K,
        while the matte comes out at the model's few hundred pixels anyway."""
        if not isinstance(frame, np.ndarray) or frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
            desc = f"{frame.dtype} {frame.shape}" if isinstance(frame, np.ndarray) else type(frame).__name__
            raise ValueError(f"expected a uint8 HxWx3 BGR frame, got {desc}")
        height, width = frame.shape[:2]
        if max(height, width) > MAX_MODEL_FRAME:
            scale = MAX_MODEL_FRAME / max(height, width)
            frame = cv2.resize(frame, (max(1, round(width * scale)), max(1, round(height * scale))),
                               interpolation=cv2.INTER_AREA)
        return np.ascontiguousarray(frame)[None]

    def model_input(self, frame: np.ndarray) -> np.ndarray:
        """What to feed the model for ``frame``: checked (``check_frame``) and, with ``resize="fast"``, already
        shrunk to the model's size by OpenCV.

        Why: the folded "fast" resize is plain bilinear, the same filter as OpenCV's INTER_LINEAR (masks differ
        by 0.01 levels on average in fp32, 0.05 in int8), but OpenVINO runs it in float on the whole 720p frame,
        about 6 ms of CPU per frame, while OpenCV takes 0.14 ms on the bytes.  The model's own resize then has
        nothing left to do.  "antialias" needs the model's filter, so those frames go in whole.

        With ``any_size`` the model has no resize of its own: each frame is resized here to its own size
        (``size`` for its shape), and ``self.size`` follows the last frame."""
        if self.any_size:
            self.size = resolve_size(self.config.size, (frame.shape[1], frame.shape[0]))
            return self._resized(self.check_frame(frame), self.size)
        return self._shrunk(self.check_frame(frame), self.size)

    def _resized(self, batch: np.ndarray, size: InputSize) -> np.ndarray:
        """``batch`` at exactly ``size``, by the filter the folded resize would use: Pillow's antialiased
        bilinear is OpenVINO's RESIZE_BILINEAR_PILLOW on the bytes (mattes within 0.1 level on average), and
        it is several times faster than the model's float resize of a whole photo."""
        frame = batch[0]
        if frame.shape[:2] == (size.height, size.width):
            return batch
        if self.config.resize == "antialias":
            from PIL import Image

            return np.asarray(Image.fromarray(frame).resize((size.width, size.height), Image.BILINEAR))[None]
        return cv2.resize(frame, (size.width, size.height), interpolation=cv2.INTER_LINEAR)[None]

    def _shrunk(self, batch: np.ndarray, size: InputSize) -> np.ndarray:
        if self.config.resize == "fast" and batch.shape[1] > size.height and batch.shape[2] > size.width:
            return cv2.resize(batch[0], (size.width, size.height), interpolation=cv2.INTER_LINEAR)[None]
        return batch

    def _probe(self, size: InputSize | None = None) -> np.ndarray:
        """The frame the model is timed on: noise at the frame size to come (720p if unknown), fed as
        ``model_input`` feeds the pipeline's frames."""
        width, height = self.config.frame or (1280, 720)
        noise = np.random.default_rng(0).integers(0, 256, (1, height, width, 3), dtype=np.uint8)
        return self._shrunk(self.check_frame(noise[0]), size or self.size)

    def infer(self, frame: np.ndarray) -> np.ndarray:
        """Synchronous inference: the matte at model resolution (uint8, HxW)."""
        start = time.perf_counter()
        result = self._request.infer({0: self.model_input(frame)})
        self.last_latency_ms = (time.perf_counter() - start) * 1000
        return result[0][0, 0].copy()

    def segment(self, frame: np.ndarray) -> np.ndarray:
        """Soft alpha for ``frame`` at the frame's size: uint8 HxW, 0 = background, 255 = foreground."""
        return self.upscale(self.infer(frame), frame.shape[:2])

    @staticmethod
    def upscale(mask: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
        """Resize a model-resolution matte to ``shape`` (rows, cols), bilinear."""
        if mask.shape == tuple(shape):
            return mask
        return cv2.resize(mask, (shape[1], shape[0]), interpolation=cv2.INTER_LINEAR)

    def infer_queue(self, jobs: int | None = None) -> ov.AsyncInferQueue:
        """An ``AsyncInferQueue`` with ``jobs`` requests (default: the device's optimal number)."""
        return ov.AsyncInferQueue(self.compiled, jobs or self.optimal_requests)

    @staticmethod
    def mask_from_request(request: ov.InferRequest) -> np.ndarray:
        """The model-resolution matte held by a finished request (copied: the request is reused)."""
        return request.get_output_tensor(0).data[0, 0].copy()
