"""Compositing on real pixel values: blend accuracy, backgrounds, mode cycling, transparency."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from vbg.compositing import (BlurBackground, ColorBackground, Compositor, ImageBackground, NoBackground,
                             VideoBackground, blend, cover_resize, parse_color)
from vbg.errors import VbgError


def random_frame(h=360, w=640, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def test_blend_matches_float_formula():
    fg, bg = random_frame(seed=1), random_frame(seed=2)
    alpha = np.random.default_rng(3).integers(0, 256, fg.shape[:2], dtype=np.uint8)
    a = alpha[..., None] / 255.0
    expected = fg * a + bg * (1 - a)
    assert np.abs(blend(fg, bg, alpha) - expected).max() <= 1.0
    assert np.array_equal(blend(fg, bg, np.full_like(alpha, 255)), fg)
    assert np.array_equal(blend(fg, bg, np.zeros_like(alpha)), bg)


def test_cover_resize_fills_without_distortion():
    src = np.zeros((100, 400, 3), np.uint8)
    src[:, 190:210] = 255  # a narrow centred white band
    out = cover_resize(src, 200, 200)
    assert out.shape == (200, 200, 3)
    assert out[:, 100].mean() > 250 and out[:, 5].mean() < 5  # band kept in the centre, sides cropped


def test_image_background_is_fitted_once(tmp_path):
    path = tmp_path / "bg.png"
    cv2.imwrite(str(path), np.full((50, 80, 3), (10, 20, 30), np.uint8))
    bg = ImageBackground(path)
    frame = random_frame()
    first = bg.render(frame)
    assert first.shape == frame.shape and np.all(first == (10, 20, 30))
    assert bg.render(frame) is first


def test_video_background_loops(tmp_path):
    import av

    path = tmp_path / "bg.mp4"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for i in range(3):
            img = np.full((48, 64, 3), 40 + 80 * i, np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="bgr24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    bg = VideoBackground(path)
    levels = [int(bg.render(random_frame(96, 128)).mean()) for _ in range(7)]
    bg.close()
    assert levels[:3] == levels[3:6] and levels[0] < levels[1] < levels[2]  # 3 frames, then again


def test_blur_background_smooths():
    frame = random_frame()
    out = BlurBackground(21).render(frame)
    assert out.shape == frame.shape
    assert out.std() < 0.3 * frame.std()


def test_colour_parsing():
    assert parse_color("#ff8000") == (0, 128, 255)
    assert parse_color("0,177,64") == (64, 177, 0)
    assert parse_color("green") == (64, 177, 0)
    for bad in ("#ff80", "300,0,0", "chartreuse-ish", "1,2"):
        with pytest.raises(VbgError, match="bad colour"):
            parse_color(bad)


def test_compositor_modes_cycle_through_every_kind(tmp_path):
    path = tmp_path / "bg.png"
    cv2.imwrite(str(path), np.zeros((10, 10, 3), np.uint8))
    comp = Compositor([ImageBackground(path), ImageBackground(path)])
    assert comp.current.name == "image"
    assert comp.next_background() is comp.backgrounds[1]
    assert comp.next_background() is comp.backgrounds[0]
    kinds = [comp.next_mode().name for _ in range(4)]
    assert kinds == ["blur", "color", "none", "image"]


def test_no_background_passes_frame_through():
    frame = random_frame()
    comp = Compositor([NoBackground()])
    assert comp.compose(frame, np.zeros(frame.shape[:2], np.uint8)) is frame


def test_transparent_output_is_bgra():
    frame = random_frame()
    alpha = np.random.default_rng(5).integers(0, 256, frame.shape[:2], dtype=np.uint8)
    out = Compositor([], transparent=True).compose(frame, alpha)
    assert out.shape == (*frame.shape[:2], 4)
    assert np.array_equal(out[..., :3], frame) and np.array_equal(out[..., 3], alpha)


def test_colour_composite_pixels():
    frame = random_frame()
    alpha = np.zeros(frame.shape[:2], np.uint8)
    alpha[:, :320] = 255
    out = Compositor([ColorBackground("#0000ff")]).compose(frame, alpha)
    assert np.array_equal(out[:, :320], frame[:, :320])
    assert np.all(out[:, 320:] == (255, 0, 0))


def test_no_background_at_all_is_an_error():
    with pytest.raises(VbgError, match="no background given"):
        Compositor([])
