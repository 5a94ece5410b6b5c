"""Person accuracy against model speed: official vs person weights at each size and precision.

For each configuration (model:size:precision:resize) it prints one row with
- the held-out validation images of each person folder (the split ``vbg train`` holds out, by file-name hash),
  segmented the way ``vbg image`` does it (OpenVINO IR with folded preprocessing, default refinement), scored
  at the photo's resolution: mIoU, images under IoU 0.8, boundary F at 2 px, MAE;
- frames made of the held-out people (``--val-frames``: 40 of each kind per photo folder, as ``vbg train``
  validates), pasted onto the backgrounds as ``vbg train --groups`` and ``--crowds`` paste them: groups of two
  or three people, all of them the truth, with how many people the matte drops (keeps less than half of away
  from the outline: ``dropped_people``); a subject in front of a crowd of small people, only the subject the
  truth;
- video flicker, for a folder of consecutive video frames (``<clip>_NNNNN``): the alpha change from frame to frame
  beyond the truth's own change, as % of the frame (``vbg.train.scoring.flicker``);
- flicker: the mean alpha change per frame on a still 640x360 scene with sensor noise (sigma 6), with vbg's
  default refinement and temporal smoothing (``bench_composite.py``'s measure);
- the model's async throughput on 1280x720 frames (THROUGHPUT hint, the device's optimal number of requests),
  for the input size that the configuration gives a 720p frame.

``auto`` sizes follow each frame's aspect, so a portrait photo and a 720p frame get different input shapes
(224x288 and 320x192 at ``auto``): one IR each, both built and cached.  Photos are sized as ``vbg image``
sizes them, the 720p frames and the flicker scene as ``vbg run`` sizes video (``auto``: at most the budget).

Run: ``.venv/bin/python benchmarks/bench_person.py`` (the data defaults to ``../shared/persons``). ``--figure``
also writes the before/after picture of the sample clip. Compare rows of one run, not numbers across runs.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vbg.model.convert import resolve_size  # noqa: E402
from vbg.compose.refine import MaskRefiner, RefineConfig  # noqa: E402
from vbg.model.segmenter import Segmenter, SegmenterConfig  # noqa: E402
from vbg.train.data import find_pairs, follows, load_backgrounds, photo_people, read_pair, split  # noqa: E402
from vbg.train.scoring import ImageScore, SetScore, people_in, score  # noqa: E402
from vbg.train.scoring import flicker as video_flicker  # noqa: E402
from vbg.train.synthesis import validation_sets  # noqa: E402
from vbg.model.devices import cpu_name  # noqa: E402
from bench_model import async_fps  # noqa: E402  (this folder is on sys.path when run as a script)

PERSONS = ROOT.parent / "shared" / "persons"
DEFAULT_CONFIGS = (  # docs/person-model.md table
    "u2net_lite:256:int8:fast", "u2net_lite:auto:int8:fast", "u2net_lite:320:fp32:antialias",
    "u2netp_person:256:int8:fast", "u2netp_person:auto:int8:fast", "u2netp_person:auto:bf16:antialias",
    "u2netp_person:auto:fp32:antialias", "u2netp_person:auto:224:int8:fast", "u2netp_person:auto:288:int8:fast",
    "u2netp_person:auto:320:bf16:antialias",
)
FRAME_720P = (1280, 720)
VIDEO_FPS = 30.0  # the rate the video rows are sized for (fixed precisions: nothing is timed for it)
#: The full-body truth (CCP) sets carried bags, purses and wallets to background (its README), while vbg keeps
#: what a person holds or wears as the person.  These validation photos, chosen by eye, show the subject with
#: nothing carried: on them the truth and vbg's rule agree.  Scored as an extra set beside the whole folder.
NOTHING_CARRIED = {"ccp_fullbody": frozenset(f"ccp_{n}" for n in (
    "0028 0104 0159 0180 0200 0268 0277 0409 0458 0460 0477 0480 0488 0489 0550 0618 0652 0726 0756 0775 0817 "
    "0832 0849 0916 0966").split())}


def parse_config(text: str) -> dict:
    """``model:size:precision:resize``; a size may itself be ``auto:N``."""
    parts = text.split(":")
    if len(parts) == 5:
        parts = [parts[0], f"{parts[1]}:{parts[2]}", parts[3], parts[4]]
    model, size, precision, resize = parts
    return dict(model=model, size=size, precision=precision, resize=resize)


class ConfigScorer:
    """One configuration: a Segmenter per input size that its frames need, built on first use."""

    def __init__(self, settings: dict, cache_dir: str | None, hint: str = "LATENCY", ramp: str = "64,192") -> None:
        self.settings = settings
        self.cache_dir = cache_dir
        self.hint = hint
        self.refine = RefineConfig.from_settings(ramp=ramp)
        self.segmenters: dict[str, Segmenter] = {}

    def segmenter(self, frame: tuple[int, int], hint: str | None = None, video: bool = False) -> Segmenter:
        """``video``: sized as ``vbg run`` sizes a clip's frames (``auto`` at most the budget), else as
        ``vbg image`` sizes a photo."""
        size = resolve_size(self.settings["size"], frame, video=video)
        key = f"{size}-{hint or self.hint}"
        if key not in self.segmenters:
            self.segmenters[key] = Segmenter(SegmenterConfig(
                **self.settings, frame=frame, cache_dir=self.cache_dir, performance_hint=hint or self.hint,
                target_fps=VIDEO_FPS if video else None))
        return self.segmenters[key]

    def alpha(self, image: np.ndarray, video: bool = False) -> np.ndarray:
        segmenter = self.segmenter((image.shape[1], image.shape[0]), video=video)
        return MaskRefiner(self.refine).refine(image, segmenter.infer(image))


def still_noisy_scene() -> list[np.ndarray]:
    """20 frames of one still 640x360 picture of a person with independent noise (bench_composite's scene)."""
    base = cv2.resize(cv2.imread(str(ROOT / "samples" / "person.jpg")), (640, 640))[140:500].astype(np.int16)
    rng = np.random.default_rng(1)
    return [np.clip(base + rng.normal(0, 6, base.shape).round(), 0, 255).astype(np.uint8) for _ in range(20)]


def flicker(scorer: ConfigScorer, frames: list[np.ndarray]) -> float:
    segmenter = scorer.segmenter((frames[0].shape[1], frames[0].shape[0]), video=True)
    refiner = MaskRefiner(scorer.refine)
    alphas = [refiner.refine(f, segmenter.infer(f)).astype(np.int16) for f in frames]
    return float(np.mean([np.abs(alphas[i] - alphas[i - 1]).mean() for i in range(1, len(alphas))]))


def score_images(scorer: ConfigScorer, pairs: list, items: list) -> tuple[list[ImageScore], list[float]]:
    """A folder's scores, image by image (a subset of the folder is summed up from them, not segmented again),
    and the flicker of its consecutive video frames (each frame segmented on its own, as a photo: no temporal
    smoothing)."""
    alphas = [scorer.alpha(img) for img, _ in items]
    flickers = [video_flicker(alphas[i], alphas[i - 1], items[i][1], items[i - 1][1])
                for i in range(1, len(items)) if follows(pairs[i], pairs[i - 1])]
    return [score(a, mask, people_in(mask)) for a, (_, mask) in zip(alphas, items)], flickers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", action="append", help="person folders (default: ../shared/persons/eg1800_train "
                                                        "and ccp_fullbody)")
    parser.add_argument("--val-fraction", type=float, default=0.1, help="as vbg train's (default %(default)s)")
    parser.add_argument("--configs", default=",".join(DEFAULT_CONFIGS), help="model:size:precision:resize,...")
    parser.add_argument("--limit", type=int, help="at most this many validation images per folder")
    parser.add_argument("--seconds", type=float, default=4.0, help="async run per row")
    parser.add_argument("--cache-dir")
    parser.add_argument("--weights", help="u2netp_person rows: these weights instead of the bundled ones")
    parser.add_argument("--ramps", default="64,192", help="refinement ramps to score, ';'-separated (LOW,HIGH or off)")
    parser.add_argument("--val-frames", type=int, default=40,
                        help="group and crowd frames made per photo folder (0: none)")
    parser.add_argument("--backgrounds", default=str(PERSONS / "backgrounds"), help="for the group and crowd frames")
    parser.add_argument("--json", default="out/bench_person.json")
    parser.add_argument("--figure", help="also write the before/after figure of the sample clip here")
    args = parser.parse_args()

    folders = args.data or [str(PERSONS / "eg1800_train"), str(PERSONS / "ccp_fullbody")]
    _, val = split([p for f in folders for p in find_pairs(f)], args.val_fraction)
    groups: dict[str, list] = {}
    for pair in val:
        if args.limit is None or len(groups.get(pair.group, [])) < args.limit:
            groups.setdefault(pair.group, []).append(pair)
    subsets = {f"{folder} nothing carried": (folder, [p.image.stem in stems for p in groups[folder]])
               for folder, stems in NOTHING_CARRIED.items() if folder in groups}  # the folder, which of its images
    loaded = {g: [read_pair(p) for p in pairs] for g, pairs in groups.items()}
    still = still_noisy_scene()
    frame720 = cv2.resize(cv2.imread(str(ROOT / "samples" / "person.jpg")), FRAME_720P)
    backgrounds = load_backgrounds(args.backgrounds) if args.val_frames else []
    people = photo_people([p for g in groups for p in groups[g]], [item for g in groups for item in loaded[g]])
    made = validation_sets(people, backgrounds, args.val_frames)

    counts = ({g: len(v) for g, v in loaded.items()} | {name: sum(kept) for name, (_, kept) in subsets.items()}
              | {name: len(frames) for name, frames in made.items()})
    print(f"CPU: {cpu_name()}; validation: " + ", ".join(f"{g} {n}" for g, n in counts.items()) + "\n")
    names = list(counts)
    header = ("| model | size | precision | resize, ramp | " + " | ".join(
        f"{g} mIoU | {g} <0.8 | {g} bndF | {g} MAE | {g} ghost % | {g} hole % | {g} seen | {g} video flicker % | "
        f"{g} people dropped"
        for g in names)
        + " | flicker | 720p input | model fps 720p |")
    print(header)
    print("|---" * (header.count("|") - 1) + "|", flush=True)
    rows = []
    runs = [(text, ramp) for text in args.configs.split(",") for ramp in args.ramps.split(";")]
    for text, ramp in runs:
        settings = parse_config(text)
        if args.weights and settings["model"] == "u2netp_person":
            settings["weights"] = args.weights
        scorer = ConfigScorer(settings, args.cache_dir, ramp=ramp)
        scored = {g: score_images(scorer, groups[g], items) for g, items in loaded.items()}
        sets = {g: SetScore.of(*s) for g, s in scored.items()}
        for name, (folder, kept) in subsets.items():
            sets[name] = SetScore.of([s for s, k in zip(scored[folder][0], kept) if k])
        for name, frames in made.items():
            sets[name] = SetScore.of([score(scorer.alpha(f.image), f.truth, f.people) for f in frames])
        jitter = flicker(scorer, still)
        throughput = scorer.segmenter(FRAME_720P, "THROUGHPUT", video=True)
        fps, _ = async_fps(throughput, frame720, args.seconds)
        row = {**settings, "ramp": ramp, "sets": {g: s.__dict__ for g, s in sets.items()}, "size_720p": str(throughput.size),
               "fps_720p": fps, "flicker": jitter, "cpu": cpu_name()}
        rows.append(row)
        cells = " | ".join(f"{s.miou:.4f} | {s.under_08} | {s.boundary_f:.4f} | {s.mae:.4f} | {s.ghost:.2f} | "
                           f"{s.hole:.2f} | {s.visible} | {s.flicker:.2f} | "
                           f"{s.dropped_text}" for s in sets.values())
        print(f"| {settings['model']} | {settings['size']} | {settings['precision']} | {settings['resize']} {ramp} | "
              f"{cells} | {jitter:.2f} | {throughput.size} | {fps:.1f} |", flush=True)
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(rows, indent=2))
    if args.figure:
        before_after(args.figure, args.cache_dir)


def before_after(path: str, cache_dir: str | None) -> None:
    """Three frames of the sample clip on the beach background: official weights above, person weights below."""
    from vbg.compose.compositing import build_compositor
    from vbg.media.sources import open_source

    frames = [f.image for f in open_source(str(ROOT / "samples" / "person_720p.mp4"))]
    picks = [frames[i] for i in (10, 60, 110)]
    rows = []
    for model in ("u2net_lite", "u2netp_person"):
        scorer = ConfigScorer(dict(model=model, size="auto", precision="int8", resize="fast"), cache_dir)
        compositor = build_compositor([str(ROOT / "samples" / "background_beach.jpg")], None, None, False, "cover")
        tiles = []
        for frame in picks:
            out = compositor.compose(frame, scorer.alpha(frame, video=True))
            tile = cv2.resize(out, (480, 270), interpolation=cv2.INTER_AREA)
            cv2.putText(tile, model, (8, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (255, 255, 255), 2, cv2.LINE_AA)
            tiles.append(tile)
        rows.append(np.concatenate(tiles, axis=1))
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(path, np.concatenate(rows, axis=0))
    print(f"figure: {path}")


if __name__ == "__main__":
    main()
