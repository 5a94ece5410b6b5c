"""The preview window (OpenCV HighGUI)."""

from __future__ import annotations

import queue

import numpy as np

from ...errors import VbgError
from ..frames import Frame, VideoInfo
from .base import FrameSink, over_checkerboard
from .display import display_problem, key_name

class WindowSink(FrameSink):
    """An OpenCV window showing the output.

    Keys pressed in the window are pushed to ``keys`` (a ``queue.Queue`` the pipeline polls) as names:
    single characters ('q', 'b', ...), or 'esc', 'space', 'enter', 'tab', 'backspace', 'delete', 'left',
    'right', 'up', 'down'.  Closing the window pushes 'quit' (once).  BGRA output is shown over a
    checkerboard so the transparency is visible.  OpenCV reads keys and window events only while drawing,
    hence ``interactive``: the pipeline keeps feeding the window while paused.
    """

    name = "window"
    interactive = True

    def __init__(self, title: str = "vbg") -> None:
        super().__init__()
        self.title = title
        self.keys = queue.Queue()
        self._created = False
        self._seen_visible = False
        self._gone = False  # the user closed the window

    def check(self) -> None:
        problem = display_problem()  # before any highgui call: see display_problem
        if problem:
            raise VbgError(problem)

    def open(self, info: VideoInfo) -> None:
        self.check()
        import cv2

        cv2.namedWindow(self.title, cv2.WINDOW_NORMAL | cv2.WINDOW_KEEPRATIO | cv2.WINDOW_GUI_NORMAL)
        self._created = True
        cv2.resizeWindow(self.title, info.width, info.height)

    def write(self, frame: Frame, image: np.ndarray) -> None:
        import cv2

        if self._gone or not self._created:
            return  # imshow would re-create a window the user closed
        cv2.imshow(self.title, over_checkerboard(image))
        self.frames_written += 1
        name = key_name(cv2.waitKeyEx(1))
        if name is not None:
            self.keys.put(name)
        try:
            visible = cv2.getWindowProperty(self.title, cv2.WND_PROP_VISIBLE) >= 1
        except cv2.error:  # Qt drops its GUI state when the last window is closed: gone too
            visible = False
        if visible:
            self._seen_visible = True
        elif self._seen_visible:
            self._gone = True
            self.keys.put("quit")

    def _release(self) -> None:
        if not self._created:
            return
        import cv2

        try:
            if not self._gone:
                cv2.destroyWindow(self.title)
            cv2.waitKey(1)  # let the GUI process the destruction
        except cv2.error:
            pass


# ---------------------------------------------------------------------------------------------------------------
# Virtual camera
# ---------------------------------------------------------------------------------------------------------------
