"""Runs inside the v4l2vm guest (see tests/test_camera_vm.py): real vivid camera in, real v4l2loopback out.

    python tests/vm_guest.py scenarios CACHE_DIR   # writes results.json in the current directory
    python tests/vm_guest.py read DEVICE N         # a separate reader process, as a call app would be

The guest is emulated (TCG, about 1000x slower inference), so one vbg process streams while this script plays
the user and the other programs around it: readers that attach late, detach and come back, a second writer,
vivid's fault buttons.  Everything observed goes into results.json; the host-side tests assert on it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

CAMERA, LOOPBACK, SPARE = "/dev/video0", "/dev/video10", "/dev/video12"
GREEN = (0, 255, 0)  # BGR of --color 0,255,0
VBG = str(Path(sys.executable).with_name("vbg"))


def read_frames(device: str, count: int, timeout: float = 120.0, wait_s: float | None = None) -> dict:
    """Open ``device`` like a call app, read ``count`` frames; their size, corner pixels and arrival times
    (seconds after the open).  ``wait_s``: how long one read may wait for a frame (OpenCV's default is 10 s)."""
    import cv2

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        opened = time.monotonic()
        cap = cv2.VideoCapture(device, cv2.CAP_V4L2)
        if cap.isOpened():
            if wait_s:
                cap.set(cv2.CAP_PROP_READ_TIMEOUT_MSEC, wait_s * 1000)
            pixels, shape, times = [], None, []
            for _ in range(count):
                ok, image = cap.read()
                if not ok:
                    break
                shape = list(image.shape)
                pixels.append(image[2, 2].tolist())
                times.append(round(time.monotonic() - opened, 2))
            cap.release()
            if pixels:
                return {"frames": len(pixels), "shape": shape, "corner": pixels, "times": times}
        else:
            cap.release()
        time.sleep(0.5)  # not a capture device until a writer has set its format (exclusive_caps=1)
    return {"frames": 0, "shape": None, "corner": []}


def reader(count: int, timeout: float = 180.0, wait_s: float = 0, device: str = LOOPBACK) -> dict:
    """A separate reader process (its own open of the device, as Zoom or Chrome would)."""
    proc = subprocess.run([sys.executable, __file__, "read", device, str(count), str(wait_s)],
                          capture_output=True, text=True, timeout=timeout)
    return json.loads(proc.stdout.strip().splitlines()[-1]) if proc.returncode == 0 else {"error": proc.stderr[-500:]}


def press(control: str) -> None:
    subprocess.run(["v4l2-ctl", "-d", CAMERA, "--set-ctrl", control], check=True, capture_output=True)


class Vbg:
    """One vbg process whose stderr lines are collected with their time."""

    def __init__(self, *args: str) -> None:
        self.started = time.monotonic()
        self.lines: list[tuple[float, str]] = []
        self.proc = subprocess.Popen([VBG, *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self._thread = threading.Thread(target=self._collect, daemon=True)
        self._thread.start()

    def _collect(self) -> None:
        for line in self.proc.stderr:
            self.lines.append((round(time.monotonic() - self.started, 1), line.rstrip()))

    def wait_line(self, text: str, timeout: float, after: int = 0) -> str | None:
        """The first stderr line (from index ``after``) containing ``text``, waiting up to ``timeout``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for _, line in self.lines[after:]:
                if text in line:
                    return line
            if self.proc.poll() is not None and not self._thread.is_alive():
                return None
            time.sleep(0.2)
        return None

    def finish(self, timeout: float) -> dict:
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = "hung"
        self._thread.join(5)
        return {"rc": rc, "stderr": [line for _, line in self.lines if "WARN" not in line],
                "seconds": round(time.monotonic() - self.started, 1)}


def scenarios(cache: str) -> dict:
    # the plumbing is under test, not the 64x64 model: --ramp 240,255 keeps only near-certain foreground (the
    # corner of vivid's bars read as half person with some weights), and --live-masks newest skips timing the
    # model, which takes half a minute in the guest and would choose newest anyway
    model = ["--size", "64x64", "--precision", "fp32", "--resize", "fast", "--cache-dir", cache, "--no-progress",
             "--ramp", "240,255", "--live-masks", "newest"]
    out: dict = {}
    listing = subprocess.run([VBG, "cameras"], capture_output=True, text=True, timeout=300)
    out["cameras"] = {"rc": listing.returncode, "stdout": listing.stdout, "stderr": listing.stderr}

    # The main run: 720p30 asked (vivid offers 720p at 12.5 fps at most), to the virtual camera and a file.
    main = Vbg("run", CAMERA, "--vcam", "--vcam-device", LOOPBACK, "--color", "0,255,0", "-o", "main.mp4",
               "--reconnect", "3", *model)
    out["granted"] = main.wait_line(f"camera {CAMERA}", 400)
    if main.proc.poll() is not None:  # it did not start: the rest cannot be observed
        out["dead"] = main.finish(10)
        return out
    out["late_reader"] = reader(5)  # attaches once vbg is streaming
    out["again_reader"] = reader(3)  # detached, then back

    # Another writer while vbg holds the loopback device; a device that does not exist.
    for name, device in (("busy", LOOPBACK), ("missing", "/dev/video11")):
        other = Vbg("run", "lavfi:testsrc=size=160x90:rate=5", "--vcam", "--vcam-device", device,
                    "--color", "0,255,0", "--max-frames", "2", *model)
        out[name] = other.finish(400)

    faults = {}
    for control in ("disconnect=1", "inject_fatal_streaming_error=1", "inject_vidioc_qbuf_error=1",
                    "inject_v4l2_buf_flag_error=1", "inject_vidioc_streamon_error=1"):
        mark = len(main.lines)
        press(control)
        if control.startswith("inject_vidioc_streamon"):
            press("disconnect=1")  # the next reopen meets the STREAMON error, the one after succeeds
        # disconnects and fatal errors end the stream (reopened); queue and buffer errors may just be ridden out
        back = main.wait_line("is back after", 90 if "disconnect" in control or "fatal" in control or
                              "streamon" in control else 20, after=mark)
        faults[control] = {"back": back, "reader": reader(3), "running": main.proc.poll() is None}
    out["faults"] = faults

    # A camera that stops delivering and never recovers: vbg must end (exit 3), not hang.
    press("percentage_of_dropped_buffers=100")
    out["dead"] = main.finish(300)
    press("percentage_of_dropped_buffers=0")
    out["unwatched"] = unwatched(model)
    return out


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def holds(pid: int, device: str) -> bool:
    """Whether process ``pid`` has ``device`` open."""
    return any(os.path.realpath(fd) == device for fd in Path(f"/proc/{pid}/fd").iterdir())


def unwatched(model: list[str], idle_s: float = 20.0) -> dict:
    """vbg with the virtual camera as its only output: it releases the camera while no app reads it, uses
    (next to) no CPU, and serves a reader that opens the device, then releases the camera again."""
    run = Vbg("run", CAMERA, "--vcam", "--vcam-device", SPARE, "--color", "0,255,0", *model)
    out: dict = {"released": run.wait_line("released: nobody is watching", 600)}
    if out["released"] is None:
        out["end"] = run.finish(10)
        return out
    pid = run.proc.pid
    out["camera_open_while_idle"] = holds(pid, CAMERA)
    # vbg waits for its first viewer, as it would before a call starts; meanwhile the model finishes the one
    # frame it took before it was told nobody watches (about 30 s in the emulated guest, 30 ms on the host)
    time.sleep(45.0)
    mark = len(run.lines)
    # the viewer's first frame needs the camera reopened (slow in the emulated guest)
    out["viewer"] = reader(3, timeout=600, wait_s=300, device=SPARE)
    out["reopened"] = run.wait_line("reopened: the virtual camera has a viewer", 5, after=mark)
    out["released_again"] = run.wait_line("released: nobody is watching", 120, after=mark)
    time.sleep(2.0)  # idle CPU once the viewer has gone
    start, cpu = time.monotonic(), cpu_seconds(pid)
    time.sleep(idle_s)
    out["idle_cores"] = (cpu_seconds(pid) - cpu) / (time.monotonic() - start)
    out["camera_open_after_viewer"] = holds(pid, CAMERA)
    run.proc.send_signal(signal.SIGINT)
    out["end"] = run.finish(300)
    return out


if __name__ == "__main__":
    if sys.argv[1] == "read":
        print(json.dumps(read_frames(sys.argv[2], int(sys.argv[3]), wait_s=float(sys.argv[4]) or None)))
    else:
        Path("results.json").write_text(json.dumps(scenarios(sys.argv[2]), indent=1))
