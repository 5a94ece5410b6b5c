"""Training samples: image + mask folders, a stable validation split, and the synthesis of call-like frames.

A folder is ``images/*.jpg|png`` with ``masks/<same stem>.png`` (0 = background, 255 = person). Every batch has
one input shape, drawn from ``TRAIN_SHAPES`` (landscape, 4:3, square and portrait sizes in multiples of 32), and
each sample is made for that shape in one of two ways:

- **crop**: a window of the photo with the batch's aspect, at a random scale and position;
- **composite**: the person, cut out by its mask, pasted onto a picture from the backgrounds folder or onto a
  scene of a data folder with no person in it. A person whose mask touches the photo's bottom edge (a
  portrait) stands on the frame's bottom edge at 60-130 % of the frame height, as on a call; a whole person
  (full body) is placed anywhere at 10-90 %, possibly cut by an edge. Some composites have two or three people,
  a crowd behind the subject, or a thing beside the person that is not theirs (an animal, a car: the scenes of
  ``--objects``); ``vbg.train.synthesis`` states what counts as the person.

A pair whose mask is empty (a scene with no person) is always a crop, with an empty truth.

Pictures are shrunk with the area filter or plain bilinear (what vbg's "fast" resize does, aliasing included).
Then the frame gets what cameras and codecs do to it: flips, brightness/contrast/white-balance and saturation
changes, blur, motion blur, low light, sensor noise and JPEG artefacts. Inputs are normalised exactly as the
OpenVINO IR does (divide by the image maximum, then ImageNet mean/scale), so the weights see in training what
they see in vbg.

Each batch is a pure function of (seed, epoch, batch index): a resumed run draws the same batches.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..model.convert import MEAN_RGB, SCALE_RGB
from ..errors import VbgError
from .scoring import people_in
from .synthesis import (PersonBox, aspect_window, beside_sample, composite_sample, crowd_sample, downscaler,
                        group_sample)

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")

#: (width, height, weight): the input shapes a batch is drawn from, about 40-70 k pixels each, and a few of
#: 90-110 k, the sizes `vbg image` can afford for a photo whose people are small (``auto:320``).
TRAIN_SHAPES: tuple[tuple[int, int, float], ...] = (
    (352, 192, 0.20), (320, 192, 0.10), (288, 160, 0.10),  # 16:9-like (cameras)
    (288, 224, 0.10), (256, 192, 0.10),                    # 4:3
    (256, 256, 0.15),                                      # square
    (224, 288, 0.15), (192, 256, 0.10),                    # portrait photos
    (416, 224, 0.05), (288, 384, 0.05),                    # larger inputs for photos with small people
)


@dataclass(frozen=True)
class Pair:
    """One training photo and its person mask; ``group`` is the folder name (scores are reported per group)."""

    image: Path
    mask: Path
    group: str


def data_spec(spec: str) -> tuple[str, int]:
    """``DIR`` or ``DIR:REPEAT`` -> (folder, times its training pairs appear per epoch). Repeating a folder is
    how a run weighs one kind of framing (portraits) against another without dropping either."""
    folder, sep, repeat = spec.rpartition(":")
    if sep and repeat.isdigit() and folder:
        if int(repeat) < 1:
            raise VbgError(f"--data {spec}: the repeat count after ':' must be 1 or more")
        return folder, int(repeat)
    return spec, 1


def find_pairs(folder: str | Path, flag: str = "--data") -> list[Pair]:
    """Every image in ``folder/images`` that has a mask of the same stem in ``folder/masks`` (``flag``: the option
    that gave the folder, for the messages)."""
    root = Path(folder)
    images, masks = root / "images", root / "masks"
    if not root.is_dir():
        raise VbgError(f"folder {root} does not exist: check the {flag} path (a folder with images/ and masks/ "
                       "subfolders)")
    if not images.is_dir() or not masks.is_dir():
        raise VbgError(f"{flag} folder {root} needs images/ and masks/ subfolders (masks: same stem, .png)")
    by_stem = {p.stem: p for p in masks.iterdir() if p.suffix.lower() == ".png"}
    pairs = [Pair(p, by_stem[p.stem], root.name) for p in sorted(images.iterdir())
             if p.suffix.lower() in IMAGE_SUFFIXES and p.stem in by_stem]
    if not pairs:
        raise VbgError(f"{flag} folder {root} has no image with a matching mask in masks/")
    return pairs


#: video frames are named ``<sequence>_<frame number>``: neighbours look alike, so they are held out together
VIDEO_FRAME = re.compile(r"^(.+)_(\d{5})$")
FRAME_BLOCK = 15  # frames per held-out block


def split_key(pair: Pair) -> str:
    """What the validation split hashes: the file name, or for a video frame its block of ``FRAME_BLOCK``
    frames, so a held-out frame has no near-copy among the training frames."""
    match = VIDEO_FRAME.match(pair.image.stem)
    if match:
        return f"{pair.group}/{match.group(1)}/{int(match.group(2)) // FRAME_BLOCK}"
    return f"{pair.group}/{pair.image.stem}"


def follows(pair: Pair, before: Pair) -> bool:
    """Whether ``pair`` is the video frame right after ``before`` (same folder and clip, next number)."""
    a, b = VIDEO_FRAME.match(pair.image.stem), VIDEO_FRAME.match(before.image.stem)
    return bool(a and b and pair.group == before.group and a.group(1) == b.group(1)
                and int(a.group(2)) == int(b.group(2)) + 1)


def is_validation(pair: Pair, fraction: float) -> bool:
    """Held out or not, decided by a hash of ``split_key``: stable whatever files are added or removed."""
    digest = hashlib.sha256(split_key(pair).encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32 < fraction


def split(pairs: list[Pair], fraction: float) -> tuple[list[Pair], list[Pair]]:
    """(train, validation)."""
    val = [p for p in pairs if is_validation(p, fraction)]
    return [p for p in pairs if not is_validation(p, fraction)], val


def photo_people(pairs: list[Pair], loaded: list[tuple[np.ndarray, np.ndarray]] | None = None
                 ) -> dict[str, list[tuple[np.ndarray, np.ndarray]]]:
    """Folder -> its photos that show one person (image, mask), for the folders of photos, not video frames
    (three frames of one clip side by side make no group, nor do three group photos); ``loaded``: the pairs
    already read, in order."""
    folders: dict[str, list] = {}
    for pair, item in zip(pairs, loaded if loaded is not None else map(read_pair, pairs)):
        folders.setdefault(pair.group, []).append((pair, item))
    return {group: [item for _, item in items if item[1].max() > 127 and not people_in(item[1])]
            for group, items in folders.items()
            if not any(VIDEO_FRAME.match(pair.image.stem) for pair, _ in items)}


def read_pair(pair: Pair) -> tuple[np.ndarray, np.ndarray]:
    """BGR uint8 image and uint8 mask (0/255) of the same size."""
    image = cv2.imread(str(pair.image), cv2.IMREAD_COLOR)
    mask = cv2.imread(str(pair.mask), cv2.IMREAD_GRAYSCALE)
    if image is None or mask is None:
        raise VbgError(f"cannot read {pair.image if image is None else pair.mask}: remove it or replace it")
    if mask.shape != image.shape[:2]:
        mask = cv2.resize(mask, (image.shape[1], image.shape[0]), interpolation=cv2.INTER_NEAREST)
    return image, mask


def normalise(bgr: np.ndarray) -> np.ndarray:
    """uint8 HxWx3 BGR -> float32 3xHxW, as the IR's folded preprocessing does it."""
    rgb = bgr[:, :, ::-1].astype(np.float32)
    rgb *= 255.0 / max(float(rgb.max()), 1.0)
    rgb -= np.float32(MEAN_RGB)
    rgb /= np.float32(SCALE_RGB)
    return np.ascontiguousarray(rgb.transpose(2, 0, 1))


def background_files(folder: str | Path) -> list[Path]:
    """The pictures of a ``--backgrounds`` folder (at least one)."""
    root = Path(folder)
    if not root.is_dir():
        raise VbgError(f"backgrounds folder {root} does not exist: check the --backgrounds path (a folder of photos "
                       f"without people)")
    files = sorted(p for p in root.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise VbgError(f"backgrounds folder {root} has no images: give a folder of photos without people")
    return files


def check_folders(data: list[str], backgrounds: str | None, objects: str | None = None,
                  score: list[str] = ()) -> None:
    """The folders a run reads, checked in a moment before anything slow (finding or downloading the starting
    weights, importing torch), so a mistyped path is the first thing reported."""
    trained = set()
    for spec in data:
        folder = data_spec(spec)[0]
        find_pairs(folder)
        trained.add(Path(folder).resolve())
    for folder in score:
        find_pairs(folder, "--score")
        if Path(folder).resolve() in trained:
            raise VbgError(f"--score {folder} is also a --data folder: a folder is either trained on (its held-out "
                           "part is scored) or only scored, not both")
    if backgrounds is not None:
        background_files(backgrounds)
    if objects is not None and not (Path(objects) / "masks").is_dir():
        raise VbgError(f"--objects {objects} has no masks/ folder: make it with python -m vbg.train.objects "
                       "(make labels does)")


def load_backgrounds(folder: str | Path | None, long_side: int = 640) -> list[np.ndarray]:
    """Background pictures, shrunk once (a 1080p JPEG decode per sample would cost more than the rest)."""
    if folder is None:
        return []
    out = []
    for path in background_files(folder):
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            continue
        scale = long_side / max(image.shape[:2])
        if scale < 1:
            image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        out.append(image)
    return out


def crop_sample(image: np.ndarray, mask: np.ndarray, size: tuple[int, int], rng: np.random.Generator
                ) -> tuple[np.ndarray, np.ndarray]:
    """A window of the photo with the target aspect (±10 %, the squeeze a camera frame gets), resized."""
    w, h = size
    aspect = w / h * math.exp(rng.uniform(-0.1, 0.1))
    x, y, ww, wh = aspect_window(image.shape[1], image.shape[0], aspect, rng.uniform(0.75, 1.0), rng)
    img = cv2.resize(image[y:y + wh, x:x + ww], size, interpolation=downscaler(rng))
    msk = cv2.resize(mask[y:y + wh, x:x + ww], size, interpolation=cv2.INTER_AREA)
    return img, msk


def camera_effects(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Exposure, white balance, saturation, blur, noise and JPEG artefacts, each with its own probability."""
    img = image.astype(np.float32)
    gains = rng.uniform(0.85, 1.15, 3).astype(np.float32)  # white balance
    img = img * gains * rng.uniform(0.7, 1.3) + rng.uniform(-30, 30)  # contrast, brightness
    if rng.random() < 0.3:  # desaturate
        gray = img.mean(axis=2, keepdims=True)
        img = img + (gray - img) * rng.uniform(0.2, 0.8)
    if rng.random() < 0.25:
        img = cv2.GaussianBlur(img, (0, 0), rng.uniform(0.5, 1.5))
    if rng.random() < 0.15:  # motion blur: a person moving, or the camera
        img = cv2.filter2D(img, -1, motion_kernel(int(rng.integers(3, 12)), rng.uniform(0, 180)))
    dark = rng.random() < 0.1  # low light: a dim room, the camera's gain turned up
    if dark:
        img = img * rng.uniform(0.2, 0.5)
    if dark or rng.random() < 0.3:
        img = img + rng.normal(0, rng.uniform(2, 8) * (1.5 if dark else 1), img.shape).astype(np.float32)
    out = np.clip(img, 0, 255).astype(np.uint8)
    if rng.random() < 0.4:
        ok, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(30, 90))])
        out = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    return out


def motion_kernel(length: int, angle: float) -> np.ndarray:
    """A line of ``length`` pixels at ``angle`` degrees, summing to 1: the blur of a straight movement."""
    kernel = np.zeros((length, length), np.float32)
    kernel[length // 2, :] = 1
    turn = cv2.getRotationMatrix2D(((length - 1) / 2, (length - 1) / 2), angle, 1.0)
    kernel = cv2.warpAffine(kernel, turn, (length, length))
    return kernel / max(float(kernel.sum()), 1e-6)


#: how many people join the subject of a group sample (1 to 4): mostly two or three people, sometimes a row of five
GROUP_OTHERS = (0.45, 0.35, 0.12, 0.08)


#: a person cut by both sides of its photo is pasted only where that makes it at most this tall (x the frame):
#: taller, only a face would show, and a crop of the photo itself is the better sample
SPAN_MAX = 1.5


@dataclass(frozen=True)
class SampleRecipe:
    """How often each kind of sample is made."""

    composite: float = 0.5  # the rest are crops of the photo itself
    composite_reshaped: float = 0.85  # when the frame's aspect is far from the photo's (landscape from portrait)
    flip: float = 0.5
    group: float = 0.0  # of the composites: two or three people (vbg train --groups)
    portrait_group: float | None = None  # the same for a portrait subject (None: ``group``; --portrait-groups)
    crowd: float = 0.0  # of the composites: a crowd behind the subject (vbg train --crowds)
    beside: float = 0.0  # of the composites: beside a thing of a people-free scene (vbg train --beside)
    scene: float = 0.25  # of the composites, where scenes with no person exist: onto one of them

    def group_share(self, portrait: bool) -> float:
        """The share of groups for a subject of this kind."""
        return self.group if not portrait or self.portrait_group is None else self.portrait_group


class BatchMaker:
    """Builds batch ``b`` of epoch ``e`` from the training pairs: a map-style dataset of whole batches, so a
    ``DataLoader(batch_size=None)`` worker can build them ahead of the training step."""

    def __init__(self, pairs: list[Pair], backgrounds: list[np.ndarray], batch_size: int, seed: int,
                 recipe: SampleRecipe = SampleRecipe(), shapes=TRAIN_SHAPES, objects: str | Path | None = None
                 ) -> None:
        if not pairs:
            raise VbgError("no training images: check the --data folders")
        self.pairs = pairs
        self.backgrounds = backgrounds
        self.batch_size = batch_size
        self.seed = seed
        self.recipe = recipe
        self.shapes = shapes
        self.epoch = 0
        empty = {p: empty_mask(p) for p in set(pairs)}
        self.scenes = [p for p in pairs if empty[p]]  # people-free frames: backgrounds too
        self.people = [p for p in pairs if not empty[p]]
        # scenes whose salient thing is known (``vbg.train.objects``): people are pasted beside it
        masks = Path(objects) / "masks" if objects is not None else None
        self.things = [(p, masks / f"{p.image.stem}.png") for p in dict.fromkeys(self.scenes)
                       if masks is not None and (masks / f"{p.image.stem}.png").is_file()]

    def __len__(self) -> int:
        return max(len(self.pairs) // self.batch_size, 1)

    def order(self, epoch: int) -> np.ndarray:
        return np.random.default_rng([self.seed, epoch]).permutation(len(self.pairs))

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """(images float32 Bx3xHxW, masks float32 Bx1xHxW in 0..1) for batch ``index`` of ``self.epoch``."""
        rng = np.random.default_rng([self.seed, self.epoch, index])
        weights = np.array([s[2] for s in self.shapes])
        w, h, _ = self.shapes[rng.choice(len(self.shapes), p=weights / weights.sum())]
        picks = self.order(self.epoch)[index * self.batch_size:(index + 1) * self.batch_size]
        if len(picks) < self.batch_size:  # fewer pairs than a batch (tiny runs): repeat
            picks = np.resize(self.order(self.epoch), self.batch_size)
        images, masks = [], []
        for i in picks:
            image, mask = self.sample(self.pairs[i], (w, h), rng)
            images.append(normalise(image))
            masks.append(mask[None].astype(np.float32) / 255.0)
        return np.stack(images), np.stack(masks)

    def sample(self, pair: Pair, size: tuple[int, int], rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """One augmented (BGR uint8 image, uint8 mask) at ``size``."""
        image, mask = self.read(pair, rng)
        far = abs(math.log(size[0] / size[1] * image.shape[0] / image.shape[1])) > 0.5
        chance = self.recipe.composite_reshaped if far else self.recipe.composite
        box = PersonBox.of(mask)
        pasteable = box is not None and box.spanning_height(size) <= SPAN_MAX
        if pasteable and (self.backgrounds or self.scenes) and rng.random() < chance:
            background = self.background(rng)
            kind = rng.random()
            group = self.recipe.group_share(box.portrait)
            if kind < group and self.people and not box.spans_width:  # no room beside a spanning one
                others = [self.person_like(box.portrait, rng) for _ in range(int(rng.choice(4, p=GROUP_OTHERS)) + 1)]
                image, mask = group_sample((image, mask), [o for o in others if o], background, size, rng)
            elif kind < group + self.recipe.crowd and self.people:
                crowd = [self.person_like(False, rng) for _ in range(int(rng.integers(4, 9)))]
                image, mask = crowd_sample((image, mask), [c for c in crowd if c], background, size, rng)
            elif kind < group + self.recipe.crowd + self.recipe.beside and (thing := self.thing(rng)) is not None:
                on = self.backgrounds[int(rng.integers(len(self.backgrounds)))] if self.backgrounds and \
                    rng.random() < 0.5 else None
                image, mask = beside_sample((image, mask), *thing, on, size, rng)
            else:
                image, mask = composite_sample(image, mask, background, size, rng)
        else:
            image, mask = crop_sample(image, mask, size, rng)
        return camera_effects(image, rng), mask

    def read(self, pair: Pair, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        image, mask = read_pair(pair)
        if rng.random() < self.recipe.flip:
            image, mask = image[:, ::-1], mask[:, ::-1]
        return image, mask

    def person_like(self, portrait: bool, rng: np.random.Generator, tries: int = 6):
        """Another person of the same kind (a portrait beside a portrait, a whole person beside a whole
        person), or None when a few draws find none."""
        for _ in range(tries):
            image, mask = self.read(self.people[int(rng.integers(len(self.people)))], rng)
            box = PersonBox.of(mask)
            if box is not None and box.portrait == portrait and not box.spans_width:
                return image, mask
        return None

    def thing(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray] | None:
        """A people-free scene and its thing's mask (flipped together half the time), or None when there are
        none or the drawn scene has no thing."""
        if not self.things:
            return None
        pair, path = self.things[int(rng.integers(len(self.things)))]
        scene, thing = read_pair(Pair(pair.image, path, pair.group))
        if thing.max() <= 127:
            return None
        return (scene[:, ::-1], thing[:, ::-1]) if rng.random() < 0.5 else (scene, thing)

    def background(self, rng: np.random.Generator) -> np.ndarray:
        """A picture from the backgrounds folder, or a people-free scene of the data (``recipe.scene``)."""
        if self.scenes and (not self.backgrounds or rng.random() < self.recipe.scene):
            picture = read_pair(self.scenes[int(rng.integers(len(self.scenes)))])[0]
        else:
            picture = self.backgrounds[int(rng.integers(len(self.backgrounds)))]
        return picture[:, ::-1] if rng.random() < 0.5 else picture


def empty_mask(pair: Pair) -> bool:
    """Whether the pair shows no person (read at 1/8 size: a whole folder is checked in moments)."""
    mask = cv2.imread(str(pair.mask), cv2.IMREAD_REDUCED_GRAYSCALE_8)
    return mask is not None and int(mask.max()) == 0
