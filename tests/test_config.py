"""YAML presets, their validation, and flag precedence."""

from __future__ import annotations


import pytest

from conftest import REPO, assert_clean_error, run_vbg
from vbg.config import RunConfig, load_yaml, make_config
from vbg.errors import VbgError

PRESETS = sorted((REPO / "configs").glob("*.yaml"))


def test_presets_exist_and_load():
    names = {p.stem for p in PRESETS}
    assert {"webcam", "file-quality", "fast"} <= names
    for preset in PRESETS:
        assert isinstance(make_config(preset), RunConfig)
    from vbg.model.convert import resolve_size

    assert str(resolve_size(make_config(REPO / "configs" / "fast.yaml").size, (1280, 720))) == "288x160"
    assert all(make_config(p).model == "u2netp_person" for p in PRESETS)
    assert make_config(REPO / "configs" / "webcam.yaml").live is True


def test_flags_override_preset():
    config = make_config(REPO / "configs" / "fast.yaml", size="256", blur=5)
    assert config.size == "256" and config.blur == 5 and config.resize == "fast"


@pytest.mark.parametrize("text, fragment", [
    ("sizee: 320\n", "unknown key 'sizee'"),
    ("precision: fp8\n", "'precision' must be one of"),
    ("live_masks: sometimes\n", "'live_masks' must be one of auto, own, newest"),
    ("window: maybe\n", "'window' must be true or false"),
    ("max_frames: -3\n", "'max_frames' must be positive"),
    ("requests: two\n", "'requests' must be a whole number"),
    ("crf: 99\n", "'crf' must be between 0 and 63"),
    ("- a\n- b\n", "must be a mapping"),
    ("size: [320\n", "not valid YAML"),
])
def test_bad_config_names_the_key(tmp_path, text, fragment):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(VbgError, match=fragment.replace("[", r"\[")):
        load_yaml(path)


def test_missing_config_file(tmp_path):
    with pytest.raises(VbgError, match="is neither a file nor a preset"):
        load_yaml(tmp_path / "nope.yaml")


def test_cli_reports_bad_config_cleanly(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("blur: 5\nbackgroud: x.png\n")
    proc = run_vbg("run", "--config", str(path), "--null")
    assert_clean_error(proc, "unknown key 'backgroud'", str(path))


def test_refinement_keys(tmp_path):
    """YAML's bare `off` and a [low, high] list both work for the ramp; bad values name the key."""
    preset = tmp_path / "edges.yaml"
    preset.write_text("ramp: off\nsmooth: 0\nfeather: 1.5\nfit: contain\n")
    config = make_config(preset)
    assert (config.ramp, config.smooth, config.feather, config.fit) == ("off", 0.0, 1.5, "contain")
    assert make_config(ramp=[10, 240]).ramp == "10,240"
    for key, value, fragment in (("ramp", "240,10", "bad mask ramp"), ("smooth", 1.5, "bad temporal"),
                                 ("fit", "zoom", "must be one of"), ("feather", -2.0, "feather")):
        with pytest.raises(VbgError, match=fragment) as info:
            make_config(**{key: value})
        assert f"--{key}" in str(info.value)


def test_bad_ramp_flag_is_a_one_line_error():
    assert_clean_error(run_vbg("run", "lavfi:testsrc2", "--null", "--ramp", "high"), "--ramp", "bad mask ramp")


@pytest.mark.parametrize("command", ["run", "batch"])
def test_a_bad_flag_value_names_the_flag_and_its_range(tmp_path, command):
    """On the command line the message names the flag the user typed, not the config key behind it."""
    proc = run_vbg(command, "in.mp4", "-o", str(tmp_path / "out/"), "--crf", "99")
    assert_clean_error(proc, "--crf must be between 0 and 63", "got 99")
    assert "key" not in proc.stderr
    proc = run_vbg(command, "in.mp4", "-o", str(tmp_path / "out/"), "--smooth", "2")
    assert_clean_error(proc, "--smooth: bad temporal smoothing", "from 0 (off) to below 1")


def test_a_bad_value_in_a_config_file_names_the_file_and_key(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("crf: 99\n")
    proc = run_vbg("run", "in.mp4", "-o", str(tmp_path / "out.mp4"), "--config", str(path))
    assert_clean_error(proc, f"{path}: key 'crf' must be between 0 and 63", "got 99")
    assert "--crf" not in proc.stderr
