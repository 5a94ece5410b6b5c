"""Assembles a Pipeline from a RunConfig: the Python API behind ``vbg run``.

Everything that can be checked cheaply (paths, source, backgrounds) is checked before the model is compiled,
so bad input fails in well under a second and no output file is created.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

from .compose.compositing import build_compositor
from .config import RunConfig
from .errors import VbgError
from .outputs import refuse_existing
from .pipeline.core import NO_OUTPUT, Pipeline, RunStats
from .pipeline.options import PipelineOptions
from .pipeline.gate import GateConfig
from .compose.refine import MaskRefiner, RefineConfig
from .model.segmenter import Segmenter, SegmenterConfig
from .media.sinks import FileSink, FrameSink, NullSink, VirtualCameraSink, WindowSink
from .media.sources import FrameSource, open_source

def build_sinks(config: RunConfig, source: FrameSource) -> list[FrameSink]:
    sinks: list[FrameSink] = []
    if config.window:
        sinks.append(WindowSink())
    if config.output:
        out = Path(config.output)
        if source.info.source and Path(source.info.source).resolve() == out.resolve():
            raise VbgError(f"output {out} is the input file: choose another output name")
        refuse_existing([out], config.overwrite)
        audio = source.info.source if source.info.has_audio and not source.info.live else None
        sinks.append(FileSink(out, codec=config.codec, crf=config.crf, preset=config.preset, audio_from=audio,
                              alpha=config.transparent))
    if config.vcam:
        sinks.append(VirtualCameraSink(device=config.vcam_device, backend=config.vcam_backend,
                                       watch_readers=not config.vcam_always))
    if config.null:
        sinks.append(NullSink())
    if not sinks:
        raise VbgError(NO_OUTPUT)  # here too: before the model compiles, so the mistake costs no time
    for sink in sinks:
        sink.check()
    return sinks


def segmenter_config(config: RunConfig, frame: tuple[int, int] | None, live: bool, fps: float | None = None
                     ) -> SegmenterConfig:
    """The model part of a run's settings, for frames of size ``frame`` arriving at ``fps``."""
    return SegmenterConfig(
        model=config.model, device=config.device, size=config.size, precision=config.precision,
        resize=config.resize, weights=config.weights, cache_dir=config.cache_dir, calibration=config.calibration,
        frame=frame, threads=config.threads, target_fps=fps, live=live,
        performance_hint=performance_hint(config, live))


def image_segmenter_config(config: RunConfig, frame: tuple[int, int]) -> SegmenterConfig:
    """The model part of ``vbg image``'s settings for a picture of ``frame`` = (width, height): no rate to keep,
    so nothing is timed; one model for photos of every shape where the device allows it."""
    return dataclasses.replace(segmenter_config(config, frame, live=True), any_size=True)


#: ``--live-masks`` -> (performance hint, PipelineOptions.own_masks).  Own masks need every request busy; the
#: newest mask wants one request as fast as possible; ``auto`` measures which applies (LIVE, then the plan).
LIVE_MASK_POLICY = {"auto": ("LIVE", None), "own": ("THROUGHPUT", True), "newest": ("LATENCY", False)}


def performance_hint(config: RunConfig, live: bool) -> str:
    """Files (and aligned live) keep every core busy; other live runs follow ``LIVE_MASK_POLICY``."""
    if not live or config.aligned:
        return "THROUGHPUT"
    return LIVE_MASK_POLICY[config.live_masks][0]


def build_refiner(config: RunConfig) -> MaskRefiner:
    """The mask refinement the settings describe (a fresh one per stream: it keeps temporal state)."""
    return MaskRefiner(RefineConfig.from_settings(config.refine, config.ramp, config.guided, config.feather,
                                                  config.smooth))


def compositor_for(config: RunConfig):
    """The backgrounds the settings name, in order (the default blur when there are none)."""
    return build_compositor(config.background, config.blur, config.color, config.transparent, config.fit)


def gate_config(config: RunConfig, live: bool) -> GateConfig | None:
    """The change gate for a run: on unless ``gate`` is false, for live inputs and files alike.

    Why files too: it is what brings a file job to the MediaPipe loop's rate on a CPU without AMX, and the masks
    it reuses are the ones a still picture would get again; on the validation clips a gated file scored within
    0.003 mIoU of every-frame inference (docs/gating.md, docs/measurements.md).  ``--no-gate`` (and the
    file-quality preset) run the model on every frame."""
    wanted = True if config.gate is None else config.gate
    return GateConfig(threshold=config.gate_threshold, max_age=config.gate_age) if wanted else None


def build_pipeline(config: RunConfig, make_segmenter: Callable[[SegmenterConfig], Segmenter] = Segmenter,
                   on_frame: Callable[[int], None] | None = None) -> Pipeline:
    """Open the source, backgrounds, model and sinks for ``config`` (sinks open when the pipeline starts).

    ``make_segmenter`` lets a caller reuse compiled models across runs (``vbg batch`` keeps one per worker);
    ``on_frame`` is called with the output frame count after each frame (file mode)."""
    refiner = build_refiner(config)
    compositor = compositor_for(config)
    source = open_source(config.input, format=config.input_format, loop=config.loop, live=config.live,
                         width=config.camera_width, height=config.camera_height, fps=config.camera_fps,
                         reconnect=config.reconnect)
    options = PipelineOptions(live=config.live, aligned=config.aligned, requests=config.requests,
                              own_masks=LIVE_MASK_POLICY[config.live_masks][1],
                              overlay=config.overlay, max_frames=config.max_frames, progress=config.progress,
                              snapshot_dir=config.snapshot_dir, on_frame=on_frame, mirror=config.mirror)
    options.gate = gate_config(config, options.live_for(source.info))
    try:
        if config.panel is not None and not options.live_for(source.info):
            raise VbgError("--panel steers a live run: use a camera or a stream, or add --live (and --loop) "
                           "for a file")
        sinks = build_sinks(config, source)
        segmenter = make_segmenter(segmenter_config(config, source.info.size, options.live_for(source.info),
                                                            source.info.rate))
    except BaseException:
        source.close()
        raise
    return Pipeline(source, segmenter, compositor, sinks, options, refiner)


def run(config: RunConfig, config_file: str | None = None) -> RunStats:
    """Build and run the pipeline; the summary is in the returned stats.  A live run listens for ``vbg ctl``
    as ``config.name``, re-reads ``config_file`` on SIGHUP (``vbg.steering``) and with ``config.panel`` serves
    the control page (``vbg.panel``)."""
    if config.name is not None:
        from .pipeline.ctlsocket import claim, socket_path

        claim(socket_path(config.name))
    panel = open_panel(config.panel)
    try:
        pipeline = build_pipeline(config)
    except BaseException:
        if panel is not None:
            panel.close()
        raise
    steering = None
    try:
        if pipeline.live:
            from .steering import Steering

            steering = Steering(pipeline, config.name, config_file)
            if panel is not None:
                panel.start(steering)
        pipeline.compositor.announce()
        return pipeline.run()
    finally:
        if panel is not None:
            panel.close()
        if steering is not None:
            steering.close()
        pipeline.source.close()  # already closed by a run; not by a run that never started
        pipeline.compositor.close()


def open_panel(port: int | None):
    """The control page's server for ``--panel PORT``, bound before the model compiles (a taken port costs no
    time), or None."""
    if port is None:
        return None
    from .panel import PanelServer

    return PanelServer(port)
