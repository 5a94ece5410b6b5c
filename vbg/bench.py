"""``vbg bench``: the same measurements for every device x precision x size x hint, side by side.

Each cell builds (or reuses) the IR, then measures with one fixed number of infer requests everywhere, so a
device is never favoured by a deeper queue:

- compile time cold (an empty OpenVINO ``CACHE_DIR``) and cached (the same ``CACHE_DIR`` on a second compile).
  Both start from vbg's IR cache; building the IR itself (torch conversion, NNCF quantisation) is reported
  separately as ``ir_s`` when this run had to do it;
- synchronous latency p50/p95 on one 1280x720 frame of the clip (resize is part of the model);
- asynchronous throughput with an ``AsyncInferQueue`` of ``requests`` requests;
- end-to-end pipeline fps on the clip: ``vbg.pipeline.core.Pipeline`` in file mode into a ``NullSink``;
- mean MAE against reference maps, when a folder with ``images/`` and ``masks/`` is given.

A device that is not present (or cannot run a precision) becomes a row whose status says so; the matrix goes on.
The default model is vbg's own (the bundled person weights), so the default matrix runs offline.  Results are
printed as a table and written as JSON, CSV and a PNG chart of throughput (of the cells that were measured).
"""

from __future__ import annotations

import csv
import io
import json
import math
import platform
import tempfile
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .errors import VbgError
from .model.weights import DEFAULT_MODEL

if TYPE_CHECKING:  # OpenVINO loads when a benchmark runs, not when vbg's flags are built
    import openvino as ov

DEFAULT_CLIP = Path(__file__).resolve().parent / "assets" / "samples" / "person_720p.mp4"  # package data
DEFAULT_BACKGROUND = DEFAULT_CLIP.with_name("background_beach.jpg")
HINTS = ("LATENCY", "THROUGHPUT")
NOT_AVAILABLE = "not available"  # a cell's status when this machine lacks its device (or the precision)
ERROR = "error: "  # how a failed cell's status starts; the rest is the first line of what went wrong
#: One colour per precision (matplotlib's tab10), the same in every chart, so charts compare at a glance.
PRECISION_COLOURS = {"fp32": "#1f77b4", "fp16": "#ff7f0e", "bf16": "#2ca02c", "int8": "#d62728"}


@dataclass
class BenchMatrix:
    """What to measure.  ``devices=None`` means every device OpenVINO finds here."""

    devices: list[str] | None = None
    precisions: list[str] = field(default_factory=lambda: ["fp32", "bf16", "int8"])
    sizes: list[str] = field(default_factory=lambda: ["320"])
    hints: list[str] = field(default_factory=lambda: ["THROUGHPUT"])
    requests: list[int] = field(default_factory=lambda: [2])
    resize: str = "antialias"
    model: str = DEFAULT_MODEL  # bundled: no download, and the model vbg runs by default
    weights: str | None = None
    cache_dir: str | None = None
    calibration: str | None = None
    clip: str = str(DEFAULT_CLIP)
    frames: int = 60  # pipeline frames per cell
    runs: int = 20  # synchronous runs per cell
    seconds: float = 3.0  # async throughput run per cell
    reference: str | None = None  # folder with images/ and masks/

    def check(self) -> None:
        """Reject bad settings before any model is built."""
        from .model.convert import PRECISIONS, RESIZE_MODES, resolve_size

        for p in self.precisions:
            if p not in PRECISIONS:
                raise VbgError(f"unknown precision {p!r}: choose from {', '.join(PRECISIONS)}")
        for h in self.hints:
            if h not in HINTS:
                raise VbgError(f"unknown performance hint {h!r}: choose LATENCY or THROUGHPUT")
        if any(r <= 0 for r in self.requests):
            raise VbgError("--requests must be positive numbers")
        if self.resize not in RESIZE_MODES:
            raise VbgError(f"unknown resize mode {self.resize!r}: choose one of {', '.join(RESIZE_MODES)}")
        for s in self.sizes:
            resolve_size(s)
        if not Path(self.clip).is_file():
            raise VbgError(f"clip {self.clip} does not exist: pass --clip FILE")
        if self.reference:
            reference_pairs(self.reference)
        self.weights_path()

    def weights_path(self) -> Path:
        """The checkpoint every cell converts, found (or downloaded) once before any cell: a model whose weights
        cannot be had is one error line, not a matrix of failed rows."""
        from .model.weights import cache_dir, get_spec, resolve_weights

        return resolve_weights(get_spec(self.model), self.weights, cache_dir(self.cache_dir))


@dataclass
class CellResult:
    """One row of the results; numbers are None when the cell did not run."""

    device: str
    precision: str
    size: str
    hint: str
    requests: int
    status: str = "ok"
    ir_s: float | None = None
    compile_cold_s: float | None = None
    compile_cached_s: float | None = None
    cache: str | None = None
    latency_p50_ms: float | None = None
    latency_p95_ms: float | None = None
    throughput_fps: float | None = None
    pipeline_fps: float | None = None
    mae: float | None = None


def reference_pairs(folder: str | Path) -> list[tuple[Path, Path]]:
    """(image, mask) paths of a reference folder: ``images/NAME.*`` with ``masks/NAME.png``."""
    root = Path(folder)
    images = sorted((root / "images").glob("*")) if (root / "images").is_dir() else []
    pairs = [(p, root / "masks" / (p.stem + ".png")) for p in images]
    pairs = [(i, m) for i, m in pairs if m.is_file()]
    if not pairs:
        raise VbgError(f"reference folder {root} has no images/NAME.* with masks/NAME.png: check the path")
    return pairs


def reference_mae(segment, folder: str | Path) -> float:
    """Mean absolute error (0..1) of ``segment(bgr) -> uint8 alpha at the image size`` over a reference set."""
    import cv2

    errors = []
    for image_path, mask_path in reference_pairs(folder):
        mask = cv2.imread(str(mask_path), cv2.IMREAD_GRAYSCALE)
        alpha = segment(cv2.imread(str(image_path), cv2.IMREAD_COLOR))
        errors.append(np.abs(alpha.astype(np.float32) - mask).mean() / 255)
    return float(np.mean(errors))


def expand_devices(core: ov.Core, devices: list[str] | None) -> list[str]:
    """The devices to bench: as given, or every device present (``GPU.0``/``GPU.1`` stay separate)."""
    return list(devices) if devices else list(core.available_devices)


def _percentiles(times: list[float]) -> tuple[float, float]:
    return float(np.percentile(times, 50)), float(np.percentile(times, 95))


class Bench:
    """Runs a ``BenchMatrix`` cell by cell; ``run()`` returns the rows (also kept in ``results``)."""

    def __init__(self, matrix: BenchMatrix, log=print) -> None:
        import openvino as ov

        matrix.check()
        self.matrix = matrix
        self.log = log
        self.core = ov.Core()
        self.results: list[CellResult] = []
        self._frames: list[np.ndarray] | None = None

    def frames(self) -> list[np.ndarray]:
        """The clip's decoded frames (for the latency and throughput loops), decoded once."""
        if self._frames is None:
            from .media.sources import open_source

            self._frames = [f.image for f in open_source(self.matrix.clip)]
        return self._frames

    def cells(self):
        m = self.matrix
        for device in expand_devices(self.core, m.devices):
            for size in m.sizes:
                for precision in m.precisions:
                    for hint in m.hints:
                        for requests in m.requests:
                            yield CellResult(device, precision, size, hint, requests)

    def run(self) -> list[CellResult]:
        for cell in self.cells():
            self.results.append(self.run_cell(cell))
            self.log(format_row(self.results[-1]))
        return self.results

    def segmenter(self, cell: CellResult, core: ov.Core):
        from .model.segmenter import Segmenter, SegmenterConfig

        m = self.matrix
        return Segmenter(SegmenterConfig(model=m.model, device=cell.device, size=cell.size, precision=cell.precision,
                                         resize=m.resize, weights=m.weights, cache_dir=m.cache_dir,
                                         performance_hint=cell.hint, calibration=m.calibration), core=core)

    def run_cell(self, cell: CellResult) -> CellResult:
        """Measure one cell.  A device that is not here, or that lacks the precision (bf16 or int8 units), is
        "not available": a fact about this machine, not a failure; anything else that goes wrong is an error row."""
        from .model.devices import check_device, runtime_config

        try:
            check_device(self.core, cell.device)
        except VbgError:
            cell.status = NOT_AVAILABLE
            return cell
        try:
            runtime_config(self.core, cell.device, cell.precision, cell.hint)
        except VbgError:
            cell.status = f"{NOT_AVAILABLE}: no {cell.precision} on {cell.device}"
            return cell
        try:
            self._measure(cell)
        except (VbgError, RuntimeError) as exc:
            lines = str(exc).strip().splitlines()
            cell.status = ERROR + (lines[0] if lines else type(exc).__name__)
        return cell

    def _measure(self, cell: CellResult) -> None:
        import openvino as ov

        start = time.perf_counter()
        self.segmenter(cell, ov.Core())  # builds the IR if this run is the first to need it
        cell.ir_s = round(time.perf_counter() - start, 2)
        with tempfile.TemporaryDirectory(prefix="vbg-bench-ovcache-") as ov_cache:
            times = []
            for _ in range(2):  # a fresh Core each time, so only the on-disk OpenVINO cache carries over
                core = ov.Core()
                core.set_property({"CACHE_DIR": ov_cache})
                start = time.perf_counter()
                segmenter = self.segmenter(cell, core)
                times.append(time.perf_counter() - start)
            cell.compile_cold_s, cell.compile_cached_s = times
            cached = any(Path(ov_cache).iterdir())
        cell.cache = "openvino CACHE_DIR" if cached else "vbg IR cache only"
        frames = self.frames()
        frame = frames[len(frames) // 2]
        for _ in range(3):
            segmenter.infer(frame)
        latencies = []
        for _ in range(self.matrix.runs):
            t = time.perf_counter()
            segmenter.infer(frame)
            latencies.append((time.perf_counter() - t) * 1000)
        cell.latency_p50_ms, cell.latency_p95_ms = _percentiles(latencies)
        cell.throughput_fps = self._throughput(segmenter, cell.requests)
        cell.pipeline_fps = self._pipeline(segmenter, cell.requests)
        if self.matrix.reference:
            cell.mae = reference_mae(segmenter.segment, self.matrix.reference)

    def _throughput(self, segmenter, requests: int) -> float:
        frames = self.frames()
        queue = segmenter.infer_queue(requests)
        for i in range(requests):
            queue.start_async({0: segmenter.check_frame(frames[i % len(frames)])})
        queue.wait_all()
        done, start = 0, time.perf_counter()
        while time.perf_counter() - start < self.matrix.seconds:
            queue.start_async({0: segmenter.check_frame(frames[done % len(frames)])})
            done += 1
        queue.wait_all()
        return done / (time.perf_counter() - start)

    def _pipeline(self, segmenter, requests: int) -> float:
        from .compose.compositing import Compositor, ImageBackground
        from .pipeline.core import Pipeline
        from .pipeline.options import PipelineOptions
        from .media.sinks import NullSink
        from .media.sources import open_source

        source = open_source(self.matrix.clip, loop=True)
        stats = Pipeline(source, segmenter, Compositor([ImageBackground(str(DEFAULT_BACKGROUND))]), [NullSink()],
                         PipelineOptions(requests=requests, max_frames=self.matrix.frames, progress=False)).run()
        return stats.frames_out / stats.seconds


COLUMNS = [f.name for f in fields(CellResult)]
HEADER = ("| device | precision | size | hint | req | status | compile cold s | compile cached s | sync p50 ms "
          "| sync p95 ms | async fps | pipeline fps | MAE |")


def _fmt(value, digits: int = 1) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


def format_row(r: CellResult) -> str:
    return (f"| {r.device} | {r.precision} | {r.size} | {r.hint} | {r.requests} | {r.status} "
            f"| {_fmt(r.compile_cold_s, 2)} | {_fmt(r.compile_cached_s, 2)} | {_fmt(r.latency_p50_ms)} "
            f"| {_fmt(r.latency_p95_ms)} | {_fmt(r.throughput_fps)} | {_fmt(r.pipeline_fps)} | {_fmt(r.mae, 4)} |")


def environment() -> dict:
    """What the numbers were measured on."""
    import openvino as ov

    from importlib.metadata import PackageNotFoundError, version

    core = ov.Core()
    try:
        nncf = version("nncf")
    except PackageNotFoundError:
        nncf = None
    return {"openvino": ov.get_version(), "nncf": nncf, "python": platform.python_version(),
            "machine": platform.machine(), "cpu": str(core.get_property("CPU", "FULL_DEVICE_NAME")),
            "devices": list(core.available_devices), "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


def problem(results: list[CellResult]) -> str | None:
    """What went wrong, as the one line ``vbg: error:`` prints, or None when every cell this machine can run was
    measured ("not available" cells are a fact about the machine, not a failure).  The first failure's reason
    stands for all: a failing cell usually fails for the same reason in every size and hint."""
    failed = [r for r in results if r.status.startswith(ERROR)]
    measured = sum(r.status == "ok" for r in results)
    if failed:
        first = failed[0]
        others = len({r.status for r in failed}) - 1
        more = f" (and {others} other reason{'s' * (others > 1)}: see the table)" if others else ""
        count = (f"all {len(results)} cells failed" if len(failed) == len(results) else
                 f"{len(failed)} of {len(results)} cells failed{'' if measured else ' and none was measured'}")
        return (f"{count}, first {first.device} {first.precision} {first.size}: {first.status[len(ERROR):]}"
                f"{more}")
    if not measured:
        absent = sorted({r.device for r in results if r.status == NOT_AVAILABLE})
        lacking = sorted({f"{r.precision} on {r.device}" for r in results if r.status != NOT_AVAILABLE})
        what = ([f"no device {', '.join(absent)} here"] if absent else []) + ([f"no {', '.join(lacking)}"]
                                                                             if lacking else [])
        return f"nothing was measured ({'; '.join(what)}): choose from what `vbg devices` lists"
    return None


def write_results(results: list[CellResult], matrix: BenchMatrix, out_dir: str | Path) -> dict[str, Path]:
    """bench.json (settings, environment, rows), bench.csv (rows) and bench.png (the throughput chart, only when
    a cell was measured: an empty chart would only show an axis), each written whole or not at all."""
    from .media.imageio import write_atomic

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / "bench.json", "csv": out / "bench.csv", "png": out / "bench.png"}
    settings = {k: v for k, v in asdict(matrix).items()}
    write_atomic(paths["json"], json.dumps({"settings": settings, "environment": environment(),
                                            "results": [asdict(r) for r in results]}, indent=2).encode())
    table = io.StringIO(newline="")
    writer = csv.DictWriter(table, fieldnames=COLUMNS)
    writer.writeheader()
    writer.writerows(asdict(r) for r in results)
    write_atomic(paths["csv"], table.getvalue().encode())
    title = f"vbg bench: async throughput of {matrix.model} ({matrix.resize} resize) by device and precision"
    chart = plot_throughput(results, title)
    if chart is None:
        paths["png"].unlink(missing_ok=True)  # an older run's chart would describe other numbers
        del paths["png"]
    else:
        write_atomic(paths["png"], chart)
    return paths


def plot_throughput(results: list[CellResult], title: str = "vbg bench: throughput") -> bytes | None:
    """Grouped bars: one group per device (and size/hint/requests when they vary), one bar per precision in that
    precision's colour, named in the legend.  Async throughput is the bar; pipeline fps is the dot on it.
    Groups that did not run are labelled with their status.

    Returns the PNG, or None when no cell was measured (nothing to draw).  The title is wrapped to the figure's
    width and the figure is saved with a tight bounding box, so neither the title nor the legend beside the axes
    is clipped.
    """
    import textwrap

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    measured = [r for r in results if r.status == "ok" and r.throughput_fps is not None]
    if not measured:
        return None

    def group(r: CellResult) -> str:
        parts = [r.device]
        if len({x.size for x in results}) > 1:
            parts.append(r.size)
        if len({x.hint for x in results}) > 1:
            parts.append(r.hint.lower())
        if len({x.requests for x in results}) > 1:
            parts.append(f"{r.requests} req")
        return "\n".join(parts)

    groups = list(dict.fromkeys(group(r) for r in results))
    precisions = list(dict.fromkeys(r.precision for r in measured))
    width = 0.8 / len(precisions)
    fig_width = max(4.0, 1.2 + 0.5 * len(groups) * len(precisions))
    fig, ax = plt.subplots(figsize=(fig_width, 3.2), dpi=100)
    for j, precision in enumerate(precisions):
        rows = [(i, r) for i, g in enumerate(groups) for r in measured if group(r) == g and r.precision == precision]
        xs = [i + (j - (len(precisions) - 1) / 2) * width for i, _ in rows]
        bars = ax.bar(xs, [r.throughput_fps for _, r in rows], width, label=precision,
                      color=PRECISION_COLOURS[precision])
        ax.bar_label(bars, fmt="%.1f", fontsize=7)
        ax.plot(xs, [r.pipeline_fps for _, r in rows], "k.", markersize=4)
    ax.set_xticks(range(len(groups)), groups)
    ax.set_ylim(0, max(r.throughput_fps for r in measured) * 1.2)
    for i, g in enumerate(groups):
        if all(r.status != "ok" for r in results if group(r) == g):
            status = next(r.status for r in results if group(r) == g)
            ax.text(i, ax.get_ylim()[1] * 0.05, textwrap.fill(status, 16)[:60], ha="center", va="bottom",
                    fontsize=7, color="gray")
    ax.set_ylabel("frames/s (bar: async, dot: pipeline)", fontsize=8)
    ax.set_title(textwrap.fill(title, max(30, int(fig_width * 11))), fontsize=10)
    ax.legend(title="precision", fontsize=8, title_fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    png = io.BytesIO()
    fig.savefig(png, format="png", bbox_inches="tight", pad_inches=0.15)
    plt.close(fig)
    return png.getvalue()
