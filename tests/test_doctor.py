"""``vbg doctor`` on this machine (no camera, no v4l2loopback: it must say so and how to load it), and the rules
it and the virtual-camera writer share: which ioctl sequence a module version gets, how a device's state is told
from QUERYCAP and its holders, and the one command that reloads the module as it was.  The devices themselves
are tested in the VM (tests/test_vcam_vm.py)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from conftest import run_vbg
from vbg.media.loopback import (NodeCaps, State, classify, exclusive_caps, module_parameters, parse_version,
                                reload_fix)
from vbg.media.vcamwriter import needs_streamon

BARE = sys.platform.startswith("linux") and not list(Path("/dev").glob("video*")) and \
    not Path("/sys/module/v4l2loopback").exists()


@pytest.mark.skipif(not BARE, reason="needs Linux without any /dev/video* device or v4l2loopback module")
def test_doctor_on_a_machine_without_devices_says_so_and_how_to_get_a_virtual_camera():
    proc = run_vbg("doctor")
    assert proc.returncode == 1 and proc.stderr == "", proc.stderr  # problems found: exit 1, no traceback
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("v4l2loopback: not loaded")
    assert "no camera and no virtual camera: /dev has no video devices" in lines
    fixes = [line.strip() for line in lines if line.strip().startswith("fix:")]
    assert any("sudo modprobe v4l2loopback devices=1 video_nr=10 exclusive_caps=1 card_label=vbg" in f
               for f in fixes), lines
    assert lines[-1] == "2 problems found"
    report = json.loads(run_vbg("doctor", "--json").stdout)
    assert report["ok"] is False and report["nodes"] == [] and not report["loopback_loaded"]
    assert [f["device"] for f in report["findings"]] == [None, None]


def test_the_writer_starts_streaming_itself_only_before_0_13():
    # 0.12.x marks a writer only on STREAMON; 0.14+ refuses STREAMON without REQBUFS, and 0.15 write() after it
    assert needs_streamon(parse_version("0.12.7")) and needs_streamon(parse_version("0.12.5"))
    assert not needs_streamon(parse_version("0.13.2")) and not needs_streamon(parse_version("0.15.4-rc1"))
    assert needs_streamon(None)  # a module that does not say: STREAMON, and EINVAL means a newer one


def caps(output: bool, capture: bool) -> NodeCaps:
    return NodeCaps("/dev/video10", "v4l2 loopback", "vbg", "platform:v4l2loopback-000", capture, output)


@pytest.mark.parametrize("output, capture, held, keep, state", [
    (True, False, False, False, State.READY),  # exclusive_caps=1, no writer
    (True, True, True, False, State.READY),  # 0.12: a reader stayed after a streaming writer left
    (False, True, True, False, State.BUSY),  # a writer streams
    (False, False, False, False, State.STUCK),  # 0.12.7 after a writer that never streamed
    (False, True, False, False, State.STUCK),  # capture only, nobody sending or reading
    (False, True, False, True, State.KEPT),  # keep_format=1 after its writer left
])
def test_a_devices_state_comes_from_what_it_offers_and_who_holds_it(output, capture, held, keep, state):
    assert classify(caps(output, capture), held, keep) is state


def test_the_reload_fix_keeps_the_devices_and_ends_their_holders_first():
    devices = [caps(False, False), NodeCaps("/dev/video12", "v4l2 loopback", "OBS Virtual Camera", "", True, False)]
    assert reload_fix(devices, {"max_buffers": "2"}, kill=[812, 77, 812]) == (
        "kill 77 812 && sudo modprobe -r v4l2loopback && sudo modprobe v4l2loopback devices=2 video_nr=10,12 "
        "exclusive_caps=1,1 'card_label=vbg,\"OBS Virtual Camera\"'")
    assert reload_fix([], {"max_buffers": "8"}).endswith("video_nr=10 exclusive_caps=1 card_label=vbg max_buffers=8")


def test_exclusive_caps_is_read_at_the_slot_the_device_was_made_with(tmp_path):
    params = tmp_path / "parameters"
    params.mkdir()
    (params / "exclusive_caps").write_text("Y,N,N,N,N,N,N,N\n")  # as sysfs prints a bool array
    (params / "video_nr").write_text("10,12,-1,-1,-1,-1,-1,-1\n")
    read = module_parameters(tmp_path)
    assert read == {"exclusive_caps": "Y,N,N,N,N,N,N,N", "video_nr": "10,12,-1,-1,-1,-1,-1,-1"}
    assert exclusive_caps(10, [10, 12], read) is True and exclusive_caps(12, [10, 12], read) is False
    auto = {"exclusive_caps": "N,Y", "video_nr": "-1,-1"}  # numbers chosen by the kernel: creation order
    assert exclusive_caps(3, [2, 3], auto) is True and exclusive_caps(7, [2, 3], auto) is None
