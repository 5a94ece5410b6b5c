"""Nothing runs while nobody watches: the reader count from real inotify events, and a real live pipeline that
holds its source (no frame, no inference) until a reader opens the watched node, and holds again when it
closes.  The virtual camera itself is exercised end to end in the VM (tests/test_camera_vm.py)."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import pytest

from helpers import square_clip, wait_for
from vbg.compose.backgrounds import BlurBackground
from vbg.compose.compositing import Compositor
from vbg.media.sinks import NullSink
from vbg.media.sinks.readers import ReaderWatch, other_openers
from vbg.media.sources import open_source
from vbg.pipeline.core import Pipeline, PipelineOptions

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="inotify is Linux's")

HOLD = "import sys, time; f = open(sys.argv[1], 'rb'); print('open', flush=True); sys.stdin.readline()"


class Viewer:
    """Another process that opens ``path`` and keeps it open until ``close`` (as a call app holds a camera)."""

    def __init__(self, path) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", HOLD, str(path)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout.readline().strip() == "open"

    def close(self) -> None:
        self.proc.stdin.write("\n")
        self.proc.stdin.flush()
        self.proc.wait(10)


def test_the_watch_counts_other_programs_that_open_the_node(tmp_path):
    node = tmp_path / "video10"
    node.write_bytes(b"")
    early = Viewer(node)  # already open when the watch starts: counted from /proc
    assert other_openers(str(node)) == 1
    watch = ReaderWatch(str(node))
    try:
        assert watch.readers == 1 and watch.watched
        late = Viewer(node)
        assert wait_for(lambda: watch.readers == 2, 10.0)
        early.close()
        late.close()
        assert wait_for(lambda: watch.readers == 0, 10.0) and not watch.watched
        assert not watch.wait(0.2)
        again = Viewer(node)
        assert watch.wait(5.0)
        again.close()
    finally:
        watch.close()


class WatchedSink(NullSink):
    """A null output with a real reader watch on ``node``: stands in for the virtual camera's device node."""

    def __init__(self, node) -> None:
        super().__init__()
        self.node = node

    def open(self, info) -> None:
        super().open(info)
        self.readers = ReaderWatch(str(self.node))

    def _release(self) -> None:
        self.readers.close()


def test_a_live_run_holds_while_nobody_watches_and_resumes_for_a_viewer(tmp_path, make_segmenter):
    node = tmp_path / "video10"
    node.write_bytes(b"")
    source = open_source(str(square_clip(tmp_path / "clip.mp4", 30, fps=30)), loop=True, live=True)
    sink = WatchedSink(node)
    pipeline = Pipeline(source, make_segmenter(precision="bf16", resize="fast", size="64"),
                        Compositor([BlurBackground()]), [sink], PipelineOptions(overlay=False))
    runner = threading.Thread(target=pipeline.run, daemon=True)
    runner.start()
    try:
        assert wait_for(lambda: sink.readers is not None, 10.0)
        time.sleep(1.5)
        held = (sink.frames_written, pipeline.stats.masks)
        time.sleep(1.0)  # a paced 30 fps source would deliver 30 frames in this second
        assert (sink.frames_written, pipeline.stats.masks) == held, "frames or inference while nobody watched"
        assert held[0] <= 2  # at most what was captured before the watch began
        viewer = Viewer(node)
        assert wait_for(lambda: sink.frames_written >= held[0] + 20, 10.0), "no frames for a viewer"
        viewer.close()
        assert wait_for(lambda: not sink.readers.watched, 10.0)
        time.sleep(0.5)
        stopped = sink.frames_written
        time.sleep(1.0)
        assert sink.frames_written <= stopped + 1, "frames went on after the viewer left"
    finally:
        pipeline.stop()
        runner.join(10)
    assert pipeline.stats.idle_seconds >= 2.0, pipeline.stats.summary()
    assert "nobody watching the virtual camera" in pipeline.stats.summary()
