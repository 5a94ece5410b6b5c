"""Single-image background replacement: ``vbg image``'s work on one picture (``StillProcessor``, and
``process_image``, the one call of the Python API that gives exactly what ``vbg image`` writes), its job
planning, and the original | mask | result figure."""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .compose.compositing import Compositor
from .config import RunConfig
from .errors import VbgError
from .outputs import check_outputs, check_writable, existing_folder, refuse_existing
from .media.imageio import check_output_path, write_atomic
from .compose.refine import MaskRefiner
from .model.segmenter import Segmenter


@dataclass
class StillResult:
    """The matte, the composited picture, what inference cost and which model made them."""

    alpha: np.ndarray  # uint8 HxW, the refined matte (255 = person): what --mask-out writes
    result: np.ndarray  # BGR (or BGRA when transparent)
    inference_ms: float
    model: str = ""  # e.g. "u2netp_person CPU bf16 (auto) 256x256"


def replace_background(image: np.ndarray, segmenter: Segmenter, compositor: Compositor,
                       refiner: MaskRefiner | None = None) -> StillResult:
    """Segment ``image`` (BGR uint8), refine the matte (default settings unless ``refiner`` is given) and
    composite it onto the compositor's current background."""
    refiner = refiner or MaskRefiner()
    alpha = refiner.refine(image, segmenter.infer(image))
    return StillResult(alpha, compositor.compose(image, alpha), segmenter.last_latency_ms, segmenter.describe())


#: ``vbg image``'s flags that are run settings (``RunConfig`` keys): what ``process_image`` accepts.
IMAGE_SETTINGS = ("model", "device", "size", "precision", "resize", "weights", "cache_dir", "calibration",
                  "background", "color", "blur", "transparent", "fit", "refine", "ramp", "guided", "feather")
#: Model settings whose default for a still is the model's own (``SegmenterConfig``: antialias resize, the most
#: accurate), not a video run's (``RunConfig``: fast resize).  ``vbg image``'s flags show the same defaults.
STILL_MODEL_DEFAULTS = ("model", "device", "size", "precision", "resize")


def image_config(**settings) -> RunConfig:
    """``vbg image``'s settings: its defaults with ``settings`` (``IMAGE_SETTINGS`` keys) over them, checked like
    a preset, so the command and ``process_image`` cannot drift apart."""
    from .config import make_config
    from .model.settings import SegmenterConfig

    unknown = sorted(set(settings) - set(IMAGE_SETTINGS))
    if unknown:
        raise VbgError(f"unknown image setting {', '.join(map(repr, unknown))}: choose from "
                       f"{', '.join(IMAGE_SETTINGS)}")
    defaults = {key: getattr(SegmenterConfig, key) for key in STILL_MODEL_DEFAULTS}
    return make_config(None, **{**defaults, **settings})


class StillProcessor:
    """``vbg image``'s work on each picture: segment, refine the matte (a fresh refiner per picture: no temporal
    state carries over between photos), composite.  ``--size auto`` gives portrait and landscape pictures
    different input shapes. On the CPU one compiled model runs them all (``SegmenterConfig.any_size``); other
    devices get one compiled model per shape. Each new shape is warmed up once (its first call includes
    one-off allocations and kernels, which would otherwise count in ``inference_ms``)."""

    def __init__(self, config: RunConfig) -> None:
        from .app import compositor_for

        self.config = config
        self.compositor = compositor_for(config)
        self._segmenters: dict[str, Segmenter] = {}  # input size -> model; "any" -> the model of every size
        self._warm: set[str] = set()

    @classmethod
    def from_settings(cls, **settings) -> "StillProcessor":
        """``vbg image``'s flags as keywords (``background="beach.jpg"``), over its defaults."""
        return cls(image_config(**settings))

    def segmenter(self, image: np.ndarray) -> Segmenter:
        from .app import image_segmenter_config
        from .model.convert import resolve_size

        frame = (image.shape[1], image.shape[0])
        size = str(resolve_size(self.config.size, frame))
        segmenter = self._segmenters.get("any") or self._segmenters.get(size)
        if segmenter is None:
            segmenter = Segmenter(image_segmenter_config(self.config, frame))
            self._segmenters["any" if segmenter.any_size else size] = segmenter
        if size not in self._warm:
            segmenter.infer(image)
            self._warm.add(size)
        return segmenter

    def process(self, image: np.ndarray) -> StillResult:
        from .app import build_refiner

        segmenter = self.segmenter(image)
        self.compositor.announce()  # once, now that the model is ready
        return replace_background(image, segmenter, self.compositor, build_refiner(self.config))

    def close(self) -> None:
        self.compositor.close()

    def __enter__(self) -> "StillProcessor":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def process_image(image: np.ndarray | str | os.PathLike[str], **settings) -> StillResult:
    """Exactly what ``vbg image`` makes of one picture, in one call: the refined matte (``.alpha``, what
    ``--mask-out`` writes) and the composite (``.result``).  ``image`` is a path or a BGR uint8 array;
    ``settings`` are ``vbg image``'s flags with underscores (``background="beach.jpg"``, ``transparent=True``,
    ``precision="fp32"``; see ``IMAGE_SETTINGS``).  ``Segmenter.segment`` gives the model's raw matte instead,
    without the refinement that keeps limbs solid.  For many pictures, keep one ``StillProcessor``
    (``StillProcessor.from_settings(**settings)``): it keeps the compiled model."""
    from .media.imageio import read_image

    picture = image if isinstance(image, np.ndarray) else read_image(image)
    with StillProcessor.from_settings(**settings) as processor:
        return processor.process(picture)


def save_figure(path: str | Path, image: np.ndarray, result: StillResult, title: str = "") -> Path:
    """A three-panel figure (original | mask | result), written atomically.  Constrained layout keeps the
    title clear of the panel labels (``tight_layout`` ignores a suptitle)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    p = check_output_path(path, (".png", ".jpg", ".jpeg", ".pdf", ".svg"))
    composite = result.result
    panels = [("original", image[..., ::-1]), ("mask", result.alpha),
              ("result", composite[..., [2, 1, 0, 3]] if composite.shape[2] == 4 else composite[..., ::-1])]
    fig, axes = plt.subplots(1, 3, figsize=(15, 5.6), layout="constrained")
    for ax, (label, picture) in zip(axes, panels):
        ax.imshow(picture, cmap="gray" if picture.ndim == 2 else None, vmin=0, vmax=255)
        ax.set_title(label)
        ax.axis("off")
    fig.suptitle(title or f"inference {result.inference_ms:.1f} ms")
    buf = io.BytesIO()
    fig.savefig(buf, format=p.suffix.lstrip(".").replace("jpg", "jpeg"), dpi=80)
    plt.close(fig)
    write_atomic(p, buf.getvalue())
    return p


@dataclass(frozen=True)
class ImageJob:
    """One input image and where its result (and optional matte and figure) go."""

    input: Path
    output: Path
    mask_out: Path | None = None
    figure_out: Path | None = None


def plan_image_jobs(inputs: list[str], output: str, mask_out: str | None = None, figure_out: str | None = None,
                    transparent: bool = False, overwrite: bool = False) -> list[ImageJob]:
    """What ``vbg image`` will write, checked before any model work.

    One input file: ``output`` (and the others) are file names. Several inputs, or a folder: they are folders
    (created if missing) and each result keeps the input's name (``.png`` for transparent results; mattes and
    figures are ``.png``). No output may be an input file."""
    from .media.imageio import IMAGE_EXTENSIONS

    paths = [Path(p) for p in inputs]
    single = len(paths) == 1 and not paths[0].is_dir()
    into_folder = single and output.endswith(("/", os.sep))  # a trailing slash means a folder (made if missing)
    if into_folder:
        check_writable(existing_folder(Path(output)), Path(output))
        output = str(Path(output) / (paths[0].stem + ".png" if transparent else paths[0].name))
    if not single and Path(output).suffix.lower() in IMAGE_EXTENSIONS and not Path(output).is_dir():
        raise VbgError(f"-o {output} names one image, but {len(paths)} inputs or a folder give several: give an "
                       f"output folder (e.g. -o out/)")
    if single:
        jobs = [ImageJob(paths[0], Path(output), Path(mask_out) if mask_out else None,
                         Path(figure_out) if figure_out else None)]
        if not into_folder:
            check_output_path(jobs[0].output)
        if transparent and jobs[0].output.suffix.lower() in (".jpg", ".jpeg", ".bmp"):
            raise VbgError(f"{jobs[0].output.suffix} cannot store transparency: write the --transparent result "
                           f"as .png, .webp or .tiff")
        if jobs[0].mask_out:
            check_output_path(jobs[0].mask_out)
        if jobs[0].figure_out:
            check_output_path(jobs[0].figure_out, (".png", ".jpg", ".jpeg", ".pdf", ".svg"))
    else:
        files: list[Path] = []
        for path in paths:
            if path.is_dir():
                found = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
                if not found:
                    raise VbgError(f"folder {path} has no images ({', '.join(IMAGE_EXTENSIONS)})")
                files.extend(found)
            else:
                files.append(path)  # a missing or bad file fails on its own later, without stopping the rest
        folders = {"-o": Path(output), "--mask-out": mask_out and Path(mask_out),
                   "--figure-out": figure_out and Path(figure_out)}
        for flag, folder in folders.items():
            if folder is not None and folder.exists() and not folder.is_dir():
                raise VbgError(f"{flag} {folder} is a file: with several images or a folder, give an output folder")
            if folder is not None:
                check_writable(existing_folder(folder), folder)
        names = [f.stem + ".png" if transparent else f.name for f in files]
        jobs = [ImageJob(f, folders["-o"] / name,
                         folders["--mask-out"] / f"{f.stem}.png" if folders["--mask-out"] else None,
                         folders["--figure-out"] / f"{f.stem}.png" if folders["--figure-out"] else None)
                for f, name in zip(files, names)]
    check_outputs([(j.input, [o for o in (j.output, j.mask_out, j.figure_out) if o]) for j in jobs],
                  "process them in separate runs")
    refuse_existing([o for j in jobs for o in (j.output, j.mask_out, j.figure_out) if o], overwrite)
    return jobs
