"""Shared fixtures: the real U2NETP weights, a per-session model cache, and segmenters built from them.

The weights come from ``$VBG_WEIGHTS_DIR`` or the project's ``../shared/models`` (offline machines), else the
normal lookup (cache, then download).  Every model test runs real OpenVINO inference on them.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
REFERENCE = SHARED / "testdata" / "u2netp_reference"
SAMPLES = REPO / "samples"

if "VBG_WEIGHTS_DIR" not in os.environ and (SHARED / "models" / "u2netp.pth").is_file():
    os.environ["VBG_WEIGHTS_DIR"] = str(SHARED / "models")


@pytest.fixture(scope="session")
def weights_path() -> Path:
    from vbg.model.weights import MODELS, resolve_weights

    return resolve_weights(MODELS["u2net_lite"])


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory) -> Path:
    """A cache directory shared by the session, so each IR is converted once."""
    return tmp_path_factory.mktemp("vbg-cache")


@pytest.fixture(scope="session")
def make_segmenter(weights_path, model_cache):
    """Build (and memoise) a CPU Segmenter for the given settings."""
    from vbg.model.segmenter import Segmenter

    made: dict = {}

    def factory(**settings):
        settings.setdefault("model", "u2net_lite")  # the official weights: what the reference maps were made with
        settings.setdefault("size", "320")  # ... at their native size
        key = tuple(sorted(settings.items()))
        if key not in made:
            made[key] = Segmenter(weights=str(weights_path), cache_dir=str(model_cache), **settings)
        return made[key]

    return factory


VM = SHARED / "v4l2vm"
#: the model the camera VM's guest runs: it is ~1000x slower than the host, so a tiny input
VM_MODEL = ["--size", "64x64", "--precision", "fp32", "--resize", "fast"]


@pytest.fixture(scope="session")
def vm_ir_cache(tmp_path_factory) -> Path:
    """A model cache holding the tiny IR the camera VM's guest runs, converted here once (the guest finds it in
    the cache); skips, with the reason, where the VM (../shared/v4l2vm, installed by its install.sh) is not."""
    if not (VM / "run-in-vm.sh").is_file():
        pytest.skip(f"no {VM}: the camera VM scripts are not on this machine")
    if not Path("/opt/v4l2vm/kver").is_file():
        pytest.skip("camera VM not installed: run `sudo bash ../shared/v4l2vm/install.sh` (CI does)")
    cache = tmp_path_factory.mktemp("vm-cache")
    subprocess.run([sys.executable, "-m", "vbg", "convert", *VM_MODEL, "--cache-dir", str(cache)], check=True,
                   capture_output=True, cwd=REPO, timeout=600)
    return cache


def run_vbg(*args: str, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run the real CLI in a subprocess (as a user would), capturing its output."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "vbg", *args], capture_output=True, text=True,
                          env=full_env, timeout=timeout, cwd=REPO)


def assert_clean_error(proc: subprocess.CompletedProcess, *fragments: str) -> None:
    """A user error: non-zero exit, one line on stderr naming the problem, no traceback."""
    assert proc.returncode != 0, proc.stdout
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert "Traceback" not in proc.stderr, proc.stderr
    assert len(lines) == 1 and lines[0].startswith("vbg: error:"), proc.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def modules_loaded_by_cached_start(weights_path: Path, cache: Path, modules: tuple[str, ...], **settings) -> list[str]:
    settings.setdefault("model", "u2net_lite")
    settings.setdefault("size", "320")
    """Start a Segmenter from an existing cache in a fresh interpreter, segment one frame, and return which of
    ``modules`` it imported (a cached start must not pay for torch or nncf)."""
    code = (
        "import json, sys; from vbg.model.segmenter import Segmenter; import numpy as np; "
        f"s = Segmenter(weights={str(weights_path)!r}, cache_dir={str(cache)!r}, **{settings!r}); "
        "s.segment(np.full((240, 320, 3), 128, np.uint8)); "
        f"print(json.dumps([m for m in {modules!r} if m in sys.modules]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def xvfb():
    """A private Xvfb; ``-displayfd`` makes the server pick a free display number and report it."""
    if not shutil.which("Xvfb") or not shutil.which("import"):
        pytest.skip("Xvfb or ImageMagick is not installed (make system-deps installs them)")
    read_fd, write_fd = os.pipe()
    server = subprocess.Popen(["Xvfb", "-displayfd", str(write_fd), "-screen", "0", "1280x720x24", "-nolisten", "tcp"],
                              pass_fds=(write_fd,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write_fd)
    try:
        number = b""
        deadline = time.time() + 20
        while not number.endswith(b"\n") and time.time() < deadline:
            ready, _, _ = select.select([read_fd], [], [], 0.5)
            if ready:
                chunk = os.read(read_fd, 32)
                if not chunk:
                    break
                number += chunk
        assert number.strip(), "Xvfb did not report its display number"
        yield f":{number.decode().strip()}"
    finally:
        os.close(read_fd)
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
