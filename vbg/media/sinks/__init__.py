"""Frame sinks: the output side of vbg (a video file, a window, a virtual camera, or nothing).

Every sink is a plain synchronous object with the same small life cycle, modelled on supervision's
``VideoSink``: ``open(info)`` once, ``write(frame, image)`` per composited picture, ``close()`` once (it is
idempotent and also runs as the context manager's exit).  The pipeline gives each sink its own thread and a
bounded queue and makes every call of one sink from that one thread, so sinks need no locks, and the
OpenCV window, whose GUI state belongs to the thread that created it, works.

``image`` is the composited picture: uint8 BGR (HxWx3) or, when the user asked for a transparent
background, BGRA (HxWx4).  Sinks that cannot show transparency compose BGRA over black (the window shows it
over a checkerboard instead, so the transparency stays visible).  ``frame`` is the *source* frame, for its
index and timestamps.

Modules: ``base`` (the life cycle, ``NullSink``), ``codecs``, ``file`` (``FileSink``) with ``audio``,
``display`` (can a window open here), ``window`` (``WindowSink``), ``vcam`` (``VirtualCameraSink``).
"""

from .base import FrameSink, NullSink, drop_alpha, over_checkerboard
from .codecs import ALPHA_CODECS, VIDEO_OUTPUT_EXTENSIONS, default_codec_for
from .display import display_problem, key_name
from .file import FileSink
from .vcam import VirtualCameraSink
from .window import WindowSink

__all__ = ["ALPHA_CODECS", "FileSink", "FrameSink", "NullSink", "VIDEO_OUTPUT_EXTENSIONS", "VirtualCameraSink",
           "WindowSink", "default_codec_for", "display_problem", "drop_alpha", "key_name", "over_checkerboard"]
