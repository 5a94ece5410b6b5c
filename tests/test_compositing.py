"""Compositing on real pixel values: blend accuracy, backgrounds, mode cycling, transparency."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from vbg.compose.backgrounds import (BlurBackground, ColorBackground, ImageBackground, NoBackground, VideoBackground,
                                     cover_resize, parse_color)
from vbg.compose.compositing import Compositor, blend
from media import make_indexed_clip, read_index
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


def test_fit_modes(tmp_path):
    """cover crops, contain letterboxes on black, stretch fills with distortion; all fitted once."""
    wide = np.zeros((100, 400, 3), np.uint8)
    wide[:, :] = (0, 0, 200)
    wide[:, :20] = (200, 0, 0)  # a blue band at the left edge
    frame = random_frame(200, 200)
    cover = ImageBackground(wide, fit="cover").render(frame)
    contain = ImageBackground(wide, fit="contain").render(frame)
    stretch = ImageBackground(wide, fit="stretch").render(frame)
    assert cover.shape == contain.shape == stretch.shape == frame.shape
    assert np.all(cover[:, 0] == (0, 0, 200))  # band cropped away
    assert np.all(contain[:70] == 0) and np.all(contain[130:] == 0)  # 200x50 picture centred, black bars
    assert np.all(contain[80:120, 2] == (200, 0, 0)) and np.all(contain[80:120, 100] == (0, 0, 200))
    assert np.all(stretch[:, 2] == (200, 0, 0)) and np.all(stretch[:, 100] == (0, 0, 200))
    with pytest.raises(VbgError, match="unknown background fit"):
        ImageBackground(wide, fit="zoom")


def test_video_background_plays_at_its_own_rate(tmp_path):
    """A 10 fps, 5-frame background under 30 fps output: each picture shows for 3 output frames, then loops."""
    path = make_indexed_clip(tmp_path / "bg10.mp4", 5, 320, 180, fps=10)
    background = VideoBackground(path)
    frame = random_frame(360, 640)
    try:
        shown = [read_index(background.render(frame, None, 100 + k / 30)) for k in range(36)]
    finally:
        background.close()
    assert shown == [(k // 3) % 5 for k in range(36)]


def test_video_background_that_is_not_a_video_is_a_clear_error(tmp_path):
    bad = tmp_path / "bg.mp4"
    bad.write_bytes(b"not a video at all" * 100)
    with pytest.raises(VbgError, match="cannot open background video"):
        VideoBackground(bad)


def test_blur_without_halo():
    """A bright subject on a dark room: around the subject the plain blur glows with the subject's colour;
    the halo-free blur keeps the room's own colour there."""
    frame = np.full((360, 640, 3), 20, np.uint8)
    frame[80:280, 240:400] = 240
    alpha = np.zeros((360, 640), np.uint8)
    alpha[80:280, 240:400] = 255
    ring = (slice(150, 210), slice(410, 430))  # background just right of the subject
    plain = BlurBackground(21, halo_free=False).render(frame, alpha)
    clean = BlurBackground(21).render(frame, alpha)
    assert plain[ring].mean() > 50  # the halo
    assert clean[ring].mean() < 28  # the room (20), not the subject (240)
    composite = Compositor([BlurBackground(21)]).compose(frame, alpha)
    assert composite[ring].mean() < 28 and np.all(composite[100:260, 260:380] == 240)


def test_blur_of_a_detailed_room_is_still_blurred_with_the_subject_out():
    frame = random_frame()
    alpha = np.zeros(frame.shape[:2], np.uint8)
    alpha[100:260, 250:390] = 255
    out = BlurBackground(21).render(frame, alpha)
    assert out.shape == frame.shape and out[:, :200].std() < 0.3 * frame[:, :200].std()


def test_video_background_resumes_after_a_pause(tmp_path):
    """Shown again after a minute on another background, it continues from where it was (no decode storm)."""
    path = make_indexed_clip(tmp_path / "bg.mp4", 5, 320, 180, fps=10)
    background = VideoBackground(path)
    frame = random_frame(180, 320)
    try:
        first = [read_index(background.render(frame, None, t)) for t in (0.0, 0.1, 0.2)]
        later = [read_index(background.render(frame, None, t)) for t in (60.0, 60.1)]
    finally:
        background.close()
    assert first == [0, 1, 2] and later == [2, 3]
