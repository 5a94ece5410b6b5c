"""Run-time measurements: rates for the overlay and latency percentiles for the exit summary.

Both keep bounded state (a sliding window of timestamps, a fixed-size sample ring), so a stream that runs for
hours uses constant memory.
"""

from __future__ import annotations

import threading
import time
from collections import deque

import numpy as np


def progress_interval(terminal: float = 0.1) -> float:
    """Seconds between progress-bar updates: lively on a terminal, every few seconds in a log or CI output."""
    import sys

    return terminal if sys.stderr.isatty() else 5.0


class CpuMeter:
    """The process's CPU use, in percent of one core, since the previous reading (the first: since start).
    Read on request only (``vbg ctl status``): nothing is sampled while nobody asks."""

    def __init__(self) -> None:
        self._last = (time.perf_counter(), time.process_time())

    def share(self) -> float:
        now = (time.perf_counter(), time.process_time())
        wall, cpu = now[0] - self._last[0], now[1] - self._last[1]
        self._last = now
        return round(100 * cpu / wall, 1) if wall > 0 else 0.0


class RateMeter:
    """Events per second over the last ``window`` seconds (output fps, mask updates per second)."""

    def __init__(self, window: float = 2.0) -> None:
        self.window = window
        self._times: deque[float] = deque()
        self._lock = threading.Lock()

    def tick(self, now: float | None = None) -> None:
        now = time.perf_counter() if now is None else now
        with self._lock:
            self._times.append(now)
            while self._times and now - self._times[0] > self.window:
                self._times.popleft()

    def rate(self, now: float | None = None) -> float:
        now = time.perf_counter() if now is None else now
        with self._lock:
            while self._times and now - self._times[0] > self.window:
                self._times.popleft()
            if len(self._times) < 2:
                return 0.0
            span = max(now - self._times[0], self._times[-1] - self._times[0])
            return (len(self._times) - 1) / span if span > 0 else 0.0


class LatencyStats:
    """Latency samples (milliseconds) per named stage, kept in a ring of the most recent ``keep``."""

    def __init__(self, keep: int = 4096) -> None:
        self.keep = keep
        self._samples: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def add(self, stage: str, ms: float) -> None:
        with self._lock:
            ring = self._samples.get(stage)
            if ring is None:
                ring = self._samples[stage] = deque(maxlen=self.keep)
            ring.append(ms)

    def percentiles(self, stage: str, qs: tuple[float, ...] = (50, 95)) -> tuple[float, ...] | None:
        with self._lock:
            ring = self._samples.get(stage)
            values = np.fromiter(ring, float) if ring else None
        return None if values is None or values.size == 0 else tuple(float(np.percentile(values, q)) for q in qs)

    def last(self, stage: str) -> float | None:
        with self._lock:
            ring = self._samples.get(stage)
            return ring[-1] if ring else None

    def stages(self) -> list[str]:
        with self._lock:
            return list(self._samples)
