"""vbg: real-time virtual background with U^2-Net on OpenVINO.

The public API, imported lazily so that ``vbg --help`` and error paths stay fast:
``process_image`` (one picture -> what ``vbg image`` writes: the refined matte and the composite;
``StillProcessor`` keeps the model for many), ``Segmenter`` (frame -> the model's raw matte), ``Pipeline``
(capture -> infer -> composite -> sinks), ``RunConfig``/``make_config`` (settings) and ``run`` (build and run a
pipeline from settings).
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    "Segmenter": "vbg.model.segmenter", "SegmenterConfig": "vbg.model.segmenter",
    "Pipeline": "vbg.pipeline.core", "PipelineOptions": "vbg.pipeline.options", "RunStats": "vbg.pipeline.core",
    "RunConfig": "vbg.config", "make_config": "vbg.config", "run": "vbg.app", "VbgError": "vbg.errors",
    "process_image": "vbg.still", "StillProcessor": "vbg.still", "StillResult": "vbg.still",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'vbg' has no attribute {name!r}")
