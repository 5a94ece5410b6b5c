"""The README's commands run as written.

Blocks fenced as ``sh`` are run line by line with bash, in a scratch folder that holds the files the README
names (``talk.mp4``, ``photo.jpg``, ``beach.jpg``, ...: copies of the bundled samples); ``make`` lines run in
the repository; ``python`` blocks run in the scratch folder too.  Blocks fenced as ``console`` need a camera,
a virtual camera, a display, a cluster or a network (installing), and ``text`` blocks show output: those two
are not run.  The README itself must stay a manual: at most 400 lines.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from conftest import REPO, SAMPLES
from media import make_indexed_clip

README = REPO / "README.md"
BLOCK = re.compile(r"^```(\w+)\n(.*?)^```", re.S | re.M)


def blocks(kind: str) -> list[str]:
    return [body for fence, body in BLOCK.findall(README.read_text()) if fence == kind]


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    """The media the README's examples name."""
    folder = tmp_path_factory.mktemp("readme")
    shutil.copy(SAMPLES / "person_720p.mp4", folder / "talk.mp4")
    shutil.copy(SAMPLES / "person.jpg", folder / "photo.jpg")
    shutil.copy(SAMPLES / "background_beach.jpg", folder / "beach.jpg")
    shutil.copy(SAMPLES / "background_studio.jpg", folder / "studio.jpg")
    make_indexed_clip(folder / "loop.mp4", 30)
    (folder / "photos").mkdir()
    shutil.copy(SAMPLES / "person.jpg", folder / "photos" / "a.jpg")
    cv2.imwrite(str(folder / "photos" / "b.jpg"), cv2.flip(cv2.imread(str(SAMPLES / "person.jpg")), 1))
    (folder / "clips").mkdir()
    shutil.copy(SAMPLES / "person_720p.mp4", folder / "clips" / "talk.mp4")
    shutil.copy(SAMPLES / "person.jpg", folder / "clips" / "photo.jpg")
    return folder


def _env() -> dict:
    """The environment's ``vbg`` and ``python`` first, importing this tree's vbg (not another checkout's that
    the environment may have been installed from)."""
    path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
            "PYTHONPATH": path}


def test_the_readme_is_a_manual_of_at_most_400_lines():
    assert len(README.read_text().splitlines()) <= 400
    assert blocks("sh") and blocks("python")


def test_every_shell_block_runs_as_written(scratch):
    for body in blocks("sh"):
        for line in body.splitlines():
            command = line.split("#")[0].strip()
            if not command:
                continue
            cwd = REPO if command.startswith("make ") else scratch
            proc = subprocess.run(["bash", "-c", command], cwd=cwd, env=_env(), capture_output=True, text=True,
                                  timeout=900)
            assert proc.returncode == 0, f"{command}\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
    assert (scratch / "talk_beach.mp4").stat().st_size > 10_000
    assert (scratch / "clips_out" / "talk.mp4").is_file() and (scratch / "photos_blurred" / "b.jpg").is_file()


def test_every_python_block_runs_as_written(scratch):
    for body in blocks("python"):
        proc = subprocess.run([sys.executable, "-c", body], cwd=scratch, env=_env(), capture_output=True,
                              text=True, timeout=600)
        assert proc.returncode == 0, f"{body}\n{proc.stderr[-2000:]}"
    assert (scratch / "api_result.jpg").is_file() and (scratch / "api_talk.mp4").is_file()


def test_the_python_api_gives_the_matte_vbg_image_gives(tmp_path, model_cache):
    """The README's ``process_image`` block, run as written on the sample photo, writes the very matte that
    ``vbg image --mask-out`` writes (same model, same refinement: one code path), not the raw one."""
    body = next(b for b in blocks("python") if "process_image" in b)
    shutil.copy(SAMPLES / "person.jpg", tmp_path / "photo.jpg")
    shutil.copy(SAMPLES / "background_beach.jpg", tmp_path / "beach.jpg")
    env = {**_env(), "VBG_CACHE_DIR": str(model_cache)}
    api = subprocess.run([sys.executable, "-c", body], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=600)
    assert api.returncode == 0, f"{body}\n{api.stderr[-2000:]}"
    cli = subprocess.run([sys.executable, "-m", "vbg", "image", "photo.jpg", "-o", "cli.png", "--background",
                          "beach.jpg", "--mask-out", "cli_mask.png"], cwd=tmp_path, env=env, capture_output=True,
                         text=True, timeout=600)
    assert cli.returncode == 0, cli.stderr
    api_mask = cv2.imread(str(tmp_path / "api_mask.png"), cv2.IMREAD_UNCHANGED)
    cli_mask = cv2.imread(str(tmp_path / "cli_mask.png"), cv2.IMREAD_UNCHANGED)
    photo = cv2.imread(str(tmp_path / "photo.jpg"))
    assert api_mask.dtype == np.uint8 and api_mask.shape == cli_mask.shape == photo.shape[:2]
    assert np.array_equal(api_mask, cli_mask), f"{np.count_nonzero(api_mask != cli_mask)} pixels differ"
    # the composite is the same picture too (the API's is a JPEG, so compare within its rounding)
    api_result = cv2.imread(str(tmp_path / "api_result.jpg")).astype(int)
    assert np.abs(api_result - cv2.imread(str(tmp_path / "cli.png")).astype(int)).mean() < 2
    # and it is the refined matte: the raw one leaves far more of the picture half transparent
    from vbg import Segmenter

    raw = Segmenter(frame=(photo.shape[1], photo.shape[0]), cache_dir=str(model_cache)).segment(photo)
    assert half_transparent(api_mask) < 0.5 * half_transparent(raw), (half_transparent(api_mask),
                                                                       half_transparent(raw))


def half_transparent(matte: np.ndarray) -> float:
    """The share of pixels neither person nor background: see-through limbs when it is large."""
    return np.count_nonzero((matte > 0) & (matte < 255)) / matte.size
