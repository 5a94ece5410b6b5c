"""Transparent output end to end: the alpha channel that lands in the file is the matte the pipeline made."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from conftest import SAMPLES, run_vbg
from media import decode_bgra
from helpers import RecordingSink
from vbg.compose.compositing import Compositor
from vbg.pipeline.core import Pipeline, PipelineOptions
from vbg.media.sinks import FileSink
from vbg.media.sources import open_source


@pytest.fixture(scope="module")
def person_clip(tmp_path_factory):
    """1 s of the sample person clip (the real subject gives the model something to cut out)."""
    import av

    path = tmp_path_factory.mktemp("transparent") / "person.mp4"
    with av.open(str(SAMPLES / "person_720p.mp4")) as src, av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = 640, 360, "yuv420p"
        stream.options = {"preset": "ultrafast", "crf": "16"}
        for i, frame in enumerate(src.decode(video=0)):
            if i == 30:
                break
            small = cv2.resize(frame.to_ndarray(format="bgr24"), (640, 360), interpolation=cv2.INTER_AREA)
            for packet in stream.encode(av.VideoFrame.from_ndarray(small, format="bgr24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


@pytest.mark.parametrize("name, tolerance", [("out.mov", 2), ("out.webm", 12)])
def test_transparent_video_alpha_equals_the_matte(tmp_path, person_clip, make_segmenter, name, tolerance):
    """ProRes 4444 (.mov) and VP9 with alpha (.webm): every frame's alpha is the composited matte (ProRes
    keeps it almost exactly; VP9 is lossy), and the colour where the person stands is the frame's."""
    out = tmp_path / name
    record = RecordingSink(keep_images=True)
    segmenter = make_segmenter(precision="bf16", resize="fast", size="192")
    stats = Pipeline(open_source(str(person_clip)), segmenter, Compositor([], transparent=True),
                     [FileSink(out, alpha=True), record], PipelineOptions(overlay=False, progress=False)).run()
    frames = decode_bgra(out)
    assert stats.frames_out == len(frames) == len(record.images) == 30
    for written, sent in zip(frames[::7], record.images[::7]):
        assert sent.shape == (360, 640, 4)
        assert (sent[..., 3] > 200).mean() > 0.05 and (sent[..., 3] < 50).mean() > 0.2  # a person, and room
        assert np.abs(written[..., 3].astype(int) - sent[..., 3]).mean() <= tolerance / 4
        assert np.percentile(np.abs(written[..., 3].astype(int) - sent[..., 3]), 99) <= tolerance
        opaque = sent[..., 3] == 255
        assert np.abs(written[..., :3][opaque].astype(int) - sent[..., :3][opaque]).mean() < 4


def test_transparent_png_alpha_equals_the_written_mask(tmp_path, model_cache):
    out, mask = tmp_path / "cut.png", tmp_path / "mask.png"
    proc = run_vbg("image", str(SAMPLES / "person.jpg"), "-o", str(out), "--transparent", "--mask-out", str(mask),
                   "--size", "192", env={"VBG_CACHE_DIR": str(model_cache)})
    assert proc.returncode == 0, proc.stderr
    rgba = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)
    matte = cv2.imread(str(mask), cv2.IMREAD_GRAYSCALE)
    source = cv2.imread(str(SAMPLES / "person.jpg"))
    assert rgba.shape == (*source.shape[:2], 4)
    assert np.array_equal(rgba[..., 3], matte) and np.array_equal(rgba[..., :3], source)
    assert matte.max() == 255 and matte.min() == 0

