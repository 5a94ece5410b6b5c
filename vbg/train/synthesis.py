"""Frames that no data set has, made from the person photos: people pasted onto rooms and scenes, alone, in
twos and threes, or in front of a crowd.

What counts as the person (the training truth), stated once here:
- every person of about the subject's size is foreground: two or three people on a call or in a recording are
  all kept, whoever stands in front (``group_sample``);
- a crowd, people much smaller than the subject and behind them (at most 40 % of the subject's height), is
  background: the subject is the nearest person, as a dancer in front of an audience (``crowd_sample``);
- anything that is not a person is background, however salient: the scenes of a data folder whose masks are
  all empty (an animal, a car, a ball) serve as backgrounds as well as samples of their own;
- what a person holds belongs to the person, as the masks of the video set draw it; a thing beside or behind a
  person that they do not hold (an animal, a car, a goal) is background, however close (``beside_sample``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

#: a crowd member's height, as a share of the subject's
CROWD_MAX = 0.4


def downscaler(rng: np.random.Generator) -> int:
    """Area or plain bilinear: vbg's "fast" resize is plain bilinear, whose aliasing the model should know."""
    return cv2.INTER_AREA if rng.random() < 0.5 else cv2.INTER_LINEAR


def aspect_window(width: int, height: int, aspect: float, scale: float, rng: np.random.Generator
                  ) -> tuple[int, int, int, int]:
    """A random (x, y, w, h) window of ``aspect`` inside a ``width`` x ``height`` picture, ``scale`` of the
    largest one that fits."""
    if width / height > aspect:
        wh = height * scale
        ww = wh * aspect
    else:
        ww = width * scale
        wh = ww / aspect
    ww, wh = max(int(ww), 8), max(int(wh), 8)
    x = int(rng.integers(0, width - ww + 1))
    y = int(rng.integers(0, height - wh + 1))
    return x, y, ww, wh


def background_canvas(background: np.ndarray, size: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """A window of ``background`` with the frame's aspect, resized to ``size``, as float32."""
    w, h = size
    x, y, ww, wh = aspect_window(background.shape[1], background.shape[0], w / h, rng.uniform(0.5, 1.0), rng)
    return cv2.resize(background[y:y + wh, x:x + ww], size, interpolation=downscaler(rng)).astype(np.float32)


#: a person within this many pixels of a side of its photo counts as cut by that side
CUT_PX = 2


@dataclass(frozen=True)
class PersonBox:
    """Where the person is in its photo (rows ``top:bottom``, columns ``left:right``) and which sides of the
    photo (``width`` x ``height``) cut it: one scan of the mask answers every placement rule."""

    top: int
    bottom: int
    left: int
    right: int
    width: int
    height: int

    @classmethod
    def of(cls, mask: np.ndarray) -> "PersonBox | None":
        """The box of the mask's person (pixels above 127), or None for a mask with no person."""
        rows = np.flatnonzero(mask.max(axis=1) > 127)
        cols = np.flatnonzero(mask.max(axis=0) > 127)
        if rows.size == 0:
            return None
        return cls(int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1, mask.shape[1], mask.shape[0])

    @property
    def portrait(self) -> bool:
        """Cut by the photo's bottom edge: stands on the frame's bottom edge when pasted."""
        return self.bottom >= self.height - CUT_PX

    @property
    def cut_left(self) -> bool:
        return self.left <= CUT_PX

    @property
    def cut_right(self) -> bool:
        return self.right >= self.width - CUT_PX

    @property
    def cut_top(self) -> bool:
        return self.top <= CUT_PX

    @property
    def spans_width(self) -> bool:
        """Cut by both sides of the photo: drawn across the whole frame, with no room beside it."""
        return self.cut_left and self.cut_right

    def spanning_height(self, size: tuple[int, int]) -> float:
        """How tall (x the frame of ``size``) the person must be drawn so that cuts on both sides fall on the
        frame's sides, not mid-frame as straight edges; 0 for a person with a free side."""
        if not self.spans_width:
            return 0.0
        return (self.bottom - self.top) / (self.right - self.left) * size[0] / size[1]


def is_portrait(mask: np.ndarray) -> bool:
    """Cut by the photo's bottom edge: a portrait, which stands on the frame's bottom edge when pasted."""
    box = PersonBox.of(mask)
    return box is not None and box.portrait


def paste(canvas: np.ndarray, image: np.ndarray, mask: np.ndarray, height: float, centre: float,
          rng: np.random.Generator, standing: bool | None = None) -> np.ndarray:
    """Paste the person of ``image``/``mask`` into ``canvas`` (float32 HxWx3, in place), ``height`` x the frame
    tall, its box centred at ``centre`` x the frame's width; returns its alpha in the frame (float32 0..1).

    ``standing`` (default: a portrait) keeps the photo's bottom on the frame's bottom edge, as on a call;
    otherwise the person goes anywhere vertically, possibly cut by an edge.  Where the photo's own sides cut
    the person, those cuts go on the frame's sides (a person cut by both sides is drawn at least
    ``spanning_height``): a straight cut mid-frame is not something a camera shows."""
    h, w = canvas.shape[:2]
    target = np.zeros((h, w), np.float32)
    box = PersonBox.of(mask)
    if box is None:
        return target
    top, bottom, left, right = box.top, box.bottom, box.left, box.right
    standing = box.portrait if standing is None else standing
    height = max(height, box.spanning_height((w, h)))
    if box.cut_top and standing:
        height = max(height, 1.0)  # a head cut by the photo's top reaches the frame's top
    scale = height * h / (bottom - top)
    pw, ph = max(math.ceil(image.shape[1] * scale), 1), max(math.ceil(image.shape[0] * scale), 1)
    interpolation = downscaler(rng)
    person = cv2.resize(image, (pw, ph), interpolation=interpolation).astype(np.float32)
    alpha = cv2.resize(mask, (pw, ph), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
    ox = int(centre * w - (left + right) / 2 * scale)
    # where the photo's cut sides land in the frame for a given offset, from the resized size (no rounding gap)
    left_at, right_at = left * pw / image.shape[1], right * pw / image.shape[1]
    if box.spans_width:  # both cuts outside the frame
        low, high = math.ceil(w - right_at), math.floor(-left_at)
        ox = int(rng.integers(low, max(high, low) + 1))
    elif box.cut_left:
        ox = min(ox, math.floor(-left_at))
    elif box.cut_right:
        ox = max(ox, math.ceil(w - right_at))
    if standing:
        oy = h - ph + int(rng.uniform(0, 0.15) * ph)  # photo bottom at or below the frame bottom
    else:
        oy = int(rng.uniform(-0.1, 1.0) * (h - (bottom - top) * scale) - top * scale)
    if box.cut_top:
        oy = min(oy, math.floor(-top * ph / image.shape[0]))
    x0, y0, x1, y1 = max(ox, 0), max(oy, 0), min(ox + pw, w), min(oy + ph, h)
    if x1 > x0 and y1 > y0:
        a = alpha[y0 - oy:y1 - oy, x0 - ox:x1 - ox]
        soft = cv2.GaussianBlur(a, (3, 3), 0.7)[..., None]  # no stair-stepped cut-out edge
        region = canvas[y0:y1, x0:x1]
        canvas[y0:y1, x0:x1] = region + (person[y0 - oy:y1 - oy, x0 - ox:x1 - ox] - region) * soft
        target[y0:y1, x0:x1] = a
    return target


#: how tall a whole person is drawn, as a share of the frame's height: in training from a small figure across
#: the room to one filling the frame; the validation frames keep the range they were first made with, so that
#: their scores compare across weights
WHOLE_TRAIN = (0.1, 0.9)
WHOLE_VALIDATION = (0.25, 0.95)


def subject_height(mask: np.ndarray, rng: np.random.Generator,
                   whole: tuple[float, float] = WHOLE_TRAIN) -> float:
    """How tall the subject is drawn: a portrait at 60-130 % of the frame, a whole person within ``whole``."""
    return rng.uniform(0.6, 1.3) if is_portrait(mask) else rng.uniform(*whole)


def finish(canvas: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return np.clip(canvas, 0, 255).astype(np.uint8), (np.clip(target, 0, 1) * 255 + 0.5).astype(np.uint8)


def occlude(target: np.ndarray, front: np.ndarray) -> np.ndarray:
    """What is left of ``target``'s alpha behind a person of alpha ``front``."""
    return target * (1 - front)


def composite_sample(image: np.ndarray, mask: np.ndarray, background: np.ndarray, size: tuple[int, int],
                     rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """One person pasted onto ``background`` at a random scale and position, mostly central as on calls."""
    canvas = background_canvas(background, size, rng)
    centre = float(np.clip(rng.normal(0.5, 0.2), -0.1, 1.1))
    target = paste(canvas, image, mask, subject_height(mask, rng), centre, rng)
    return finish(canvas, target)


#: in training, this share of the people behind the subject stand further back (45-75 % of its height): a
#: second person walking in behind, the back row of a group; still people of the call, unlike a crowd
FURTHER_BACK = 0.25


def group_sample(subject: tuple[np.ndarray, np.ndarray], others: list[tuple[np.ndarray, np.ndarray]],
                 background: np.ndarray, size: tuple[int, int], rng: np.random.Generator
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Two to five people side by side, overlapping or not, each in front of or behind the subject, some of
    those behind further back: all of them are the truth."""
    canvas, people = group_frame(subject, others, background, size, rng, further_back=FURTHER_BACK)
    return finish(canvas, np.max(people, axis=0))


def group_frame(subject: tuple[np.ndarray, np.ndarray], others: list[tuple[np.ndarray, np.ndarray]],
                background: np.ndarray, size: tuple[int, int], rng: np.random.Generator,
                whole: tuple[float, float] = WHOLE_TRAIN, further_back: float = 0.0
                ) -> tuple[np.ndarray, list[np.ndarray]]:
    """``group_sample``'s frame (float32) and each person's alpha where it is not hidden by one in front, so
    a validation can tell which person a matte dropped (the validation frames keep ``further_back`` 0, as
    they were first made)."""
    canvas = background_canvas(background, size, rng)
    height = subject_height(subject[1], rng, whole)
    centre = rng.uniform(0.25, 0.75)
    behind, front = [], []
    for image, mask in others:
        side = rng.choice([-1, 1]) * rng.uniform(0.15, 0.45)
        where = float(np.clip(centre + side, 0.0, 1.0))
        if rng.random() < 0.6:
            back = further_back and rng.random() < further_back
            behind.append((image, mask, height * (rng.uniform(0.45, 0.75) if back else rng.uniform(0.75, 1.1)),
                           where))
        else:
            front.append((image, mask, height * rng.uniform(0.75, 1.1), where))
    people: list[np.ndarray] = []

    def add(alpha: np.ndarray) -> None:
        people[:] = [occlude(a, alpha) for a in people] + [alpha]

    for image, mask, tall, where in behind:
        add(paste(canvas, image, mask, tall, where, rng))
    add(paste(canvas, *subject, height, centre, rng))
    for image, mask, tall, where in front:
        add(paste(canvas, image, mask, tall, where, rng))
    return canvas, people


@dataclass(frozen=True)
class GroupFrame:
    """A validation frame of held-out people: the picture, the truth and each person of the truth with its
    visible alpha (0..1)."""

    image: np.ndarray
    truth: np.ndarray
    people: list[np.ndarray]


def validation_frames(kind: str, people: list[tuple[np.ndarray, np.ndarray]], backgrounds: list[np.ndarray],
                      count: int, size: tuple[int, int] = (640, 360), seed: int = 0,
                      crowd: list[tuple[np.ndarray, np.ndarray]] | None = None) -> list[GroupFrame]:
    """``count`` frames of ``kind`` "groups" (two or three people, all the truth) or "crowds" (a subject in
    front of a crowd, only the subject the truth), drawn as training draws them (``group_sample``,
    ``crowd_sample``) from ``people``, held-out photos and masks: the same frames for the same arguments, so
    weights are compared on one set.  Portraits join portraits and whole people whole people, as in
    training; people cut by both sides are left out (no room beside them).  A crowd is of whole people, from
    ``crowd`` (default: ``people``)."""
    boxed = [(person, box) for person in people if (box := PersonBox.of(person[1])) is not None
             and not box.spans_width]
    whole = [(i, m) for i, m in crowd or people
             if (box := PersonBox.of(m)) is not None and not box.portrait and not box.spans_width]
    if not boxed or (kind == "crowds" and not whole):
        return []
    frames = []
    for index in range(count):
        rng = np.random.default_rng([seed, index])
        subject, box = boxed[int(rng.integers(len(boxed)))]
        background = backgrounds[int(rng.integers(len(backgrounds)))]
        if kind == "groups":
            alike = [p for p, b in boxed if p is not subject and b.portrait == box.portrait]
            picks = rng.choice(len(alike), min(int(rng.integers(1, 3)), len(alike)), replace=False)
            canvas, alphas = group_frame(subject, [alike[i] for i in picks], background, size, rng,
                                         WHOLE_VALIDATION)
            image, truth = finish(canvas, np.max(alphas, axis=0))
        else:
            members = [whole[int(i)] for i in rng.integers(len(whole), size=int(rng.integers(4, 9)))]
            image, truth = crowd_sample(subject, members, background, size, rng)
            alphas = [truth.astype(np.float32) / 255]
        frames.append(GroupFrame(image, truth, alphas))
    return frames


def validation_sets(people: dict[str, list[tuple[np.ndarray, np.ndarray]]], backgrounds: list[np.ndarray],
                    count: int) -> dict[str, list[GroupFrame]]:
    """``count`` frames of each kind per folder of held-out photos (``people``: folder -> photos and masks of
    people): "<folder> groups" and "<folder> crowds" (``validation_frames``); a crowd is drawn from the whole
    people of every folder.  Empty without backgrounds or ``count``."""
    if not count or not backgrounds:
        return {}
    crowd = [person for photos in people.values() for person in photos]
    out = {}
    for folder, photos in people.items():
        for kind in ("groups", "crowds"):
            frames = validation_frames(kind, photos, backgrounds, count, crowd=crowd) if len(photos) >= 3 else []
            if frames:
                out[f"{folder} {kind}"] = frames
    return out


def crowd_sample(subject: tuple[np.ndarray, np.ndarray], crowd: list[tuple[np.ndarray, np.ndarray]],
                 background: np.ndarray, size: tuple[int, int], rng: np.random.Generator
                 ) -> tuple[np.ndarray, np.ndarray]:
    """A subject at 60-100 % of the frame in front of a crowd of much smaller people: only the subject is the
    truth."""
    canvas = background_canvas(background, size, rng)
    height = rng.uniform(0.6, 1.0)
    for image, mask in crowd:  # whole people (``BatchMaker.person_like``): floating heads make no crowd
        paste(canvas, image, mask, height * rng.uniform(0.15, CROWD_MAX), rng.uniform(0.0, 1.0), rng,
              standing=False)
    target = paste(canvas, *subject, height, float(np.clip(rng.normal(0.5, 0.15), 0.1, 0.9)), rng)
    return finish(canvas, target)


def window_around(width: int, height: int, aspect: float, centre: tuple[float, float], rng: np.random.Generator
                  ) -> tuple[int, int, int, int]:
    """An (x, y, w, h) window of ``aspect`` inside a ``width`` x ``height`` picture, 60-100 % of the largest
    that fits, placed so that the point ``centre`` (x, y in pixels) lies inside it."""
    _, _, ww, wh = aspect_window(width, height, aspect, rng.uniform(0.6, 1.0), rng)
    x = int(np.clip(centre[0] - ww * rng.uniform(0.2, 0.8), 0, width - ww))
    y = int(np.clip(centre[1] - wh * rng.uniform(0.2, 0.8), 0, height - wh))
    return x, y, ww, wh


def beside_sample(subject: tuple[np.ndarray, np.ndarray], scene: np.ndarray, thing: np.ndarray,
                  background: np.ndarray | None, size: tuple[int, int], rng: np.random.Generator
                  ) -> tuple[np.ndarray, np.ndarray]:
    """A person beside, or partly in front of, a salient thing that is not theirs: only the person is the
    truth. ``scene`` is a people-free photo and ``thing`` its object mask (``vbg.train.objects``); with a
    ``background`` the thing is cut out and pasted onto it, without one the person joins the thing in its own
    scene. Both matter: the scene keeps the thing as a camera sees it, the paste shows that a pasted edge does
    not make a person."""
    w, h = size
    if background is None:
        rows, cols = np.nonzero(thing > 127)
        x, y, ww, wh = window_around(scene.shape[1], scene.shape[0], w / h, (cols.mean(), rows.mean()), rng)
        canvas = cv2.resize(scene[y:y + wh, x:x + ww], size, interpolation=downscaler(rng)).astype(np.float32)
        where = cv2.resize(thing[y:y + wh, x:x + ww], size, interpolation=cv2.INTER_AREA).astype(np.float32) / 255
    else:
        canvas = background_canvas(background, size, rng)
        where = paste(canvas, scene, thing, rng.uniform(0.2, 0.8), rng.uniform(0.2, 0.8), rng,
                      standing=rng.random() < 0.5)
    cols = np.flatnonzero(where.max(axis=0) > 0.5)
    if cols.size:  # the person's centre from inside the thing to beyond its side
        middle, half = (cols[0] + cols[-1]) / 2 / w, (cols[-1] - cols[0]) / 2 / w
        centre = middle + rng.choice([-1, 1]) * half * rng.uniform(0.3, 1.6)
    else:
        centre = rng.uniform(0.2, 0.8)
    target = paste(canvas, *subject, subject_height(subject[1], rng), float(np.clip(centre, 0.0, 1.0)), rng)
    return finish(canvas, target)
