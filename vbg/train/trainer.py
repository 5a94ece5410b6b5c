"""The fine-tuning loop: official U2NETP weights in, person weights out, with checkpoints and a score table.

The recipe follows what was measured on these machines (see docs/training.md):

- start from the official ``u2netp.pth`` (same architecture and key names, so the result drops into vbg);
- batch-norm statistics stay frozen (BN layers in eval mode; their scale and shift still learn). Small CPU
  batches give noisy statistics, and training them at a higher learning rate collapsed the model;
- AdamW, a short warm-up, cosine decay; the U^2-Net deep-supervision loss (binary cross-entropy on the fused
  map and all six side outputs) plus a soft-IoU term on the fused map;
- bf16 autocast where the CPU computes bf16 natively, fp32 otherwise; the loss itself is taken in fp32.

Checkpoints (``last.pt``, and ``best.pt`` by validation score) hold model, optimiser, scheduler and position,
written atomically, so ``--resume`` continues a run that a session's end or Ctrl-C cut short. ``weights.pth``
beside them is the best model as a plain state_dict with the official key names: what ``--weights`` and the
registry load.
"""

from __future__ import annotations

import csv
import math
from contextlib import contextmanager
import os
import time
from dataclasses import asdict
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from ..errors import VbgError
from ..pipeline.metrics import progress_interval
from ..model.devices import cpu_name
from ..model.u2net import U2NETP
from .config import TrainConfig, check_weights_file  # noqa: F401  (TrainConfig: where old checkpoints find it)
from .data import (BatchMaker, Pair, SampleRecipe, data_spec, find_pairs, follows, load_backgrounds, normalise,
                   photo_people, read_pair, split)
from .blend import average, blend
from .scoring import BAND_PX, SetScore, flicker, people_in, score
from .synthesis import GroupFrame, validation_sets


def cpu_has_bf16() -> bool:
    """AMX or AVX512-BF16: where bf16 autocast is fast. Elsewhere it is emulated and slower than fp32."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "amx_bf16" in flags or "avx512_bf16" in flags


def load_state(path: str | Path) -> dict[str, torch.Tensor]:
    """A U2NETP state_dict from a plain checkpoint or from one of this trainer's checkpoints."""
    path = check_weights_file(path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several kinds for a file that is not its own
        raise VbgError(f"{path} is not PyTorch weights ({type(exc).__name__}): give a U2NETP .pth") from None
    if isinstance(state, dict) and "model" in state and isinstance(state["model"], dict):
        state = state["model"]
    if not isinstance(state, dict) or state.keys() != U2NETP(3, 1).state_dict().keys():
        raise VbgError(f"{path} does not hold U2NETP weights: give the official u2netp.pth, the person weights "
                       "or a vbg train checkpoint")
    return state


def freeze_batchnorm(model: torch.nn.Module) -> None:
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.eval()


def far_from_outline(target: torch.Tensor, band: int = BAND_PX) -> torch.Tensor:
    """1 where a pixel is more than ``band`` pixels from the truth's outline, else 0: the truth grown and
    shrunk by max pooling, and the ring between them left out (a square ring, close to the round one that the
    ghost and hole metrics leave out)."""
    size = 2 * band + 1
    grown = F.max_pool2d(target, size, stride=1, padding=band)
    shrunk = -F.max_pool2d(-target, size, stride=1, padding=band)
    return 1 - (grown - shrunk)


def deep_supervision_loss(outputs: tuple[torch.Tensor, ...], target: torch.Tensor, iou_weight: float,
                          far_weight: float = 0.0) -> torch.Tensor:
    """BCE summed over the fused map and the six side outputs, plus ``iou_weight`` x soft IoU of the fused map.

    ``far_weight`` > 0 weighs the BCE of pixels away from the outline (1 + far_weight) times: there an error is
    a ghost or a hole that a viewer sees, while near the outline soft alpha is the edge and the truth itself
    is uncertain by a pixel or two."""
    outs = [o.float().clamp(1e-6, 1 - 1e-6) for o in outputs]
    weight = 1 + far_weight * far_from_outline(target) if far_weight else None
    loss = sum(F.binary_cross_entropy(o, target, weight=weight) for o in outs)
    fused = outs[0]
    inter = (fused * target).sum(dim=(1, 2, 3))
    union = (fused + target - fused * target).sum(dim=(1, 2, 3))
    return loss + iou_weight * (1 - (inter + 1) / (union + 1)).mean()


def predict(model: torch.nn.Module, image: np.ndarray, pixels: int) -> np.ndarray:
    """Fused person probability for a BGR photo, at model resolution (the photo's aspect, ``pixels`` pixels)."""
    from ..model.convert import InputSize

    size = InputSize.for_frame(image.shape[1], image.shape[0], pixels)
    small = cv2.resize(image, (size.width, size.height), interpolation=cv2.INTER_AREA)
    with torch.no_grad():
        out = model(torch.from_numpy(normalise(small))[None])[0]
    return out[0, 0].float().numpy()


@contextmanager
def inference_mode(model: torch.nn.Module):
    """The model in eval mode for a validation, then back in training mode with its batch-norm statistics
    still frozen (``freeze_batchnorm``) if it was training."""
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        if was_training:
            model.train()
            freeze_batchnorm(model)


def evaluate(model: torch.nn.Module, pairs: list[Pair], pixels: int, limit: int | None = None
             ) -> dict[str, SetScore]:
    """Scores per folder (group), in fp32; consecutive video frames also give the flicker."""
    groups: dict[str, list] = {}
    flickers: dict[str, list[float]] = {}
    before = None  # (pair, alpha, mask) of the previous image
    with inference_mode(model):
        for pair in pairs:
            if limit is not None and len(groups.get(pair.group, [])) >= limit:
                continue
            image, mask = read_pair(pair)
            alpha = predict(model, image, pixels)
            groups.setdefault(pair.group, []).append(score(alpha, mask, people_in(mask)))
            if before is not None and follows(pair, before[0]):
                flickers.setdefault(pair.group, []).append(flicker(alpha, before[1], mask, before[2]))
            before = pair, alpha, mask
    return {name: SetScore.of(s, flickers.get(name, [])) for name, s in sorted(groups.items())}


def evaluate_frames(model: torch.nn.Module, sets: dict[str, list[GroupFrame]], pixels: int) -> dict[str, SetScore]:
    """Scores of made frames (``validation_sets``: groups, with the people dropped, and crowds), in fp32."""
    with inference_mode(model):
        return {name: SetScore.of([score(predict(model, f.image, pixels), f.truth, f.people) for f in frames])
                for name, frames in sets.items()}


def selection_score(scores: dict[str, SetScore]) -> float:
    """What "best" means: the mean over the folders of each folder's score, so that a small full-body set
    weighs as much as the portraits (portrait-only gains that forget small people must not win).  A folder
    with people scores its mIoU; a folder with no person (every hole undefined) scores 1 - its mean ghost,
    the share of the frame left clean.  Made frames (groups, crowds) are reported beside it, not scored: what
    "best" means stays what it was for the shipped weights."""
    return float(np.mean([1 - s.ghost / 100 if np.isnan(s.hole) else s.miou for s in scores.values()]))


def atomic_save(obj, path: Path) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


class Trainer:
    """One fine-tuning run: ``Trainer(config).run()``; ``resume=True`` continues from ``out/last.pt``."""

    def __init__(self, config: TrainConfig, resume: bool = False) -> None:
        if not config.data:
            raise VbgError("no training data: pass --data DIR (a folder with images/ and masks/) at least once")
        self.config = config
        self.out = Path(config.out)
        self.out.mkdir(parents=True, exist_ok=True)
        torch.manual_seed(config.seed)
        self.train_pairs, self.val_pairs = [], []
        for spec in config.data:
            folder, repeat = data_spec(spec)
            train, val = split(find_pairs(folder), config.val_fraction)
            self.train_pairs += train * repeat  # validation pairs once: the scores stay comparable
            self.val_pairs += val
        self.scored_pairs = [pair for folder in config.score for pair in find_pairs(folder, "--score")]
        self.batches = BatchMaker(self.train_pairs, load_backgrounds(config.backgrounds), config.batch_size,
                                  config.seed, SampleRecipe(composite=config.composite, group=config.groups,
                                                            portrait_group=config.portrait_groups,
                                                            crowd=config.crowds, beside=config.beside),
                                  objects=config.objects)
        self.model = U2NETP(3, 1)
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
        self.steps_per_epoch = len(self.batches)
        self.total_steps = max(int(math.ceil(config.epochs * self.steps_per_epoch)), 1)
        if config.max_steps is not None:
            self.total_steps = min(self.total_steps, config.max_steps)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, self.lr_factor)
        self.step = 0
        self.best = -1.0
        self.history: list[dict] = []
        self.bf16 = {"on": True, "off": False}.get(config.bf16, cpu_has_bf16())
        if not 0.0 < config.blend <= 1.0:
            raise VbgError(f"--blend {config.blend}: use a share above 0 and at most 1 (1 = the trained weights)")
        if resume:
            self._resume()
        else:
            if config.init is None:
                raise VbgError("no starting weights: pass --init u2netp.pth (the official U2NETP weights)")
            self.model.load_state_dict(load_state(config.init), strict=True)
        self.start = load_state(config.init) if config.blend < 1 else None  # what --blend interpolates from
        self.others = [load_state(path) for path in config.average_with]  # what --average-with averages in
        self._made: dict[str, list[GroupFrame]] | None = None

    def lr_factor(self, step: int) -> float:
        if step < self.config.warmup_steps:
            return (step + 1) / self.config.warmup_steps
        progress = (step - self.config.warmup_steps) / max(self.total_steps - self.config.warmup_steps, 1)
        return 0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))

    # -- checkpoints -------------------------------------------------------------------------------------------
    def state(self) -> dict:
        return {"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(), "step": self.step, "best": self.best,
                "history": self.history, "config": asdict(self.config)}

    def _resume(self) -> None:
        path = self.out / "last.pt"
        if not path.is_file():
            raise VbgError(f"nothing to resume: {path} does not exist (start without --resume)")
        state = torch.load(path, map_location="cpu", weights_only=False)
        self.model.load_state_dict(state["model"], strict=True)
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.step, self.best, self.history = state["step"], state["best"], state["history"]
        if self.config.init is None:
            self.config.init = state["config"].get("init")

    def save(self) -> None:
        atomic_save(self.state(), self.out / "last.pt")

    # -- the loop ----------------------------------------------------------------------------------------------
    def train_step(self, images: torch.Tensor, masks: torch.Tensor) -> float:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16):
            outputs = self.model(images)
        loss = deep_supervision_loss(outputs, masks, self.config.iou_weight, self.config.far_weight)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.scheduler.step()
        self.step += 1
        return loss.item()

    @property
    def reshapes_weights(self) -> bool:
        """Whether ``weights.pth`` is more than the trained model (``--blend`` below 1 or ``--average-with``)."""
        return self.start is not None or bool(self.others)

    def shipped_model(self) -> torch.nn.Module:
        """The weights ``weights.pth`` would hold now: the trained model, or its mean with ``--average-with``'s
        weights, blended with the start by ``--blend``."""
        if not self.reshapes_weights:
            return self.model
        tuned = average([self.model.state_dict(), *self.others]) if self.others else self.model.state_dict()
        model = U2NETP(3, 1)
        model.load_state_dict(blend(self.start, tuned, self.config.blend) if self.start is not None else tuned)
        return model

    def made_frames(self) -> dict[str, list[GroupFrame]]:
        """The group and crowd frames of the held-out people (``--val-frames``), made once per run."""
        if self._made is None:
            count = self.config.val_frames
            count = min(count, self.config.val_limit) if self.config.val_limit is not None else count
            people = photo_people(self.val_pairs) if count and self.batches.backgrounds else {}
            self._made = validation_sets(people, self.batches.backgrounds, count)
        return self._made

    def validate(self) -> dict[str, SetScore]:
        """Score the held-out part of each folder (what "best" means), then the made group and crowd frames and
        the ``--score`` folders, which are reported beside it only."""
        shipped = self.shipped_model()
        scores = evaluate(shipped, self.val_pairs, self.config.val_pixels, self.config.val_limit)
        value = selection_score(scores)
        scores |= evaluate_frames(shipped, self.made_frames(), self.config.val_pixels)
        scored = evaluate(shipped, self.scored_pairs, self.config.val_pixels, self.config.val_limit)
        scores |= {f"{name} scored": s for name, s in scored.items()}
        row = {"step": self.step, "epoch": round(self.step / self.steps_per_epoch, 2), "score": value,
               "scores": {k: asdict(v) for k, v in scores.items()}}
        self.history.append(row)
        if value > self.best:
            self.best = value
            atomic_save(shipped.state_dict(), self.out / "weights.pth")
            atomic_save(self.state(), self.out / "best.pt")
        self.write_table()
        return scores

    def write_table(self) -> None:
        """``scores.csv`` and ``scores.md``: one row per validation and folder (ghost: % of the frame; hole: %
        of the person; seen: images with a visible ghost or hole; flicker: % of the frame per frame on
        consecutive video frames; dropped: people of the group frames left out, of those counted; older
        checkpoints' rows lack the newer columns)."""
        with open(self.out / "scores.csv", "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["step", "epoch", "set", "n", "miou", "under_0.8", "boundary_f", "mae", "ghost_pct",
                        "hole_pct", "visible", "flicker_pct", "dropped"])
            for row in self.history:
                for name, s in row["scores"].items():
                    w.writerow([row["step"], row["epoch"], name, s["count"], f"{s['miou']:.4f}", s["under_08"],
                                f"{s['boundary_f']:.4f}", f"{s['mae']:.4f}", f"{s.get('ghost', float('nan')):.3f}",
                                f"{s.get('hole', float('nan')):.3f}", s.get("visible", ""),
                                f"{s.get('flicker', float('nan')):.3f}", SetScore(**s).dropped_text])
        lines = ["| step | epoch | set | n | mIoU | < 0.8 | boundary F | MAE | ghost % | hole % | seen | flicker % | "
                 "dropped |", "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for row in self.history:
            for name, s in row["scores"].items():
                lines.append(f"| {row['step']} | {row['epoch']} | {name} | {s['count']} | {s['miou']:.4f} | "
                             f"{s['under_08']} | {s['boundary_f']:.4f} | {s['mae']:.4f} | "
                             f"{s.get('ghost', float('nan')):.3f} | {s.get('hole', float('nan')):.3f} | "
                             f"{s.get('visible', '')} | {s.get('flicker', float('nan')):.3f} | {SetScore(**s).dropped_text} |")
        (self.out / "scores.md").write_text("\n".join(lines) + "\n")

    def report(self, scores: dict[str, SetScore]) -> None:
        tqdm.write(f"step {self.step}  {'set':>14} {SetScore.HEADER}")
        for name, s in scores.items():
            tqdm.write(f"{'':>{len(str(self.step)) + 6}}{name:>14} {s.row()}")

    def run(self) -> Path:
        """Train until the configured epochs/steps/minutes; returns the best weights' path."""
        torch.set_num_threads(max(os.cpu_count() or 1, 1))
        print(f"vbg train: {len(self.train_pairs)} training / {len(self.val_pairs)} validation images, "
              f"{self.steps_per_epoch} steps per epoch, {self.total_steps} steps, "
              f"{'bf16 autocast' if self.bf16 else 'fp32'} on {cpu_name()}")
        if not self.history:  # the starting point, for the table
            self.report(self.validate())
        elif self.step >= self.total_steps and self.reshapes_weights:
            # a finished run resumed with --blend or --average-with: score those weights and write them
            self.best = -1.0
            self.report(self.validate())
        started = time.monotonic()
        self.model.train()
        freeze_batchnorm(self.model)
        bar = tqdm(total=self.total_steps, initial=self.step, desc="training", unit="step",
                   mininterval=progress_interval(terminal=1.0))
        try:
            while self.step < self.total_steps:
                epoch, first = divmod(self.step, self.steps_per_epoch)
                self.batches.epoch = epoch
                loader = prefetched(self.batches, range(first, self.steps_per_epoch), self.config.workers)
                for images, masks in loader:
                    loss = self.train_step(torch.as_tensor(images), torch.as_tensor(masks))
                    bar.update(1)
                    bar.set_postfix(loss=f"{loss:.3f}", lr=f"{self.scheduler.get_last_lr()[0]:.1e}", refresh=False)
                    end_of_epoch = self.step % self.steps_per_epoch == 0
                    out_of_time = (self.config.minutes is not None
                                   and time.monotonic() - started > self.config.minutes * 60)
                    if self.step % self.config.checkpoint_every == 0 or end_of_epoch or out_of_time:
                        self.save()
                    if end_of_epoch or self.step >= self.total_steps:
                        self.report(self.validate())
                        self.save()
                    if self.step >= self.total_steps or out_of_time or end_of_epoch:
                        break
                if out_of_time:
                    break
        except KeyboardInterrupt:
            self.save()
            raise
        finally:
            bar.close()
        return self.out / "weights.pth"


def prefetched(batches: BatchMaker, indices: range, ahead: int):
    """Batches in order, built ``ahead`` at a time on threads while the model trains.

    Threads, not DataLoader processes: forking after torch's OpenMP pool has run deadlocks, and OpenCV and
    numpy release the GIL for the heavy parts of building a sample."""
    from concurrent.futures import ThreadPoolExecutor

    if ahead <= 0:
        yield from (batches[i] for i in indices)
        return
    with ThreadPoolExecutor(ahead) as pool:
        pending = [pool.submit(batches.__getitem__, i) for i in indices[:ahead + 1]]
        for n in range(len(indices)):
            yield pending[n].result()
            pending[n] = None
            if n + ahead + 1 < len(indices):
                pending.append(pool.submit(batches.__getitem__, indices[n + ahead + 1]))
