"""Advice names only what exists: every ``--flag`` written anywhere in vbg's messages and help is a real option
of the ``vbg`` command (other tools' flags, quoted in advice, are listed here by name)."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from conftest import assert_clean_error, run_vbg
from vbg.cli.main import build_parser

OTHER_TOOLS = {"--list-devices",  # v4l2-ctl --list-devices, quoted in the virtual-camera advice
               "--set-ctrl",  # v4l2-ctl --set-ctrl keep_format=0, vbg doctor's fix for a locked virtual camera
               "--user", "--now",  # systemctl --user enable --now, which vbg service runs and quotes
               "--no-audit", "--no-fund"}  # npm install's, quoted where the teacher's packages are missing


def _options(parser: argparse.ArgumentParser) -> set[str]:
    found: set[str] = set()
    for action in parser._actions:
        found.update(action.option_strings)
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found |= _options(sub)
    return found


def test_every_flag_named_in_the_code_exists():
    from vbg.train import labels, objects  # their own tools, python -m vbg.train.labels and .objects

    options = _options(build_parser()) | _options(labels.build_parser()) | _options(objects.build_parser())
    package = Path(__file__).resolve().parents[1] / "vbg"
    named = {(m.group(1), path.name) for path in package.rglob("*.py")
             for m in re.finditer(r"(?<![\w-])(--[a-z][a-z0-9-]*)", path.read_text())}
    unknown = sorted((flag, where) for flag, where in named if flag not in options | OTHER_TOOLS)
    assert not unknown, unknown
    assert {"--camera-fps", "--vcam-device", "--input-format", "--weights"} <= options  # the scan sees real flags


@pytest.mark.parametrize("args, wrong, meant", [
    (("run", "in.mp4", "--backgrund", "beach.jpg"), "--backgrund", "--background"),
    (("image", "in.jpg", "-o", "out.png", "--feathr", "1"), "--feathr", "--feather"),
    (("batch", "in/", "-o", "out/", "--wrokers", "2"), "--wrokers", "--workers"),
    (("bench", "--precisoins", "fp32"), "--precisoins", "--precisions"),
    (("convert", "--farme", "640x480"), "--farme", "--frame"),
    (("train", "--data", "in/", "--bakcgrounds", "bg/"), "--bakcgrounds", "--backgrounds"),
    (("presets", "--shwo", "fast"), "--shwo", "--show"),
    (("run", "--precision", "bf61"), "'bf61'", "bf16"),
    (("rnu", "in.mp4"), "'rnu'", "run"),
])
def test_a_misspelt_option_or_value_gets_did_you_mean(args, wrong, meant):
    """Every subcommand suggests the option (or value) a misspelling was close to, in the usual error line,
    and points at that subcommand's own help."""
    proc = run_vbg(*args)
    assert proc.returncode == 2
    assert_clean_error(proc, wrong, f"(did you mean {meant}?)",
                       "see vbg --help" if args[0] == "rnu" else f"see vbg {args[0]} --help")
