"""The threaded capture -> infer -> composite -> sink pipeline.

Threads and queues (all bounded)::

    source reader ──> capture thread ──start_async──> AsyncInferQueue (N requests) ──callback──┐
                          │ (live: every frame)                                              │ masks
                          └──────────────> compositor thread <────────────────────────────────┘
                                              │ reorders by sequence number (file) or uses the
                                              │ newest mask (live); blends, draws the overlay
                                              ├──> sink worker 1 (window)  ──> cv2.imshow
                                              └──> sink worker 2 (file)    ──> PyAV encoder

Two contracts:

- **file**: every frame is inferred and comes out exactly once, in order.  A semaphore bounds the frames in
  flight, so a slow sink stalls the compositor, which stalls capture (backpressure), and nothing is dropped.
- **live**: never fall behind.  The source keeps only its newest frame, which goes to the model the moment a
  request frees, and every captured frame is output, at the camera's rate.  When the model keeps up (its
  measured async rate is above the camera's: ``Segmenter.live_plan``), each frame waits for its own mask, about
  one inference; a frame whose mask is not back in time (or that the model skipped) takes the newest mask
  instead.  When the model is slower, every frame is shown at once with the newest mask.  ``aligned`` outputs
  only frames whose own mask is back, at the model's rate.

With a change gate (``PipelineOptions.gate``; ``app.gate_config`` turns it on by default), the capture thread decides per
frame whether the model runs (``gate.ChangeGate``); a frame it skips is shown with the last mask, moved with the
picture where it moved, and with the last refined alpha where nothing changed (``masks.MaskReuse``).  Files
keep their contract: every frame out, in order.
"""

from __future__ import annotations

import math
import queue
import threading
import time

import cv2
import numpy as np
import openvino as ov

from ..compose.compositing import Compositor
from ..compose.motion import Thumb
from ..compose.overlay import OverlayStats
from ..compose.refine import MaskRefiner
from ..errors import VbgError
from ..media.frames import Frame
from ..media.sinks import FrameSink
from ..media.sources import FrameSource
from ..media.sources.buffer import FrameBuffer
from ..model.asyncqueue import CallbackQueue
from ..model.segmenter import Segmenter
from .control import CaptureDemand, Controls
from .gate import ChangeGate
from .masks import Mask, MaskBoard, MaskReuse, own_mask_wait
from .metrics import RateMeter
from .options import PipelineOptions
from .progress import FrameProgress
from .sinkworker import SinkWorker
from .stats import RunStats

_END = object()  # end-of-stream marker on internal queues
NO_OUTPUT = "no output: pass -o FILE, --window, --vcam or --null"


class Pipeline:
    """capture -> async inference -> composite -> sinks.  ``run()`` blocks until the source ends, a sink asks
    to quit, ``stop()`` is called, or Ctrl-C; the sinks are closed (files finalised) in every case."""

    def __init__(self, source: FrameSource, segmenter: Segmenter, compositor: Compositor,
                 sinks: list[FrameSink], options: PipelineOptions | None = None,
                 refiner: MaskRefiner | None = None) -> None:
        if not sinks:
            raise VbgError(NO_OUTPUT)
        self.source = source
        self.segmenter = segmenter
        self.compositor = compositor
        self.sinks = sinks
        # refinement (edges, temporal smoothing) runs in the compositor thread, on frames in display order
        self.refiner = refiner or MaskRefiner()
        self.options = options or PipelineOptions()
        self.live = self.options.live_for(source.info)
        # ordered = each frame waits for its own mask (file mode, and live --aligned)
        self._ordered = not self.live or self.options.aligned
        self.stats = RunStats(model=segmenter.describe())
        mirror = self.options.mirror
        self.controls = Controls(compositor, self.stop, overlay=self.options.overlay is not False,
                                 burn_in=self.options.overlay is True, snapshot_dir=self.options.snapshot_dir,
                                 mirror=self.live and mirror is not False, mirror_all=mirror is True)
        self.controls.frames_out = lambda: self.stats.frames_out
        self._stop = threading.Event()
        self._drain = threading.Event()  # no more input: finish what was captured, then end (interrupts)
        self._done_events: dict[str, threading.Event] = {}  # stage thread name -> finished (see _join)
        self._errors: list[BaseException] = []
        self.output_rate = RateMeter()
        self.mask_rate = RateMeter()
        self._masks: queue.Queue = queue.Queue()  # (seq, frame, mask or None: gated) in file/aligned mode
        self._frames: queue.Queue | None = None  # live: frames awaiting composition (made in run())
        self._board = MaskBoard(0.0)  # live: masks back from the model (own_wait set in run())
        gate = None if self.options.aligned else self.options.gate  # aligned shows model frames only
        self._gate = ChangeGate(gate) if gate is not None else None
        self._reuse = MaskReuse(gate.threshold if gate is not None else 0.0)
        self._workers: list[SinkWorker] = []
        self._last_shown: int | None = None  # seq of the last frame output (see _shutdown)

    # -- control -----------------------------------------------------------------------------------------------
    def stop(self) -> None:
        """Ask every stage to finish; safe from any thread (keys, tests).  The source is closed too: a capture
        thread may be waiting for a frame that a held source (nobody watching) will not send."""
        self._stop.set()
        self.source.close()

    @property
    def stopping(self) -> bool:
        """Whether the run has been asked to end (a command queued now would never be applied)."""
        return self._stop.is_set()

    def _fail(self, exc: BaseException) -> None:
        self._errors.append(exc)
        self.stop()

    # -- run ---------------------------------------------------------------------------------------------------
    def run(self) -> RunStats:
        if self.live:
            # a live frame's OpenCV work is a few small calls: OpenCV's worker pool costs more CPU than it saves
            # there (bench_stages.py, live: 1.7 ms per frame in its threads against 0.9 ms more without them)
            cv2.setNumThreads(1)
        requests = self.options.requests or self.segmenter.optimal_requests
        infer_queue = CallbackQueue(self.segmenter.compiled, requests, self._on_mask)
        own_wait = self._board.own_wait = 0.0 if self._ordered else own_mask_wait(
            self.segmenter.live_plan, self.options.own_masks, requests, self.source.info.rate)
        # own masks: room for every frame that may still be waiting for its mask, so none is dropped for that
        waiting = math.ceil(own_wait * self.source.info.rate) + requests + 3 if own_wait else 2
        self._frames = queue.Queue(maxsize=waiting)
        if own_wait:
            self.stats.own_masks = 0
        self._workers = [SinkWorker(s, self.live, self.options.sink_queue, self.stats, self._fail)
                         for s in self.sinks]
        for worker in self._workers:
            worker.start(self.source.info)
        for worker in self._workers:
            worker.opened.wait()
        watched = [sink.readers for sink in self.sinks]
        if self.live:  # paused, or only a virtual camera and nobody watching it: the camera is released
            self.source.serve_on_demand(CaptureDemand(self.controls, watched[0] if len(watched) == 1 else None))
        in_flight = threading.Semaphore(requests + 2)
        capture = threading.Thread(target=self._guard(self._capture, "capture"), args=(infer_queue, in_flight),
                                   name="capture", daemon=True)
        compose = threading.Thread(target=self._guard(self._compose, "compose"), args=(in_flight,), name="compose",
                                   daemon=True)
        start = time.perf_counter()
        try:
            if not self._stop.is_set():
                capture.start()
                compose.start()
            self._join(capture, compose)
        except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM delivered the same way (vbg.errors.Terminated)
            self._finish_captured(capture, compose)
            self._shutdown(capture, compose, infer_queue, start)
            exc.stats = self.stats  # the CLI reports what was written before it exits
            raise
        self._shutdown(capture, compose, infer_queue, start)
        if self._errors:
            raise self._errors[0]
        return self.stats

    def _join(self, capture: threading.Thread, compose: threading.Thread) -> None:
        """Wait for both stage threads.  Waits on the events ``_guard`` sets, not ``Thread.join``: on Python
        3.11 a Ctrl-C landing inside ``join`` marks a still-running thread as stopped, and the interrupt path
        would then close the sinks while frames are still being composed."""
        for thread in (compose, capture):
            done = self._done_events.get(thread.name)
            while thread.ident is not None and done is not None and not done.wait(0.1):
                pass

    def _finish_captured(self, capture: threading.Thread, compose: threading.Thread) -> None:
        """After an interrupt: take no new input, but let every frame already captured through inference,
        composition and the sinks, so the output ends cleanly with exactly the frames reported.  A second
        interrupt stops at once."""
        self._drain.set()
        self.source.close()  # wakes a capture thread waiting for the next frame
        try:
            self._join(capture, compose)
        except KeyboardInterrupt:
            self._stop.set()

    def _shutdown(self, capture, compose, infer_queue, start) -> None:
        self.source.close()
        for thread in (capture, compose):
            if thread.is_alive():
                thread.join(timeout=5)
        infer_queue.close()  # every mask is in, and OpenVINO holds nothing of ours any more
        for worker in self._workers:
            if self._errors:
                worker.sink.abandon()  # a failed job leaves no half-written output (an interrupted one does)
            worker.finish()
        for worker in self._workers:
            worker.thread.join()
            if worker.dropped:
                self.stats.sink_dropped[worker.sink.name] = worker.dropped
        self.stats.seconds = time.perf_counter() - start
        self.stats.dropped += self.source.dropped + sum(w.dropped for w in self._workers)
        self.stats.source_lost = self.source.lost
        self.stats.idle_seconds = self.source.idle_seconds
        if self._done() and self._last_shown is not None:
            # live input goes on being read while the last frames are finished: those reads are not input
            self.stats.frames_in = min(self.stats.frames_in, self._last_shown + 1)

    def _guard(self, target, name: str):
        done = self._done_events[name] = threading.Event()

        def run(*args):
            try:
                target(*args)
            except BaseException as exc:  # noqa: BLE001 - surfaced by run()
                self._fail(exc)
            finally:
                done.set()
        return run

    # -- capture -----------------------------------------------------------------------------------------------
    def _capture(self, infer_queue: CallbackQueue, in_flight: threading.Semaphore) -> None:
        seq = 0
        ready = time.perf_counter()
        to_model = submitter = None
        if not self._ordered:  # live: the newest frame waits for the next free request (see _submit_newest)
            to_model = FrameBuffer(latest_only=True)
            submitter = threading.Thread(target=self._guard(self._submit_newest, "submit"),
                                         args=(infer_queue, to_model), name="submit", daemon=True)
            submitter.start()
        # file mode outputs every frame read, so it reads no more than --max-frames: no frame is read (or
        # counted as input) that the job will not write
        limit = None if self.live else self.options.max_frames
        try:
            while not self._stop.is_set() and not self._drain.is_set() and (limit is None or seq < limit):
                frame = self.source.read()
                if frame is None:
                    break
                # a source reads ahead while the model compiles: its latency starts when the pipeline could take it
                frame.captured_at = max(frame.captured_at, ready)
                self.stats.frames_in += 1
                frame.seq = seq
                if self._gate is not None:
                    frame.thumb = Thumb.of(frame.image)
                    frame.model = self._gate.should_run(frame.thumb)
                if to_model is not None:
                    if frame.model:
                        to_model.put(frame)
                    self._offer_live(frame)
                elif self.live:  # aligned: only frames that get a request at once are shown
                    if not infer_queue.is_ready():
                        self.stats.dropped += 1
                        continue
                    self._submit(infer_queue, seq, frame)
                else:
                    while not in_flight.acquire(timeout=0.1):
                        if self._stop.is_set():
                            return
                    if frame.model:
                        self._submit(infer_queue, seq, frame)
                    else:
                        self._masks.put((seq, frame, None))
                seq += 1
        finally:
            if to_model is not None:
                to_model.end()
                submitter.join()
        infer_queue.wait_all()
        if self._ordered:
            self._masks.put((None, _END, seq))
        else:
            self._offer_live(_END)

    def _submit_newest(self, infer_queue: CallbackQueue, to_model: FrameBuffer) -> None:
        """Live: as soon as a request is free, the newest captured frame goes to the model.

        Submitting only when a request happens to be free as a frame arrives loses a whole frame interval
        whenever an inference takes a little longer than one (the mask rate halves); here the wait ends the
        moment the request frees, so masks come at the model's rate, up to one per camera frame."""
        try:
            while not self._stop.is_set() and (frame := to_model.get()) is not None:
                infer_queue.get_idle_request_id()  # blocks until a request is free
                if len(to_model):  # a newer frame arrived while waiting: that one
                    frame = to_model.get() or frame
                self._board.submitted(frame.seq)
                self._submit(infer_queue, frame.seq, frame)
        finally:
            self._board.submit_ended()  # frames not submitted by now never will be: none waits for its mask

    def _submit(self, infer_queue: CallbackQueue, seq: int, frame: Frame) -> None:
        frame.timings["submitted"] = time.perf_counter()
        infer_queue.start_async({0: self.segmenter.model_input(frame.image)}, (seq, frame))

    def _offer_live(self, frame: Frame) -> None:
        """Hand a frame to the compositor, replacing a waiting older one (counted as dropped)."""
        while True:
            try:
                self._frames.put_nowait(frame)
                return
            except queue.Full:
                try:
                    self._frames.get_nowait()
                    self.stats.dropped += 1
                except queue.Empty:
                    pass

    def _on_mask(self, request: ov.InferRequest, userdata) -> None:
        """AsyncInferQueue callback (OpenVINO's thread): copy the mask out and hand it on, nothing more."""
        seq, frame = userdata
        mask = Segmenter.mask_from_request(request)
        now = time.perf_counter()
        self.stats.latency.add("infer", (now - frame.timings["submitted"]) * 1000)
        self.mask_rate.tick(now)
        with self._board.lock:  # callbacks of several requests may run at once
            self.stats.masks += 1
        if self._ordered:
            self._masks.put((seq, frame, mask))
        else:
            self._board.arrived(Mask(seq, mask, frame.captured_at, frame.thumb))

    # -- compose -----------------------------------------------------------------------------------------------
    def _compose(self, in_flight: threading.Semaphore) -> None:
        progress = None if self.live or not self.options.progress else FrameProgress.of(self.source.info,
                                                                                         self.options.max_frames)
        try:
            if not self._ordered:
                self._compose_live()
            else:
                self._compose_ordered(in_flight, progress)
        finally:
            self.stop()  # output is complete (or failed): capture must stop too, even on endless sources
            if progress is not None:
                progress.close()

    def _compose_ordered(self, in_flight: threading.Semaphore, progress) -> None:
        """File mode and aligned live mode: emit frames strictly in sequence order, each with its own mask."""
        pending: dict[int, tuple[Frame, np.ndarray | None]] = {}
        expected, total, kept = 0, None, None
        while not self._stop.is_set():
            if total is not None and expected >= total:
                return
            try:
                seq, frame, mask = self._masks.get(timeout=0.1)
            except queue.Empty:
                continue
            if frame is _END:
                total = mask
                continue
            pending[seq] = (frame, mask)
            while expected in pending:
                frame, mask = pending.pop(expected)
                expected += 1
                if mask is not None:  # None: the gate skipped the model, the last mask is kept
                    kept = Mask(frame.seq, mask, frame.captured_at, frame.thumb)
                self._show(frame, kept)
                if not self.live:
                    in_flight.release()
                if progress is not None:
                    progress(self.stats.frames_out)
                if self.options.on_frame is not None:
                    self.options.on_frame(self.stats.frames_out)
                if self._done():
                    return

    def _compose_live(self) -> None:
        """Live mode: every frame that reaches us goes out, in order, with its own mask or the newest one.

        The mask is refined against each frame, so its edges follow the current picture, and the temporal
        smoother eases between successive masks instead of jumping when a new one arrives."""
        while not self._stop.is_set():
            try:
                frame = self._frames.get(timeout=1 / self.source.info.rate if self.controls.paused else 0.1)
            except queue.Empty:  # paused, the camera released (CaptureDemand): the still goes on (alpha None)
                last = self.controls.last_output
                if self.controls.paused and last is not None:
                    self._emit(self.controls.still_frame(last[0]), None)
                else:
                    self._refresh_paused()
                if self._done():
                    return
                continue
            if frame is _END:
                return
            chosen = self._board.for_frame(frame, self._stop.is_set)
            if chosen is None:
                return
            kept, own = chosen
            if own:
                self.stats.own_masks += 1
            # how old the picture the mask was computed from is, when it is shown: the visible lag of the cut-out
            self.stats.latency.add("mask-age", (time.perf_counter() - kept.captured_at) * 1000)
            self._show(frame, kept)
            if self._done():
                return

    def _show(self, frame: Frame, kept: Mask) -> None:
        """Emit ``frame`` with ``kept`` (its own mask, or a kept one brought to it: ``MaskReuse``)."""
        frame.mask_seq = kept.seq
        self._last_shown = frame.seq
        mask = self._reuse.mask_for(frame, kept)
        alpha, reused = self._reuse.alpha(frame, mask, lambda: self._refine(frame, mask))
        self.stats.alphas_reused += reused
        self._emit(frame, alpha, still=reused)

    def _refine(self, frame: Frame, mask: np.ndarray) -> np.ndarray:
        start = time.perf_counter()
        alpha = self.refiner.refine(frame.image, mask)
        self.stats.latency.add("refine", (time.perf_counter() - start) * 1000)
        return alpha

    def _done(self) -> bool:
        limit = self.options.max_frames
        return limit is not None and self.stats.frames_out >= limit

    def _emit(self, frame: Frame, alpha: np.ndarray | None, still: bool = False) -> None:
        self.controls.poll(self.sinks)
        while self.controls.paused and not self.live and not self._stop.is_set():  # a file waits
            self._refresh_paused()
            time.sleep(1 / 30)
        if self.options.observe is not None and alpha is not None:
            self.options.observe(frame, alpha)
        start = time.perf_counter()
        paused = self.controls.paused or alpha is None  # live: the stream goes on, with the still (or picture)
        image = self.controls.still(frame) if paused else \
            self.compositor.compose(frame.image, alpha, frame.clock(self.live, self.source.info.fps), still)
        pictures = self.controls.pictures(frame, image, self.sinks, self._overlay_stats, keep=paused)
        self.stats.latency.add("composite", (time.perf_counter() - start) * 1000)
        self.controls.last_output = (frame, image)
        for worker, picture in zip(self._workers, pictures):
            worker.put(frame, picture, self._stop)
        self.stats.frames_out += 1
        self.output_rate.tick()

    def _overlay_stats(self) -> OverlayStats:
        seg = self.segmenter
        return OverlayStats(self.output_rate.rate(), self.mask_rate.rate(),
                            self.stats.latency.last("infer") or 0.0, f"{seg.config.device} {seg.precision} {seg.size}",
                            f"background: {self.compositor.current.label}" + ("  [paused]" if self.controls.paused else ""))

    # -- pause -------------------------------------------------------------------------------------------------
    def _refresh_paused(self) -> None:
        """While paused, keep the window responsive (it only reads keys when it draws) with the still."""
        self.controls.poll(self.sinks)
        last = self.controls.last_output
        if self.controls.paused and last is not None:
            frame = last[0]
            pictures = self.controls.pictures(frame, self.controls.still(frame), self.sinks, self._overlay_stats,
                                              keep=True)
            for worker, picture in zip(self._workers, pictures):
                if worker.sink.interactive:
                    worker.put(frame, picture, self._stop)
