"""``vbg ctl`` against a real live ``vbg run``: the control socket's changes show in the file it writes."""

from __future__ import annotations

import contextlib
import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import REPO, SAMPLES, assert_clean_error, run_vbg
from helpers import LIVE, SIZE, classify, runs_of
from media import decode_video



def ctl(name: str, *args: str, env: dict) -> subprocess.CompletedProcess:
    return run_vbg("ctl", "--name", name, *args, env=env, timeout=30)


@pytest.fixture()
def env(tmp_path, model_cache) -> dict:
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    return {"XDG_RUNTIME_DIR": str(runtime), "VBG_CACHE_DIR": str(model_cache)}


def start_run(tmp_path: Path, env: dict, name: str, *extra: str) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "vbg", *LIVE, "--name", name, "-o", str(tmp_path / "out.mp4"),
                             *extra], cwd=REPO, env={**os.environ, **env}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while time.time() < deadline:
        status = ctl(name, "status", env=env)
        if status.returncode == 0:
            return proc
        if proc.poll() is not None:
            raise AssertionError(proc.stderr.read())
        time.sleep(0.3)
    proc.kill()
    raise AssertionError("the run never answered status")


@contextlib.contextmanager
def live_run(tmp_path: Path, env: dict, name: str, *extra: str):
    """A live run steered by the body, quit with vbg ctl at its end; its stderr is left in ``proc.err``."""
    proc = start_run(tmp_path, env, name, *extra)
    try:
        yield proc
        assert ctl(name, "quit", env=env).returncode == 0
        _, proc.err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0, proc.err


def status_of(name: str, env: dict) -> dict:
    return json.loads(ctl(name, "status", env=env).stdout)


def test_ctl_changes_background_mode_and_blur_of_a_running_job(tmp_path, env):
    with live_run(tmp_path, env, "steer", "--color", "blue"):
        status = status_of("steer", env)
        socket = Path(env["XDG_RUNTIME_DIR"]) / "vbg" / "steer.sock"
        assert stat.S_IMODE(socket.stat().st_mode) == 0o600
        assert stat.S_IMODE(socket.parent.stat().st_mode) == 0o700
        time.sleep(1.5)
        for verb in (["background", str(SAMPLES / "background_beach.jpg")], ["mode", "color"], ["color", "red"],
                     ["blur", "40"]):
            done = ctl("steer", *verb, env=env)
            assert done.returncode == 0 and "done" in done.stdout, done.stderr
            time.sleep(1.5)
        after = status_of("steer", env)
    assert not socket.exists()  # removed on the way out
    assert status["input"].startswith("testsrc2") and status["outputs"] == ["file"]
    assert (status["mode"], status["background"], status["paused"]) == ("color", "#0047bb", False)
    assert status["mirror"] is True and status["mirrored"] == []  # the file gets the true picture
    assert status["fps"] > 0 and status["cpu"] > 0 and status["model_rate"] > 0
    assert (after["mode"], after["blur"], after["color"]) == ("blur", 40, "#dc1e1e")
    frames, _, _ = decode_video(tmp_path / "out.mp4")
    assert runs_of(classify(frames)) == ["blue", "beach", "blue", "red", "other"]


def test_ctl_rejects_bad_verbs_and_arguments_without_changing_the_run(tmp_path, env):
    with live_run(tmp_path, env, "bad", "--color", "blue"):
        assert_clean_error(ctl("bad", "background", str(tmp_path / "missing.jpg"), env=env), "does not exist")
        assert_clean_error(ctl("bad", "color", "nocolour", env=env), "bad colour")
        assert_clean_error(ctl("bad", "mode", "picture", env=env), "vbg ctl background FILE")
        assert_clean_error(ctl("bad", "blur", "-3", env=env), "positive number")
        assert_clean_error(ctl("bad", "mirror", "sideways", env=env), "on|off")
        taken = run_vbg(*LIVE, "--name", "bad", "--null", env=env, timeout=120)
        assert_clean_error(taken, "another vbg run is listening", "--name")
        studio = SAMPLES / "background_studio.jpg"
        assert ctl("bad", "pause", str(studio), env=env).returncode == 0
        paused = status_of("bad", env)
        time.sleep(1.0)
    assert (paused["mode"], paused["paused"]) == ("color", True)
    from vbg.compose.backgrounds import fit_image
    from vbg.media.imageio import read_image

    frames, _, _ = decode_video(tmp_path / "out.mp4")
    still = fit_image(read_image(studio), *SIZE).astype(np.int16)
    assert np.abs(frames[-1].astype(np.int16) - still).mean() < 4  # the call sees the chosen picture
    assert np.abs(frames[0].astype(np.int16) - still).mean() > 20


def test_pause_stops_capture_while_the_still_goes_out_and_resume_captures_again(tmp_path, env):
    """Paused, the source is held (a camera is released: its light goes off) while the outputs keep getting
    the still at the source's rate; resumed, capture goes on."""
    with live_run(tmp_path, env, "hold", "--color", "blue"):
        time.sleep(1.0)
        assert ctl("hold", "pause", env=env).returncode == 0
        time.sleep(0.5)
        first = status_of("hold", env)
        time.sleep(2.0)
        held = status_of("hold", env)
        assert ctl("hold", "resume", env=env).returncode == 0
        time.sleep(1.0)
        again = status_of("hold", env)
    assert held["paused"] and held["frames_read"] - first["frames_read"] <= 1  # nothing captured while paused
    assert held["frames"] - first["frames"] >= 30  # ... while the still went out, about 30 a second
    assert again["frames_read"] - held["frames_read"] >= 10 and not again["paused"]
    frames, _, _ = decode_video(tmp_path / "out.mp4")
    assert runs_of(classify(frames))[-1] == "blue"  # the test pattern with the blue background again


def test_sigterm_removes_the_socket(tmp_path, env):
    import signal

    proc = start_run(tmp_path, env, "term", "--color", "blue")
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 143, err
    assert not (Path(env["XDG_RUNTIME_DIR"]) / "vbg" / "term.sock").exists()


def test_ctl_without_a_run_is_one_line_error(env):
    proc = ctl("nobody", "status", env=env)
    assert_clean_error(proc, "no vbg run named 'nobody'", "nobody.sock", "--name nobody")


def test_a_stale_socket_is_replaced_and_other_users_are_refused(monkeypatch):
    import shutil
    import socket as sockets
    import tempfile

    from vbg.pipeline.ctlsocket import ControlServer, request, socket_path

    runtime = tempfile.mkdtemp(prefix="vbg-ctl-test-")  # not under pytest's 0700 folder: another user may look
    os.chmod(runtime, 0o755)
    monkeypatch.setenv("XDG_RUNTIME_DIR", runtime)
    path = socket_path("stale")
    dead = sockets.socket(sockets.AF_UNIX, sockets.SOCK_STREAM)
    dead.bind(str(path))  # a run that died: the file is there, nobody listens
    dead.close()
    server = ControlServer(path, lambda verb, args: {"ok": True, "verb": verb})
    try:
        assert request(path, "status", []) == {"ok": True, "verb": "status"}
        if os.getuid() != 0:
            pytest.skip("the other-user check needs root to become another user")
        os.chmod(path.parent, 0o755)
        os.chmod(path, 0o666)  # even with the file opened up, the peer's uid is checked
        child = os.fork()
        if child == 0:  # pragma: no cover - the child reports through its exit status
            try:
                os.setuid(65534)
                os._exit(0 if "another user" in request(path, "status", []).get("error", "") else 1)
            except BaseException:
                os._exit(2)
        _, code = os.waitpid(child, 0)
        assert os.waitstatus_to_exitcode(code) == 0
    finally:
        server.close()
        assert not path.exists()
        shutil.rmtree(runtime)


def test_sighup_rereads_the_config(tmp_path, env):
    import signal

    config = tmp_path / "mine.yaml"
    config.write_text("color: blue\n")
    with live_run(tmp_path, env, "hup", "--config", str(config)) as proc:
        config.write_text("color: red\nmirror: false\n")
        proc.send_signal(signal.SIGHUP)
        deadline, status = time.time() + 20, {}
        while time.time() < deadline and status.get("color") != "#dc1e1e":
            time.sleep(0.3)
            status = status_of("hup", env)
    assert (status["mode"], status["color"], status["mirror"]) == ("color", "#dc1e1e", False)
    assert f"SIGHUP: re-read {config}: color, mirror" in proc.err


def test_live_preview_is_mirrored_and_the_other_outputs_get_the_true_picture():
    from vbg.compose.compositing import build_compositor
    from vbg.media.frames import Frame
    from vbg.media.sinks import NullSink
    from vbg.pipeline.control import Controls

    class Preview(NullSink):
        interactive = True

    image = np.zeros((40, 60, 3), np.uint8)
    image[:, :10] = 255  # a bright left edge
    frame = Frame(0, image.copy())
    controls = Controls(build_compositor([], color="blue"), lambda: None, overlay=False, mirror=True)
    window, call = controls.pictures(frame, image, [Preview(), NullSink()], stats=None)
    assert window[:, -10:].min() == 255 and call is image  # the preview flipped, the call's picture untouched
    controls.mirror_all = True  # --mirror
    assert all(p[:, -10:].min() == 255 for p in controls.pictures(frame, image, [Preview(), NullSink()], None))
