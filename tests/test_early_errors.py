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


def test_a_trailing_slash_means_a_folder(tmp_path):
    proc = run_vbg("image", PHOTO, "-o", str(tmp_path / "new") + "/", "--blur", "--size", "192",
                   "--precision", "bf16")
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "new" / "person.jpg").is_file()


def test_several_inputs_into_one_image_name_is_refused(tmp_path):
    proc = run_vbg("image", PHOTO, PHOTO, "-o", str(tmp_path / "two.png"), "--blur")
    assert_clean_error(proc, "names one image", "give an output folder")
    proc = run_vbg("image", str(SAMPLES), "-o", str(tmp_path / "single.png"), "--blur")
    assert_clean_error(proc, "names one image")
    assert list(tmp_path.iterdir()) == []


def test_batch_into_its_own_input_folder_says_so(tmp_path):
    import shutil

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(PHOTO, inbox)
    proc = run_vbg("batch", str(inbox), "-o", str(inbox))
    assert_clean_error(proc, "is the input folder", "another output folder")
    assert sorted(p.name for p in inbox.iterdir()) == ["person.jpg"]


def test_a_huge_blur_is_a_flat_average_of_a_tiny_copy():
    import numpy as np

    from vbg.compose.backgrounds import BlurBackground

    frame = np.random.default_rng(0).integers(0, 256, (720, 1280, 3), dtype=np.uint8)
    blur = BlurBackground(100000)
    out = blur.render(frame)
    assert blur.downscale >= 32  # a copy of 40x22 pixels or less: the cost of any huge blur
    assert out.shape == frame.shape and float(out.std()) < 3.0
    assert BlurBackground(21).scale_for(1280, 720) == 8  # the default blur is unchanged
    proc = run_vbg("run", CLIP, "--null", "--blur", "100000", "--max-frames", "5")  # the real command
    assert proc.returncode == 0 and "5 written" in proc.stderr, proc.stderr


def test_the_default_blur_notice_waits_for_the_run_to_start(tmp_path):
    # a bad size is the only line: no "blurring the real one" before it
    assert_clean_error(run_vbg("run", CLIP, "-o", str(tmp_path / "x.mp4"), "--size", "33"), "bad input size")
    assert_clean_error(run_vbg("image", PHOTO, "-o", str(tmp_path / "x.png"), "--size", "33"), "bad input size")


def test_an_existing_output_is_kept_unless_overwrite_is_given(tmp_path):
    """ffmpeg's rule without its question: refused before any work, replaced with -y."""
    photo, video = tmp_path / "x.png", tmp_path / "x.mp4"
    photo.write_bytes(b"an earlier result")
    video.write_bytes(b"an earlier result")
    assert_clean_error(run_vbg("image", PHOTO, "-o", str(photo), "--blur"), f"{photo} already exists", "-y")
    assert_clean_error(run_vbg("run", CLIP, "-o", str(video), "--blur"), f"{video} already exists", "--overwrite")
    assert photo.read_bytes() == video.read_bytes() == b"an earlier result"
    assert run_vbg("image", PHOTO, "-o", str(photo), "--blur", "-y").returncode == 0
    proc = run_vbg("run", CLIP, "-o", str(video), "--blur", "--max-frames", "3", "--overwrite")
    assert proc.returncode == 0, proc.stderr
    assert photo.stat().st_size > 10_000 and video.stat().st_size > 1000
    # several images into a folder that already holds one of the results
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "person.jpg").write_bytes(b"kept")
    proc = run_vbg("image", PHOTO, str(SAMPLES / "background_beach.jpg"), "-o", str(tmp_path / "out"), "--blur")
    assert_clean_error(proc, "person.jpg already exists", "-y")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["person.jpg"]


def test_batch_into_a_read_only_folder_says_so_before_any_work(tmp_path):
    with read_only_dir(tmp_path) as folder:
        proc = run_vbg("batch", PHOTO, "-o", str(folder / "out"))
        assert_clean_error(proc, f"cannot write {folder / 'out'}", "not writable", "choose another output")
        assert "Errno" not in proc.stderr


def _damaged_copy(clip, path):
    """``clip`` with a run of bytes garbled a third of the way in: FFmpeg still decodes most of it."""
    data = bytearray(clip.read_bytes())
    start = len(data) // 3
    for k in range(start, start + 400, 37):
        data[k] ^= 0x5A
    path.write_bytes(bytes(data))
    return path


def test_a_damaged_background_video_is_refused_before_the_model(tmp_path):
    from media import make_indexed_clip

    from vbg.media.integrity import decode_problem

    clip = make_indexed_clip(tmp_path / "bg.mp4", 60)
    damaged = _damaged_copy(clip, tmp_path / "bg-damaged.mp4")
    assert decode_problem(str(clip)) is None
    assert decode_problem(str(damaged)) is not None
    out = tmp_path / "x.mp4"
    proc = run_vbg("run", CLIP, "-o", str(out), "--background", str(damaged))
    assert_clean_error(proc, f"background video {damaged} is damaged", "re-encode it")
    assert not out.exists()


def test_no_network_for_the_weights_is_one_short_line(tmp_path):
    """A real download attempt with the network unreachable (a proxy on a closed local port)."""
    import os

    env = {var: "http://127.0.0.1:9" for var in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy")}
    env.update(NO_PROXY="", no_proxy="", VBG_CACHE_DIR=str(tmp_path / "cache"))
    saved = os.environ.pop("VBG_WEIGHTS_DIR", None)
    try:
        proc = run_vbg("image", PHOTO, "-o", str(tmp_path / "x.png"), "--model", "u2net_lite", env=env)
    finally:
        if saved is not None:
            os.environ["VBG_WEIGHTS_DIR"] = saved
    last = proc.stderr.strip().splitlines()[-1]
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert last.startswith("vbg: error: no network to download the u2net_lite weights: copy u2netp.pth"), last
    assert "--weights PATH" in last and len(last) < 250
    assert not (tmp_path / "x.png").exists()


def test_a_cache_folder_that_cannot_take_the_model_is_one_line(tmp_path):
    with read_only_dir(tmp_path) as folder:
        proc = run_vbg("run", CLIP, "-o", str(tmp_path / "x.mp4"), "--cache-dir", str(folder))
        assert_clean_error(proc, f"cannot prepare the model in the cache folder {folder}", "--cache-dir")
    proc = run_vbg("image", PHOTO, "-o", str(tmp_path / "x.png"), "--cache-dir", PHOTO)  # a file, not a folder
    assert_clean_error(proc, "cannot prepare the model in the cache folder", "Not a directory")
    assert list(p.name for p in tmp_path.iterdir()) == ["readonly"]


def test_a_read_only_cache_prepared_ahead_serves_the_run(tmp_path):
    """What an installer does: `vbg convert` into a system folder that users then only read."""
    import os
    import subprocess

    import pytest

    if os.geteuid() != 0:
        pytest.skip("needs root for a read-only bind mount")
    cache, shared = tmp_path / "cache", tmp_path / "shared"
    shared.mkdir()
    assert run_vbg("convert", "--cache-dir", str(cache)).returncode == 0
    subprocess.run(["mount", "--bind", str(cache), str(shared)], check=True)
    try:
        subprocess.run(["mount", "-o", "remount,ro,bind", str(shared)], check=True)
        proc = run_vbg("run", CLIP, "-o", str(tmp_path / "x.mp4"), "--max-frames", "5", "--cache-dir", str(shared))
    finally:
        subprocess.run(["umount", str(shared)], check=False)
    assert proc.returncode == 0, proc.stderr
    assert "first use" not in proc.stderr and (tmp_path / "x.mp4").is_file()
