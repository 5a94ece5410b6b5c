"""Installed from a wheel (not the source tree), the defaults work: the package carries its person weights, the
INT8 calibration media and ``vbg bench``'s clip."""

from __future__ import annotations

import os
import subprocess
import sys

from conftest import REPO
from media import make_indexed_clip


def test_a_wheel_install_runs_the_defaults(tmp_path):
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(REPO), "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(wheels)], check=True, capture_output=True, cwd=tmp_path)
    (wheel,) = wheels.glob("vbg-*.whl")
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(site), str(wheel)],
                   check=True, capture_output=True, cwd=tmp_path)
    # the wheel's vbg comes first on the path; its dependencies come from this environment. Run outside the
    # repository, with a fresh cache, so nothing can be read from the source tree.
    env = {**os.environ, "PYTHONPATH": str(site), "VBG_CACHE_DIR": str(tmp_path / "cache")}
    run = lambda *args: subprocess.run([sys.executable, "-m", "vbg", *args], capture_output=True, text=True,
                                       cwd=tmp_path, env=env, timeout=600)
    where = subprocess.run([sys.executable, "-c", "import vbg; print(vbg.__file__)"], capture_output=True,
                           text=True, cwd=tmp_path, env=env)
    assert where.stdout.startswith(str(site)), where.stdout
    clip = make_indexed_clip(tmp_path / "clip.mp4", 20, audio_seconds=0.7)
    proc = run("run", str(clip), "-o", str(tmp_path / "out.mp4"), "--blur", "--no-progress")
    assert proc.returncode == 0, proc.stderr
    assert "frames: 20 read, 20 written" in proc.stderr and (tmp_path / "out.mp4").stat().st_size > 1000
    proc = run("presets")  # installed with the package, found by name outside the repository
    assert proc.returncode == 0 and "webcam" in proc.stdout and str(site) in proc.stdout, proc.stderr
    proc = run("run", str(clip), "-o", str(tmp_path / "preset.mp4"), "--config", "file-quality", "--no-progress")
    assert proc.returncode == 0 and "CPU fp32" in proc.stderr, proc.stderr
    proc = run("bench", "--devices", "CPU", "--precisions", "int8", "--sizes", "96", "--frames", "4", "--runs", "2",
               "--seconds", "0.3", "--out", str(tmp_path / "bench"))
    assert proc.returncode == 0, proc.stderr
    assert "| CPU | int8 | 96 |" in proc.stdout and (tmp_path / "bench" / "bench.json").is_file()
