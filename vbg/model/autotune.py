"""Measured defaults: ``--precision auto`` and the live mask policy, from this machine's own model rates.

The right precision depends on the CPU, not on a rule: an AMX Xeon runs bf16 at 4x fp32, an EPYC with only
AVX512-BF16 gains much less, older CPUs have neither, and int8 costs accuracy everywhere.  So each candidate
the device supports is timed for about a second (async, all requests busy) on this model and input size, the
figures are cached per device name, model, size and OpenVINO version, and the choice is the first one, most
accurate first, whose rate leaves ``HEADROOM`` for decoding, compositing and encoding on the same cores.

The same figure decides how a live run uses the model (``plan_live``): when its async rate is above the
camera's, every frame can have its own mask, which needs all requests busy (the THROUGHPUT hint); when it is
not, one request as fast as possible (LATENCY) keeps the mask that frames are shown with as young as it can be.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import openvino as ov

from ..errors import notice
from .devices import cpu_name

#: Most accurate first (docs/measurements.md accuracy tables: fp32 and bf16 match the reference; fp16 is close; int8 last).
ACCURACY_ORDER = ("fp32", "bf16", "fp16", "int8")
HEADROOM = 1.5  # the model may take 1/1.5 of the time: the rest of the pipeline shares the cores
#: live: every frame gets its own mask when the model's async rate is at least this x the camera's.  Below 1:
#: the camera's rate is all the model has to do, and the measure runs every request flat out on random frames
#: (a default model measured at 29.9 fps gave 99 % own masks at 30 fps, docs/measurements.md "Pipeline").
LIVE_MARGIN = 0.9
MEASURE_SECONDS = 1.0
#: when no candidate keeps up, the fastest is taken; candidates within this ratio of it are timed again side by
#: side (``measure_side_by_side``), since one second each, taken one after another, can land in different
#: spells of a shared machine (bf16 and int8 once both read 23 fps where int8 runs at 41 and bf16 at 26)
NEAR_TIE = 1.25
SIDE_BY_SIDE_ROUNDS = 4
#: a figure that turned a setting down (a more accurate precision, the default size) is timed again once it is
#: this old, if this machine could plausibly run that setting fast enough in another hour: one of the project's
#: 2-core machines read int8 at 320x192 at 23 fps in a slow spell, 29 in another hour and 41 in a normal one
#: (up to SWING apart), and a figure taken in a slow hour would otherwise hold the lower setting for good
RECHECK_AFTER = 3600.0
SWING = 2.0
CACHE_FILE = "autotune.json"
#: 3: timed on what the pipeline feeds (Segmenter.model_input); 4: model graph 2 (convert.GRAPH_VERSION); 5: int8
#: from one quantised backbone; 6: assembly 3 (convert.ASSEMBLY_VERSION)
CACHE_VERSION = 6


@dataclass(frozen=True)
class ModelKey:
    """What a measured rate belongs to: the machine, the model and everything that changes its speed."""

    device: str  # CPU model name (with its bf16/int8 units) or the device's full name
    model: str
    weights: str
    size: str
    resize: str
    threads: int | None
    openvino: str


def machine_load(sample_seconds: float = 0.2) -> float | None:
    """How busy the cores are right now, 0..1 per core: the share of CPU time not idle over ``sample_seconds``
    (Linux ``/proc/stat``); elsewhere the 1-minute load average per core; None where neither exists.

    Right now, not the load average: that still counts the vbg run that ended a moment ago, so every run after
    another would have found the machine "busy" and timed the model again."""
    try:
        first = _cpu_times()
        time.sleep(sample_seconds)
        second = _cpu_times()
        total = sum(second) - sum(first)
        idle = (second[3] + second[4]) - (first[3] + first[4])  # idle + iowait
        return max(0.0, 1 - idle / total) if total > 0 else None
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.getloadavg()[0] / (os.cpu_count() or 1)
    except (AttributeError, OSError):
        return None


def _cpu_times() -> list[int]:
    """The machine's CPU time counters (user, nice, system, idle, iowait, ...) from ``/proc/stat``."""
    with open("/proc/stat") as stat:
        return [int(v) for v in stat.readline().split()[1:]]


BUSY_LOAD = 0.5  # share of the cores in use from which the machine counts as busy


class RateCache:
    """Measured model fps per ``ModelKey`` and precision, in ``<cache>/autotune.json`` (a list of records).

    A figure measured while other work held the cores reads low and would otherwise stick: it is stored as
    ``busy``, used, and measured again next time (keeping the higher figure) until one is taken at rest.  Each
    figure carries when it was taken (``at``), so that one which turned a setting down can be timed again once
    it is old (``outdated``)."""

    def __init__(self, cache: Path, probe: Callable[[], np.ndarray] | None = None) -> None:
        self.path = cache / CACHE_FILE
        # makes the frame to time the model on (default: a 720p frame, see ``measure_fps``); called only when
        # something is timed, so a start served from the cache builds no frame, and then only once
        self.probe = probe
        self._frame: np.ndarray | None = None

    def records(self) -> list[dict]:
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return []
        if not isinstance(data, dict) or data.get("version") != CACHE_VERSION:
            return []  # an older layout: measured again
        return [r for r in data.get("records", []) if isinstance(r, dict) and isinstance(r.get("fps"), dict)]

    def _find(self, records: list[dict], key: ModelKey) -> dict | None:
        return next((r for r in records if {k: r.get(k) for k in asdict(key)} == asdict(key)), None)

    def get(self, key: ModelKey) -> dict[str, float]:
        """The figures for ``key`` measured at rest (busy ones are left out: they are to be measured again)."""
        record = self._find(self.records(), key) or {"fps": {}}
        busy = set(record.get("busy", []))
        return {p: v for p, v in record["fps"].items() if p not in busy}

    def frame(self) -> np.ndarray | None:
        if self._frame is None and self.probe is not None:
            self._frame = self.probe()
        return self._frame

    announced = False  # the one "timing the model" line per process

    def measure(self, key: ModelKey, precision: str, compiled: ov.CompiledModel) -> float:
        """Time ``compiled`` (``precision``, THROUGHPUT hint) and store it with the machine's load just before;
        returns the figure to use (see ``put``)."""
        if not RateCache.announced:
            RateCache.announced = True
            notice(f"live input: timing the model on this machine to choose its precision and size, about "
                   f"{MEASURE_SECONDS:g} s per setting, once; later runs reuse {self.path}")
        load = machine_load()
        return self.put(key, precision, round(measure_fps(compiled, frame=self.frame())[0], 1), load)

    def outdated(self, key: ModelKey, precision: str, need: float) -> bool:
        """Whether the cached figure turned ``need`` down (is below it) although ``SWING`` x it would reach it,
        and is older than ``RECHECK_AFTER`` (figures from before timestamps count as old): time it again."""
        record = self._find(self.records(), key)
        if record is None or precision not in record["fps"] or record["fps"][precision] >= need:
            return False
        taken = (record.get("at") or {}).get(precision, 0.0)
        return record["fps"][precision] * SWING >= need and time.time() - taken > RECHECK_AFTER

    def rate(self, key: ModelKey, precision: str, compile_for, need: float | None = None) -> float:
        """The figure for ``key`` and ``precision``: from the cache if measured at rest (and, given the ``need``
        it is held against, not ``outdated``), else timed now on ``compile_for(precision)``."""
        fps = self.get(key)
        if precision in fps and not (need is not None and self.outdated(key, precision, need)):
            return fps[precision]
        return self.measure(key, precision, compile_for(precision))

    def put(self, key: ModelKey, precision: str, fps: float, load: float | None) -> float:
        """Store one measurement (``load``: per core, taken just before it); returns the figure to use, the
        higher of this one and an earlier busy one."""
        records = self.records()
        record = self._find(records, key)
        if record is None:
            record = {**asdict(key), "fps": {}, "busy": []}
            records.append(record)
        busy = load is not None and load >= BUSY_LOAD
        was_busy = precision in record.get("busy", [])
        value = max(fps, record["fps"].get(precision, 0.0)) if was_busy else fps
        record["fps"][precision] = value
        record.setdefault("at", {})[precision] = round(time.time())
        record["busy"] = sorted((set(record.get("busy", [])) - {precision}) | ({precision} if busy else set()))
        if busy:
            notice(f"the machine was busy while timing the model ({load:.0%} of the CPU in use by other work): "
                   f"using {value:.0f} fps now and timing it again next time")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps({"version": CACHE_VERSION, "records": records}, indent=1))
            tmp.replace(self.path)
        except OSError as exc:
            notice(f"could not cache the model speed measurement in {self.path} ({exc.strerror}); "
                   "it runs again next time")
        return value


def device_label(core: ov.Core, device: str) -> str:
    """The name measurements are filed under: the CPU model (with its units) or the device's full name."""
    return cpu_name() if device.upper() == "CPU" else str(core.get_property(device, "FULL_DEVICE_NAME"))


def model_key(core: ov.Core, device: str, model: str, weights: str, size: str, resize: str,
              threads: int | None) -> ModelKey:
    return ModelKey(device_label(core, device), model, weights, str(size), resize, threads, ov.get_version())


@dataclass(frozen=True)
class PrecisionChoice:
    """What ``auto`` picked, from which measured rates, for which target."""

    precision: str
    fps: dict[str, float]  # measured model rate per candidate (720p frames in, async)
    target_fps: float
    device_name: str
    cached: bool
    side_by_side: tuple[str, ...] = ()  # near ties timed again in alternating rounds

    def explain(self) -> str:
        rates = ", ".join(f"{p} {self.fps[p]:.0f}" for p in ACCURACY_ORDER if p in self.fps)
        need = self.target_fps * HEADROOM
        why = (f"the most accurate at >= {need:.0f} fps ({HEADROOM:g} x {self.target_fps:g})"
               if self.fps[self.precision] >= need else f"none reaches {need:.0f} fps: the fastest")
        if self.side_by_side:
            why += f" ({' and '.join(self.side_by_side)} were close: timed again side by side)"
        return (f"precision auto: {self.precision} on {self.device_name}, {why}; measured model fps: {rates}"
                + (" (cached; delete " + CACHE_FILE + " in the cache folder to measure again)" if self.cached else ""))


@dataclass(frozen=True)
class LivePlan:
    """How a live run uses the model: each frame waits for its own mask, or frames take the newest mask."""

    own_masks: bool
    model_fps: float  # async rate with every request busy (measured, cached)
    camera_fps: float

    @property
    def hint(self) -> str:
        return "THROUGHPUT" if self.own_masks else "LATENCY"

    def explain(self) -> str:
        if self.own_masks:
            return (f"live: the model keeps up ({self.model_fps:.0f} fps async for a {self.camera_fps:g} fps "
                    "input), so each frame is shown with its own mask, about one inference after capture")
        return (f"live: the model is slower than the input ({self.model_fps:.0f} fps async, under "
                f"{LIVE_MARGIN:g} x {self.camera_fps:g} fps), so each frame is shown at once with the newest mask")


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


def measure_side_by_side(compiled: dict[str, ov.CompiledModel], frame: np.ndarray | None = None,
                         rounds: int = SIDE_BY_SIDE_ROUNDS, seconds: float = MEASURE_SECONDS / 2) -> dict[str, float]:
    """Median fps per model over ``rounds`` rounds that each time every model in turn for ``seconds``: a slow
    spell of the machine then falls on all of them alike, so their ratio holds even when their level does not."""
    runs: dict[str, list[float]] = {name: [] for name in compiled}
    for _ in range(rounds):
        for name, model in compiled.items():
            runs[name].append(measure_fps(model, seconds, frame)[0])
    return {name: float(np.median(values)) for name, values in runs.items()}


def near_ties(fps: dict[str, float], ratio: float = NEAR_TIE) -> list[str]:
    """The precisions within ``ratio`` of the fastest (most accurate first): the ones whose order a single
    measurement each may have got wrong."""
    best = max(fps.values())
    return [p for p in ACCURACY_ORDER if p in fps and fps[p] * ratio >= best]


def choose_precision(core: ov.Core, device: str, key: ModelKey, target_fps: float, cache: Path,
                     compile_for, probe: Callable[[], np.ndarray] | None = None,
                     tie: float = NEAR_TIE) -> PrecisionChoice:
    """Pick the precision for ``key``, measuring with ``compile_for(precision)`` -> CompiledModel (THROUGHPUT
    hint) on ``probe()`` what the cache does not hold yet.  When none keeps up and the fastest was measured now
    against another within ``tie``, those are timed again side by side and the figures replaced."""
    rates = RateCache(cache, probe)
    fps = rates.get(key)
    compiled: dict[str, ov.CompiledModel] = {}
    need = target_fps * HEADROOM
    for precision in candidates(core, device):
        if precision not in fps or rates.outdated(key, precision, need):
            compiled[precision] = compile_for(precision)  # kept: a near tie times it again below
            fps[precision] = rates.measure(key, precision, compiled[precision])
        if fps[precision] >= need:
            break  # the most accurate that keeps up: faster ones need not be measured
    enough = [p for p in ACCURACY_ORDER if p in fps and fps[p] >= need]
    close = [] if enough else near_ties(fps, tie)
    side_by_side: tuple[str, ...] = ()
    if len(close) > 1 and any(p in compiled for p in close):
        side_by_side = tuple(close)
        load = machine_load()
        models = {p: compiled[p] if p in compiled else compile_for(p) for p in close}
        for p, value in measure_side_by_side(models, rates.frame()).items():
            fps[p] = rates.put(key, p, round(value, 1), load)
    precision = enough[0] if enough else max(fps, key=fps.get)
    return PrecisionChoice(precision, fps, target_fps, key.device, not compiled, side_by_side)


def plan_live(key: ModelKey, precision: str, camera_fps: float, cache: Path, compile_for,
              probe: Callable[[], np.ndarray] | None = None) -> LivePlan:
    """The live policy for ``precision`` at ``camera_fps``, from the cached (or now measured) async rate."""
    need = camera_fps * LIVE_MARGIN
    fps = RateCache(cache, probe).rate(key, precision, compile_for, need)
    return LivePlan(fps >= need, fps, camera_fps)


#: plain ``--size auto`` steps down to these budgets (``auto:N``) when the model at the default size is too slow
#: for the input: a smaller input loses a little accuracy (docs/person-model.md: 0.958 -> 0.954 on portraits
#: from 256 to 224), a mask that lags the picture loses more.
SMALLER_AUTO_SIDES = (224, 192)
#: a size is kept when its model rate is at least this x the camera's.  Stricter than ``LIVE_MARGIN``: the size
#: is chosen so that every frame gets its own mask, and the pipeline's own work (decode, refinement,
#: compositing) takes part of the cores the model was timed on.  Measured on the Zen 4 EPYC at 30 fps: 288x160
#: timed at 29 fps gave 24-26 mask updates/s and 77-87 % own masks; 256x128 timed at 42 gave 28.7 and 96 %.
SIZE_MARGIN = 1.2


@dataclass(frozen=True)
class SizeChoice:
    """What plain ``auto`` size picked: the default budget, or a smaller one the model keeps up at."""

    size: str  # e.g. "288x160"
    side: int  # the budget's side (auto:N)
    fps: dict[str, float]  # model rate per tried size, in the order tried
    target_fps: float
    precision: str

    def explain(self) -> str:
        tried = ", ".join(f"{size} {fps:.0f}" for size, fps in self.fps.items())
        need = self.target_fps * SIZE_MARGIN
        why = (f"the largest whose model rate is >= {need:.0f} fps ({SIZE_MARGIN:g} x {self.target_fps:g})"
               if self.fps[self.size] >= need else f"none reaches {need:.0f} fps: the smallest")
        return (f"size auto: {self.size} (about {self.side}x{self.side} pixels) at {self.precision}, {why}; "
                f"measured model fps: {tried} (--size forces one)")


def choose_size(sizes: list[tuple[int, str]], rate_of, target_fps: float, precision: str) -> SizeChoice | None:
    """The first of ``sizes`` ((side, "WxH"), largest first) whose model rate ``rate_of(size, need)`` keeps up
    with ``target_fps`` (``need`` = ``SIZE_MARGIN`` x it: every live frame can have its own mask); None when the
    first does (nothing to say: the default stands), the last when none does."""
    fps: dict[str, float] = {}
    need = target_fps * SIZE_MARGIN
    for index, (side, size) in enumerate(sizes):
        if size not in fps:
            fps[size] = rate_of(size, need)
        if fps[size] >= need or index == len(sizes) - 1:
            return None if index == 0 else SizeChoice(size, side, fps, target_fps, precision)
    return None


@dataclass(frozen=True)
class Measured:
    """What one cached timing says (a row of ``vbg devices``)."""

    model: str  # model (weights file)
    size: str
    resize: str
    threads: str  # "all" cores, or a number
    openvino: str  # the OpenVINO version that timed it, when it is not this one ("" when it is)
    fps: dict[str, float]  # model frames a second, by precision
    busy: frozenset[str]  # precisions timed while other work held the CPU (timed again on the next run)
    timed: str  # when its oldest figure was taken, "YYYY-MM-DD HH:MM" ("" if unknown)


def cached_rows(cache: Path, device_name: str) -> list[Measured]:
    """The measurements held for ``device_name``, one per model/size (for ``vbg devices``)."""
    rows = []
    for record in RateCache(cache).records():
        if record.get("device") == device_name:
            taken = [t for t in (record.get("at") or {}).values() if isinstance(t, (int, float))]
            rows.append(Measured(
                f"{record.get('model')} ({record.get('weights')})", str(record.get("size")),
                str(record.get("resize")), str(record["threads"]) if record.get("threads") else "all",
                "" if record.get("openvino") == ov.get_version() else str(record.get("openvino")),
                {p: record["fps"][p] for p in ACCURACY_ORDER if p in record["fps"]},
                frozenset(record.get("busy", [])),
                time.strftime("%Y-%m-%d %H:%M", time.localtime(min(taken))) if taken else ""))
    return rows
