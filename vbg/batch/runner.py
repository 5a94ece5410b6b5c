"""Runs a batch on Dask: an embedded ``LocalCluster`` sized to the machine, or an existing cluster's scheduler.

Each file is one task (``worker.process_file``), end to end on one worker.  Dask gives the rest: a task that
raises is retried (``retries``), a worker that dies has its tasks re-run elsewhere, and its nanny restarts it.
Because a re-run can also hit a file that already finished, outputs are idempotent (see ``jobs``).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import sys
import uuid
from dataclasses import dataclass

from ..config import RunConfig
from .jobs import BatchJob, is_complete, refuse_replacing, settings_hash
from .worker import PROGRESS_TOPIC, FileResult, process_file


THREADS_PER_WORKER = 4  # default cores per local worker (see Layout)


@dataclass(frozen=True)
class Layout:
    """Workers and OpenVINO threads per worker on one machine: ``workers * threads`` = the cores, so the
    cores are used once.  Dask's nanny sets ``OMP_NUM_THREADS=1``; OpenVINO's own thread count is what counts.

    One file already keeps several cores busy (decode and encode threads beside OpenVINO's streams), so the
    default gives each worker up to ``THREADS_PER_WORKER`` cores: on 2 cores one worker with 2 threads was
    1.3x faster than two workers with 1 (``benchmarks/bench_batch.py``, docs/measurements.md)."""

    workers: int
    threads: int

    @classmethod
    def for_machine(cls, workers: int | None = None, threads: int | None = None,
                    cores: int | None = None) -> "Layout":
        if cores is None:
            cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        if workers is None:
            workers = max(1, cores // (threads or THREADS_PER_WORKER))
        if threads is None:
            threads = max(1, cores // workers)
        return cls(workers, threads)


class BatchRunner:
    """Submits one task per file that is not already complete, shows progress over files and frames, and
    returns every file's ``FileResult`` (skipped ones included), in input order.  Existing outputs made
    otherwise (other settings, another tool) are refused before anything starts unless ``overwrite``."""

    def __init__(self, jobs: list[BatchJob], config: RunConfig, address: str | None = None,
                 layout: Layout | None = None, retries: int = 2, progress: bool = True,
                 overwrite: bool = False) -> None:
        self.jobs = jobs
        self.overwrite = overwrite
        self.config = config
        self.address = address
        self.layout = layout or Layout.for_machine()
        self.retries = retries
        self.progress = progress
        self.key = settings_hash(config)
        self.batch_id = uuid.uuid4().hex  # a task Dask re-runs after this batch finished it reports "done"
        self._frames: dict[str, tuple[int, int | None]] = {}

    def run(self) -> list[FileResult]:
        refuse_replacing(self.jobs, self.key, self.overwrite)
        results: dict[BatchJob, FileResult] = {}
        todo = []
        for job in self.jobs:
            done = is_complete(job, self.key)
            if done is None:
                todo.append(job)
            else:
                results[job] = FileResult(str(job.input), str(job.output), "skipped", done.get("frames", 0))
        if todo:
            results.update(self._run_on_dask(todo))
        return [results[job] for job in self.jobs]

    def _client(self):
        from distributed import Client, LocalCluster

        if self.address:
            return Client(self.address, timeout="10s"), None
        cluster = LocalCluster(n_workers=self.layout.workers, threads_per_worker=1, processes=True,
                               dashboard_address=":0", silence_logs=logging.CRITICAL)
        return Client(cluster), cluster

    def _run_on_dask(self, todo: list[BatchJob]) -> dict[BatchJob, FileResult]:
        from distributed import as_completed
        from ..errors import VbgError
        from ..pipeline.progress import progress_bar

        try:
            client, cluster = self._client()
        except OSError as exc:
            raise VbgError(f"cannot reach the Dask scheduler at {self.address}: {exc}; start one with "
                           f"`dask scheduler` or leave out --address to run on this machine") from None
        # local workers get the layout's share of the cores; remote ones pick their own unless the user chose
        config = dataclasses.replace(self.config,
                                     threads=self.layout.threads if cluster is not None else self.config.threads)
        files = progress_bar(total=len(todo), unit="file", desc="files", position=0, disable=not self.progress)
        frames = progress_bar(total=0, unit="frame", desc="frames", position=1, disable=not self.progress)
        futures = {}
        results: dict[BatchJob, FileResult] = {}
        try:
            client.subscribe_topic(PROGRESS_TOPIC, lambda event: self._on_progress(event[1], frames))
            futures = {client.submit(process_file, job, config, self.key, self.batch_id, retries=self.retries, pure=False): job
                       for job in todo}
            for future in as_completed(futures):
                job = futures[future]
                try:
                    results[job] = future.result()
                except Exception as exc:  # retries used up, or its worker died too often (KilledWorker)
                    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
                    results[job] = FileResult(str(job.input), str(job.output), "failed",
                                              reason=f"{type(exc).__name__}: {reason}".rstrip(": "))
                files.update(1)
        except KeyboardInterrupt:
            client.cancel(list(futures))
            raise
        finally:
            files.close()
            frames.close()
            logging.getLogger("distributed").setLevel(logging.CRITICAL)  # heartbeats cut short by the shutdown
            client.close()
            if cluster is not None:
                cluster.close()
            if len(results) < len(todo):  # interrupted: no work file may survive under any name
                for job in todo:
                    for leftover in job.leftovers():
                        leftover.unlink(missing_ok=True)
        return results

    def _on_progress(self, msg: dict, bar) -> None:
        self._frames[msg["file"]] = (msg["frames"], msg.get("total"))
        bar.total = sum(total or done for done, total in self._frames.values())
        bar.update(sum(done for done, _ in self._frames.values()) - bar.n)  # redraws at most every mininterval


def summary_table(results: list[FileResult]) -> str:
    """A Markdown table: file, frames, fps, worker, status (with the reason of a failure)."""
    lines = ["| file | frames | fps | worker | status |", "|---|---|---|---|---|"]
    for r in results:
        status = f"failed: {r.reason}" if r.status == "failed" else r.status
        fps = f"{r.fps:.1f}" if r.status == "done" else ""
        lines.append(f"| {r.input} | {r.frames} | {fps} | {r.worker} | {status} |")
    return "\n".join(lines)


def print_summary(results: list[FileResult], outdir: str) -> int:
    """Prints the table and a one-line verdict; returns the exit code (1 when any file failed)."""
    print(summary_table(results))
    failed = [r for r in results if r.status == "failed"]
    counts = {s: sum(r.status == s for r in results) for s in ("done", "skipped", "failed")}
    print(f"vbg: {counts['done']} written, {counts['skipped']} already done, {counts['failed']} failed "
          f"(outputs in {outdir})", file=sys.stderr)
    for r in failed:
        print(f"vbg: error: {r.input}: {r.reason}", file=sys.stderr)
    return 1 if failed else 0
