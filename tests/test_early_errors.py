"""Mistakes that used to end in a traceback, or only after the model had run: each is now one line naming the
problem and the fix, exit 2, before any model work, with nothing written (real commands, real read-only
folders)."""

from __future__ import annotations

from conftest import SAMPLES, assert_clean_error, run_vbg
from test_reliability import read_only_dir

PHOTO, CLIP = str(SAMPLES / "person.jpg"), str(SAMPLES / "person_720p.mp4")


def test_an_image_into_a_read_only_folder(tmp_path):
    with read_only_dir(tmp_path) as folder:
        proc = run_vbg("image", PHOTO, "-o", str(folder / "x.png"), "--blur")
        assert_clean_error(proc, f"cannot write {folder / 'x.png'}", "not writable", "choose another output")
        proc = run_vbg("image", PHOTO, PHOTO, "-o", str(folder / "out") + "/", "--blur")
        assert_clean_error(proc, "not writable", "choose another output")
        assert list(folder.iterdir()) == []


def test_a_video_into_a_folder_that_refuses_new_files(tmp_path):
    proc = run_vbg("run", CLIP, "-o", "/proc/x.mp4", "--blur")  # /proc takes no new files, even from root
    assert_clean_error(proc, "cannot write /proc/x.mp4", "not writable")
    with read_only_dir(tmp_path) as folder:
        assert_clean_error(run_vbg("run", CLIP, "-o", str(folder / "x.mp4"), "--blur"), "not writable")


def test_an_unknown_x264_preset(tmp_path):
    proc = run_vbg("run", CLIP, "-o", str(tmp_path / "x.mp4"), "--preset", "turbo", "--blur")
    assert_clean_error(proc, "unknown libx264 preset 'turbo'", "veryfast")
    assert list(tmp_path.iterdir()) == []


def test_transparency_into_a_jpeg_is_refused_before_the_model(tmp_path):
    proc = run_vbg("image", PHOTO, "-o", str(tmp_path / "b.jpg"), "--transparent")
    assert_clean_error(proc, ".jpg cannot store transparency", ".png")
    assert list(tmp_path.iterdir()) == []
