"""The window sink on a real X server (Xvfb): composited pixels on screen, and keys that control the run."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest

from conftest import REPO
from helpers import screenshot

pytestmark = pytest.mark.skipif(not all(shutil.which(t) for t in ("Xvfb", "xdotool", "import")),
                                reason="Xvfb, xdotool or ImageMagick missing (make system-deps installs them)")


@pytest.fixture()
def display(xvfb) -> str:
    return xvfb


def start_vbg(display, model_cache, *extra):
    env = {**os.environ, "DISPLAY": display, "VBG_CACHE_DIR": str(model_cache)}
    return subprocess.Popen([sys.executable, "-m", "vbg", "run", "lavfi:testsrc2=size=640x360:rate=30", "--live",
                             "--window", "--size", "192", *extra], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for_window(display, timeout=120.0) -> str:
    env = {**os.environ, "DISPLAY": display}
    deadline = time.time() + timeout
    while time.time() < deadline:
        found = subprocess.run(["xdotool", "search", "--name", "^vbg$"], capture_output=True, text=True, env=env)
        if found.stdout.strip():
            return found.stdout.split()[0]
        time.sleep(0.2)
    raise AssertionError("the vbg window never appeared")


def blue_fraction(image: np.ndarray) -> float:
    return float(((image[..., 0] > 200) & (image[..., 1] < 40) & (image[..., 2] < 40)).mean())


def wait_for_blue(display, timeout: float = 30.0) -> np.ndarray:
    """Screenshots until the blue replacement background shows (first masks take longer on a loaded machine)."""
    deadline = time.time() + timeout
    while True:
        shot = screenshot(display)[:360, :640]
        if blue_fraction(shot) > 0.3 or time.time() > deadline:
            return shot
        time.sleep(0.5)


def test_window_shows_composited_frames_and_quits_on_q(display, model_cache, tmp_path):
    proc = start_vbg(display, model_cache, "--color", "#0000ff", "--max-frames", "3000")
    try:
        window = wait_for_window(display)
        shot = wait_for_blue(display)
        assert blue_fraction(shot) > 0.1, blue_fraction(shot)  # the replaced background is on screen
        panel = shot[:40, :200]
        assert (panel > 200).all(axis=2).mean() > 0.02  # white overlay text
        subprocess.run(["xdotool", "key", "--window", window, "q"], env={**os.environ, "DISPLAY": display})
        _, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    out_frames = int(re.search(r"frames: \d+ read, (\d+) written", err).group(1))
    assert out_frames < 3000  # it stopped because of the key, not the frame limit


def test_window_keys_change_mode_and_overlay(display, model_cache, tmp_path):
    proc = start_vbg(display, model_cache, "--color", "#0000ff", "--max-frames", "3000")
    env = {**os.environ, "DISPLAY": display}
    try:
        window = wait_for_window(display)
        before = wait_for_blue(display)
        subprocess.run(["xdotool", "key", "--window", window, "o"], env=env)  # overlay off
        time.sleep(1.5)
        no_hud = screenshot(display)[:360, :640]
        subprocess.run(["xdotool", "key", "--window", window, "m"], env=env)  # next mode: blur of the real room
        time.sleep(1.5)
        after = screenshot(display)[:360, :640]
        subprocess.run(["xdotool", "key", "--window", window, "Escape"], env=env)
        proc.communicate(timeout=30)
    finally:
        proc.kill()
    is_blue = blue_fraction
    assert is_blue(before) > 0.3 and is_blue(after) < 0.4 * is_blue(before)  # the blue fill is gone
    assert (before[:40, :200] > 200).all(axis=2).mean() > 0.02  # overlay text present before 'o'
    white = lambda image: float((image[:40, :200] > 200).all(axis=2).mean())  # the HUD's text
    assert white(no_hud) < 0.3 * white(before)  # and gone after it
    assert proc.returncode == 0
