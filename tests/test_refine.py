"""Mask refinement on real model output: less flicker on a still scene, no trail on a moving one, edges at
least as close to the official maps as a bilinear upsample, and each stage's arithmetic on exact values."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from conftest import SAMPLES
from helpers import reference_pairs
from vbg.errors import VbgError
from vbg.compose.refine import MaskRefiner, RefineConfig, TemporalSmoother, parse_ramp, ramp_lut


@pytest.fixture(scope="module")
def webcam_segmenter(make_segmenter):
    """A 320x320 bf16 model with the plain resize (masks that visibly tremble with sensor noise)."""
    return make_segmenter(precision="bf16", resize="fast")


def person(width: int, height: int, top: int = 140) -> np.ndarray:
    """A 640-wide strip of the sample portrait: a person in front of a cluttered room."""
    image = cv2.resize(cv2.imread(str(SAMPLES / "person.jpg")), (width, width))
    return np.ascontiguousarray(image[top:top + height])


def refined_sequence(frames, masks, config: RefineConfig) -> list[np.ndarray]:
    refiner = MaskRefiner(config)
    return [refiner.refine(frame, mask).astype(np.int16) for frame, mask in zip(frames, masks)]


def mean_change(alphas) -> float:
    """Mean absolute frame-to-frame alpha change, in alpha levels."""
    return float(np.mean([np.abs(alphas[i] - alphas[i - 1]).mean() for i in range(1, len(alphas))]))


def test_smoothing_cuts_flicker_on_a_still_noisy_scene(webcam_segmenter):
    """A still scene with sensor-like noise (Gaussian, sigma 6 levels): the model's own masks tremble; with
    smoothing on, the mean frame-to-frame change drops at least 3x."""
    base = person(640, 360).astype(np.int16)
    rng = np.random.default_rng(1)
    frames = [np.clip(base + rng.normal(0, 6, base.shape).round(), 0, 255).astype(np.uint8) for _ in range(20)]
    masks = [webcam_segmenter.infer(f) for f in frames]
    per_frame = mean_change(refined_sequence(frames, masks, RefineConfig(temporal=0)))
    smoothed = mean_change(refined_sequence(frames, masks, RefineConfig()))
    print(f"mean alpha change per frame: per-frame {per_frame:.2f}, smoothed {smoothed:.2f} levels")
    assert per_frame > 1.0  # the raw masks really do flicker, else this test proves nothing
    assert smoothed * 3 <= per_frame


def test_smoothing_leaves_no_trail_on_a_moving_subject(webcam_segmenter):
    """The person slides 12 px per frame: the smoothed mask stays on the per-frame mask (IoU >= 0.95)."""
    wide = person(1024, 360, top=300)
    frames = [np.ascontiguousarray(wide[:, 300 - 12 * t: 940 - 12 * t]) for t in range(16)]
    masks = [webcam_segmenter.infer(f) for f in frames]
    per_frame = refined_sequence(frames, masks, RefineConfig(temporal=0))
    smoothed = refined_sequence(frames, masks, RefineConfig())
    ious = [((a > 127) & (b > 127)).sum() / ((a > 127) | (b > 127)).sum() for a, b in zip(per_frame, smoothed)]
    assert min(ious) >= 0.95, np.round(ious, 3)
    assert mean_change(per_frame) > 2.0  # it did move


def test_edges_at_least_as_close_to_the_official_maps_as_bilinear(make_segmenter):
    """With the fast preset's coarse 192x192 model, the refined full-resolution alpha is closer to the official
    (320x320-model) maps than the plain bilinear upsample of the same mask: the guided filter recovers edge
    detail from the picture.  (At 320 the official maps are themselves bilinear upsamples of a 320 map, so
    plain bilinear is the reference method there; docs/measurements.md gives both figures.)"""
    segmenter = make_segmenter(precision="bf16", resize="fast", size="192")
    plain, refined = [], []
    for _, image, official in reference_pairs():
        mask = segmenter.infer(image)
        for config, errors in ((RefineConfig.off(), plain), (RefineConfig(), refined)):
            alpha = MaskRefiner(config).refine(image, mask)
            assert alpha.shape == official.shape
            errors.append(np.abs(alpha.astype(np.float32) - official).mean() / 255)
    print(f"MAE vs official maps at 192: bilinear {np.mean(plain):.4f}, refined {np.mean(refined):.4f}")
    assert np.mean(refined) <= np.mean(plain)


def test_guided_upsampling_puts_the_edge_on_the_picture_edge():
    """A sharp-edged bright square and a coarse (1/4 resolution, blurred) mask of it: the guided result is
    closer to the true edge than bilinear upsampling."""
    frame = np.full((360, 640, 3), 40, np.uint8)
    frame[100:260, 200:440] = 210
    truth = np.zeros((360, 640), np.uint8)
    truth[100:260, 200:440] = 255
    coarse = cv2.GaussianBlur(cv2.resize(truth, (160, 90), interpolation=cv2.INTER_AREA), (0, 0), 1.5)
    config = RefineConfig(ramp=None, feather=0, temporal=0)
    bilinear = MaskRefiner(RefineConfig.off()).refine(frame, coarse).astype(int)
    guided = MaskRefiner(config).refine(frame, coarse).astype(int)
    err_bilinear, err_guided = np.abs(bilinear - truth).mean(), np.abs(guided - truth).mean()
    assert err_guided < 0.85 * err_bilinear, (err_guided, err_bilinear)
    assert guided[180, 320] > 250 and guided[20, 20] < 5  # flat regions untouched


def test_ramp_maps_low_and_high_to_the_ends_and_stays_soft_between():
    lut = ramp_lut(8, 248)
    assert lut[0] == lut[8] == 0 and lut[248] == lut[255] == 255
    assert np.all(np.diff(lut.astype(int)) >= 0) and 100 < lut[128] < 155
    refiner = MaskRefiner(RefineConfig(ramp=(8, 248), guided=False, feather=0, temporal=0))
    mask = np.array([[0, 6, 128, 250]], np.uint8)
    assert refiner.refine(np.zeros((1, 4, 3), np.uint8), mask).tolist() == [[0, 0, lut[128], 255]]


def test_temporal_smoother_keeps_still_values_and_follows_motion():
    smoother = TemporalSmoother(strength=0.75, agree=12, disagree=48)
    still = np.full((8, 8), 200, np.uint8)
    assert np.array_equal(smoother(still), still)
    assert np.abs(smoother(still).astype(int) - 200).max() <= 1  # equal input stays put
    nudged = smoother(np.full((8, 8), 210, np.uint8))  # a small change: mostly the previous value
    assert 200 <= nudged.min() and nudged.max() <= 204
    jumped = smoother(np.zeros((8, 8), np.uint8))  # a change beyond `disagree`: taken as is
    assert jumped.max() == 0


def test_temporal_smoother_trusts_a_still_picture_over_a_flipping_mask():
    """Mask flips by 100 levels while the picture is unchanged: smoothed.  Same flip with a changed picture
    (motion): followed at once."""
    grey = np.full((16, 16), 90, np.uint8)
    smoother = TemporalSmoother()
    smoother(np.full((16, 16), 200, np.uint8), grey)
    held = smoother(np.full((16, 16), 100, np.uint8), grey)
    assert held.min() >= 170
    smoother = TemporalSmoother()
    smoother(np.full((16, 16), 200, np.uint8), grey)
    moved = smoother(np.full((16, 16), 100, np.uint8), grey + 60)
    assert moved.max() == 100


def test_temporal_smoother_does_not_read_sensor_noise_as_motion():
    """Two frames of one still picture with independent noise (sigma 6, like a webcam's): the picture counts
    as still, so a 100-level mask flip is held back (it used to count as half-way to motion)."""
    rng = np.random.default_rng(3)
    base = np.full((64, 64), 90.0)
    noisy = [np.clip(base + rng.normal(0, 6, base.shape), 0, 255).astype(np.uint8) for _ in range(2)]
    smoother = TemporalSmoother()
    smoother(np.full((64, 64), 200, np.uint8), noisy[0])
    held = smoother(np.full((64, 64), 100, np.uint8), noisy[1])
    assert np.median(held) >= 180  # 0.875 of the previous value where the picture is still


def test_refinement_settings_are_validated():
    assert parse_ramp("off") is None and parse_ramp("10,200") == (10, 200)
    for bad in ({"ramp": (200, 10)}, {"temporal": 1.0}, {"agree": 50, "disagree": 40}, {"feather": -1}):
        with pytest.raises(VbgError, match="bad"):
            RefineConfig(**bad)
    with pytest.raises(VbgError, match="bad mask ramp"):
        parse_ramp("high")
    assert RefineConfig.from_settings(refine=False) == RefineConfig.off()


def test_small_islands_apart_from_the_person_are_dropped_and_a_hand_is_kept():
    """A piece of lamp beside the head (0.05 % of the mask) goes; a raised hand apart from the body (0.7 %)
    stays; a frame holding only small pieces keeps them (nothing larger to call the person)."""
    frame = np.full((360, 640, 3), 120, np.uint8)
    mask = np.zeros((192, 320), np.uint8)
    mask[90:, 110:210] = 255  # the person
    mask[40:46, 60:66] = 230  # a piece of lamp: 36 px
    mask[30:50, 250:272] = 240  # a hand, apart: 440 px
    refiner = MaskRefiner(RefineConfig(guided=False, feather=0, temporal=0))
    alpha = refiner.refine(frame, mask)
    assert alpha[80:90, 120:130].max() == 0  # the lamp (frame coordinates: twice the mask's)
    assert alpha[70:90, 510:530].min() == 255  # the hand
    assert alpha[300, 320] == 255  # the person
    lonely = np.zeros((192, 320), np.uint8)
    lonely[40:46, 60:66] = 230
    assert refiner.refine(frame, lonely)[80:90, 120:130].max() > 200
    assert MaskRefiner(RefineConfig(islands=0, guided=False, feather=0, temporal=0)).refine(frame, mask)[
        80:90, 120:130].max() > 200  # islands=0 turns it off
