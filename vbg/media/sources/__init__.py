"""Frame sources: cameras, anything FFmpeg opens (through PyAV) and still images, behind one small interface.

As with Open Model Zoo's capture wrappers, the pipeline only sees ``FrameSource`` (``info``, ``read()``,
``close()``), so a webcam, a file, a ``lavfi`` generator, a URL, a FIFO or a photo are interchangeable.

Every source captures on its own daemon thread and hands frames to ``read()`` through a ``FrameBuffer``
whose policy *is* the delivery contract:

- **file mode** (``latest_only=False``): a bounded queue.  When the consumer is slower than the decoder, the
  decoder waits (backpressure) instead of dropping or piling up memory; every frame arrives exactly once.
- **live mode** (``latest_only=True``): a single slot holding the newest frame.  A frame still unread when a
  newer one arrives is discarded and counted in ``dropped``, so a slow consumer always gets the freshest
  picture and latency stays bounded by one frame instead of growing.

``Frame.index`` numbers the frames as the decoder or camera produced them, so in live mode the gaps between
the indices ``read()`` returns are exactly the dropped frames.  ``Frame.captured_at`` is stamped when the
frame became available (decoded, paced, grabbed), not when ``read()`` returns, so latency can be measured.

Errors: opening problems raise ``VbgError`` from the constructor.  Problems in the capture thread (a corrupt
file, a camera unplugged) end the stream and are re-raised by ``read()`` in the consumer's thread, on this
and every later call, so a failure can never look like a normal end of stream.

Modules: ``base`` (``FrameSource``, ``Reconnector``, upright frames), ``buffer`` (``FrameBuffer``, ``Pacer``),
``pyav`` (``AVSource``), ``camera`` (``CameraSource``), ``image`` (``ImageSource``); ``open_source`` picks one.
"""

from __future__ import annotations

import os
from pathlib import Path

from ...errors import VbgError
from ..imageio import IMAGE_EXTENSIONS
from .base import RECONNECT_ATTEMPTS, FrameSource, Reconnector, upright, upright_turn
from .buffer import FrameBuffer
from .camera import CameraSource, camera_target, is_camera
from .image import ImageSource
from .pyav import AVSource

__all__ = ["AVSource", "CameraSource", "FrameBuffer", "FrameSource", "ImageSource", "Reconnector", "open_source", "upright", "upright_turn"]


def open_source(spec: str | int | os.PathLike, *, format: str | None = None, loop: bool = False, live: bool | None = None,
                width: int | None = None, height: int | None = None, fps: float | None = None,
                reconnect: int = RECONNECT_ATTEMPTS) -> FrameSource:
    """Open ``spec`` with the right source.

    - an int, a digit string or ``/dev/video*`` -> ``CameraSource`` (``width``/``height``/``fps`` requested);
    - an existing image file (.jpg .jpeg .png .bmp .webp .tif .tiff) -> ``ImageSource`` (``fps``, default 30);
    - anything else -> ``AVSource``; ``lavfi:GRAPH`` means ``format='lavfi'``.

    ``live=None`` follows the input: cameras are live, everything else is read in file mode.  ``live=True``
    on a file or generator makes it behave like a camera: paced to its frame rate, newest frame only.
    ``reconnect`` is how many times a lost live input (camera, FIFO, URL, device) is reopened.
    """
    if isinstance(spec, bool):
        raise TypeError("spec must be a str or an int camera index, not bool")
    if isinstance(spec, os.PathLike):
        spec = os.fspath(spec)
    text = str(spec)
    if format is None and is_camera(spec):
        if live is False:
            raise VbgError(f"camera {text} is always live: drop --no-live, or record a file first and give it "
                           f"as the input (vbg run FILE ...)")
        return CameraSource(camera_target(spec)[0], width=width, height=height, fps=fps, reconnect=reconnect)
    if text.startswith("lavfi:"):
        format, text = "lavfi", text[len("lavfi:"):]
    live = bool(live)
    if format is None and Path(text).suffix.lower() in IMAGE_EXTENSIONS and Path(text).is_file():
        return ImageSource(text, loop=loop, latest_only=live, fps=fps or 30.0)
    return AVSource(text, format=format, loop=loop, latest_only=live, pace=live, reconnect=reconnect)
