"""Training: a few real steps on synthetic people lower the loss, a cut run resumes to the same weights, the
samples are what the recipe says, and the validation table is written."""

from __future__ import annotations

import csv
import tempfile
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from vbg.train.data import BatchMaker, find_pairs, split
from vbg.train.synthesis import composite_sample
from vbg.train.scoring import boundary_f, score
from vbg.train.trainer import TrainConfig, Trainer, deep_supervision_loss

from conftest import assert_clean_error, run_vbg


def _person(rng: np.random.Generator, width: int = 120, height: int = 160) -> tuple[np.ndarray, np.ndarray]:
    """A head-and-shoulders figure on a noisy two-tone wall; the mask touches the bottom edge (a portrait)."""
    wall = rng.integers(60, 200, 3)
    image = np.empty((height, width, 3), np.uint8)
    image[:] = wall
    image[: height // 2] = np.clip(wall + 40, 0, 255)
    image = np.clip(image + rng.normal(0, 6, image.shape), 0, 255).astype(np.uint8)
    mask = np.zeros((height, width), np.uint8)
    cx = width // 2 + int(rng.integers(-10, 10))
    cv2.ellipse(mask, (cx, height // 3), (width // 7, height // 7), 0, 0, 360, 255, -1)
    cv2.rectangle(mask, (cx - width // 3, height // 2), (cx + width // 3, height - 1), 255, -1)
    cv2.rectangle(mask, (cx - width // 14, height // 3), (cx + width // 14, height // 2), 255, -1)  # the neck
    skin, shirt = rng.integers(0, 255, 3), rng.integers(0, 255, 3)
    image[mask > 0] = shirt
    image[:height // 2][mask[:height // 2] > 0] = skin
    return image, mask


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    """Six synthetic portraits in images/ + masks/ (two held out) and two background pictures."""
    root = tmp_path_factory.mktemp("persons")
    (root / "set" / "images").mkdir(parents=True)
    (root / "set" / "masks").mkdir()
    (root / "bg").mkdir()
    rng = np.random.default_rng(1)
    for i in range(8):
        image, mask = _person(rng)
        cv2.imwrite(str(root / "set" / "images" / f"{i:03d}.jpg"), image)
        cv2.imwrite(str(root / "set" / "masks" / f"{i:03d}.png"), mask)
    for i in range(2):
        cv2.imwrite(str(root / "bg" / f"bg{i}.jpg"), rng.integers(0, 255, (90, 160, 3), dtype=np.uint8))
    return root


def _config(tiny_data, weights_path, out, **changes) -> TrainConfig:
    settings = dict(data=[str(tiny_data / "set")], backgrounds=str(tiny_data / "bg"), out=str(out),
                    init=str(weights_path), batch_size=2, epochs=10, lr=2e-4, warmup_steps=1, val_fraction=0.2,
                    val_limit=1, workers=1, checkpoint_every=100)
    settings.update(changes)
    return TrainConfig(**settings)


def _loss_on(trainer: Trainer, batch) -> float:
    images, masks = (torch.as_tensor(x) for x in batch)
    trainer.model.eval()
    with torch.no_grad():
        return float(deep_supervision_loss(trainer.model(images), masks, 1.0))


def test_a_few_steps_lower_the_loss_and_write_the_table(tiny_data, weights_path, tmp_path):
    trainer = Trainer(_config(tiny_data, weights_path, tmp_path / "run", max_steps=8))
    assert len(trainer.train_pairs) + len(trainer.val_pairs) == 8 and trainer.val_pairs
    trainer.batches.epoch = 0
    batch = trainer.batches[0]
    before = _loss_on(trainer, batch)
    weights = trainer.run()
    after = _loss_on(trainer, batch)
    assert after < 0.8 * before, (before, after)
    assert weights.is_file() and (tmp_path / "run" / "last.pt").is_file()
    rows = list(csv.DictReader(open(tmp_path / "run" / "scores.csv")))
    assert [int(r["step"]) for r in rows][0] == 0 and int(rows[-1]["step"]) == 8  # start, epoch ends, the end
    assert all(0 <= float(r["miou"]) <= 1 for r in rows)
    assert all(float(r["ghost_pct"]) >= 0 and float(r["hole_pct"]) >= 0 for r in rows)


def test_validation_also_reports_group_frames_without_scoring_them(tiny_data, weights_path, tmp_path):
    """With enough held-out people, each validation also scores frames of them in groups (``--val-frames``),
    with the people dropped, in the tables; the best-weights score stays the folders' own."""
    from vbg.train.scoring import SetScore
    from vbg.train.trainer import selection_score

    trainer = Trainer(_config(tiny_data, weights_path, tmp_path / "run", max_steps=1, val_fraction=0.5,
                              val_limit=None, val_frames=3))
    trainer.run()
    rows = list(csv.DictReader(open(tmp_path / "run" / "scores.csv")))
    groups = [r for r in rows if r["set"] == "set groups"]
    assert len(groups) == 2 and all(int(r["n"]) == 3 for r in groups)  # at the start and at the end
    assert all("/" in r["dropped"] for r in groups) and all(r["dropped"] == "" for r in rows if r["set"] == "set")
    last = trainer.history[-1]
    assert set(last["scores"]) == {"set", "set groups"}
    assert last["score"] == selection_score({"set": SetScore(**last["scores"]["set"])})
    assert "| set groups |" in (tmp_path / "run" / "scores.md").read_text()


def test_a_resumed_run_ends_where_an_uncut_run_ends(tiny_data, weights_path, tmp_path):
    whole = Trainer(_config(tiny_data, weights_path, tmp_path / "whole", max_steps=4))
    whole.run()
    cut = Trainer(_config(tiny_data, weights_path, tmp_path / "cut", max_steps=4, minutes=0))  # stops after 1 step
    cut.run()
    assert cut.step == 1
    resumed = Trainer(_config(tiny_data, weights_path, tmp_path / "cut", max_steps=4), resume=True)
    assert resumed.step == 1
    saved = torch.load(tmp_path / "cut" / "last.pt", weights_only=False)
    assert resumed.optimizer.state_dict()["state"][0]["exp_avg"].equal(saved["optimizer"]["state"][0]["exp_avg"])
    assert resumed.scheduler.last_epoch == 1
    resumed.run()
    assert resumed.step == 4
    for name, value in whole.model.state_dict().items():
        torch.testing.assert_close(resumed.model.state_dict()[name], value, atol=1e-5, rtol=1e-4, msg=name)


def test_batches_are_reproducible_and_shaped_as_drawn(tiny_data):
    pairs, _ = split(find_pairs(tiny_data / "set"), 0.25)
    maker = BatchMaker(pairs, [np.zeros((90, 160, 3), np.uint8)], batch_size=2, seed=3)
    maker.epoch = 1
    images, masks = maker[0]
    again_images, _ = maker[0]
    assert np.array_equal(images, again_images)
    assert images.shape[0] == 2 and images.shape[1] == 3 and masks.shape[1] == 1
    assert images.shape[2] % 32 == 0 and images.shape[3] % 32 == 0 and masks.shape[2:] == images.shape[2:]
    assert 0 <= masks.min() and masks.max() <= 1 and masks.max() > 0.5


def test_a_portrait_is_composited_standing_on_the_bottom_edge(tiny_data):
    rng = np.random.default_rng(0)
    image, mask = _person(rng)
    background = np.full((90, 160, 3), 7, np.uint8)
    for seed in range(5):
        out, target = composite_sample(image, mask, background, (352, 192), np.random.default_rng(seed))
        assert out.shape == (192, 352, 3) and target.shape == (192, 352)
        rows = np.flatnonzero(target.max(axis=1) > 127)
        assert rows.size and rows[-1] == 191  # cut by the frame's bottom edge, as on a call
        near = cv2.dilate(target, np.ones((5, 5), np.uint8)) > 0  # the pasted edge is softened by a pixel
        assert np.abs(out[~near].astype(int) - 7).max() <= 1  # elsewhere: the background, untouched
        assert np.abs(out[target > 250].astype(int) - 7).mean() > 20  # the person covers it


def test_scores_of_known_masks():
    truth = np.zeros((100, 100), np.uint8)
    truth[20:80, 30:70] = 255
    assert score(truth, truth).iou == 1.0 and score(truth, truth).boundary_f == 1.0 and score(truth, truth).mae == 0
    shifted = np.roll(truth, 1, axis=1)
    assert boundary_f(shifted > 0, truth > 0) == 1.0  # 1 px off is within the 2 px tolerance
    far = np.roll(truth, 6, axis=1)
    assert boundary_f(far > 0, truth > 0) < 0.6
    assert abs(score(far, truth).iou - (34 * 60) / (46 * 60)) < 1e-6


def test_ghost_and_hole_see_the_soft_errors_that_iou_misses():
    """A faint lamp beside the person and a half-transparent leg: IoU at 0.5 sees neither."""
    from vbg.train.scoring import SetScore

    truth = np.zeros((200, 200), np.uint8)
    truth[40:190, 70:130] = 255
    alpha = truth.astype(np.float32) / 255
    alpha[20:60, 10:50] = 0.4  # a ghost of 1600 px at 0.4: 640 / 40000 = 1.6 % of the frame
    alpha[140:190, 80:100] = 0.6  # a leg at 0.6 (inside the 5 px band only where it meets the bottom)
    soft = score(alpha, truth)
    assert soft.iou == 1.0  # nothing crosses 0.5
    assert abs(soft.ghost - 0.016) < 1e-4 and soft.hole > 0.03 and soft.visible
    clean = score(truth.astype(np.float32) / 255, truth)
    assert clean.ghost == 0 and clean.hole == 0 and not clean.visible
    edge = truth.astype(np.float32) / 255
    edge[40:190, 66:74] = 0.5  # soft alpha along the outline is the edge, not a ghost or a hole
    assert score(edge, truth).ghost == 0 and score(edge, truth).hole == 0
    negative = score(np.full((200, 200), 0.1, np.float32), np.zeros((200, 200), np.uint8))
    assert negative.hole is None and abs(negative.ghost - 0.1) < 1e-6
    summary = SetScore.of([soft, clean, negative])
    assert summary.visible == 2 and abs(summary.ghost - 100 * (0.016 + 0 + 0.1) / 3) < 1e-3


def test_train_cli_errors_are_one_line(tmp_path):
    (tmp_path / "flat").mkdir()
    assert_clean_error(run_vbg("train", "--data", str(tmp_path / "flat"), "--init", "x.pth"),
                       "needs images/ and masks/")


def test_train_checks_its_inputs_before_looking_for_weights(tiny_data, tmp_path):
    """A mistyped folder or file is reported first, naming it and the flag to fix, not a weights download
    (no weights can be found here: the starting weights would be downloaded)."""
    env = {"VBG_WEIGHTS_DIR": str(tmp_path / "no-weights"), "VBG_CACHE_DIR": str(tmp_path / "cache")}
    data = str(tiny_data / "set")
    for args, fragments in [
        (["--data", str(tmp_path / "nope")], [f"folder {tmp_path / 'nope'} does not exist",
                                              "check the --data path"]),
        (["--data", data, "--data", str(tmp_path / "nope2")], ["nope2 does not exist", "--data"]),
        (["--data", data, "--backgrounds", str(tmp_path / "nobg")], ["backgrounds folder", "nobg does not exist",
                                                                     "check the --backgrounds path"]),
        (["--data", data, "--average-with", str(tmp_path / "a.pth")], ["--average-with", "a.pth is not a file"]),
        (["--data", data, "--objects", str(tmp_path / "noobj")], ["--objects", "noobj has no masks/ folder",
                                                                   "vbg.train.objects"]),
    ]:
        proc = run_vbg("train", *args, "--out", str(tmp_path / "out"), env=env)
        assert_clean_error(proc, *fragments)
        assert "download" not in proc.stderr and not (tmp_path / "out").exists()
    assert_clean_error(run_vbg("train", "--data", data, "--init", str(tmp_path / "x.pth"), env=env),
                       "--init", "x.pth is not a file")


def test_a_repeated_folder_weighs_more_in_training_but_is_scored_once(tiny_data, weights_path, tmp_path):
    once = Trainer(_config(tiny_data, weights_path, tmp_path / "once", max_steps=1))
    twice = Trainer(_config(tiny_data, weights_path, tmp_path / "twice", max_steps=1,
                            data=[f"{tiny_data / 'set'}:2"], composite=0.0))
    assert len(twice.train_pairs) == 2 * len(once.train_pairs) > 0
    assert twice.val_pairs == once.val_pairs and twice.val_pairs
    assert twice.batches.recipe.composite == 0.0
    assert_clean_error(run_vbg("train", "--data", f"{tiny_data / 'set'}:0", "--init", str(weights_path)),
                       "repeat count")


def test_groups_keep_every_person_and_a_crowd_is_background():
    """The truth rule of ``vbg.train.synthesis``: people of the subject's size are all foreground, a crowd of
    much smaller people behind the subject is not."""
    from vbg.train.synthesis import crowd_sample, group_sample

    def people(target: np.ndarray) -> np.ndarray:
        """One blob per person (the test figure's head and shoulders are 4 px apart)."""
        return cv2.dilate((target > 127).astype(np.uint8), np.ones((9, 9), np.uint8))

    rng = np.random.default_rng(5)
    background = np.full((180, 320, 3), 30, np.uint8)
    subject, friend = _person(rng), _person(rng)
    found_two = False
    for seed in range(8):
        out, target = group_sample(subject, [friend], background, (352, 192), np.random.default_rng(seed))
        pasted = np.abs(out.astype(int) - 30).max(axis=2) > 10  # where any person was drawn
        assert (target > 127).sum() >= 0.95 * (pasted & (target > 0)).sum()
        assert not (pasted & (cv2.dilate(target, np.ones((5, 5), np.uint8)) == 0)).any()  # all drawn: truth
        count, _ = cv2.connectedComponents(people(target))
        found_two |= count - 1 >= 2
    assert found_two  # side by side, apart, in some of them
    crowd = [_person(rng) for _ in range(6)]
    for seed in range(5):
        out, target = crowd_sample(subject, crowd, background, (352, 192), np.random.default_rng(seed))
        drawn = np.abs(out.astype(int) - 30).max(axis=2) > 10
        outside = drawn & (cv2.dilate(target, np.ones((5, 5), np.uint8)) == 0)
        assert outside.sum() > 50  # the crowd is in the picture ...
        count, _ = cv2.connectedComponents(people(target))
        assert count - 1 == 1  # ... but only the subject is the truth


def test_people_free_frames_are_empty_crops_and_backgrounds_and_video_blocks_stay_together(tmp_path):
    from vbg.train.data import Pair, is_validation

    rng = np.random.default_rng(2)
    for folder in ("people", "scenes"):
        (tmp_path / folder / "images").mkdir(parents=True)
        (tmp_path / folder / "masks").mkdir()
    for i in range(4):
        image, mask = _person(rng)
        cv2.imwrite(str(tmp_path / "people" / "images" / f"p{i}.jpg"), image)
        cv2.imwrite(str(tmp_path / "people" / "masks" / f"p{i}.png"), mask)
        cv2.imwrite(str(tmp_path / "scenes" / "images" / f"dog_{i * 6:05d}.jpg"),
                    np.full((160, 240, 3), 200 - i, np.uint8))
        cv2.imwrite(str(tmp_path / "scenes" / "masks" / f"dog_{i * 6:05d}.png"), np.zeros((160, 240), np.uint8))
    pairs = find_pairs(tmp_path / "people") + find_pairs(tmp_path / "scenes")
    maker = BatchMaker(pairs, [], batch_size=4, seed=0, recipe=__import__("vbg.train.data").train.data
                       .SampleRecipe(composite=1.0, scene=1.0))
    assert len(maker.scenes) == 4 and len(maker.people) == 4
    for i, pair in enumerate(pairs):
        image, mask = maker.sample(pair, (256, 192), np.random.default_rng(i))
        assert (mask.max() == 0) == (pair in maker.scenes)  # a scene is a crop with no person
    assert all(np.median(maker.background(np.random.default_rng(i))) >= 196 for i in range(5))  # the scenes
    # frames 0-14 of a clip are one block: held out together or not at all
    block = [Pair(tmp_path / f"hockey_{n:05d}.jpg", tmp_path / "m.png", "people") for n in range(15)]
    assert len({is_validation(p, 0.5) for p in block}) == 1


def test_portrait_groups_set_apart_from_groups_of_whole_people(tiny_data):
    """``--portrait-groups 0`` with ``--groups 1``: a portrait subject is always pasted alone, while the same
    recipe without the portrait share pastes portraits in groups."""
    from vbg.train.data import SampleRecipe

    pairs = find_pairs(tiny_data / "set")  # head-and-shoulders figures: portraits

    def most_people(recipe: SampleRecipe) -> int:
        maker = BatchMaker(pairs, [np.full((90, 160, 3), 30, np.uint8)], batch_size=1, seed=0, recipe=recipe)
        counts = []
        for seed in range(12):
            _, mask = maker.sample(pairs[seed % len(pairs)], (352, 192), np.random.default_rng(seed))
            counts.append(cv2.connectedComponents(cv2.dilate((mask > 127).astype(np.uint8),
                                                             np.ones((9, 9), np.uint8)))[0] - 1)
        return max(counts)

    everyone = dict(composite=1.0, composite_reshaped=1.0, group=1.0, crowd=0.0)
    assert most_people(SampleRecipe(**everyone)) >= 2
    assert most_people(SampleRecipe(**everyone, portrait_group=0.0)) == 1


def test_group_frames_are_reproducible_and_a_dropped_person_is_counted():
    """``validation_frames`` draws the same frames for the same arguments, its people make up the truth (a
    crowd is not the truth), and ``dropped_people`` counts a person the matte leaves out, not one it keeps
    beside it."""
    from vbg.train.scoring import SetScore
    from vbg.train.synthesis import validation_frames

    rng = np.random.default_rng(3)
    people = [_person(rng) for _ in range(4)]
    backgrounds = [np.full((180, 320, 3), 30, np.uint8)]
    whole = []
    for _ in range(3):  # whole people: a figure with space below it
        image, mask = _person(rng)
        whole.append((np.pad(image, ((0, 40), (0, 0), (0, 0)), constant_values=30), np.pad(mask, ((0, 40), (0, 0)))))
    crowds = validation_frames("crowds", people, backgrounds, 3, size=(352, 192), crowd=whole)
    for frame in crowds:
        drawn = np.abs(frame.image.astype(int) - 30).max(axis=2) > 10
        assert (drawn & (cv2.dilate(frame.truth, np.ones((5, 5), np.uint8)) == 0)).sum() > 50  # a crowd ...
        assert len(frame.people) == 1 and np.array_equal(frame.people[0] * 255 + 0.5 >= 128, frame.truth > 127)
    assert validation_frames("crowds", people, backgrounds, 3) == []  # ... needs whole people
    frames = validation_frames("groups", people, backgrounds, 6, size=(352, 192))
    again = validation_frames("groups", people, backgrounds, 6, size=(352, 192))
    assert len(frames) == 6 and all(np.array_equal(a.image, b.image) for a, b in zip(frames, again))
    for frame in frames:
        assert len(frame.people) in (2, 3)
        union = (np.clip(np.max(frame.people, axis=0), 0, 1) * 255 + 0.5).astype(np.uint8)
        assert np.array_equal(union, frame.truth)
    # a frame where at least two people stand apart: keep all, then drop the one on the right
    frame = next(f for f in frames if sum((p >= 0.5).sum() > 0.01 * p.size for p in f.people) >= 2)
    truth = frame.truth.astype(np.float32) / 255
    kept = score(truth, frame.truth, frame.people)
    assert kept.people >= 2 and kept.dropped == 0
    biggest = max(frame.people, key=lambda p: (p >= 0.5).sum())
    without = truth * (biggest < 0.5)
    lost = score(without, frame.truth, frame.people)
    assert lost.dropped == 1 and lost.people == kept.people and lost.hole > kept.hole
    assert SetScore.of([kept, lost]).dropped == 1 and SetScore.of([kept, lost]).people == 2 * kept.people


def test_a_person_cut_by_both_sides_of_the_photo_is_never_cut_mid_frame():
    """A portrait whose photo cuts its shoulders on both sides keeps those cuts on the frame's sides: pasted
    tall enough to span the frame, or, where that would leave only a face, taken as a crop of its photo."""
    from vbg.train.data import Pair, SampleRecipe

    rng = np.random.default_rng(4)
    image, mask = _person(rng)
    mask[100:] = 255  # the shoulders run off both sides of the photo
    image[mask > 0] = (40, 90, 160)
    background = np.full((90, 160, 3), 7, np.uint8)
    for size in ((256, 256), (224, 288)):
        for seed in range(5):
            out, target = composite_sample(image, mask, background, size, np.random.default_rng(seed))
            assert target[:, 0].max() > 127 and target[:, -1].max() > 127, (size, seed)
    folder = Path(tempfile.mkdtemp())
    cv2.imwrite(str(folder / "wide.png"), image)
    cv2.imwrite(str(folder / "wide_mask.png"), mask)
    maker = BatchMaker([Pair(folder / "wide.png", folder / "wide_mask.png", "set")], [background], batch_size=1,
                       seed=0, recipe=SampleRecipe(composite=1.0, composite_reshaped=1.0, flip=0.0))
    for seed in range(5):  # a 16:9 frame: spanning it would show only the face, so it is a crop
        out, target = maker.sample(maker.pairs[0], (352, 192), np.random.default_rng(seed))
        assert np.abs(out.astype(int) - 7).max(axis=2).min() > 3  # no background picture in it


def test_blend_keeps_that_share_of_the_change_and_is_what_validation_scores(tiny_data, weights_path, tmp_path):
    from vbg.train.trainer import load_state

    trainer = Trainer(_config(tiny_data, weights_path, tmp_path / "run", max_steps=3, blend=0.5))
    trainer.run()
    start, tuned = load_state(weights_path), trainer.model.state_dict()
    name = next(k for k, v in tuned.items() if v.is_floating_point() and not v.equal(start[k].to(v.dtype)))
    midpoint = (start[name] + tuned[name]) / 2
    torch.testing.assert_close(trainer.shipped_model().state_dict()[name], midpoint)
    first, last = trainer.history[0]["score"], trainer.history[-1]["score"]  # validated: the start, the blend
    shipped = torch.load(tmp_path / "run" / "weights.pth", weights_only=True)
    torch.testing.assert_close(shipped[name], midpoint if last > first else start[name])
    # a finished run resumed with another share: that blend of its last weights is scored and written
    again = Trainer(_config(tiny_data, weights_path, tmp_path / "run", max_steps=3, blend=0.25, init=None),
                    resume=True)
    again.run()
    assert again.history[-1]["step"] == 3 and len(again.history) == len(trainer.history) + 1
    shipped = torch.load(tmp_path / "run" / "weights.pth", weights_only=True)
    torch.testing.assert_close(shipped[name], start[name] + 0.25 * (tuned[name] - start[name]))
    assert_clean_error(run_vbg("train", "--data", str(tiny_data / "set"), "--blend", "0",
                               "--init", str(weights_path), "--out", str(tmp_path / "x")), "--blend")


def test_a_finished_run_resumed_with_average_with_writes_the_mean_of_the_runs(tiny_data, weights_path, tmp_path):
    """Two runs from one start, averaged ("model soup"): the second, resumed after its end with
    ``--average-with`` the first's weights, scores and writes their mean."""
    from vbg.train.trainer import load_state

    first = Trainer(_config(tiny_data, weights_path, tmp_path / "a", max_steps=2, seed=1))
    first.run()
    second = Trainer(_config(tiny_data, weights_path, tmp_path / "b", max_steps=2, seed=2))
    second.run()
    a, b = first.model.state_dict(), second.model.state_dict()
    name = next(k for k, v in a.items() if v.is_floating_point() and not v.equal(b[k]))
    again = Trainer(_config(tiny_data, weights_path, tmp_path / "b", max_steps=2, seed=2, init=None,
                            average_with=[str(tmp_path / "a" / "last.pt")]), resume=True)
    again.run()
    assert again.history[-1]["step"] == 2 and len(again.history) == len(second.history) + 1
    torch.testing.assert_close(load_state(tmp_path / "b" / "weights.pth")[name], (a[name] + b[name]) / 2)
    assert_clean_error(run_vbg("train", "--data", str(tiny_data / "set"), "--init", str(weights_path),
                               "--average-with", str(tmp_path / "missing.pth"), "--out", str(tmp_path / "x")),
                       "missing.pth")
    assert_clean_error(run_vbg("train", "--data", str(tiny_data / "set"), "--init", str(tiny_data / "set"),
                               "--out", str(tmp_path / "x")), "set")


def test_flicker_counts_only_what_the_truth_does_not_explain():
    from vbg.train.scoring import flicker

    truth0 = np.zeros((40, 60), np.uint8)
    truth0[10:30, 10:30] = 255
    truth1 = np.roll(truth0, 5, axis=1)  # the person moves 5 px
    assert flicker(truth1, truth0, truth1, truth0) == 0.0  # the matte follows exactly
    assert flicker(truth0, truth0, truth1, truth0) == pytest.approx(2 * 5 * 20 / (40 * 60))  # it lags a frame
    still = truth0.astype(np.float32) / 255
    shaky = still.copy()
    shaky[:5] = 0.5  # a veil that comes and goes over a still person
    assert flicker(shaky, still, truth0, truth0) == pytest.approx(0.5 * 5 * 60 / (40 * 60))


def test_the_far_weight_weighs_errors_away_from_the_outline_only():
    """A wrong pixel far inside the background (a ghost) costs 1 + W times more with ``far_weight`` W; the same
    error on the outline's ring costs the same."""
    import torch

    from vbg.train.trainer import deep_supervision_loss, far_from_outline

    target = torch.zeros(1, 1, 64, 64)
    target[..., 20:44, 20:44] = 1
    far = far_from_outline(target)
    assert far[0, 0, 32, 32] == 1 and far[0, 0, 2, 2] == 1  # deep inside the person and the background
    assert far[0, 0, 20, 32] == 0 and far[0, 0, 15, 32] == 0 and far[0, 0, 24, 32] == 0  # the ring, 5 px each way
    assert far[0, 0, 14, 32] == 1 and far[0, 0, 25, 32] == 1
    truth = target.clamp(0.01, 0.99)

    def cost(y: int, x: int, far_weight: float) -> float:
        guess = truth.clone()
        guess[..., y, x] = 0.5
        outputs = (guess,) * 7
        return float(deep_supervision_loss(outputs, target, 0.0, far_weight)
                     - deep_supervision_loss((truth,) * 7, target, 0.0, far_weight))

    assert cost(4, 4, 3.0) == pytest.approx(4 * cost(4, 4, 0.0), rel=1e-4)  # a ghost
    assert cost(32, 32, 3.0) == pytest.approx(4 * cost(32, 32, 0.0), rel=1e-4)  # a hole
    assert cost(20, 32, 3.0) == pytest.approx(cost(20, 32, 0.0), rel=1e-4)  # on the edge
