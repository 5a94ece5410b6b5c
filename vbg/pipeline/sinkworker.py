"""One sink on its own thread behind a bounded queue: backpressure in file mode, per-sink drops in live mode."""

from __future__ import annotations

import queue
import threading
import time

import numpy as np

from ..media.frames import Frame
from ..media.sinks import FrameSink
from .stats import RunStats

END = object()  # "close the sink after the frames already queued"


class SinkWorker:
    """Runs one sink in its own thread behind a bounded queue.

    File mode blocks when the queue is full (backpressure); live mode drops the frame for this sink only, so a
    slow virtual camera cannot stall the window.  All of a sink's calls happen on its thread (cv2 windows
    require that).
    """

    def __init__(self, sink: FrameSink, live: bool, size: int, stats: RunStats, on_error) -> None:
        self.sink = sink
        self.live = live
        self.stats = stats
        self.on_error = on_error
        self.queue: queue.Queue = queue.Queue(maxsize=size)
        self.opened = threading.Event()
        self.thread = threading.Thread(target=self._run, name=f"sink-{sink.name}", daemon=True)
        self.dropped = 0

    def start(self, info) -> None:
        self._info = info
        self.thread.start()

    def put(self, frame: Frame, image: np.ndarray, stop: threading.Event) -> None:
        item = (frame, image)
        if self.live:
            try:
                self.queue.put_nowait(item)
            except queue.Full:
                self.dropped += 1
            return
        while not stop.is_set():
            try:
                self.queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def finish(self) -> None:
        """Ask the worker to close the sink after the frames already queued."""
        while self.thread.is_alive():
            try:
                self.queue.put(END, timeout=0.1)
                return
            except queue.Full:
                continue

    def _run(self) -> None:
        try:
            self.sink.open(self._info)
        except BaseException as exc:  # noqa: BLE001 - reported to the pipeline, which re-raises
            self.opened.set()
            self.on_error(exc)
            self._drain()
            return
        self.opened.set()
        try:
            while True:
                item = self.queue.get()
                if item is END:
                    break
                frame, image = item
                start = time.perf_counter()
                self.sink.write(frame, image)
                now = time.perf_counter()
                self.stats.latency.add(f"sink[{self.sink.name}]", (now - start) * 1000)
                self.stats.latency.add("capture->sink", (now - frame.captured_at) * 1000)
        except BaseException as exc:  # noqa: BLE001
            self.on_error(exc)
            self._drain()
        finally:
            try:
                self.sink.close()  # finalising can fail too (a full disk while writing the index)
            except BaseException as exc:  # noqa: BLE001 - reported like a write error, never a thread traceback
                self.on_error(exc)

    def _drain(self) -> None:
        """Keep consuming so producers never block on a dead sink."""
        while True:
            try:
                if self.queue.get(timeout=0.5) is END:
                    return
            except queue.Empty:
                return
