"""``samples/make_samples.py`` remakes the bundled samples with vbg's own dependencies only (the ``make demo``
environment has no scikit-image), and what it makes is what is bundled."""

from __future__ import annotations

import subprocess
import sys

import cv2
import numpy as np

from conftest import REPO, SAMPLES
from media import decode_video


def test_make_samples_runs_without_scikit_image_and_remakes_the_bundled_files(tmp_path):
    out = tmp_path / "samples"
    code = ("import runpy, sys; sys.modules['skimage'] = None; "  # any `import skimage` now fails
            f"sys.argv = ['make_samples.py', '--out', {str(out)!r}]; "
            f"runpy.run_path({str(SAMPLES / 'make_samples.py')!r}, run_name='__main__')")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert proc.returncode == 0, proc.stderr
    for name in ("person.jpg", "background_beach.jpg", "background_studio.jpg"):
        made, bundled = cv2.imread(str(out / name)), cv2.imread(str(SAMPLES / name))
        assert made.shape == bundled.shape and np.abs(made.astype(int) - bundled).mean() < 1.0, name
    made, _, rate = decode_video(out / "person_720p.mp4")
    bundled, _, _ = decode_video(SAMPLES / "person_720p.mp4")
    assert len(made) == len(bundled) == 120 and rate == 30
    for i in (0, 60, 119):
        assert np.abs(made[i].astype(int) - bundled[i]).mean() < 2.0, i
