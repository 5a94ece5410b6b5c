"""The change gate: the model runs only when the picture changed, kept masks follow the picture, the age bound
holds.  Real clips (a held-out portrait pasted on a room, H.264), real OpenVINO inference with the person
weights, compared with every-frame inference on the same frames."""

from __future__ import annotations

import sys

import cv2
import numpy as np
import pytest

from conftest import REPO, SHARED, run_vbg
from vbg.app import build_pipeline
from vbg.compose.motion import MaskMotion, Thumb, change
from vbg.config import RunConfig
from vbg.pipeline.gate import ChangeGate, GateConfig

sys.path.insert(0, str(REPO / "benchmarks"))
from callclip import CALL_SCENES, make_clip  # noqa: E402

SCENE = CALL_SCENES[0]
MODEL = dict(size="192", precision="bf16")  # small and exact enough: the gate, not the model, is under test


def needs_persons():
    if not (SHARED / "persons" / "eg1800_train").is_dir():
        pytest.skip("../shared/persons is not on this machine")


def clip(tmp_path_factory, kind: str, seconds: float):
    needs_persons()
    path = tmp_path_factory.mktemp("gate") / f"{kind}.mp4"
    make_clip(path, kind, *SCENE, seconds=seconds)
    return path


@pytest.fixture(scope="module")
def still_clip(tmp_path_factory):
    return clip(tmp_path_factory, "still", 2.0)


@pytest.fixture(scope="module")
def shift_clip(tmp_path_factory):
    return clip(tmp_path_factory, "shift", 1.5)


def run_file(clip, model_cache, gate: bool, **settings):
    """A file run of ``clip`` to a null sink: (stats, {frame index: (alpha at 320x180, mask age in frames)})."""
    seen = {}
    config = RunConfig(input=str(clip), null=True, gate=gate, progress=False, cache_dir=str(model_cache),
                       blur=21, **{**MODEL, **settings})
    pipeline = build_pipeline(config)
    pipeline.options.observe = lambda frame, alpha: seen.__setitem__(
        frame.index, (cv2.resize(alpha, (320, 180), interpolation=cv2.INTER_AREA) >= 128, frame.seq - frame.mask_seq))
    stats = pipeline.run()
    pipeline.compositor.close()
    return stats, seen


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return np.logical_and(a, b).sum() / max(np.logical_or(a, b).sum(), 1)


def test_a_still_scene_runs_the_model_on_few_frames_with_every_frame_masks(still_clip, model_cache):
    every, every_seen = run_file(still_clip, model_cache, gate=False)
    gated, gated_seen = run_file(still_clip, model_cache, gate=True)
    assert every.frames_out == gated.frames_out == 60  # files: every frame out, in order
    assert every.masks == 60
    assert gated.masks <= 4, gated.summary()  # the first frame, then the age bound (30) only
    assert f"model ran on {gated.masks} of 60 frames" in gated.summary()
    assert gated.alphas_reused >= 50  # nothing changed: the refined alpha is reused too
    scores = [iou(every_seen[i][0], gated_seen[i][0]) for i in range(60)]
    assert min(scores) >= 0.97, min(scores)


def test_a_moving_person_makes_the_model_run_and_the_mask_follow(shift_clip, model_cache):
    every, every_seen = run_file(shift_clip, model_cache, gate=False)
    gated, gated_seen = run_file(shift_clip, model_cache, gate=True)
    assert gated.frames_out == every.frames_out == 45
    # at 8 px a frame the flow may carry a mask for at most 3 frames: the model runs on every 4th or more often
    assert gated.masks >= 45 // 4, gated.summary()
    assert max(age for _, age in gated_seen.values()) <= GateConfig.max_tracked
    scores = [iou(every_seen[i][0], gated_seen[i][0]) for i in range(45)]
    assert min(scores) >= 0.93, min(scores)
    assert np.mean(scores) >= 0.96, np.mean(scores)


def test_the_age_bound_holds(still_clip, model_cache):
    stats, seen = run_file(still_clip, model_cache, gate=True, gate_age=10)
    assert stats.masks == 6, stats.summary()  # frames 0, 10, ..., 50
    assert max(age for _, age in seen.values()) == 9


def test_a_live_still_scene_runs_the_model_on_few_frames(still_clip, model_cache):
    config = RunConfig(input=str(still_clip), live=True, loop=True, max_frames=90, null=True,
                       cache_dir=str(model_cache), blur=21, **MODEL)
    pipeline = build_pipeline(config)  # live: the gate is on by default
    stats = pipeline.run()
    pipeline.compositor.close()
    assert stats.frames_out == 90, stats.summary()
    assert stats.masks <= 90 / 5, stats.summary()


def test_cli_gates_a_file_unless_told_not_to(still_clip, model_cache, tmp_path):
    """Files are gated by default (the model runs twice on a still clip: the first frame and the age bound);
    ``--no-gate`` and the file-quality preset run it on every frame."""
    common = ("--size", "192", "--precision", "bf16")
    proc = run_vbg("run", str(still_clip), "-o", str(tmp_path / "out.mp4"), *common,
                   env={"VBG_CACHE_DIR": str(model_cache)})
    assert proc.returncode == 0, proc.stderr
    assert "frames: 60 read, 60 written" in proc.stderr and "model ran on 2 of 60 frames" in proc.stderr, proc.stderr
    proc = run_vbg("run", str(still_clip), "-o", str(tmp_path / "every-frame.mp4"), "--no-gate", *common,
                   env={"VBG_CACHE_DIR": str(model_cache)})
    assert proc.returncode == 0 and "model ran on" not in proc.stderr, proc.stderr
    from vbg.config import make_config

    assert make_config("file-quality").gate is False


def noisy(grey: np.ndarray, rng, sigma: float = 6.0) -> np.ndarray:
    noise = rng.normal(0, sigma, grey.shape + (3,))
    return np.clip(cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR) + noise, 0, 255).astype(np.uint8)


def scene(shift: int = 0, light: int = 0) -> np.ndarray:
    """A 1280x720 grey scene with a bright block (the "person") moved ``shift`` pixels, lit ``light`` levels."""
    grey = np.full((720, 1280), 90 + light, np.uint8)
    cv2.rectangle(grey, (500 + shift, 200), (800 + shift, 719), 200 + light, -1)
    return grey


def test_sensor_noise_is_not_change_but_a_move_and_a_light_change_are():
    rng = np.random.default_rng(0)
    first = Thumb.of(noisy(scene(), rng))
    assert change(first, Thumb.of(noisy(scene(), rng))) < 0.5 * GateConfig.threshold
    assert change(first, Thumb.of(noisy(scene(shift=24), rng))) > GateConfig.threshold
    assert change(first, Thumb.of(noisy(scene(light=10), rng))) > GateConfig.threshold
    gate = ChangeGate(GateConfig(max_tracked=0))
    runs = [gate.should_run(Thumb.of(noisy(scene(), rng))) for _ in range(20)]
    assert runs == [True] + [False] * 19
    assert gate.should_run(Thumb.of(noisy(scene(shift=24), rng)))


def textured(rng, shape: tuple[int, int], cells: tuple[int, int]) -> np.ndarray:
    """Smooth random texture (what flow needs to see motion inside a region, as in a real room or jumper)."""
    return cv2.resize(rng.integers(0, 255, cells, dtype=np.uint8), shape[::-1], interpolation=cv2.INTER_CUBIC)


def test_flow_carries_a_mask_with_the_picture():
    rng = np.random.default_rng(1)
    room, person = textured(rng, (720, 1280), (18, 32)), textured(rng, (520, 300), (13, 8))

    def picture(shift: int) -> tuple[np.ndarray, np.ndarray]:
        grey, mask = room.copy(), np.zeros((720, 1280), np.uint8)
        grey[200:, 500 + shift:800 + shift] = person
        mask[200:, 500 + shift:800 + shift] = 255
        return noisy(grey, rng), cv2.resize(mask, (320, 180))

    (before, mask), (after, truth) = picture(0), picture(8)  # 8 px in a frame: a brisk lean at 30 fps
    moved = MaskMotion().carry(mask, Thumb.of(before), Thumb.of(after))
    carried, kept = iou(moved >= 128, truth >= 128), iou(mask >= 128, truth >= 128)
    assert carried > 0.97 and carried > kept + 0.02, (carried, kept)
