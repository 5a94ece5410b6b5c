"""vbg batch on real Dask: a scheduler and two workers on 127.0.0.1, real clips with audio, real inference.

The model is the official U2NETP at 160x160 fp32 (fast to convert and run); one IR cache is shared by the
test session and the workers.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from conftest import REPO, SAMPLES, assert_clean_error, run_vbg
from helpers import person_clip

BIN = Path(sys.executable).parent
MODEL = ["--model", "u2net_lite", "--size", "160", "--precision", "fp32", "--color", "0,255,0"]


def decoded_frames(path: Path) -> tuple[int, bool, np.ndarray]:
    """(video frames, has audio, the middle frame) of a finished file."""
    with av.open(str(path)) as container:
        frames = [f.to_ndarray(format="bgr24") for f in container.decode(video=0)]
        has_audio = bool(container.streams.audio)
    return len(frames), has_audio, frames[len(frames) // 2]


def work_files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if ".vbg-" in p.name or ".partial" in p.name]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("batch-in")
    (root / "talks").mkdir()
    person_clip(root / "long.mp4", 240, size=(640, 360))  # long enough to kill a worker in the middle
    person_clip(root / "talks" / "short.mkv", 20)
    person_clip(root / "talks" / "other.mp4", 30)
    cv2.imwrite(str(root / "portrait.jpg"), cv2.imread(str(SAMPLES / "person.jpg")))
    (root / "broken.mp4").write_bytes(b"not a video at all")
    return root


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """``dask scheduler`` and two ``dask worker`` processes (each with its nanny), as a user would start them."""
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    logs = tmp_path_factory.mktemp("dask-logs")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = [subprocess.Popen([str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", str(port),
                               "--no-dashboard"], stdout=open(logs / "scheduler.log", "w"),
                              stderr=subprocess.STDOUT, env=env, start_new_session=True)]
    for name in ("w1", "w2"):
        procs.append(subprocess.Popen([str(BIN / "dask"), "worker", address, "--nthreads", "1", "--name", name,
                                       "--no-dashboard", "--local-directory", str(logs / name)],
                                      stdout=open(logs / f"{name}.log", "w"), stderr=subprocess.STDOUT, env=env,
                                      start_new_session=True))
    from distributed import Client

    with Client(address, timeout="60s") as client:
        client.wait_for_workers(2, timeout=120)
    yield address
    for proc in procs:
        os.killpg(proc.pid, signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def writer_of(path_fragment: str, under: Path) -> int | None:
    """The pid of the process that has a work file of ``path_fragment`` open under ``under``."""
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
                if target.startswith(str(under)) and path_fragment in target and ".vbg-" in target:
                    return int(pid)
        except OSError:
            continue
    return None


def test_plan_maps_folders_and_refuses_collisions(tmp_path, inputs):
    from vbg.batch.jobs import plan_batch
    from vbg.errors import VbgError

    out = tmp_path / "out"
    jobs = {j.input.relative_to(inputs).as_posix(): j for j in plan_batch([str(inputs)], str(out))}
    assert set(jobs) == {"long.mp4", "talks/short.mkv", "talks/other.mp4", "portrait.jpg", "broken.mp4"}
    assert jobs["talks/short.mkv"].output == out / "talks" / "short.mkv"
    assert jobs["portrait.jpg"].kind == "image"
    transparent = {j.input.name: j.output.name for j in plan_batch([str(inputs)], str(out), transparent=True)}
    assert transparent["long.mp4"] == "long.mov" and transparent["portrait.jpg"] == "portrait.png"
    # an output folder inside the input folder: earlier results are never taken as inputs
    inner = tmp_path / "clips"
    (inner / "done").mkdir(parents=True)
    for name in ("a.mp4", "done/a.mp4", "done/.a.mp4.vbg.json"):
        (inner / name).write_bytes(b"")
    assert [j.input.name for j in plan_batch([str(inner)], str(inner / "done"))] == ["a.mp4"]
    with pytest.raises(VbgError, match="would both be written as"):
        plan_batch([str(inner / "a.mp4"), str(inner / "done" / "a.mp4")], str(out))
    with pytest.raises(VbgError, match="is an input file"):
        plan_batch([str(inner / "a.mp4"), str(inner / "done" / "a.mp4")], str(inner))
    with pytest.raises(VbgError, match="does not exist"):
        plan_batch([str(tmp_path / "missing.mp4")], str(out))


def test_cluster_batch_survives_a_killed_worker_and_skips_on_rerun(tmp_path, inputs, cluster, model_cache,
                                                                  weights_path):
    out = tmp_path / "out"
    args = ["batch", str(inputs), "-o", str(out), "--address", cluster, *MODEL, "--weights", str(weights_path),
            "--cache-dir", str(model_cache), "--no-progress"]
    proc = subprocess.Popen([sys.executable, "-m", "vbg", *args], cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    victim, deadline = None, time.monotonic() + 240
    while victim is None and proc.poll() is None and time.monotonic() < deadline:
        victim = writer_of("long", out)
        time.sleep(0.02)
    assert victim is not None, "the long clip was never being written"
    os.kill(victim, signal.SIGKILL)  # the worker process dies mid-file; its nanny restarts it
    stdout, stderr = proc.communicate(timeout=300)

    assert proc.returncode == 1, stderr  # the broken file, and only it
    assert "Traceback" not in stderr, stderr
    errors = [line for line in stderr.splitlines() if line.startswith("vbg: error:")]
    assert len(errors) == 1 and "broken.mp4" in errors[0] and "not a video" in errors[0], stderr
    for name, frames in (("long.mp4", 240), ("talks/short.mkv", 20), ("talks/other.mp4", 30)):
        count, has_audio, middle = decoded_frames(out / name)
        assert (count, has_audio) == (frames, True), name
        corner = middle[:8, :8].reshape(-1, 3).mean(axis=0)  # a corner of the room: the green background
        assert corner[1] > 200 and corner[0] < 60 and corner[2] < 60, (name, corner)
    assert cv2.imread(str(out / "portrait.jpg")).shape == cv2.imread(str(inputs / "portrait.jpg")).shape
    assert not (out / "broken.mp4").exists()
    assert work_files(out) == []
    assert json.loads((out / ".long.mp4.vbg.json").read_text())["frames"] == 240
    table = [line for line in stdout.splitlines() if line.startswith(f"| {inputs}")]
    assert len(table) == 5 and sum("| done |" in line for line in table) == 4, stdout

    mtimes = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    again = run_vbg(*args)
    assert again.returncode == 1
    rows = [line for line in again.stdout.splitlines() if line.startswith(f"| {inputs}")]
    assert sum("| skipped |" in line for line in rows) == 4, again.stdout
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()} == mtimes


def test_changed_settings_redo_only_what_they_change(tmp_path, inputs, model_cache, weights_path):
    """On the embedded local cluster: a new colour redoes the file, the same settings skip it."""
    out = tmp_path / "out"
    clip = inputs / "talks" / "short.mkv"
    base = ["batch", str(clip), "-o", str(out), *MODEL[:-2], "--weights", str(weights_path),
            "--cache-dir", str(model_cache), "--no-progress", "--workers", "1"]
    first = run_vbg(*base, "--color", "0,255,0")
    assert first.returncode == 0 and "| done |" in first.stdout, first.stderr
    assert "| skipped |" in run_vbg(*base, "--color", "0,255,0").stdout
    redo = run_vbg(*base, "--color", "255,0,0", "-y")
    assert "| done |" in redo.stdout, redo.stderr
    corner = decoded_frames(out / "short.mkv")[2][:8, :8].reshape(-1, 3).mean(axis=0)
    assert corner[2] > 200 and corner[1] < 60, corner  # red (r,g,b), the new background


def snapshot(folder: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def corner_bgr(path: Path) -> np.ndarray:
    """The mean colour of a photo's top-left corner: room, so the background a batch put there."""
    return cv2.imread(str(path))[:8, :8].reshape(-1, 3).mean(axis=0)


def test_results_made_otherwise_are_refused_until_y(tmp_path, inputs, model_cache, weights_path):
    """Photos on the embedded local cluster: results of other settings, or files vbg batch did not make, are
    refused before any work (named, with the fix) and left as they were; -y replaces them; results of the same
    settings are skipped with or without -y."""
    photos, out = tmp_path / "photos", tmp_path / "out"
    photos.mkdir()
    shutil.copy(inputs / "portrait.jpg", photos / "a.jpg")
    cv2.imwrite(str(photos / "b.jpg"), cv2.flip(cv2.imread(str(inputs / "portrait.jpg")), 1))
    base = ["batch", str(photos), "-o", str(out), *MODEL[:-2], "--weights", str(weights_path),
            "--cache-dir", str(model_cache), "--no-progress", "--workers", "1"]
    green, red = ("--color", "0,255,0"), ("--color", "255,0,0")

    first = run_vbg(*base, *green)
    assert first.returncode == 0 and first.stdout.count("| done |") == 2, first.stderr
    assert run_vbg(*base, *green).stdout.count("| skipped |") == 2
    made = snapshot(out)

    refused = run_vbg(*base, *red)
    assert_clean_error(refused, "2 existing results would be replaced", f"{out / 'a.jpg'} (other settings)",
                       f"{out / 'b.jpg'} (other settings)", "add -y (--overwrite)", "another -o folder")
    assert refused.stdout == "" and snapshot(out) == made

    shutil.copy(inputs / "portrait.jpg", photos / "c.jpg")
    (out / "c.jpg").write_bytes(b"someone else's file")
    foreign = run_vbg(*base, *green)  # a and b are done with these settings: only c's output is in the way
    assert_clean_error(foreign, "1 existing result would be replaced", f"{out / 'c.jpg'} (not made by vbg batch)")
    assert (out / "c.jpg").read_bytes() == b"someone else's file"

    replaced = run_vbg(*base, *red, "-y")
    assert replaced.returncode == 0 and replaced.stdout.count("| done |") == 3, replaced.stderr
    for name in ("a.jpg", "b.jpg", "c.jpg"):
        blue, g, r = corner_bgr(out / name)
        assert r > 200 and g < 60 and blue < 60, (name, (blue, g, r))  # the red of the new settings
    assert work_files(out) == []
    again = run_vbg(*base, *red, "-y")
    assert again.returncode == 0 and again.stdout.count("| skipped |") == 3, again.stdout


def test_ctrl_c_leaves_no_partial_files(tmp_path, inputs, model_cache, weights_path):
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "vbg", "batch", str(inputs / "long.mp4"), "-o", str(out),
                             *MODEL, "--weights", str(weights_path), "--cache-dir", str(model_cache),
                             "--no-progress", "--workers", "1"],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            # a shell that started the tests in the background made them ignore SIGINT
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 240
    while writer_of("long", out) is None and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr, stderr
    assert not (out / "long.mp4").exists()
    assert work_files(out) == []


def test_unreachable_scheduler_is_one_clear_line(tmp_path):
    proc = run_vbg("batch", str(SAMPLES / "person.jpg"), "-o", str(tmp_path / "out"), "--blur",
                   "--address", f"tcp://127.0.0.1:{free_port()}")
    assert_clean_error(proc, "cannot reach the Dask scheduler", "dask scheduler")


def test_bad_batch_input_fails_before_any_work(tmp_path):
    proc = run_vbg("batch", str(tmp_path / "nothing-here"), "-o", str(tmp_path / "out"))
    assert_clean_error(proc, "does not exist")
    assert not (tmp_path / "out").exists()
