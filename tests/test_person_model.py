"""The shipped person weights: bundled and checked, the default, and better than the official weights at people
on held-out photos (the split ``vbg train`` never trains on), through the same path as ``vbg image``."""

from __future__ import annotations

import shutil

import cv2
import numpy as np
import pytest

from conftest import SHARED, assert_clean_error, run_vbg
from vbg.errors import VbgError
from vbg.compose.refine import MaskRefiner
from vbg.model.segmenter import Segmenter, SegmenterConfig
from vbg.model.weights import DEFAULT_MODEL, MODELS, bundled_weights, file_sha256, find_weights

PERSONS = SHARED / "persons"
PER_FOLDER = 24  # held-out photos per folder: enough to separate the two models, quick to score


def test_person_weights_ship_in_the_package_and_are_the_default():
    spec = MODELS["u2netp_person"]
    path = find_weights(spec)
    assert DEFAULT_MODEL == "u2netp_person" and path.parent.name == "assets" and path.parent.parent.name == "vbg"
    assert file_sha256(path) == spec.sha256
    assert 4_000_000 < path.stat().st_size < 6_000_000


def test_damaged_bundled_weights_are_refused(tmp_path, monkeypatch):
    import vbg.model.weights as registry

    shutil.copytree(registry.ASSETS, tmp_path / "assets")
    target = tmp_path / "assets" / "u2netp_person.pth"
    target.write_bytes(target.read_bytes()[:-10] + b"0123456789")
    monkeypatch.setattr(registry, "ASSETS", tmp_path / "assets")
    with pytest.raises(VbgError, match="damaged .*reinstall vbg"):
        bundled_weights(MODELS["u2netp_person"])


def _validation(folder: str) -> list:
    from vbg.train.data import find_pairs, read_pair, split

    _, val = split(find_pairs(PERSONS / folder), 0.1)
    return [read_pair(p) for p in val[:PER_FOLDER]]


def _miou(model: str, photos: list, cache: str, weights: str | None = None) -> tuple[float, int]:
    from vbg.train.scoring import SetScore, score

    height, width = photos[0][0].shape[:2]
    segmenter = Segmenter(SegmenterConfig(model=model, weights=weights, cache_dir=cache, frame=(width, height),
                                          precision="int8", size="auto", resize="fast"))
    refiner = MaskRefiner()
    result = SetScore.of([score(refiner.refine(img, segmenter.infer(img)), mask) for img, mask in photos])
    return result.miou, result.under_08


@pytest.mark.skipif(not (PERSONS / "eg1800_train").is_dir(), reason="../shared/persons is not here")
def test_person_weights_beat_the_official_ones_on_held_out_people(model_cache, weights_path):
    portraits, full_body = _validation("eg1800_train"), _validation("ccp_fullbody")
    person = _miou("u2netp_person", portraits, str(model_cache))
    official = _miou("u2net_lite", portraits, str(model_cache), str(weights_path))
    assert person[0] >= 0.94 and person[0] > official[0] + 0.01 and person[1] <= official[1], (person, official)
    person_body = _miou("u2netp_person", full_body, str(model_cache))
    official_body = _miou("u2net_lite", full_body, str(model_cache), str(weights_path))
    assert person_body[0] >= official_body[0] - 0.01, (person_body, official_body)  # small people not forgotten


def test_auto_size_follows_the_frame(model_cache):
    wide = Segmenter(SegmenterConfig(cache_dir=str(model_cache), frame=(1280, 720), precision="bf16"))
    tall = Segmenter(SegmenterConfig(cache_dir=str(model_cache), frame=(600, 800), precision="bf16"))
    video = Segmenter(SegmenterConfig(cache_dir=str(model_cache), frame=(1280, 720), precision="bf16", target_fps=30))
    assert str(wide.size) == "352x192" and str(tall.size) == "224x288"  # a photo: the nearest aspect
    assert str(video.size) == "320x192"  # video: at most 256x256 pixels, never slower than the square
    frame = np.zeros((720, 1280, 3), np.uint8)
    cv2.circle(frame, (640, 400), 200, (200, 180, 160), -1)
    assert wide.segment(frame).shape == (720, 1280)


def test_bad_auto_sizes_are_one_line_errors():
    assert_clean_error(run_vbg("convert", "--size", "auto:7"), "bad input size", "auto:256")
    assert_clean_error(run_vbg("convert", "--size", "autox"), "bad input size")
