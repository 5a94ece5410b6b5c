"""``--precision auto``: measure this machine once and pick the most accurate precision that keeps up.

The right precision depends on the CPU, not on a rule: an AMX Xeon runs bf16 at 4x fp32, an EPYC with only
AVX512-BF16 gains much less, older CPUs have neither, and int8 costs accuracy everywhere.  So each candidate
the device supports is timed for about a second (async, all requests busy) on this model and input size, the
figures are cached per device name, model, size and OpenVINO version, and the choice is the first one, most
accurate first, whose rate leaves ``HEADROOM`` for decoding, compositing and encoding on the same cores.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import openvino as ov

from ..errors import notice
from .devices import cpu_name

#: Most accurate first (README "Accuracy" tables: fp32 and bf16 match the reference; fp16 is close; int8 last).
ACCURACY_ORDER = ("fp32", "bf16", "fp16", "int8")
HEADROOM = 1.5  # the model may take 1/1.5 of the time: the rest of the pipeline shares the cores
MEASURE_SECONDS = 1.0
CACHE_FILE = "autotune.json"


@dataclass(frozen=True)
class PrecisionChoice:
    """What ``auto`` picked, from which measured rates, for which target."""

    precision: str
    fps: dict[str, float]  # measured model rate per candidate (720p frames in, async)
    target_fps: float
    device_name: str
    cached: bool

    def explain(self) -> str:
        rates = ", ".join(f"{p} {self.fps[p]:.0f}" for p in ACCURACY_ORDER if p in self.fps)
        need = self.target_fps * HEADROOM
        why = (f"the most accurate at >= {need:.0f} fps ({HEADROOM:g} x {self.target_fps:g})"
               if self.fps[self.precision] >= need else f"none reaches {need:.0f} fps: the fastest")
        return (f"precision auto: {self.precision} on {self.device_name}, {why}; measured model fps: {rates}"
                + (" (cached; delete " + CACHE_FILE + " in the cache folder to measure again)" if self.cached else ""))


def candidates(core: ov.Core, device: str) -> list[str]:
    """The precisions ``device`` runs natively, most accurate first."""
    caps = set(core.get_property(device, "OPTIMIZATION_CAPABILITIES"))
    have = {"fp32": True, "bf16": "BF16" in caps and device.upper().startswith("CPU"),
            "fp16": "FP16" in caps and not device.upper().startswith("CPU"), "int8": "INT8" in caps}
    return [p for p in ACCURACY_ORDER if have[p]]


def measure_fps(compiled: ov.CompiledModel, seconds: float = MEASURE_SECONDS, frame: np.ndarray | None = None,
                requests: int | None = None) -> tuple[float, int]:
    """(frames per second, requests) with every request busy; on a 720p frame by default (what the pipeline
    feeds), with OpenVINO's optimal number of requests unless told."""
    if frame is None:
        frame = np.random.default_rng(0).integers(0, 256, (1, 720, 1280, 3), dtype=np.uint8)
    count = requests or max(int(compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS")), 1)
    queue = ov.AsyncInferQueue(compiled, count)
    for _ in range(count):  # warm-up
        queue.start_async({0: frame})
    queue.wait_all()
    done = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        queue.start_async({0: frame})
        done += 1
    queue.wait_all()
    return done / (time.perf_counter() - start), count


def choose_precision(core: ov.Core, device: str, key: str, target_fps: float, cache: Path,
                     compile_for) -> PrecisionChoice:
    """Pick the precision for ``key`` (model, size, resize), measuring with ``compile_for(precision)`` ->
    CompiledModel (THROUGHPUT hint) what the cache does not hold yet."""
    device_name = cpu_name() if device.upper() == "CPU" else str(core.get_property(device, "FULL_DEVICE_NAME"))
    entry = f"{device_name}|{key}|ov{ov.get_version()}"
    path = cache / CACHE_FILE
    try:
        table = json.loads(path.read_text())
    except (OSError, ValueError):
        table = {}
    cached = entry in table and isinstance(table[entry], dict)
    fps: dict[str, float] = dict(table[entry]) if cached else {}
    need = target_fps * HEADROOM
    for precision in candidates(core, device):
        if precision not in fps:
            cached = False
            fps[precision] = round(measure_fps(compile_for(precision))[0], 1)
        if fps[precision] >= need:
            break  # the most accurate that keeps up: faster ones need not be measured
    enough = [p for p in ACCURACY_ORDER if p in fps and fps[p] >= need]
    precision = enough[0] if enough else max(fps, key=fps.get)
    if not cached:
        table[entry] = fps
        try:
            cache.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(table, indent=1))
            tmp.replace(path)
        except OSError as exc:
            notice(f"could not cache the precision measurement in {path} ({exc.strerror}); it runs again next time")
    return PrecisionChoice(precision, fps, target_fps, device_name, cached)


def cached_choices(cache: Path, device_name: str) -> list[str]:
    """The measurements ``auto`` holds for ``device_name``: one line per model/size (for ``vbg devices``)."""
    try:
        table = json.loads((cache / CACHE_FILE).read_text())
    except (OSError, ValueError):
        return []
    lines = []
    for entry, fps in table.items():
        name, model, _weights, size, resize, *_ = entry.split("|") + [""] * 6
        if name == device_name and isinstance(fps, dict):
            rates = ", ".join(f"{p} {fps[p]:.0f}" for p in ACCURACY_ORDER if p in fps)
            lines.append(f"{model} {size} {resize}: {rates} fps")
    return lines
