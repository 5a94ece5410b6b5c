"""``vbg service``: the systemd --user unit that starts vbg with the session, written, read back as the exact
``vbg run`` command it starts, refused when its options are wrong, and removed.  The real CLI in a subprocess,
with ``XDG_CONFIG_HOME`` in a temporary folder (this machine has no user manager: the command must say so and
still leave the unit for the next login)."""

from __future__ import annotations

import configparser
import shlex
import sys

from conftest import SAMPLES, assert_clean_error, run_vbg


def read_unit(path):
    unit = configparser.ConfigParser(interpolation=None)
    unit.optionxform = str
    unit.read(path)
    return unit


def test_install_writes_a_unit_that_runs_the_webcam_preset_on_the_virtual_camera_only(tmp_path):
    from vbg.cli.main import build_parser
    from vbg.config import make_config

    env = {"XDG_CONFIG_HOME": str(tmp_path / "config")}
    picture = str(SAMPLES / "background_beach.jpg")
    proc = run_vbg("service", "install", "--no-start", "--", "--background", picture, env=env)
    assert proc.returncode == 0, proc.stderr
    path = tmp_path / "config" / "systemd" / "user" / "vbg.service"
    assert f"installed {path}" in proc.stdout
    unit = read_unit(path)
    assert unit["Install"]["WantedBy"] == "default.target" and unit["Service"]["Restart"] == "on-failure"
    command = shlex.split(unit["Service"]["ExecStart"])
    assert command[:3] == [sys.executable, "-m", "vbg"]
    args = build_parser().parse_args(command[3:])  # what the unit will run, as vbg run reads it
    config = make_config(args.config, **{k: v for k, v in vars(args).items() if k not in ("func", "command", "config")})
    assert config.vcam and not config.window and config.live and config.background == [picture]
    assert config.name == "service"  # vbg ctl --name service steers it
    shown = run_vbg("service", "show", env=env)
    assert shown.returncode == 0 and shown.stdout == path.read_text()


def test_a_unit_that_cannot_start_is_not_installed(tmp_path):
    env = {"XDG_CONFIG_HOME": str(tmp_path / "config")}
    proc = run_vbg("service", "install", "--no-start", "--", "--backgrund", "x.jpg", env=env)
    assert_clean_error(proc, "service's vbg run options are not valid", "did you mean --background")
    assert not (tmp_path / "config").exists()


def test_install_without_a_user_manager_says_so_and_remove_undoes_it(tmp_path):
    env = {"XDG_CONFIG_HOME": str(tmp_path / "config"), "DBUS_SESSION_BUS_ADDRESS": "unix:path=/nonexistent",
           "XDG_RUNTIME_DIR": str(tmp_path / "no-runtime")}
    proc = run_vbg("service", "install", env=env)
    assert proc.returncode == 0, proc.stderr
    path = tmp_path / "config" / "systemd" / "user" / "vbg.service"
    assert path.is_file()
    assert "starts at your next login" in proc.stdout or "started" in proc.stdout, proc.stdout
    removed = run_vbg("service", "remove", env=env)
    assert removed.returncode == 0 and not path.exists(), removed.stderr
    again = run_vbg("service", "remove", env=env)
    assert_clean_error(again, "no vbg service is installed", "vbg service install")


def test_no_window_turns_off_a_presets_window():
    from vbg.cli.main import build_parser
    from vbg.config import make_config

    for flags, window in ((["--config", "webcam"], True), (["--config", "webcam", "--no-window"], False)):
        args = build_parser().parse_args(["run", *flags])
        given = {k: v for k, v in vars(args).items() if k not in ("func", "command", "config")}
        assert make_config(args.config, **given).window is window
