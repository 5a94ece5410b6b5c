"""``vbg train --score DIR``: a folder scored whole at every validation and never trained on, reported beside the
held-out parts without moving what "best" means."""

from __future__ import annotations

import csv

import cv2
import numpy as np
import pytest

from vbg.train.scoring import SetScore
from vbg.train.trainer import TrainConfig, Trainer, selection_score

from conftest import assert_clean_error, run_vbg
from test_train import _person


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """``train/`` (eight portraits), ``watch/`` (five more) and ``bg/`` (two backgrounds)."""
    root = tmp_path_factory.mktemp("scored")
    rng = np.random.default_rng(5)
    for name, count in (("train", 8), ("watch", 5)):
        (root / name / "images").mkdir(parents=True)
        (root / name / "masks").mkdir()
        for i in range(count):
            image, mask = _person(rng)
            cv2.imwrite(str(root / name / "images" / f"{name}{i}.jpg"), image)
            cv2.imwrite(str(root / name / "masks" / f"{name}{i}.png"), mask)
    (root / "bg").mkdir()
    for i in range(2):
        cv2.imwrite(str(root / "bg" / f"bg{i}.jpg"), rng.integers(0, 255, (90, 160, 3), dtype=np.uint8))
    return root


def test_a_scored_folder_is_scored_whole_and_never_trained_on(folders, weights_path, tmp_path):
    config = TrainConfig(data=[str(folders / "train")], score=[str(folders / "watch")],
                         backgrounds=str(folders / "bg"), out=str(tmp_path / "run"), init=str(weights_path),
                         batch_size=2, max_steps=1, warmup_steps=1, val_fraction=0.25, val_frames=0, workers=1)
    trainer = Trainer(config)
    assert trainer.train_pairs and all(p.group == "train" for p in trainer.train_pairs + trainer.val_pairs)
    trainer.run()
    rows = list(csv.DictReader(open(tmp_path / "run" / "scores.csv")))
    watched = [r for r in rows if r["set"] == "watch scored"]
    assert len(watched) == 2 and all(int(r["n"]) == 5 for r in watched)  # all five, at the start and the end
    assert all(0 < float(r["miou"]) <= 1 for r in watched)
    last = trainer.history[-1]
    assert set(last["scores"]) == {"train", "watch scored"}
    assert last["score"] == selection_score({"train": SetScore(**last["scores"]["train"])})


def test_a_scored_folder_is_checked_before_the_run(folders, tmp_path):
    base = ("train", "--data", str(folders / "train"), "--out", str(tmp_path / "out"))
    assert_clean_error(run_vbg(*base, "--score", str(folders / "missing")), "missing does not exist", "--score path")
    assert_clean_error(run_vbg(*base, "--score", str(folders / "train")), "--score", "also a --data folder")
    assert not (tmp_path / "out").exists()
