"""``vbg doctor``: what the cameras and virtual cameras of this machine are, what state they are in, what call
apps need from them, and for every problem the one command that fixes it.

Why: a virtual camera fails in ways that look alike from a call app (the camera is missing from its list) and
from a writer ("no v4l2 loopback device found"): the module is not loaded, the device was made without
``exclusive_caps=1`` (Chrome lists capture-only devices only), another program streams to it, or an earlier
writer left it stuck (v4l2loopback 0.12.5-0.12.7 with a writer that never started streaming).  The facts come
from sysfs, VIDIOC_QUERYCAP and ``/proc/*/fd``, read the way the vcam sink reads them (``media.loopback``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .media.holders import Holder, holders
from .media.loopback import (INSTALL, LOAD, IMPLICIT_STREAMING, NodeCaps, State, classify, exclusive_caps, explain,
                             keep_format, keep_format_fix, loaded, module_parameters, module_version, node_number,
                             query_caps, reload_fix, version_text, video_nodes)

VIDEO_GROUP_FIX = "sudo usermod -aG video $USER   (then log out and in again)"


@dataclass
class Finding:
    """A problem and the one command that fixes it."""

    device: str | None
    problem: str
    fix: str


@dataclass
class Node:
    """One /dev/videoN as doctor saw it."""

    path: str
    role: str  # "camera", "virtual camera", "output device", "unreadable"
    card: str = ""
    driver: str = ""
    module: str = ""
    module_version: str = ""
    offers: str = ""  # "capture", "output", "capture and output", "nothing"
    state: str = ""  # virtual cameras: a loopback.State value
    holders: list[Holder] = field(default_factory=list)
    exclusive_caps: bool | None = None
    keep_format: bool | None = None
    apps: dict[str, str] = field(default_factory=dict)
    error: str = ""


@dataclass
class Report:
    linux: bool
    loopback_loaded: bool = False
    loopback_installed: bool | None = None
    loopback_version: str = ""
    parameters: dict[str, str] = field(default_factory=dict)
    nodes: list[Node] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings

    def as_dict(self) -> dict:
        return {**asdict(self), "ok": self.ok}


def module_installed() -> bool | None:
    """Whether the running kernel has a v4l2loopback module to load (modinfo); None where that cannot be told."""
    modinfo = shutil.which("modinfo") or next((p for p in ("/usr/sbin/modinfo", "/sbin/modinfo")
                                               if os.access(p, os.X_OK)), None)
    if modinfo is None:
        return None
    try:
        return subprocess.run([modinfo, "-n", "v4l2loopback"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return None


def driver_module(path: str) -> tuple[str, str]:
    """The kernel module behind a (non-loopback) node and its version (the kernel's, for modules built with
    it), from /sys/class/video4linux."""
    link = Path("/sys/class/video4linux") / Path(path).name / "device" / "driver" / "module"
    try:
        name = os.path.basename(os.readlink(link))
    except OSError:
        return "", ""
    try:
        return name, (Path("/sys/module") / name / "version").read_text().strip()
    except OSError:
        return name, f"in kernel {os.uname().release}"  # built with the kernel: no version of its own


def offers(caps: NodeCaps) -> str:
    both = [w for w, on in (("capture", caps.capture), ("output", caps.output)) if on]
    return " and ".join(both) or "nothing"


def apps_for(state: State, exclusive: bool | None, path: str) -> dict[str, str]:
    """What Chrome, Zoom, OBS and vbg can do with a loopback device in ``state``."""
    stuck = state in (State.STUCK, State.KEPT)
    if exclusive is False:
        chrome = "does not list it: needs exclusive_caps=1"
    else:
        chrome = "cannot use it (stuck)" if stuck else "lists it while a writer streams to it" + (
            " (now)" if state is State.BUSY else ": start vbg first")
    zoom = "cannot use it (stuck)" if stuck else ("can use it now" if state is State.BUSY
                                                  else "lists it once a writer has sent a frame: start vbg first")
    free = "can start on it (vbg then needs another device: devices=2)"
    obs = {State.READY: free, State.BUSY: "needs a free device of its own (devices=2)"}.get(state, "cannot (stuck)")
    vbg = {State.READY: f"vbg run CAMERA --vcam --vcam-device {path}",
           State.BUSY: "busy: another program streams to it"}.get(state, "cannot write to it (stuck)")
    return {"Chrome, Meet, Teams": chrome, "Zoom": zoom, "OBS Virtual Camera": obs, "vbg --vcam": vbg}


def examine(root: str = "/dev") -> Report:
    """Look at every video node and the v4l2loopback module; every problem gets a Finding with its fix."""
    report = Report(linux=sys.platform.startswith("linux"))
    if not report.linux:
        return report
    report.loopback_loaded = loaded()
    version = module_version()
    if report.loopback_loaded:
        report.loopback_version = version_text(version)
        report.parameters = module_parameters()
    else:
        report.loopback_installed = module_installed()
    loopbacks: list[NodeCaps] = []
    for path in video_nodes(root):
        node, caps = _look(path)
        report.nodes.append(node)
        if caps is not None and caps.loopback:
            loopbacks.append(caps)
    numbers = [node_number(c.path) for c in loopbacks]
    held_loopbacks = [h.pid for n in report.nodes if n.role == "virtual camera" for h in n.holders]
    reload = reload_fix(loopbacks, report.parameters, held_loopbacks)
    for node, caps in ((n, c) for n in report.nodes for c in loopbacks if c.path == n.path):
        _judge(report, node, caps, version, numbers, reload)
    _judge_machine(report, loopbacks, version, reload)
    return report


def _look(path: str) -> tuple[Node, NodeCaps | None]:
    try:
        caps = query_caps(path)
    except OSError as exc:
        return Node(path, "unreadable", error=exc.strerror or str(exc)), None
    node = Node(path, "virtual camera" if caps.loopback else "camera" if caps.capture else "output device",
                card=caps.card, driver=caps.driver, offers=offers(caps), holders=holders(path))
    if not caps.loopback:
        node.module, node.module_version = driver_module(path)
    return node, caps


def _judge(report: Report, node: Node, caps: NodeCaps, version, numbers: list[int], reload: str) -> None:
    """A virtual camera's state, settings and problems."""
    node.module, node.module_version = "v4l2loopback", report.loopback_version
    node.exclusive_caps = exclusive_caps(node_number(node.path), numbers, report.parameters)
    node.keep_format = keep_format(node.path)
    state = classify(caps, bool(node.holders), node.keep_format)
    node.state = state.value
    node.apps = apps_for(state, node.exclusive_caps, node.path)
    if state is State.STUCK:
        report.findings.append(Finding(node.path, explain(caps, state, version), reload))
    if node.keep_format:
        report.findings.append(Finding(node.path, explain(caps, State.KEPT, version) if state is State.KEPT else
                                       f"keep_format=1 on {node.path}: once its writer ends it stays capture-only "
                                       f"and takes no new writer", keep_format_fix(node.path)))
    if node.exclusive_caps is False:
        report.findings.append(Finding(node.path, f"{node.path} was made without exclusive_caps=1: Chrome and "
                                                  f"Chromium-based apps (Meet, Teams, Discord) do not list it", reload))


def _judge_machine(report: Report, loopbacks: list[NodeCaps], version, reload: str) -> None:
    """What the whole machine lacks: access, a camera, the module, a device."""
    for node in report.nodes:
        if node.role == "unreadable":
            report.findings.append(Finding(node.path, f"{node.path} cannot be opened ({node.error})",
                                           VIDEO_GROUP_FIX))
    if not any(n.role == "camera" for n in report.nodes):
        report.findings.append(Finding(None, "no camera found (no /dev/video* device that captures)",
                                       "connect a webcam, then check with `vbg cameras`"))
    if not report.loopback_loaded:
        how = LOAD if report.loopback_installed else f"{INSTALL} && {LOAD}"
        state = "installed but not loaded" if report.loopback_installed else (
            "not installed" if report.loopback_installed is False else "not loaded")
        report.findings.append(Finding(None, f"no virtual camera: the v4l2loopback module is {state}", how))
        return
    if not loopbacks:
        report.findings.append(Finding(None, "the v4l2loopback module is loaded but has no devices", reload))
    elif len(loopbacks) == 1:
        report.notes.append("one virtual camera: OBS's Virtual Camera and vbg cannot both write; devices=2 makes two")
    if version and version < IMPLICIT_STREAMING:
        report.notes.append(f"v4l2loopback {version_text(version)}: a writer that never starts streaming "
                            f"(pyvirtualcam, older vbg) leaves its device stuck when it ends; vbg starts streaming, "
                            f"so it can be stopped or killed safely")


def render(report: Report) -> list[str]:
    """The report as text lines: the module, each node, the problems with their fixes, a closing count."""
    if not report.linux:
        return ["vbg doctor checks V4L2 cameras and v4l2loopback virtual cameras on Linux; on Windows and macOS "
                "--vcam uses OBS Studio's Virtual Camera (start it once in OBS)"]
    lines = []
    if report.loopback_loaded:
        count = max(1, sum(1 for n in report.nodes if n.role == "virtual camera"))
        # array parameters list all 8 slots: the devices' own are the first ones
        shown = ", ".join(f"{k}={','.join(report.parameters[k].split(',')[:count])}"
                          for k in ("exclusive_caps", "video_nr", "max_buffers") if k in report.parameters)
        lines.append(f"v4l2loopback {report.loopback_version} loaded ({shown})")
    else:
        lines.append("v4l2loopback: not loaded" + {True: " (installed)", False: " (not installed)"}.get(
            report.loopback_installed, ""))
    if not report.nodes:
        lines.append("no camera and no virtual camera: /dev has no video devices")
    for node in report.nodes:
        lines += _render_node(node)
    lines += [f"note: {note}" for note in report.notes]
    for finding in report.findings:
        lines += [f"problem: {finding.problem}", f"    fix: {finding.fix}"]
    count = len(report.findings)
    lines.append("no problems found" if not count else f"{count} problem{'s' if count > 1 else ''} found")
    return lines


def _render_node(node: Node) -> list[str]:
    if node.role == "unreadable":
        return [f"{node.path}  cannot be opened: {node.error}"]
    joint = ", " if node.module_version.startswith("in kernel") else " "
    module = f"{node.module}{joint}{node.module_version}".strip(", ") or node.driver
    lines = [f"{node.path}  {node.role} {node.card!r} ({module})  offers {node.offers}"]
    if node.role == "virtual camera":
        flag = {True: "1", False: "0", None: "?"}
        lines.append(f"    state: {node.state}  exclusive_caps={flag[node.exclusive_caps]}  "
                     f"keep_format={flag[node.keep_format]}")
        lines += [f"    {app}: {what}" for app, what in node.apps.items()]
    held = ", ".join(map(str, node.holders)) or "nobody"
    lines.append(f"    held by: {held}")
    return lines
