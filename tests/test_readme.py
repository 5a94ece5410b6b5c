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
    return {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}


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
