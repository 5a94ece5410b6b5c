"""What `--help` tells a newcomer: every default that differs between commands is shown, and only `vbg run`
mentions the window's keys."""

from __future__ import annotations

import re

from conftest import REPO, assert_clean_error, run_vbg


def help_of(command: str) -> str:
    proc = run_vbg(command, "--help")
    assert proc.returncode == 0, proc.stderr
    return " ".join(proc.stdout.split())  # argparse wraps lines: compare on one line


def test_run_and_batch_show_their_defaults_and_image_its_own():
    run, image, batch = help_of("run"), help_of("image"), help_of("batch")
    for text in (run, batch):
        for flag, default in (("--resize", "fast"), ("--fit", "cover"), ("--ramp", "64,192"), ("--feather", "0.7"),
                              ("--smooth", "0.75"), ("--model", "u2netp_person"), ("--size", "auto"),
                              ("--precision", "auto")):
            # the flag's own help, not a later option's (no " --" in between)
            assert re.search(re.escape(flag) + r" (?:(?! --[a-z]).)*?\(default " + re.escape(default) + r"\)", text), \
                (flag, text)
    assert re.search(r"--resize (?:(?! --[a-z]).)*?\(default antialias\)", image)  # vbg image matches the reference by default


def test_only_run_mentions_the_window_keys():
    assert "b and m keys" in help_of("run")
    assert "b and m keys" not in help_of("image") and "b and m keys" not in help_of("batch")


def test_image_offers_only_what_changes_a_photo(tmp_path):
    """A photo has no previous frame to smooth against and shows one background: vbg image has no --smooth and
    takes exactly one background option; vbg run keeps both."""
    image, run = help_of("image"), help_of("run")
    assert "--smooth" not in image and "temporal" not in image and "several: the first" not in image, image
    assert "--smooth" in run and "several: the first is used" in run
    photo, out = str(REPO / "samples" / "person.jpg"), str(tmp_path / "o.png")
    assert_clean_error(run_vbg("image", photo, "-o", out, "--smooth", "0.5"), "--smooth", "see vbg image --help")
    assert_clean_error(run_vbg("image", photo, "-o", out, "--background", photo, "--color", "red"),
                       "--color: not allowed with argument --background")
    assert_clean_error(run_vbg("image", photo, "-o", out, "-b", photo, "-b", photo), "one background picture per photo")
    assert not list(tmp_path.iterdir())
