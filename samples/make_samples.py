"""Generate the bundled sample media, deterministically and offline.

Usage: ``python samples/make_samples.py [--out DIR]`` (default: the folder this script is in).

- ``person.jpg``: the astronaut photo (``astronaut.png``: scikit-image's ``data.astronaut()``, NASA, public
  domain, kept here losslessly), for single-image replacement;
- ``person_720p.mp4``: 4 s, 1280x720, 30 fps H.264 with an AAC sine tone: the astronaut, cut out with
  OpenCV's GrabCut, sways, bobs and breathes in front of a procedural room;
- ``background_beach.jpg``, ``background_studio.jpg``: procedural 1280x720 replacement backgrounds.

Only numpy, OpenCV and PyAV are used (vbg's own dependencies, so it runs in the ``make demo`` environment);
every random draw has a fixed seed.
"""

from __future__ import annotations

import argparse
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

W, H = 1280, 720
FPS = 30
N_FRAMES = 120  # 4 s
SAMPLE_RATE = 48_000
AUDIO_FRAME = 1024  # AAC frame size
VIDEO_CRF = "20"
VIDEO_PRESET = "medium"
PHOTO_QUALITY = 90
BACKGROUND_QUALITY = 85

Color = tuple[int, int, int]


# ----------------------------------------------------------------------------------------------------------
# Person photo and cutout
# ----------------------------------------------------------------------------------------------------------


#: scikit-image's ``data.astronaut()`` as a lossless PNG: the same pixels, without scikit-image
ASTRONAUT = Path(__file__).resolve().parent / "astronaut.png"


def astronaut_bgr() -> np.ndarray:
    """The 512x512 astronaut photo (Eileen Collins, NASA, public domain), as BGR uint8."""
    image = cv2.imread(str(ASTRONAUT), cv2.IMREAD_COLOR)
    require(image is not None and image.shape == (512, 512, 3), f"{ASTRONAUT} is missing or damaged")
    return image


def grabcut_matte(image: np.ndarray, iterations: int = 3) -> np.ndarray:
    """Binary (0/255) person mask of the astronaut photo from GrabCut.

    A first pass is seeded with a rectangle around the astronaut. The rectangle alone lets the dark table
    top leak in and drops parts of the neck ring, so a second pass pins a few regions: the shuttle model,
    table and flag are background; face, neck ring, torso and the helmet she holds are foreground.
    """
    cv2.setRNGSeed(0)
    mask = np.zeros(image.shape[:2], np.uint8)
    bgd_model, fgd_model = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    cv2.grabCut(image, mask, (18, 8, 476, 503), bgd_model, fgd_model, iterations, cv2.GC_INIT_WITH_RECT)
    cv2.rectangle(mask, (372, 0), (511, 328), cv2.GC_BGD, -1)  # shuttle model and table top
    cv2.rectangle(mask, (0, 0), (110, 180), cv2.GC_BGD, -1)  # flag
    cv2.rectangle(mask, (310, 0), (372, 130), cv2.GC_BGD, -1)  # wall right of the head
    cv2.ellipse(mask, (225, 100), (45, 60), 0, 0, 360, cv2.GC_FGD, -1)  # face
    cv2.ellipse(mask, (210, 222), (82, 60), 0, 0, 360, cv2.GC_FGD, -1)  # neck ring
    cv2.rectangle(mask, (80, 300), (270, 500), cv2.GC_FGD, -1)  # torso
    cv2.circle(mask, (392, 455), 95, cv2.GC_FGD, -1)  # helmet
    cv2.grabCut(image, mask, None, bgd_model, fgd_model, iterations, cv2.GC_INIT_WITH_MASK)
    return np.where((mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD), 255, 0).astype(np.uint8)


def largest_blob_filled(mask: np.ndarray) -> np.ndarray:
    """Keep the largest connected component of a binary mask and fill the holes inside it."""
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    out = np.zeros_like(mask)
    if contours:
        cv2.drawContours(out, [max(contours, key=cv2.contourArea)], -1, 255, cv2.FILLED)
    return out


def ellipse_matte(shape: tuple[int, ...]) -> np.ndarray:
    """Fallback mask: a head ellipse over a shoulders ellipse cut off at the bottom edge."""
    mask = np.zeros(shape[:2], np.uint8)
    cv2.ellipse(mask, (225, 105), (75, 95), 0, 0, 360, 255, -1)
    cv2.ellipse(mask, (210, 520), (200, 300), 0, 0, 360, 255, -1)
    return mask


def mask_is_plausible(mask: np.ndarray) -> bool:
    """Whether a person mask covers a sensible share of the photo, including face and chest."""
    share = float(np.count_nonzero(mask)) / mask.size
    return 0.25 < share < 0.75 and bool(mask[110, 225]) and bool(mask[400, 180])


def person_cutout(image: np.ndarray, feather: float = 1.5) -> tuple[np.ndarray, np.ndarray]:
    """The astronaut cropped to her bounding box and its feathered float matte in [0, 1] (H x W x 1)."""
    mask = largest_blob_filled(grabcut_matte(image))
    if not mask_is_plausible(mask):
        mask = ellipse_matte(image.shape)
    x, y, w, h = cv2.boundingRect(mask)
    matte = cv2.GaussianBlur(mask, (0, 0), feather, borderType=cv2.BORDER_REPLICATE)
    return image[y:y + h, x:x + w], (matte[y:y + h, x:x + w, None] / 255.0).astype(np.float32)


#: the astronaut's face without the hair, an ellipse (centre, half-axes) in ``person_cutout``'s picture: a hole
#: there is seen at once, even when it is a small part of the whole person
FACE_ELLIPSE = ((203, 102), (50, 55))


def face_matte(matte: np.ndarray) -> np.ndarray:
    """``person_cutout``'s matte cut to the face (H x W x 1), to place with ``true_matte`` and score holes on."""
    face = np.zeros(matte.shape[:2], np.float32)
    cv2.ellipse(face, *FACE_ELLIPSE, 0, 0, 360, 1.0, -1)
    return matte * face[:, :, None]


# ----------------------------------------------------------------------------------------------------------
# Procedural scenes
# ----------------------------------------------------------------------------------------------------------


def vertical_gradient(top: Color, bottom: Color, height: int = H, width: int = W) -> np.ndarray:
    """A float32 height x width x 3 image fading linearly from ``top`` to ``bottom`` (BGR)."""
    t = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None, None]
    column = (1 - t) * np.float32(top) + t * np.float32(bottom)
    return np.repeat(column, width, axis=1)


def smooth_noise(rng: np.random.Generator, scale: int, height: int = H, width: int = W) -> np.ndarray:
    """Float32 noise in roughly [-1, 1] with blobs about ``scale`` pixels wide (height x width x 1)."""
    coarse = rng.standard_normal((height // scale + 2, width // scale + 2)).astype(np.float32)
    fine = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)
    return np.clip(fine / 1.5, -1, 1)[:, :, None]


def draw_bookshelf(img: np.ndarray, rng: np.random.Generator, x0: int, y0: int, x1: int) -> None:
    """A wall shelf board with a row of books of random heights, widths and colours standing on it."""
    cv2.rectangle(img, (x0, y0), (x1, y0 + 14), (38, 66, 104), -1)
    cv2.rectangle(img, (x0, y0 + 14), (x1, y0 + 18), (25, 45, 70), -1)
    x = x0 + 10
    while x < x1 - 40:
        width, height = int(rng.integers(16, 38)), int(rng.integers(55, 100))
        color = tuple(int(c) for c in rng.integers(30, 210, 3))
        cv2.rectangle(img, (x, y0 - height), (x + width, y0), color, -1)
        cv2.line(img, (x + 3, y0 - height + 12), (x + width - 3, y0 - height + 12), (220, 220, 220), 2)
        x += width + int(rng.integers(2, 7))


def draw_window(img: np.ndarray, x0: int, y0: int, x1: int, y1: int) -> None:
    """A window showing pale sky and two buildings across the street, with a frame and a cross bar."""
    img[y0:y1, x0:x1] = vertical_gradient((235, 205, 160), (245, 235, 220), y1 - y0, x1 - x0).astype(np.uint8)
    cv2.rectangle(img, (x0 + 40, y0 + 120), (x0 + 120, y1), (150, 150, 160), -1)
    cv2.rectangle(img, (x0 + 150, y0 + 170), (x0 + 240, y1), (130, 140, 150), -1)
    cv2.rectangle(img, (x0, y0), (x1, y1), (70, 80, 90), 10)
    cv2.line(img, ((x0 + x1) // 2, y0), ((x0 + x1) // 2, y1), (70, 80, 90), 8)
    cv2.line(img, (x0, (y0 + y1) // 2), (x1, (y0 + y1) // 2), (70, 80, 90), 8)


def draw_plant(img: np.ndarray, rng: np.random.Generator, cx: int, floor_y: int) -> None:
    """A potted plant: a terracotta pot with a bunch of green leaf ellipses."""
    rim = floor_y - 110
    pot = np.array([[cx - 45, rim], [cx + 45, rim], [cx + 32, floor_y], [cx - 32, floor_y]])
    for _ in range(22):
        angle = float(rng.uniform(200, 340))
        length = int(rng.integers(50, 110))
        tip = (cx + int(length * np.cos(np.radians(angle))), rim + int(length * np.sin(np.radians(angle))))
        color = (int(rng.integers(30, 70)), int(rng.integers(110, 170)), int(rng.integers(30, 70)))
        cv2.ellipse(img, tip, (int(rng.integers(12, 22)), 7), angle, 0, 360, color, -1)
    cv2.fillConvexPoly(img, pot.astype(np.int32), (50, 90, 170))


def draw_lamp(img: np.ndarray, cx: int, floor_y: int) -> None:
    """A floor lamp: a base, a thin pole and a warm lampshade."""
    cv2.rectangle(img, (cx - 35, floor_y - 12), (cx + 35, floor_y), (40, 40, 40), -1)
    cv2.line(img, (cx, floor_y - 12), (cx, floor_y - 330), (50, 50, 50), 6)
    shade = np.array([[cx - 40, floor_y - 330], [cx + 40, floor_y - 330], [cx + 65, floor_y - 410],
                      [cx - 65, floor_y - 410]][::-1])
    cv2.fillConvexPoly(img, shade.astype(np.int32), (150, 215, 245))


def room() -> np.ndarray:
    """The clip's backdrop: a textured wall with a window, bookshelves, a lamp, a plant and a wooden floor."""
    rng = np.random.default_rng(1)
    floor_y = 590
    wall = vertical_gradient((165, 185, 200), (120, 140, 160))
    wall += 10 * smooth_noise(rng, 40) + rng.normal(0, 3, (H, W, 1)).astype(np.float32)
    floor = vertical_gradient((55, 85, 125), (35, 60, 95), H - floor_y)
    planks = np.sin(np.arange(W, dtype=np.float32) / 9.0)[None, :, None]
    floor += 12 * planks * (smooth_noise(rng, 30, H - floor_y) + 1)  # wood grain
    img = np.clip(wall, 0, 255).astype(np.uint8)
    img[floor_y:] = np.clip(floor, 0, 255).astype(np.uint8)
    cv2.line(img, (0, floor_y), (W, floor_y), (230, 235, 240), 6)  # skirting board
    draw_window(img, 860, 80, 1180, 360)
    for shelf_y in (190, 330, 470):
        draw_bookshelf(img, rng, 40, shelf_y, 400)
    cv2.rectangle(img, (540, 110), (690, 230), (30, 30, 30), -1)  # picture frame
    cv2.rectangle(img, (552, 122), (678, 218), (110, 150, 90), -1)
    cv2.circle(img, (630, 160), 22, (80, 200, 240), -1)
    draw_lamp(img, 780, floor_y + 40)
    draw_plant(img, rng, 1140, floor_y + 60)
    return img


def beach() -> np.ndarray:
    """Replacement background: sky gradient with a sun, a sea with wave glints and a sandy beach."""
    rng = np.random.default_rng(2)
    horizon, shore = 400, 540
    img = vertical_gradient((235, 170, 90), (250, 225, 190))  # deep blue sky to a pale horizon
    img[horizon:shore] = vertical_gradient((150, 110, 30), (185, 160, 70), shore - horizon)
    sand = vertical_gradient((150, 205, 230), (110, 170, 205), H - shore)
    img[shore:] = sand + 8 * smooth_noise(rng, 6, H - shore)
    img = np.clip(img, 0, 255).astype(np.uint8)
    glow = np.zeros_like(img)
    cv2.circle(glow, (1000, 170), 120, (120, 200, 255), -1)
    img = cv2.addWeighted(img, 1.0, cv2.GaussianBlur(glow, (0, 0), 40), 0.5, 0)
    cv2.circle(img, (1000, 170), 65, (170, 240, 255), -1)
    for _ in range(60):
        x, y = int(rng.integers(0, W)), int(rng.integers(horizon + 8, shore - 4))
        cv2.line(img, (x, y), (x + int(rng.integers(15, 70)), y), (215, 190, 120), 2)
    cv2.ellipse(img, (W // 2, shore + 4), (W, 10), 0, 180, 360, (235, 240, 245), 5)  # surf line
    return cv2.GaussianBlur(img, (0, 0), 1.0)


def studio() -> np.ndarray:
    """Replacement background: a soft violet radial gradient with blurred bokeh circles."""
    rng = np.random.default_rng(3)
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    r = np.hypot((xx - 0.6 * W) / W, (yy - 0.4 * H) / H)[:, :, None]
    img = np.clip(np.float32((190, 95, 150)) - r * np.float32((140, 60, 80)), 0, 255)
    bokeh = np.zeros((H, W, 3), np.float32)
    for _ in range(30):
        center = (int(rng.integers(0, W)), int(rng.integers(0, H)))
        color = tuple(float(c) for c in rng.integers(60, 160, 3))
        cv2.circle(bokeh, center, int(rng.integers(15, 70)), color, -1)
    return np.clip(img + cv2.GaussianBlur(bokeh, (0, 0), 5) * 0.7, 0, 255).astype(np.uint8)


# ----------------------------------------------------------------------------------------------------------
# Clip
# ----------------------------------------------------------------------------------------------------------


def pose(i: int) -> tuple[int, int, int]:
    """Centre x, bottom y and height of the person in frame ``i``: a sway, a bob and slow breathing."""
    t = i / FPS
    period = N_FRAMES / FPS
    cx = W / 2 + 280 * np.cos(2 * np.pi * t / period)  # starts right, mid-clip on the left
    height = H * (0.70 + 0.03 * np.sin(2 * np.pi * t / period * 2))
    bottom = H + 12 + 10 * np.sin(2 * np.pi * t * 1.5)  # always past the bottom edge: the photo is cut there
    return int(round(cx)), int(round(bottom)), int(round(height))


def composite(canvas: np.ndarray, person: np.ndarray, matte: np.ndarray,
              cx: int, bottom: int, height: int) -> None:
    """Alpha-blend ``person`` scaled to ``height`` into ``canvas``, centred at ``cx``, ending at ``bottom``."""
    scale = height / person.shape[0]
    size = (round(person.shape[1] * scale), height)
    p = cv2.resize(person, size, interpolation=cv2.INTER_AREA).astype(np.float32)
    m = cv2.resize(matte, size, interpolation=cv2.INTER_AREA)[:, :, None]
    x0, y0 = cx - size[0] // 2, bottom - height
    xs, xe, ys, ye = max(0, x0), min(canvas.shape[1], x0 + size[0]), max(0, y0), min(canvas.shape[0], bottom)
    p, m = p[ys - y0:ye - y0, xs - x0:xe - x0], m[ys - y0:ye - y0, xs - x0:xe - x0]
    region = canvas[ys:ye, xs:xe].astype(np.float32)
    canvas[ys:ye, xs:xe] = np.clip(region + m * (p - region) + 0.5, 0, 255).astype(np.uint8)


def true_matte(matte: np.ndarray, i: int) -> np.ndarray:
    """The person's true alpha in frame ``i`` (uint8 H x W): the matte placed exactly as ``composite`` places
    the person, for scoring what vbg makes of the clip (``tests/test_sample_ghost.py``)."""
    canvas = np.zeros((H, W, 3), np.uint8)
    composite(canvas, np.full(matte.shape[:2] + (3,), 255, np.uint8), matte, *pose(i))
    return canvas[:, :, 0]


def tone(n_samples: int) -> np.ndarray:
    """A quiet 440 Hz sine with a gentle 2 Hz tremolo, float32 mono in [-0.12, 0.12]."""
    t = np.arange(n_samples, dtype=np.float64) / SAMPLE_RATE
    envelope = 0.08 + 0.04 * np.sin(2 * np.pi * 2 * t)
    return (envelope * np.sin(2 * np.pi * 440 * t)).astype(np.float32)


def add_video_stream(out: av.container.OutputContainer) -> av.video.stream.VideoStream:
    """Add the H.264 (libx264, yuv420p) video stream to ``out``."""
    stream = out.add_stream("libx264", rate=FPS)
    stream.width, stream.height, stream.pix_fmt = W, H, "yuv420p"
    stream.options = {"crf": VIDEO_CRF, "preset": VIDEO_PRESET, "g": str(2 * FPS)}
    return stream


def add_audio_stream(out: av.container.OutputContainer) -> av.audio.stream.AudioStream:
    """Add the mono AAC audio stream to ``out``."""
    stream = out.add_stream("aac", rate=SAMPLE_RATE, layout="mono")
    stream.bit_rate = 48_000
    return stream


def audio_frames(samples: np.ndarray, start: int, stop: int) -> list[av.AudioFrame]:
    """``samples[start:stop]`` as mono float AAC-sized frames, timestamped in samples."""
    frames = []
    for first in range(start, min(stop, len(samples)), AUDIO_FRAME):
        chunk = samples[None, first:min(first + AUDIO_FRAME, stop)]
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(chunk), format="fltp", layout="mono")
        frame.sample_rate, frame.pts, frame.time_base = SAMPLE_RATE, first, Fraction(1, SAMPLE_RATE)
        frames.append(frame)
    return frames


def write_clip(path: Path, person: np.ndarray, matte: np.ndarray) -> None:
    """Write the sample clip: H.264 video of the person over the room plus an AAC tone of equal length.

    Audio is encoded alongside the video (in whole AAC frames up to each video frame's end time) so the
    two streams are interleaved in the file.
    """
    backdrop = room()
    samples = tone(N_FRAMES * SAMPLE_RATE // FPS)
    audio_done = 0
    with av.open(str(path), "w", format="mp4", options={"movflags": "+faststart"}) as out:
        video, audio = add_video_stream(out), add_audio_stream(out)
        for i in range(N_FRAMES):
            canvas = backdrop.copy()
            composite(canvas, person, matte, *pose(i))
            frame = av.VideoFrame.from_ndarray(canvas, format="bgr24")
            frame.pts, frame.time_base = i, Fraction(1, FPS)
            out.mux(video.encode(frame))
            due = (i + 1) * SAMPLE_RATE // FPS
            due = len(samples) if i == N_FRAMES - 1 else due - due % AUDIO_FRAME
            for audio_frame in audio_frames(samples, audio_done, due):
                out.mux(audio.encode(audio_frame))
            audio_done = max(audio_done, due)
        out.mux(video.encode(None))
        out.mux(audio.encode(None))


def require(ok: bool, message: str) -> None:
    """Raise ``RuntimeError(message)`` unless ``ok`` (unlike ``assert``, survives ``python -O``)."""
    if not ok:
        raise RuntimeError(message)


def check_clip(path: Path) -> tuple[int, float, float]:
    """Decode the clip back and check frame count, size and audio; return (frames, video s, audio s)."""
    with av.open(str(path)) as src:
        require(len(src.streams.audio) == 1, f"{path}: expected one audio stream")
        sizes = [(frame.width, frame.height) for frame in src.decode(video=0)]
    require(len(sizes) == N_FRAMES, f"{path}: {len(sizes)} frames, expected {N_FRAMES}")
    require(set(sizes) == {(W, H)}, f"{path}: frame sizes {set(sizes)}, expected {(W, H)}")
    with av.open(str(path)) as src:
        n_samples = sum(frame.samples for frame in src.decode(audio=0))
    audio_seconds = n_samples / SAMPLE_RATE
    require(abs(audio_seconds - N_FRAMES / FPS) < 0.1, f"{path}: {audio_seconds:.3f} s of audio")
    return len(sizes), len(sizes) / FPS, audio_seconds


# ----------------------------------------------------------------------------------------------------------
# Entry point
# ----------------------------------------------------------------------------------------------------------


def write_jpeg(path: Path, image: np.ndarray, quality: int) -> None:
    """Write a BGR image as JPEG, raising if OpenCV fails."""
    if not cv2.imwrite(str(path), image, [cv2.IMWRITE_JPEG_QUALITY, quality]):
        raise OSError(f"could not write {path}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options: ``--out DIR``."""
    parser = argparse.ArgumentParser(description="Generate vbg's bundled sample media.")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent,
                        help="output folder (default: the folder of this script)")
    parser.add_argument("--masks", type=Path, help="also write the clip's true person alpha, one PNG per frame")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Write all sample files into ``--out`` and print their sizes."""
    args = parse_args(argv)
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    photo = astronaut_bgr()
    if args.masks:
        args.masks.mkdir(parents=True, exist_ok=True)
        matte = person_cutout(photo)[1]
        for i in range(N_FRAMES):
            cv2.imwrite(str(args.masks / f"truth_{i:03d}.png"), true_matte(matte, i))
    write_jpeg(out / "person.jpg", photo, PHOTO_QUALITY)
    write_jpeg(out / "background_beach.jpg", beach(), BACKGROUND_QUALITY)
    write_jpeg(out / "background_studio.jpg", studio(), BACKGROUND_QUALITY)
    clip = out / "person_720p.mp4"
    write_clip(clip, *person_cutout(photo))
    n_frames, video_s, audio_s = check_clip(clip)
    for name in ("person.jpg", "person_720p.mp4", "background_beach.jpg", "background_studio.jpg"):
        print(f"wrote {out / name}  ({(out / name).stat().st_size / 1024:.0f} KB)")
    print(f"clip: {n_frames} frames, {video_s:.2f} s video, {audio_s:.2f} s audio")


if __name__ == "__main__":
    main()
