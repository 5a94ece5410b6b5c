"""An OpenVINO ``AsyncInferQueue`` with a Python callback that is let go of before the queue's owner returns.

Why this exists: after ``wait_all`` an OpenVINO worker thread may still hold the last reference to a finished
request for a moment.  When it lets go, the request's callback (a Python function) is released, and releasing
it takes the GIL from that worker thread.  If the interpreter has begun to shut down by then, Python ends the
thread in the middle of OpenVINO's C++ code and the whole process aborts ("terminate called without an active
exception"), after a complete output, with exit status 134.  ``CallbackQueue.close`` drops the queue and waits
until the callback is released, while Python is still running, so nothing of the queue outlives it.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import Any

import openvino as ov

RELEASE_TIMEOUT_S = 5.0  # a worker lets go within milliseconds of its last request; this only bounds a hang


class _Callback:
    """The callable OpenVINO holds: a plain object, so its release can be observed (``weakref.finalize``)."""

    def __init__(self, function: Callable[[ov.InferRequest, Any], None]) -> None:
        self.function = function

    def __call__(self, request: ov.InferRequest, userdata: Any) -> None:
        self.function(request, userdata)


class CallbackQueue:
    """``jobs`` asynchronous requests on ``compiled`` whose results go to ``callback(request, userdata)`` on
    OpenVINO's threads.  Use ``start_async``, ``get_idle_request_id``, ``is_ready`` and ``wait_all`` as on
    ``AsyncInferQueue``; ``close()`` once no more requests will be started."""

    def __init__(self, compiled: ov.CompiledModel, jobs: int,
                 callback: Callable[[ov.InferRequest, Any], None]) -> None:
        self._released = threading.Event()
        held = _Callback(callback)
        weakref.finalize(held, self._released.set)
        self._queue: ov.AsyncInferQueue | None = ov.AsyncInferQueue(compiled, jobs)
        self._queue.set_callback(held)

    def _live(self) -> ov.AsyncInferQueue:
        if self._queue is None:
            raise RuntimeError("the inference queue is closed")
        return self._queue

    def start_async(self, inputs: dict, userdata: Any = None) -> None:
        self._live().start_async(inputs, userdata)

    def get_idle_request_id(self) -> int:
        return self._live().get_idle_request_id()

    def is_ready(self) -> bool:
        return self._live().is_ready()

    def wait_all(self) -> None:
        self._live().wait_all()

    def close(self, timeout: float = RELEASE_TIMEOUT_S) -> None:
        """Wait for every request, drop the queue and wait (at most ``timeout`` seconds) until OpenVINO has
        released the callback.  A callback's error is raised, after the wait.  Closing twice is harmless."""
        queue, self._queue = self._queue, None
        try:
            if queue is not None:
                queue.wait_all()
        finally:
            del queue  # the requests go; a worker thread may still hold the last one a moment
            self._released.wait(timeout)

    @property
    def released(self) -> bool:
        """Whether OpenVINO has let go of the callback (after ``close``)."""
        return self._released.is_set()
