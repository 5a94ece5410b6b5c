"""Property tests (hypothesis): whatever config values or file bytes arrive, vbg answers with a result or a
one-line VbgError, never another exception (which the CLI would show as a traceback).

Inputs are random values and *mutations of real media* (a valid clip or image with bytes flipped, cut or
inserted), which reach much deeper into the demuxers and decoders than pure noise.  Example counts are kept
small so the suite stays fast; the CLI property runs the real ``vbg`` in a subprocess.
"""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import assert_clean_error, run_vbg
from media import make_indexed_clip
from vbg.config import RunConfig, load_yaml, make_config, validate
from vbg.errors import VbgError
from vbg.media.imageio import read_image
from vbg.media.sources import open_source

# no example database: a test run leaves no .hypothesis/ folder in the checkout
FAST = settings(max_examples=60, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])
MAX_FRAMES_READ = 40  # a mutated file may decode for ever-longer; the property is "no crash", not "all frames"

KEYS = list(RunConfig.__dataclass_fields__)
values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**12, 10**12) | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6)
keys = st.sampled_from(KEYS) | st.text(max_size=12) | st.integers() | st.booleans() | st.none()  # YAML keys may be any scalar


def yaml_text(data: dict) -> str:
    import yaml

    return yaml.safe_dump(data, allow_unicode=True)


def one_line(exc: VbgError) -> None:
    text = str(exc)
    assert text and "\n" not in text and "Traceback" not in text, text


@functools.cache
def seed_media() -> dict[str, bytes]:
    """Small valid files to mutate: an H.264 MP4 with audio, the same in Matroska, a PNG and a JPEG."""
    folder = Path(tempfile.mkdtemp(prefix="vbg-fuzz-"))
    image = np.random.default_rng(0).integers(0, 255, (24, 32, 3), np.uint8)
    return {
        ".mp4": make_indexed_clip(folder / "a.mp4", 6, 64, 48, audio_seconds=0.2).read_bytes(),
        ".mkv": make_indexed_clip(folder / "a.mkv", 6, 64, 48).read_bytes(),
        ".png": cv2.imencode(".png", image)[1].tobytes(),
        ".jpg": cv2.imencode(".jpg", image)[1].tobytes(),
    }


@st.composite
def media_bytes(draw, extensions=(".mp4", ".mkv", ".png", ".jpg")):
    """(extension, bytes): pure noise, or a real file with a few bytes flipped, a cut, or an insertion."""
    ext = draw(st.sampled_from(extensions))
    if draw(st.integers(0, 4)) == 0:
        return ext, draw(st.binary(max_size=4096))
    data = bytearray(seed_media()[ext])
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "cut", "insert", "truncate"]))
        at = draw(st.integers(0, max(0, len(data) - 1)))
        if kind == "flip" and data:
            data[at] ^= draw(st.integers(1, 255))
        elif kind == "cut":
            del data[at:at + draw(st.integers(1, 512))]
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=64))
        else:
            del data[at:]
    return ext, bytes(data)


# -- config ---------------------------------------------------------------------------------------------
@FAST
@given(st.dictionaries(keys, values, max_size=4))
def test_any_config_values_give_a_config_or_one_line_error(settings_dict):
    try:
        clean = validate(settings_dict)
    except VbgError as exc:
        one_line(exc)
        return
    try:
        config = make_config(**clean)
    except VbgError as exc:
        one_line(exc)
        return
    assert isinstance(config, RunConfig)


@FAST
@given(st.text(max_size=200) | st.dictionaries(keys, values, max_size=4).map(yaml_text))
def test_any_yaml_file_gives_values_or_one_line_error(tmp_path, text):
    path = tmp_path / "preset.yaml"
    path.write_text(text)
    try:
        assert isinstance(load_yaml(path), dict)
    except VbgError as exc:
        one_line(exc)


# -- files ----------------------------------------------------------------------------------------------
@FAST
@given(media_bytes())
def test_any_file_bytes_open_as_a_source_or_fail_in_one_line(tmp_path, sample):
    ext, data = sample
    path = tmp_path / f"input{ext}"
    path.write_bytes(data)
    try:
        source = open_source(str(path))
    except VbgError as exc:
        one_line(exc)
        return
    try:
        for count, frame in enumerate(source):
            assert frame.image.dtype == np.uint8 and frame.image.ndim == 3 and frame.image.shape[2] == 3
            if count >= MAX_FRAMES_READ:
                break
    except VbgError as exc:  # decoding failed part-way: reported, never a silent end
        one_line(exc)
    finally:
        source.close()


@FAST
@given(media_bytes(extensions=(".png", ".jpg")))
def test_any_image_bytes_read_or_fail_in_one_line(tmp_path, sample):
    ext, data = sample
    path = tmp_path / f"image{ext}"
    path.write_bytes(data)
    try:
        image = read_image(path)
    except VbgError as exc:
        one_line(exc)
        return
    assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3


CLI_MODEL = ("--size", "96", "--precision", "bf16", "--resize", "fast")


@pytest.fixture(scope="module")
def cli_env(model_cache, weights_path):
    """The CLI's environment, with the model the damaged files would use already prepared (``vbg convert``):
    otherwise a file whose header decodes but whose frames do not gets the first use's conversion notice
    before its error line, and the one-line check depends on which example ran first."""
    env = {"VBG_CACHE_DIR": str(model_cache), "VBG_WEIGHTS_DIR": str(weights_path.parent)}
    prepared = run_vbg("convert", *CLI_MODEL, env=env)
    assert prepared.returncode == 0, prepared.stderr
    return env


@settings(FAST, max_examples=6)
@given(media_bytes())
def test_cli_never_shows_a_traceback_for_damaged_input(tmp_path, cli_env, sample):
    """Through the real CLI: a damaged file either processes (exit 0, an output) or is one error line."""
    ext, data = sample
    path = tmp_path / f"input{ext}"
    path.write_bytes(data)
    out = tmp_path / "out.mp4"
    out.unlink(missing_ok=True)
    proc = run_vbg("run", str(path), "-o", str(out), "--blur", *CLI_MODEL, "--no-progress", "--max-frames", "10",
                   env=cli_env)
    if proc.returncode == 0:
        assert out.is_file() and "Traceback" not in proc.stderr
    else:
        assert_clean_error(proc)
        assert not out.exists()
