"""What runs on a Dask worker: one file end to end, with the compiled models kept for the worker's lifetime.

This is an importable module on purpose: Dask pickles ``process_file`` by reference, so ``_MODELS`` lives once
per worker process and every file after the first reuses its compiled model (a model defined in ``__main__``
would be rebuilt for every task).
"""

from __future__ import annotations

import dataclasses
import os
import threading
import time
from dataclasses import dataclass

from ..config import RunConfig
from ..errors import VbgError
from ..model.segmenter import Segmenter, SegmenterConfig
from .jobs import BatchJob, is_complete, write_sidecar

PROGRESS_TOPIC = "vbg-batch-progress"

_MODELS: dict[SegmenterConfig, tuple[Segmenter, threading.Lock]] = {}  # the lock: its synchronous request
_MODELS_LOCK = threading.Lock()


@dataclass
class FileResult:
    """How one file went; ``status`` is done, skipped (complete from an earlier run) or failed."""

    input: str
    output: str
    status: str
    frames: int = 0
    seconds: float = 0.0
    worker: str = ""
    reason: str = ""

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds else 0.0


def cached_model(config: SegmenterConfig) -> tuple[Segmenter, threading.Lock]:
    """One compiled model per (settings, input size) per worker process, with the lock that lets one image at
    a time use its synchronous request (workers may run several tasks); photos share one model of every size
    where the device runs one (``SegmenterConfig.any_size``)."""
    from ..model.convert import resolve_size

    size = resolve_size(config.size, config.frame, video=config.target_fps is not None)
    key, every_size = dataclasses.replace(config, size=str(size), frame=None), dataclasses.replace(config, frame=None)
    with _MODELS_LOCK:
        for known in (every_size, key) if config.any_size else (key,):
            if known in _MODELS:
                return _MODELS[known]
        segmenter = Segmenter(config)
        entry = _MODELS[every_size if segmenter.any_size else key] = (segmenter, threading.Lock())
        return entry


def cached_segmenter(config: SegmenterConfig) -> Segmenter:
    return cached_model(config)[0]


def _worker_name() -> str:
    try:
        from distributed import get_worker

        return str(get_worker().name)
    except (ImportError, ValueError):  # called outside a Dask worker (tests, sequential use)
        return f"pid {os.getpid()}"


class _Reporter:
    """Sends a file's frame count to the client's progress bar, at most a few times a second."""

    def __init__(self, job: BatchJob) -> None:
        self.file = str(job.input)
        self.total: int | None = None
        self.last = 0.0
        try:
            from distributed import get_worker

            self.worker = get_worker()
        except (ImportError, ValueError):
            self.worker = None

    def __call__(self, frames: int, force: bool = False) -> None:
        now = time.monotonic()
        if self.worker is not None and (force or now - self.last > 0.5):
            self.last = now
            self.worker.log_event(PROGRESS_TOPIC, {"file": self.file, "frames": frames, "total": self.total})


def process_file(job: BatchJob, config: RunConfig, key: str, batch: str = "") -> FileResult:
    """Make ``job.output`` from ``job.input`` with ``config``; a file's own problem (unreadable, bad format)
    is a failed result, anything else raises so that Dask retries it."""
    worker = _worker_name()
    done = is_complete(job, key)
    if done is not None:
        if batch and done.get("batch") == batch:  # Dask re-ran a task this batch finished (its worker died)
            return FileResult(str(job.input), str(job.output), "done", done.get("frames", 0),
                              done.get("seconds", 0.0), done.get("worker", ""))
        return FileResult(str(job.input), str(job.output), "skipped", done.get("frames", 0), 0.0, worker)
    job.output.parent.mkdir(parents=True, exist_ok=True)
    work = job.work_path()
    start = time.perf_counter()
    try:
        frames = (_process_video if job.kind == "video" else _process_image)(job, config, work)
        os.replace(work, job.output)
    except VbgError as exc:
        _remove(work)
        return FileResult(str(job.input), str(job.output), "failed", 0, time.perf_counter() - start, worker,
                          str(exc))
    except BaseException:
        _remove(work)
        raise
    seconds = time.perf_counter() - start
    write_sidecar(job, key, frames=frames, seconds=round(seconds, 3), worker=worker, batch=batch)
    for old in job.leftovers():  # work files of attempts that died with their worker
        _remove(old)
    return FileResult(str(job.input), str(job.output), "done", frames, seconds, worker)


def _process_video(job: BatchJob, config: RunConfig, work) -> int:
    from ..app import build_pipeline

    run = dataclasses.replace(config, input=str(job.input), output=str(work), overwrite=True, live=False, loop=False,
                              window=False, vcam=False, null=False, progress=False)
    report = _Reporter(job)
    pipeline = build_pipeline(run, make_segmenter=cached_segmenter, on_frame=report)
    report.total = pipeline.source.info.frame_count
    report(0, force=True)
    try:
        stats = pipeline.run()
    finally:
        pipeline.compositor.close()
    report.total = stats.frames_out
    report(stats.frames_out, force=True)
    return stats.frames_out


def _process_image(job: BatchJob, config: RunConfig, work) -> int:
    from ..app import build_refiner, compositor_for, image_segmenter_config
    from ..media.imageio import read_image, write_image
    from ..still import replace_background

    image = read_image(job.input)
    segmenter, lock = cached_model(image_segmenter_config(config, (image.shape[1], image.shape[0])))
    compositor = compositor_for(config)
    refiner = build_refiner(config)
    try:
        with lock:
            result = replace_background(image, segmenter, compositor, refiner)
    finally:
        compositor.close()
    write_image(work, result.result)
    report = _Reporter(job)
    report.total = 1
    report(1, force=True)
    return 1


def _remove(path) -> None:
    from ..media.sinks.file import partial_path

    for p in (path, partial_path(path)):
        try:
            p.unlink()
        except FileNotFoundError:
            pass
