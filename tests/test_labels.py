"""Training labels from the teacher (``vbg.train.labels``): the truth rule that merges the teacher's people into
the human masks, the folders ``vbg train`` then reads, the people counted in a real group photo, and the
teacher itself run on a real photo where node and its packages are here."""

from __future__ import annotations

import shutil
import subprocess

import cv2
import numpy as np
import pytest

from vbg.train.data import find_pairs, motion_kernel, photo_people
from vbg.train.labels import Source, make_folder, run_teacher, teacher_mask, with_bystanders
from vbg.train.scoring import people_in, score

from conftest import REPO, SHARED


def _frame() -> tuple[np.ndarray, np.ndarray]:
    """A 200x300 human mask of one person (left) and a teacher alpha that draws the same person a little
    wider, a second person apart from it (right), a faint shape, and a speck."""
    human = np.zeros((200, 300), np.uint8)
    cv2.rectangle(human, (30, 40), (90, 199), 255, -1)
    alpha = np.zeros_like(human)
    cv2.rectangle(alpha, (27, 36), (93, 199), 250, -1)  # the same person, its outline a little wider
    cv2.rectangle(alpha, (200, 60), (250, 199), 240, -1)  # a bystander
    cv2.rectangle(alpha, (130, 10), (170, 50), 140, -1)  # faint: a guess
    alpha[5:7, 290:292] = 255  # a speck
    return human, alpha


def test_the_teacher_adds_people_apart_from_the_drawn_one_and_nothing_else():
    human, alpha = _frame()
    merged, added = with_bystanders(human, alpha)
    assert added == 1
    assert (merged[60:199, 200:251] == 255).all()  # the bystander is now the person
    assert (merged[human > 0] == 255).all()  # the human mask is kept as drawn ...
    assert merged[36:40, 27:93].max() == 0  # ... not widened by the teacher's outline of it
    assert merged[10:51, 130:171].max() == 0 and merged[5:7, 290:292].max() == 0  # no guess, no speck


def test_teacher_only_labels_are_its_alpha_at_one_half_without_specks():
    _, alpha = _frame()
    mask = teacher_mask(alpha)
    assert set(np.unique(mask)) == {0, 255}
    assert (mask[60:199, 200:251] == 255).all() and (mask[10:51, 130:171] == 255).all()  # 140 >= 128
    assert mask[5:7, 290:292].max() == 0


def test_label_folders_are_what_vbg_train_reads(tmp_path):
    persons, human, alpha = tmp_path / "persons", *_frame()
    for name in ("set/images", "set/masks", "set/teacher", "clips/images", "clips/teacher"):
        (persons / name).mkdir(parents=True)
    picture = np.full((200, 300, 3), 90, np.uint8)
    for stem in ("a", "b"):
        cv2.imwrite(str(persons / "set" / "images" / f"{stem}.jpg"), picture)
        cv2.imwrite(str(persons / "set" / "masks" / f"{stem}.png"), human)
    cv2.imwrite(str(persons / "set" / "teacher" / "a.png"), alpha)  # b: not labelled by the teacher
    for stem in ("walk_00000", "motorbike_00000"):  # a clip, and one of a sequence the teacher gets wrong
        cv2.imwrite(str(persons / "clips" / "images" / f"{stem}.jpg"), picture)
        cv2.imwrite(str(persons / "clips" / "teacher" / f"{stem}.png"), alpha)
    out = tmp_path / "labels"
    counts = make_folder(Source("set", "set/images", "set/masks", teacher="set/teacher"), persons, out, out)
    assert counts["images"] == 2 and counts["with bystanders"] == 1 and counts["not labelled by the teacher"] == 1
    clips = make_folder(Source("clips", "clips/images", None, teacher="clips/teacher"), persons, out, out)
    assert clips["images"] == 1 and clips["skipped"] == 1
    pairs = find_pairs(out / "set")
    assert [p.image.stem for p in pairs] == ["a", "b"]
    assert (cv2.imread(str(out / "set" / "masks" / "a.png"), 0) == with_bystanders(human, alpha)[0]).all()
    assert (cv2.imread(str(out / "set" / "masks" / "b.png"), 0) == human).all()
    assert [p.image.stem for p in find_pairs(out / "clips")] == ["walk_00000"]


def test_a_real_group_photo_counts_its_people_and_the_dropped_ones():
    human, alpha = _frame()
    truth = with_bystanders(human, alpha)[0]
    people = people_in(truth)
    assert len(people) == 2
    only_first = human.astype(np.float32) / 255  # a matte that keeps the drawn person and drops the bystander
    scored = score(only_first, truth, people)
    assert (scored.people, scored.dropped) == (2, 1)
    assert people_in(human) == []  # one person: nothing to count
    # a group photo is not a person to paste beside others in the made group frames
    from vbg.train.data import Pair
    pairs = [Pair(REPO / "x.jpg", REPO / "x.png", "photos"), Pair(REPO / "y.jpg", REPO / "y.png", "photos")]
    loaded = [(np.zeros((200, 300, 3), np.uint8), truth), (np.zeros((200, 300, 3), np.uint8), human)]
    assert [len(v) for v in photo_people(pairs, loaded).values()] == [1]


def test_motion_blur_smears_along_its_direction_only():
    kernel = motion_kernel(9, 0.0)
    assert abs(kernel.sum() - 1) < 1e-5
    dot = np.zeros((21, 21), np.float32)
    dot[10, 10] = 1
    smeared = cv2.filter2D(dot, -1, kernel)
    assert (smeared[10, 6:15] > 0.05).all() and smeared[6, 10] == 0 and smeared[14, 10] == 0


TEACHER = SHARED / "teacher"


@pytest.mark.skipif(not (TEACHER / "rvm_masks.js").is_file() or shutil.which("node") is None
                    or shutil.which("npm") is None, reason="the teacher (../shared/teacher) and node are not here")
def test_the_teacher_labels_a_real_photo(tmp_path):
    teacher = tmp_path / "teacher"
    shutil.copytree(TEACHER, teacher)
    install = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--offline"], cwd=teacher,
                             capture_output=True, text=True, timeout=300)
    if install.returncode != 0:
        pytest.skip(f"npm cannot install the teacher's packages offline here: {install.stderr[-200:]}")
    run_teacher([REPO / "samples" / "person.jpg"], tmp_path / "alpha", teacher, processes=1)
    alpha = cv2.imread(str(tmp_path / "alpha" / "person.png"), cv2.IMREAD_GRAYSCALE)
    mask = teacher_mask(alpha)
    assert 0.05 < (mask > 0).mean() < 0.8  # a person, not nothing or everything
    assert mask[-1].max() == 255  # the portrait stands on the bottom edge
