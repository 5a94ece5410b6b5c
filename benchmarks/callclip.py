"""Call-like test clips with a true mask on every frame, made from held-out portraits.

A portrait of the validation split (``vbg train``'s file-name hash) is cut out by its human-made mask and
pasted on a room from ``../shared/persons/backgrounds``, standing on the bottom edge as on a call.  Two scripts:

- ``call``: still most of the time (a breath-sized sway of a pixel or two), then a sideways shift, a hold, a
  lean towards the camera, a hold, and a return; fresh sensor noise on every frame;
- ``moving``: a hand-held camera that pans and zooms all the time (the room and the person move together).

``make_clip`` writes the clip as H.264 (what a camera or a recording gives vbg) and returns the true masks at
``TRUTH_SIZE``.  Everything is a pure function of its arguments: the same call makes the same clip.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
PERSONS = ROOT.parent / "shared" / "persons"
WIDTH, HEIGHT, FPS = 1280, 720, 30
TRUTH_SIZE = (640, 360)  # masks are scored at this size (width, height)
#: (portrait stem of the validation split, room) for each call-like clip
CALL_SCENES = (("00026", "twilio__Bookshelf.jpg"), ("00103", "line__office_03.jpg"),
               ("00238", "twilio__Kitchen.jpg"))
MOVING_SCENE = ("00183", "twilio__ModernHome.jpg")


@dataclass(frozen=True)
class Pose:
    """Where the person stands: a sideways shift (pixels) and a scale about the bottom centre."""

    shift: float = 0.0
    scale: float = 1.0


def ease(a: float, b: float, u: float) -> float:
    """From ``a`` to ``b`` as ``u`` goes 0..1, smoothly (no jump in speed at either end)."""
    u = min(1.0, max(0.0, u))
    return a + (b - a) * (1 - math.cos(math.pi * u)) / 2


def pose_at(kind: str, t: float, seconds: float) -> Pose:
    """The person's pose in a ``call``, ``still`` (the call's breathing sway only) or ``shift`` clip (sideways
    all the time, 240 px/s, turning at the sides)."""
    if kind == "still":
        return Pose(1.5 * math.sin(2 * math.pi * t / 4.0))
    if kind == "shift":
        return Pose(300 * math.asin(math.sin(2 * math.pi * t / 5.0)) * 2 / math.pi)
    return call_pose(t, seconds)


def call_pose(t: float, seconds: float) -> Pose:
    """The ``call`` script at time ``t``: still, shift, hold, lean in, hold, return, still."""
    sway = 1.5 * math.sin(2 * math.pi * t / 4.0)  # breathing-sized, about a pixel
    marks = [0.25 * seconds + d for d in (0.0, 1.0, 3.0, 3.7, 5.7, 7.2)]
    shift, scale = 0.0, 1.0
    if t >= marks[0]:
        shift = ease(0, 220, (t - marks[0]) / (marks[1] - marks[0]))
    if t >= marks[2]:
        scale = ease(1.0, 1.22, (t - marks[2]) / (marks[3] - marks[2]))
    if t >= marks[4]:
        u = (t - marks[4]) / (marks[5] - marks[4])
        shift, scale = ease(220, 0, u), ease(1.22, 1.0, u)
    return Pose(shift + sway, scale)


def load_scene(stem: str, room: str, persons: Path = PERSONS) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(person BGR, person mask 0/255, room BGR at the clip size)."""
    image = cv2.imread(str(persons / "eg1800_train" / "images" / f"{stem}.jpg"), cv2.IMREAD_COLOR)
    mask = cv2.imread(str(persons / "eg1800_train" / "masks" / f"{stem}.png"), cv2.IMREAD_GRAYSCALE)
    back = cv2.imread(str(persons / "backgrounds" / room), cv2.IMREAD_COLOR)
    if image is None or mask is None or back is None:
        raise FileNotFoundError(f"portrait {stem} or room {room} is not under {persons}")
    h, w = back.shape[:2]
    scale = max(WIDTH / w, HEIGHT / h)
    back = cv2.resize(back, (math.ceil(w * scale), math.ceil(h * scale)), interpolation=cv2.INTER_AREA)
    y, x = (back.shape[0] - HEIGHT) // 2, (back.shape[1] - WIDTH) // 2
    return image, mask, np.ascontiguousarray(back[y:y + HEIGHT, x:x + WIDTH])


def paste(person: np.ndarray, mask: np.ndarray, room: np.ndarray, pose: Pose) -> tuple[np.ndarray, np.ndarray]:
    """The person on the room at ``pose`` (feet, or the portrait's bottom, on the bottom edge): (frame, mask)."""
    ph, pw = person.shape[:2]
    s = HEIGHT * 1.02 / ph * pose.scale
    tx = WIDTH / 2 + pose.shift - pw * s / 2
    ty = HEIGHT - ph * s + 4
    m = np.float32([[s, 0, tx], [0, s, ty]])
    warped = cv2.warpAffine(person, m, (WIDTH, HEIGHT), flags=cv2.INTER_LINEAR)
    alpha = cv2.warpAffine(mask, m, (WIDTH, HEIGHT), flags=cv2.INTER_LINEAR)
    soft = cv2.GaussianBlur(alpha, (3, 3), 0)  # a camera's edge, not a cut-out's
    a = cv2.cvtColor(soft, cv2.COLOR_GRAY2BGR)
    frame = cv2.add(cv2.multiply(warped, a, scale=1 / 255), cv2.multiply(room, cv2.bitwise_not(a), scale=1 / 255))
    return frame, alpha


def camera_window(t: float) -> tuple[float, float, float]:
    """The ``moving`` script's crop of the scene at ``t``: (centre x, centre y, zoom), always in motion."""
    return (WIDTH / 2 + 90 * math.sin(2 * math.pi * t / 5.3) + 30 * math.sin(2 * math.pi * t / 1.7),
            HEIGHT / 2 + 25 * math.sin(2 * math.pi * t / 3.1),
            1.2 + 0.12 * math.sin(2 * math.pi * t / 6.1))


def handheld(frame: np.ndarray, mask: np.ndarray, t: float) -> tuple[np.ndarray, np.ndarray]:
    """``frame`` and ``mask`` seen by the moving camera at ``t``."""
    cx, cy, zoom = camera_window(t)
    m = np.float32([[zoom, 0, WIDTH / 2 - zoom * cx], [0, zoom, HEIGHT / 2 - zoom * cy]])
    return (cv2.warpAffine(frame, m, (WIDTH, HEIGHT), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT),
            cv2.warpAffine(mask, m, (WIDTH, HEIGHT), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT))


def make_clip(path: Path, kind: str, stem: str, room: str, seconds: float = 15.0, noise: float = 3.0,
              persons: Path = PERSONS) -> np.ndarray:
    """Write the ``kind`` clip to ``path`` (``moving``: the hand-held camera; else a person script of
    ``pose_at``); return its true masks, frames x TRUTH_SIZE (bool)."""
    person, mask, back = load_scene(stem, room, persons)
    rng = np.random.default_rng(7)
    frames = round(seconds * FPS)
    truth = np.empty((frames, TRUTH_SIZE[1], TRUTH_SIZE[0]), bool)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=FPS, options={"crf": "16", "preset": "veryfast"})
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        stream.time_base = Fraction(1, FPS)
        for i in range(frames):
            t = i / FPS
            if kind == "moving":
                frame, alpha = handheld(*paste(person, mask, back, Pose()), t)
            else:
                frame, alpha = paste(person, mask, back, pose_at(kind, t, seconds))
            if noise:
                grain = rng.normal(0, noise, frame.shape).astype(np.float32)
                frame = cv2.convertScaleAbs(frame.astype(np.float32) + grain)
            truth[i] = cv2.resize(alpha, TRUTH_SIZE, interpolation=cv2.INTER_AREA) >= 128
            video = av.VideoFrame.from_ndarray(frame, format="bgr24")
            video.pts = i
            out.mux(stream.encode(video))
        out.mux(stream.encode())
    return truth


def clips(folder: Path, seconds: float = 15.0) -> list[tuple[str, Path, np.ndarray]]:
    """Every benchmark clip in ``folder`` (made once, then reused): (label, path, truth)."""
    folder.mkdir(parents=True, exist_ok=True)
    made = []
    scenes = [("call", stem, room) for stem, room in CALL_SCENES] + [("moving", *MOVING_SCENE)]
    for kind, stem, room in scenes:
        label = f"{kind}-{stem}"
        path, truth_path = folder / f"{label}.mp4", folder / f"{label}-truth.npz"
        if not (path.is_file() and truth_path.is_file()):
            truth = make_clip(path, kind, stem, room, seconds)
            np.savez_compressed(truth_path, truth=truth)
        made.append((label, path, np.load(truth_path)["truth"]))
    return made
