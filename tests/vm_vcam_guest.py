"""Runs inside the v4l2vm guest (see tests/test_vcam_vm.py): a virtual camera that survives restarts, and
``vbg doctor`` on a device that an old-style writer left stuck.

    python tests/vm_vcam_guest.py scenarios CACHE_DIR          # writes vcam.json in the current directory
    python tests/vm_vcam_guest.py read DEVICE COLOUR WANT      # a reader that opens the device once vbg offers it
    python tests/vm_vcam_guest.py watch DEVICE FIRST THEN WANT  # a reader that stays open across a restart

The guest plays the user: vbg writing /dev/video10 is stopped with Ctrl-C and a new vbg (another background
colour) must reach a reader that opens the device as soon as it is offered; that one is killed (SIGKILL) while
the reader stays open, and a third must reach that reader and then a new one.  A fourth is steered with
``vbg ctl`` while a reader watches: its background changes, and ``pause`` lets go of the real camera while the
reader keeps getting pictures.  On /dev/video12 pyvirtualcam
writes a few frames and exits, the way vbg wrote before, and ``vbg doctor`` looks at what it left.  Times are CLOCK_MONOTONIC
seconds, which every process of the guest shares.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

from vm_guest import CAMERA, VBG, Vbg, holds

LOOPBACK, SPARE = "/dev/video10", "/dev/video12"
COLOURS = {"green": "0,255,0", "magenta": "255,0,255"}  # the same in RGB and BGR


def colour_of(pixel: list[int]) -> str:
    """The background colour a corner pixel shows after the I420 round trip (BGR)."""
    b, g, r = pixel
    if g > 200 and g - max(b, r) > 120:
        return "green"
    if min(b, r) > 180 and min(b, r) - g > 120:
        return "magenta"
    return "black" if max(pixel) < 40 else "other"


def _open(device: str, deadline: float):
    """A capture of ``device`` as soon as it offers one (exclusive_caps=1: once a writer streams)."""
    import cv2

    while time.monotonic() < deadline:
        cap = cv2.VideoCapture(device, cv2.CAP_V4L2)
        if cap.isOpened():
            cap.set(cv2.CAP_PROP_READ_TIMEOUT_MSEC, 240_000)  # a restart in the emulated guest takes a while
            return cap
        cap.release()
        time.sleep(0.2)
    return None


def read(device: str, colour: str, want: int, timeout: float = 400.0) -> dict:
    """Open ``device`` like a call app, read until ``want`` frames of ``colour``: when it opened, and the
    arrival times of its first frame and first frame of that colour."""
    started = time.monotonic()
    cap = _open(device, started + timeout)
    if cap is None:
        return {"started": started, "opened": None}
    opened = time.monotonic()
    out = {"started": started, "opened": opened, "first": None, "first_colour": None, "frames": 0, "seen": [],
           "shape": None}
    most = max(500, want)  # frames read at most
    while out["frames"] < most and time.monotonic() < started + timeout:
        ok, image = cap.read()
        if not ok:
            break
        now, seen = time.monotonic(), colour_of(image[2, 2].tolist())
        out["frames"] += 1
        out["shape"] = list(image.shape)
        out["first"] = out["first"] or now
        out["last"] = now
        if not out["seen"] or out["seen"][-1][1] != seen:
            out["seen"].append((round(now - opened, 2), seen))
        if seen == colour:
            out["first_colour"] = out["first_colour"] or now
            want -= 1
            if want <= 0:
                break
    cap.release()
    return out


def watch(device: str, first: str, then: str, want: int, timeout: float = 600.0) -> dict:
    """Open ``device`` as soon as a writer offers it and stay open: when it opened, its first frame and first
    frame of ``first``, and the time of every change of colour, until ``want`` frames of ``then`` came after
    ``first`` (the writer was replaced under the reader)."""
    started = time.monotonic()
    cap = _open(device, started + 400)
    if cap is None:
        return {"opened": None}
    out: dict = {"opened": time.monotonic(), "first": None, "first_colour": None, "changes": [], "frames": 0,
                 "errors": 0}
    left = want
    while left > 0 and time.monotonic() < started + timeout:
        ok, image = cap.read()
        if not ok:
            out["errors"] += 1  # the writer is gone: a call app keeps the device open and waits
            time.sleep(0.2)
            continue
        now, seen = time.monotonic(), colour_of(image[2, 2].tolist())
        out["frames"] += 1
        out["first"] = out["first"] or now
        if not out["changes"] or out["changes"][-1][1] != seen:
            out["changes"].append((now, seen))
        if seen == first and not out["first_colour"]:
            out["first_colour"] = now
            Path(f"/tmp/watch{Path(device).name}").write_text("seen")  # the scenario may now stop the writer
        left -= bool(out["first_colour"]) and seen == then
    cap.release()
    return out


def _child(*args: str) -> subprocess.Popen:
    """This script in another process: a reader as a call app would be, with its own open of the device."""
    return subprocess.Popen([sys.executable, __file__, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def _result(proc: subprocess.Popen, timeout: float = 600) -> dict:
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        return {"error": "reader hung"}
    lines = stdout.strip().splitlines()
    return json.loads(lines[-1]) if proc.returncode == 0 and lines else {"error": stderr[-800:]}


def _while_alive(child: subprocess.Popen, writer: Vbg, timeout: float = 600) -> dict:
    """The reader's result, given up (killed) at once if the vbg it waits for has ended: a failing run fails
    fast instead of waiting out the reader's own timeouts."""
    deadline = time.monotonic() + timeout
    while child.poll() is None and writer.proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    if child.poll() is None and writer.proc.poll() is not None:
        child.kill()
    return _result(child)


def doctor() -> dict:
    proc = subprocess.run([VBG, "doctor"], capture_output=True, text=True, timeout=300)
    return {"rc": proc.returncode, "stdout": proc.stdout, "stderr": proc.stderr, "at": time.monotonic()}


def report() -> dict:
    from vbg.doctor import examine

    return examine().as_dict()


def stuck_by_an_old_writer(model: list[str]) -> dict:
    """pyvirtualcam writes a few frames to SPARE and exits; what doctor, vbg and doctor's fix make of it."""
    old = subprocess.run([sys.executable, "-c", (
        "import numpy, pyvirtualcam\n"
        f"with pyvirtualcam.Camera(160, 90, 10, device={SPARE!r}) as cam:\n"
        "    for i in range(5):\n"
        "        cam.send(numpy.full((90, 160, 3), 40 * i, numpy.uint8))\n")],
        capture_output=True, text=True, timeout=300)
    out: dict = {"old_writer": {"rc": old.returncode, "stderr": old.stderr[-500:]}, "doctor": doctor(),
                 "report": report()}
    spare = next((n for n in out["report"]["nodes"] if n["path"] == SPARE), {})
    if spare.get("state") != "stuck":
        return out
    # vbg on the stuck device: the check before the model names what is wrong
    out["vbg"] = Vbg("run", "lavfi:testsrc=size=160x90:rate=5", "--vcam", "--vcam-device", SPARE,
                     "--max-frames", "2", *model).finish(300)
    fix = next(f["fix"] for f in out["report"]["findings"] if f["device"] == SPARE)
    done = subprocess.run(["bash", "-c", fix.replace("sudo ", "")], capture_output=True, text=True, timeout=120)
    for _ in range(100):  # devtmpfs makes the nodes again
        if Path(SPARE).exists() and Path(LOOPBACK).exists():
            break
        time.sleep(0.1)
    out["fixed"] = {"command": fix, "rc": done.returncode, "stderr": done.stderr[-500:], "report": report()}
    return out


def run_vbg(colour: str, model: list[str]) -> Vbg:
    return Vbg("run", CAMERA, "--vcam", "--vcam-device", LOOPBACK, "--color", COLOURS[colour], *model)


def restarts(model: list[str]) -> dict:
    """Ctrl-C, then SIGKILL, each followed by a new vbg on the same device."""
    first = run_vbg("green", model)
    # the device is open and streaming once vbg finds nobody watching it (the camera is then released)
    out: dict = {"first": {"streaming": first.wait_line("released: nobody is watching", 400)}}
    first.proc.send_signal(signal.SIGINT)
    out["first"]["end"] = first.finish(300)
    out["first"]["ended"] = time.monotonic()

    second = run_vbg("magenta", model)
    # a call app that opens the camera as soon as it is offered and keeps it open across the next restart
    watcher = _child("watch", LOOPBACK, "magenta", "green", "2")
    flag = Path(f"/tmp/watch{Path(LOOPBACK).name}")
    for _ in range(3000):  # until the watcher has seen the second vbg's colour
        if flag.exists() or watcher.poll() is not None or second.proc.poll() is not None:
            break
        time.sleep(0.2)
    out["second"] = {"launched": second.started, "watcher_saw_it": flag.exists()}
    second.proc.kill()  # SIGKILL: no clean-up in vbg, only the kernel's close
    out["second"]["end"] = second.finish(60)
    out["second"]["ended"] = time.monotonic()

    third = run_vbg("green", model)
    out["third"] = {"launched": third.started, "watcher": _while_alive(watcher, third)}
    # then a reader that opens it anew (0.14+ streams to one reader at a time, so after the watcher)
    out["third"]["reader"] = _while_alive(_child("read", LOOPBACK, "green", "2"), third)
    out["third"]["doctor"] = doctor()
    out["third"]["pid"] = third.proc.pid
    third.proc.send_signal(signal.SIGINT)
    out["third"]["end"] = third.finish(300)
    return out


def ctl(*args: str) -> dict:
    proc = subprocess.run([VBG, "ctl", "--name", "vmctl", *args], capture_output=True, text=True, timeout=120)
    return {"rc": proc.returncode, "stdout": proc.stdout.strip(), "stderr": proc.stderr.strip(),
            "at": time.monotonic()}


def held_within(pid: int, device: str, held: bool, timeout: float) -> float | None:
    """Seconds until process ``pid`` holds ``device`` open (``held``) or not, or None after ``timeout``."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if holds(pid, device) == held:
            return round(time.monotonic() - start, 2)
        time.sleep(0.1)
    return None


def steered(model: list[str]) -> dict:
    """A live job on the real camera, writing the virtual camera, steered by ``vbg ctl`` while a reader
    watches: the background colour changes under the reader; ``pause`` closes the camera while the reader
    still gets pictures (the last one, held); ``resume`` opens the camera again."""
    run = Vbg("run", CAMERA, "--vcam", "--vcam-device", LOOPBACK, "--color", COLOURS["green"], "--name", "vmctl",
              *model)
    watcher = _child("watch", LOOPBACK, "green", "magenta", "3")
    flag = Path(f"/tmp/watch{Path(LOOPBACK).name}")
    flag.unlink(missing_ok=True)
    for _ in range(3000):  # until the reader has seen vbg's first colour
        if flag.exists() or watcher.poll() is not None or run.proc.poll() is not None:
            break
        time.sleep(0.2)
    out: dict = {"saw_green": flag.exists(), "color": ctl("color", COLOURS["magenta"])}
    out["watcher"] = _while_alive(watcher, run)
    pid = run.proc.pid
    # a reader that reads on while the job pauses and resumes (about 50 s of frames: with nobody watching, vbg
    # lets go of the camera, and a resume would not take it again); vbg takes the camera again for this reader
    reader = _child("read", LOOPBACK, "magenta", "1500")
    out["camera_held_before"] = held_within(pid, CAMERA, True, 300) is not None
    out["pause"] = ctl("pause")
    out["released_after"] = held_within(pid, CAMERA, False, 120)
    out["status_paused"] = ctl("status")
    time.sleep(10.0)
    out["still_released"] = not holds(pid, CAMERA)
    out["resume"] = ctl("resume")
    out["reopened_after"] = held_within(pid, CAMERA, True, 300)
    out["reader"] = _while_alive(reader, run)
    run.proc.send_signal(signal.SIGINT)
    out["end"] = run.finish(300)
    return out


def scenarios(cache: str) -> dict:
    # as tests/vm_guest.py: the plumbing is under test, not the 64x64 model
    model = ["--size", "64x64", "--precision", "fp32", "--resize", "fast", "--cache-dir", cache, "--no-progress",
             "--ramp", "240,255", "--live-masks", "newest"]
    from vbg.media.loopback import module_version, version_text

    out: dict = {"module": version_text(module_version()), "clock": time.monotonic()}
    out["stuck"] = stuck_by_an_old_writer(model)
    out["restarts"] = restarts(model)
    out["steered"] = steered(model)
    out["seconds"] = round(time.monotonic() - out["clock"], 1)
    return out


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "read":
        print(json.dumps(read(sys.argv[2], sys.argv[3], int(sys.argv[4]))))
    elif mode == "watch":
        print(json.dumps(watch(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))))
    else:
        Path("vcam.json").write_text(json.dumps(scenarios(sys.argv[2]), indent=1))
