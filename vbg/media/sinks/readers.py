"""Who is watching the virtual camera: the programs that have its device node open, besides vbg.

A call app, a browser tab or OBS opens ``/dev/videoN`` while it shows the camera and closes it when it stops.
Linux reports each open and close of a file to inotify watchers, so ``ReaderWatch`` keeps a count of them
without polling (the way Linux-Fake-Background-Webcam does it), starting from the programs that already hold
the node open (read from ``/proc/*/fd``).  ``vbg run --vcam`` uses it to release the real camera and stop the
model while nobody watches (``FrameSource.serve_on_demand``).
"""

from __future__ import annotations

import threading

from ..holders import other_openers

__all__ = ["ReaderWatch", "other_openers"]

EVENT_WAIT_MS = 1000  # the watch thread checks for close() this often while no event comes


class ReaderWatch:
    """A live count of the other programs that have a device (or any file) open.

    Start it after vbg's own writer has opened the node: opens and closes from then on are counted, vbg's
    own final close excepted (it comes after ``close``).  ``watched`` says whether anyone is watching; ``wait``
    blocks until someone is (or a timeout)."""

    def __init__(self, path: str) -> None:
        from inotify_simple import INotify, flags

        self.path = path
        self._flags = flags
        self._inotify = INotify()
        self._inotify.add_watch(path, flags.OPEN | flags.CLOSE_WRITE | flags.CLOSE_NOWRITE)
        self._changed = threading.Condition()
        self.readers = other_openers(path)
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="vcam-readers", daemon=True)
        self._thread.start()

    @property
    def watched(self) -> bool:
        return self.readers > 0

    def wait(self, timeout: float) -> bool:
        """Whether someone watches, waiting up to ``timeout`` seconds for it."""
        with self._changed:
            return self._changed.wait_for(lambda: self.readers > 0 or self._closed, timeout) and not self._closed

    def _run(self) -> None:
        flags = self._flags
        while not self._closed:
            try:
                events = self._inotify.read(timeout=EVENT_WAIT_MS)
            except (OSError, ValueError):  # closed under us
                return
            if not events:
                continue
            with self._changed:
                for event in events:
                    if event.mask & flags.OPEN:
                        self.readers += 1
                    elif event.mask & (flags.CLOSE_WRITE | flags.CLOSE_NOWRITE):
                        self.readers = max(0, self.readers - 1)
                self._changed.notify_all()

    def close(self) -> None:
        with self._changed:
            self._closed = True
            self._changed.notify_all()
        self._thread.join(timeout=2 * EVENT_WAIT_MS / 1000)
        self._inotify.close()
