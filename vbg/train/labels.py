"""Training labels from the teacher: Robust Video Matting (RVM, ``../shared/teacher``) run offline on the
training photos, and merged with the human-made masks by one rule, so that ``vbg train`` reads plain
``images/`` + ``masks/`` folders.

The rule (``docs/person-model.md``, "Who is the person"): every person in the picture is the person, with what
they wear, hold or carry. The human masks are the better truth for the person they draw (finer edges, bags by
vbg's rule), but they draw one person: a bystander or a second person is background in them. So:

- **photos with a human mask** (portraits, full-body photos): the mask, plus every person the teacher finds
  apart from it (a teacher region that does not touch the drawn person, is confidently a person and large
  enough to see);
- **photos and frames with no human mask** (the DAVIS pool, the real group photos): the teacher's alpha,
  thresholded at one half (the teacher's own soft edges make hard masks like the human ones), small specks
  dropped; frames of sequences where the teacher is known to be wrong are left out (``SKIP_SEQUENCES``).

The teacher is a training-time tool only: it labels data; nothing of it reaches vbg.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..errors import VbgError
from .data import IMAGE_SUFFIXES, VIDEO_FRAME

#: the teacher's alpha at or above this is person (uint8 levels)
TEACHER_THRESHOLD = 128
#: a region the teacher adds (a bystander) must be at least this share of the frame ...
ADDED_MIN_AREA = 0.002
#: ... have at least this mean teacher alpha (a faint region is a guess, not a person) ...
ADDED_MIN_ALPHA = 0.75
#: ... and lie at least this share of the frame's diagonal away from the drawn person (a region touching it is
#: the teacher's own outline of the same person: hair, a chair back, a bag the human rule already decided)
ADDED_GAP = 0.01
#: specks of teacher-only labels smaller than this share of the frame are dropped
SPECK = 0.0005
#: DAVIS pool sequences whose teacher labels are wrong (looked at by eye): in ``motorbike`` a flower pot in the
#: foreground is labelled as a person; in ``paragliding`` the wing is; in ``surf`` the sailor behind the sail is
#: left out
SKIP_SEQUENCES = ("motorbike", "paragliding", "surf")
#: real photos whose teacher labels are wrong (looked at by eye, with the validation photos): a crowd of
#: masked faces merged into blobs, a dense crowd half left out, a dark object below three women labelled a person
SKIP_PHOTOS = ("ulfd_face_groups__masked_face__imgs__img7",
               "peoplecounting_groups__ShanghaiTech__part_B__train_data__images__IMG_7",
               "mmpose_testdata__tests__data__aic__054d9ce9201beffc76e5ff2169d2af2f027002ca")


def large_regions(found: np.ndarray, min_share: float) -> np.ndarray:
    """``found`` (bool) as a 0/255 mask of its regions that cover at least ``min_share`` of the frame."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(found.astype(np.uint8), connectivity=8)
    keep = np.zeros(count, bool)
    keep[1:] = stats[1:, cv2.CC_STAT_AREA] >= min_share * found.size
    return np.where(keep[labels], 255, 0).astype(np.uint8)


def teacher_mask(alpha: np.ndarray) -> np.ndarray:
    """The teacher's alpha (uint8) as a 0/255 mask: at least one half, specks dropped."""
    return large_regions(alpha >= TEACHER_THRESHOLD, SPECK)


def with_bystanders(human: np.ndarray, alpha: np.ndarray) -> tuple[np.ndarray, int]:
    """(the human mask with the people the teacher finds apart from its person, how many were added)."""
    gap = max(int(ADDED_GAP * np.hypot(*human.shape)), 1)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * gap + 1, 2 * gap + 1))
    near_person = cv2.dilate((human > 127).astype(np.uint8), kernel) > 0
    found = (alpha >= TEACHER_THRESHOLD).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(found, connectivity=8)
    out, added = human.copy(), 0
    for i in range(1, count):
        if stats[i, cv2.CC_STAT_AREA] < ADDED_MIN_AREA * human.size:
            continue
        region = labels == i
        if near_person[region].any() or alpha[region].mean() < ADDED_MIN_ALPHA * 255:
            continue
        out[region] = 255
        added += 1
    return out, added


@dataclass(frozen=True)
class Source:
    """One folder of ``../shared/persons`` and how its labels are made."""

    name: str  # the output folder's name (and the group scores are reported under)
    images: str  # relative to the persons folder
    human: str | None  # the human masks' folder, or None: the teacher alone
    video: bool = False  # frames of clips: the teacher runs with its recurrent state
    teacher: str | None = None  # teacher alpha that ships with the data (relative), else run here


SOURCES = (
    Source("eg1800_train", "eg1800_train/images", "eg1800_train/masks"),
    Source("ccp_fullbody", "ccp_fullbody/images", "ccp_fullbody/masks_carried"),
    Source("davis_pool", "davis2016/pool/images", None, video=True, teacher="davis2016/pool/teacher"),
    Source("photos", "photos/images", None, teacher="photos/teacher"),
)


def images_of(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def run_teacher(images: list[Path], out: Path, teacher: Path, processes: int = 2, still: bool = True) -> None:
    """Label ``images`` with RVM into ``out/<stem>.png``, skipping those already labelled (a cut run resumes).
    ``teacher``: a copy of ``../shared/teacher`` with its ``npm install`` done."""
    script = teacher / "rvm_masks.js"
    if not (teacher / "node_modules").is_dir():
        raise VbgError(f"the teacher at {teacher} has no node_modules: run `npm install --no-audit --no-fund` there "
                       "(make labels does)")
    todo = [p for p in images if not (out / f"{p.stem}.png").is_file()]
    if not todo:
        return
    out.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, STILL="1" if still else "")
    if not still:
        processes = 1  # a clip's frames carry state in order
    chunks = [todo[i::processes] for i in range(processes)]

    def label(chunk: list[Path]) -> None:
        for start in range(0, len(chunk), 200):  # bounded command lines
            subprocess.run(["node", str(script), str(teacher / "models"), str(out), *map(str, chunk[start:start + 200])],
                           env=env, check=True, stdout=subprocess.DEVNULL)

    with ThreadPoolExecutor(processes) as pool:
        list(pool.map(label, [c for c in chunks if c]))


def left_out(stem: str) -> bool:
    """A teacher-only label known to be wrong: a frame of ``SKIP_SEQUENCES`` or one of ``SKIP_PHOTOS``."""
    frame = VIDEO_FRAME.match(stem)
    return stem in SKIP_PHOTOS or bool(frame and frame.group(1) in SKIP_SEQUENCES)


def read_gray(path: Path) -> np.ndarray | None:
    return cv2.imread(str(path), cv2.IMREAD_GRAYSCALE) if path.is_file() else None


def make_folder(source: Source, persons: Path, teacher_out: Path, out: Path) -> dict[str, int]:
    """Write ``out/<name>/masks`` (and link ``images``) for one source; returns counts for the log."""
    images = persons / source.images
    alpha_dir = persons / source.teacher if source.teacher else teacher_out / source.name
    target = out / source.name
    (target / "masks").mkdir(parents=True, exist_ok=True)
    link = target / "images"
    if not link.exists():
        link.symlink_to(images.resolve(), target_is_directory=True)
    counts = {"images": 0, "skipped": 0, "not labelled by the teacher": 0, "with bystanders": 0, "people added": 0}
    for path in images_of(images):
        human = read_gray(persons / source.human / f"{path.stem}.png") if source.human else None
        alpha = None if source.human is None and left_out(path.stem) else read_gray(alpha_dir / f"{path.stem}.png")
        if (human is None and alpha is None) or (source.human and human is None):
            counts["skipped"] += 1
            continue
        if alpha is None:  # not labelled (yet): the human mask alone
            mask = human
            counts["not labelled by the teacher"] += 1
        elif human is not None:
            if alpha.shape != human.shape:
                alpha = cv2.resize(alpha, (human.shape[1], human.shape[0]), interpolation=cv2.INTER_LINEAR)
            mask, added = with_bystanders(human, alpha)
            counts["with bystanders"] += added > 0
            counts["people added"] += added
        else:
            mask = teacher_mask(alpha)
        cv2.imwrite(str(target / "masks" / f"{path.stem}.png"), mask)
        counts["images"] += 1
    return counts


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m vbg.train.labels", description=__doc__.split("\n\n")[0])
    parser.add_argument("--persons", default="../shared/persons", help="the person data (default: %(default)s)")
    parser.add_argument("--teacher", default="out/teacher/rvm",
                        help="a copy of ../shared/teacher with npm install done (default: %(default)s)")
    parser.add_argument("--out", default="out/labels", help="where the label folders go (default: %(default)s)")
    parser.add_argument("--processes", type=int, default=2, help="teacher processes (one core each)")
    parser.add_argument("--no-teacher", action="store_true",
                        help="run no teacher: make the folders from the labels already there (human masks alone where "
                             "the teacher has not run)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    persons, out = Path(args.persons), Path(args.out)
    try:
        for source in SOURCES:
            if source.teacher is None and not args.no_teacher:
                run_teacher(images_of(persons / source.images), out / "teacher" / source.name, Path(args.teacher),
                            args.processes, still=not source.video)
            counts = make_folder(source, persons, out / "teacher", out)
            print(f"{source.name}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    except VbgError as exc:
        print(f"vbg: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
