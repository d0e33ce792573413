"""Training TSFmicro on prepared onset/apex crops, cross-validation by subject, and the final model.

The recipe (:class:`Recipe`) defaults to the published one: cross-entropy, AdamW lr 8e-4, weight decay 0.6
(0.7 for SAMM 3-class), exponential LR decay γ 0.987 during the first 50 epochs, batch 32, 200 epochs,
the same random horizontal flip / ±3° rotation / crop-224-with-padding-15 on both frames of a pair, and the
onset/apex jitter (training only). Options beside it (off by default): a zoom jitter and a photometric jitter
(contrast, brightness, gamma, colour cast), each the same on both frames of a pair. Evaluation always uses the annotated onset and apex.

:func:`cross_validate` writes one result file per fold (atomically), so an interrupted run resumes at the
next unfinished fold; the pooled metrics are written when all folds are done.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Sequence

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from tsfgui.model import TSFmicro, TSFmicroConfig, crops_to_tensor, save_model, select_device
from tsfgui.train.datasets import Dataset
from tsfgui.train.metrics import POOLED_NOTE, atomic_write_json, compute_metrics, write_reports
from tsfgui.train.preprocess import CropCache, PairCrops
from tsfgui.train.protocol import Fold, carve_validation, holdout_split, kfold_folds, loso_folds

log = logging.getLogger(__name__)


@dataclass
class Recipe:
    """Every training knob; defaults as published (Liu et al., TSFmicro)."""

    epochs: int = 200
    batch_size: int = 32
    lr: float = 8e-4
    weight_decay: float | None = None     # None: 0.6, or 0.7 for SAMM in 3 classes
    gamma: float = 0.987
    decay_epochs: int = 50
    hflip: float = 0.5
    rotate_deg: float = 3.0
    crop_padding: int = 15                # at 224 px; scaled to the model's input size
    jitter: int = 2                       # frames; 0 (and no jitter_fraction) switches the jitter off
    jitter_fraction: float = 0.0          # the authors' window: this fraction of the onset–apex distance
    scale_jitter: float = 0.0             # >0: zoom by a factor in [1 − s, 1 + s], the same on both frames
    photometric: float = 0.0              # >0: per-pair contrast/brightness/gamma/colour jitter of this strength
    patience: int = 0                     # 0: fixed epoch budget; >0: early stopping on validation UF1
    val_subjects: int = 0                 # training subjects carved out for validation (with patience)
    seed: int = 0
    device: str | None = None
    label_smoothing: float = 0.0
    report_best_epoch: bool = False       # also score the test fold every epoch (the optimistic figure)
    precise_bn: bool = True               # BatchNorm statistics re-estimated on the training pairs before any use
    average_epochs: int = 0               # >0: the weights averaged over the last N epochs (SWA), without early stopping

    def effective_weight_decay(self, dataset: str, scheme: str) -> float:
        if self.weight_decay is not None:
            return self.weight_decay
        return 0.7 if dataset == "samm" and scheme == "megc3" else 0.6

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


MODEL_SIZES = ("full", "small", "tiny")


def model_config(scheme: str, size: str = "full", img_size: int | None = None) -> TSFmicroConfig:
    """``full``: the paper's network (224 px); ``small``: the tiny structure with wide late stages (embed dims
    8/16/64/128, 0.8 M parameters, default 96 px), about 1.2× the tiny network's training cost on a CPU;
    ``tiny``: ``TSFmicroConfig.tiny`` (default 32 px) for quick runs."""
    if size == "full":
        return TSFmicroConfig(label_scheme=scheme, img_size=img_size or 224)
    if size == "small":
        return TSFmicroConfig.tiny(label_scheme=scheme, img_size=img_size or 96, embed_dims=(8, 16, 64, 128),
                                   spatial_heads=4, head_hidden=256)
    if size == "tiny":
        return TSFmicroConfig.tiny(label_scheme=scheme, img_size=img_size or 32)
    raise ValueError(f"model size must be one of {', '.join(MODEL_SIZES)}, got {size!r}")


# in-memory training set ------------------------------------------------------------------------------------

class PairSet:
    """Crops resized to the model input, with the jitter candidates' difference scores precomputed."""

    def __init__(self, pairs: Sequence[PairCrops], img_size: int):
        self.pairs = list(pairs)
        self.labels = np.array([p.sample.label for p in self.pairs], dtype=np.int64)
        interp = cv2.INTER_AREA
        self.onsets = [np.stack([_resize(c, img_size, interp) for c in p.onset_crops]) for p in self.pairs]
        self.apexes = [np.stack([_resize(c, img_size, interp) for c in p.apex_crops]) for p in self.pairs]
        self.onset_pos = [p.onset_pos for p in self.pairs]
        self.apex_pos = [p.apex_pos for p in self.pairs]
        # diff[i][a, b]: mean |apex_b − onset_a| (for "re-pick the pair of largest difference")
        self.diff = [np.abs(a[None].astype(np.float32) - o[:, None].astype(np.float32)).mean(axis=(2, 3, 4))
                     for o, a in zip(self.onsets, self.apexes)]

    def __len__(self) -> int:
        return len(self.pairs)

    def batch(self, idx: Sequence[int], rng: np.random.Generator | None) -> tuple[np.ndarray, np.ndarray]:
        """(onset, apex) uint8 stacks; with ``rng`` the onset is re-drawn in its window and the apex re-picked
        as the frame of largest difference from it (training jitter)."""
        on, ap = [], []
        for i in idx:
            if rng is None or self.diff[i].size == 1:
                a, b = self.onset_pos[i], self.apex_pos[i]
            else:
                a = int(rng.integers(len(self.onsets[i])))
                b = int(np.argmax(self.diff[i][a]))
            on.append(self.onsets[i][a])
            ap.append(self.apexes[i][b])
        return np.stack(on), np.stack(ap)


def _resize(crop: np.ndarray, size: int, interp: int) -> np.ndarray:
    return crop if crop.shape[0] == size else cv2.resize(crop, (size, size), interpolation=interp)


def augment(onset: torch.Tensor, apex: torch.Tensor, recipe: Recipe, gen: torch.Generator,
            base_size: int = 224) -> tuple[torch.Tensor, torch.Tensor]:
    """The same random flip, rotation and padded crop (as a translation) applied to both frames of each pair."""
    n, _, h, w = onset.shape
    dev = onset.device
    flip = (torch.rand(n, generator=gen) < recipe.hflip).float() * -2 + 1
    angle = (torch.rand(n, generator=gen) * 2 - 1) * math.radians(recipe.rotate_deg)
    pad = recipe.crop_padding * h / base_size
    shift = (torch.randint(-round(pad), round(pad) + 1, (n, 2), generator=gen).float() if pad >= 0.5
             else torch.zeros(n, 2))
    cos, sin = torch.cos(angle), torch.sin(angle)
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0] = cos * flip
    theta[:, 0, 1] = -sin
    theta[:, 1, 0] = sin * flip
    theta[:, 1, 1] = cos
    if recipe.scale_jitter > 0:           # drawn only when asked, so the default recipe's draws are unchanged
        zoom = 1 + (torch.rand(n, generator=gen) * 2 - 1) * recipe.scale_jitter
        theta[:, :, :2] /= zoom[:, None, None]
    theta[:, 0, 2] = shift[:, 0] * 2 / w
    theta[:, 1, 2] = shift[:, 1] * 2 / h
    theta = theta.to(dev, onset.dtype)
    both = torch.cat([onset, apex], dim=1)
    grid = F.affine_grid(theta, list(both.shape), align_corners=False)
    out = F.grid_sample(both, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    c = onset.shape[1]
    return out[:, :c].contiguous(memory_format=torch.channels_last), out[:, c:].contiguous(memory_format=torch.channels_last)


def photometric_jitter(onset: np.ndarray, apex: np.ndarray, strength: float,
                       rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The same random global look on both uint8 frames of each pair: contrast ×[1 − s, 1 + s], brightness
    ±40·s grey levels, gamma exp(±s), per-channel gain ×[1 − s/2, 1 + s/2] (a colour cast). The motion
    between the frames is untouched; what changes is the face's appearance, which differs between people."""
    if strength <= 0:
        return onset, apex
    n = len(onset)
    contrast = rng.uniform(1 - strength, 1 + strength, n)
    bright = rng.uniform(-40 * strength, 40 * strength, n)
    gamma = np.exp(rng.uniform(-strength, strength, n))
    cast = rng.uniform(1 - strength / 2, 1 + strength / 2, (n, 3))
    both = np.stack([onset, apex], axis=1).astype(np.float32) / 255.0          # (N, 2, H, W, 3)
    both = both ** gamma[:, None, None, None, None]
    mean = both.mean(axis=(1, 2, 3, 4), keepdims=True)
    both = (both - mean) * contrast[:, None, None, None, None] + mean
    both = both * cast[:, None, None, None, :] * 255.0 + bright[:, None, None, None, None]
    out = np.clip(both + 0.5, 0, 255).astype(np.uint8)
    return out[:, 0], out[:, 1]


def _tensors(model: TSFmicro, onset: np.ndarray, apex: np.ndarray, device: torch.device):
    cfg = model.config
    kw = dict(mean=cfg.mean, std=cfg.std, size=cfg.img_size, device=device)
    return crops_to_tensor(onset, **kw), crops_to_tensor(apex, **kw)


@torch.no_grad()
def predict(model: TSFmicro, data: PairSet, batch_size: int = 32, device: torch.device | None = None) -> np.ndarray:
    """Class probabilities ``(N, C)`` on the annotated onset/apex pairs."""
    device = device or next(model.parameters()).device
    model.eval()
    probs = []
    for start in range(0, len(data), batch_size):
        idx = range(start, min(start + batch_size, len(data)))
        o, a = _tensors(model, *data.batch(idx, None), device)
        probs.append(model(o, a).float().softmax(-1).cpu().numpy())
    return np.concatenate(probs) if probs else np.zeros((0, model.num_classes), np.float32)


@dataclass
class FitResult:
    model: TSFmicro
    epochs: int
    best_epoch: int
    history: list[dict] = field(default_factory=list)


def fit(config: TSFmicroConfig, train: PairSet, recipe: Recipe, *, weight_decay: float,
        val: PairSet | None = None, progress: bool = True, desc: str = "train",
        device: torch.device | None = None,
        on_epoch: Callable[[TSFmicro, int], None] | None = None) -> FitResult:
    """Train a fresh TSFmicro on ``train``; with ``recipe.patience`` and ``val``, stop early on validation UF1
    and return the best validation epoch's weights (validation subjects come from training subjects only).
    ``on_epoch(model, epoch)`` is called after every epoch (the model is left in training mode after it)."""
    from tqdm import tqdm

    torch.manual_seed(recipe.seed)
    rng = np.random.default_rng(recipe.seed)
    gen = torch.Generator().manual_seed(recipe.seed)
    look_rng = np.random.default_rng([recipe.seed, 7])     # its own stream: the other draws stay as before
    device = device or select_device(recipe.device)
    model = TSFmicro(config).to(device).to(memory_format=torch.channels_last)
    opt = torch.optim.AdamW(model.parameters(), lr=recipe.lr, weight_decay=weight_decay)
    sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=recipe.gamma)
    loss_fn = torch.nn.CrossEntropyLoss(label_smoothing=recipe.label_smoothing)
    use_val = recipe.patience > 0 and val is not None and len(val) > 0
    best = (-1.0, 0, None)
    averaging = recipe.average_epochs > 0 and not use_val
    average: dict = {"sum": {}, "count": 0}
    history = []
    epoch = 0
    bar = tqdm(range(recipe.epochs), desc=desc, unit="epoch", disable=not progress, leave=False)
    for epoch in bar:
        model.train()
        order = rng.permutation(len(train))
        total, count = 0.0, 0
        for start in range(0, len(order), recipe.batch_size):
            idx = order[start:start + recipe.batch_size]
            if len(idx) < 2 and len(order) > 1:  # batch norm needs more than one pair
                continue
            jitter = recipe.jitter > 0 or recipe.jitter_fraction > 0
            onset_u8, apex_u8 = train.batch(idx, rng if jitter else None)
            onset_u8, apex_u8 = photometric_jitter(onset_u8, apex_u8, recipe.photometric, look_rng)
            o, a = _tensors(model, onset_u8, apex_u8, device)
            o, a = augment(o, a, recipe, gen)
            y = torch.from_numpy(train.labels[idx]).to(device)
            loss = loss_fn(model(o, a), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
            count += len(idx)
        if epoch < recipe.decay_epochs:
            sched.step()
        row = {"epoch": epoch + 1, "loss": total / max(count, 1)}
        if recipe.precise_bn and (use_val or on_epoch is not None or epoch + 1 == recipe.epochs):
            update_bn_statistics(model, train, device)
        if use_val:
            m = compute_metrics(val.labels, predict(model, val, recipe.batch_size, device).argmax(1), config.num_classes)
            row["val_uf1"] = m["uf1"]
            if m["uf1"] > best[0]:
                best = (m["uf1"], epoch + 1, {k: v.detach().clone() for k, v in model.state_dict().items()})
            elif epoch + 1 - best[1] >= recipe.patience:
                history.append(row)
                break
        history.append(row)
        if averaging and epoch + 1 > recipe.epochs - recipe.average_epochs:
            _accumulate(average, model)
        if on_epoch is not None:
            on_epoch(model, epoch + 1)
        bar.set_postfix({k: f"{v:.3f}" for k, v in row.items() if k != "epoch"})
    bar.close()
    best_epoch = len(history)
    if use_val and best[2] is not None:
        model.load_state_dict(best[2])
        best_epoch = best[1]
    elif averaging and average["count"]:
        with torch.no_grad():
            for name, param in model.named_parameters():
                param.copy_(average["sum"][name] / average["count"])
        update_bn_statistics(model, train, device)   # the averaged weights need their own statistics
    model.eval()
    return FitResult(model, len(history), best_epoch, history)


@torch.no_grad()
def _accumulate(average: dict, model: TSFmicro) -> None:
    """Add the model's parameters to a running sum (stochastic weight averaging)."""
    for name, param in model.named_parameters():
        if name in average["sum"]:
            average["sum"][name] += param.detach()
        else:
            average["sum"][name] = param.detach().clone()
    average["count"] += 1


@torch.no_grad()
def update_bn_statistics(model: TSFmicro, data: PairSet, device: torch.device | None = None,
                         batch_size: int = 64) -> None:
    """Set every BatchNorm layer's running mean and variance to those of ``data``'s annotated pairs as the
    model sees them at inference (no augmentation, jitter, dropout or drop path), averaged over batches of
    ``batch_size`` (precise BatchNorm).

    During training the running statistics are a moving average over the last few augmented batches of
    weights that kept changing; on a small set (a few optimiser steps per epoch) they lag the weights, and
    inference with them can put every pair of a class on one side (a whole class at recall 0)."""
    norms = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    if not norms or len(data) == 0:
        return
    device = device or next(model.parameters()).device
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None                    # cumulative average over the batches below
    was_training = model.training
    model.train()                            # drops any folded BatchNorm (fuse) made with the old statistics
    model.eval()                             # no dropout or drop path: the inputs inference gives them
    for m in norms:
        m.train()
    try:
        for start in range(0, len(data), batch_size):
            idx = range(start, min(start + batch_size, len(data)))
            if len(idx) < 2 and start > 0:   # one pair has no variance; the earlier batches suffice
                break
            model(*_tensors(model, *data.batch(idx, None), device))
    finally:
        for m, momentum in zip(norms, momenta):
            m.momentum = momentum
        model.train(was_training)


OPTIMISTIC_LABEL = "optimistic: best test-subject epoch per fold (selection on the test set, as the paper's code)"


def best_test_epoch(y_true: Sequence[int], per_epoch: Sequence[Sequence[int]], num_classes: int) -> dict:
    """The epoch whose predictions score the highest UF1 on this fold's own test samples (ties: the earliest).

    This is selection on the test set; it exists only to compare with published tables."""
    scores = [compute_metrics(y_true, p, num_classes)["uf1"] for p in per_epoch]
    best = int(np.argmax(scores))
    return {"epoch": best + 1, "uf1": scores[best], "y_pred": list(per_epoch[best])}


# cross-validation -------------------------------------------------------------------------------------------

@dataclass
class CVResult:
    pooled: dict
    folds: list[dict]
    trained: list[str]        # folds trained in this call
    resumed: list[str]        # folds read back from an earlier (interrupted) run
    paths: dict[str, Path]


def _signature(dataset: Dataset, pairs: Sequence[PairCrops], config: TSFmicroConfig, recipe: Recipe,
               protocol: dict) -> str:
    blob = json.dumps({"dataset": dataset.name, "scheme": dataset.scheme,
                       "samples": sorted((p.sample.key, p.sample.label, p.sample.onset, p.apex) for p in pairs),
                       "config": config.to_dict(), "recipe": recipe.to_dict(), "protocol": protocol}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


def _finished_fold(path: Path, signature: str) -> dict | None:
    """A fold's record written by an earlier run with the same data, model and recipe (else None)."""
    try:
        done = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return done if isinstance(done, dict) and done.get("signature") == signature else None


def make_folds(subjects: Sequence[str], protocol: str, k: int = 5, seed: int = 0) -> list[Fold]:
    if protocol == "loso":
        return loso_folds(subjects)
    if protocol == "kfold":
        return kfold_folds(subjects, k, seed)
    raise ValueError(f"unknown protocol {protocol!r}; choose loso or kfold")


@dataclass(frozen=True)
class FoldJob:
    """One fold's training and test, fully determined by these fields and the crops (same result anywhere)."""

    fold: Fold
    signature: str
    config: TSFmicroConfig
    recipe: Recipe
    weight_decay: float
    weights_path: str | None = None       # where to save the fold's model (fp16), or None
    provenance: dict | None = None        # merged into the saved model's provenance


# Runs fold jobs on the given crops and yields each fold's record as it finishes (in any order).
FoldRunner = Callable[[Sequence[FoldJob], Sequence[PairCrops]], Iterator[dict]]


def run_fold(job: FoldJob, pairs: Sequence[PairCrops], *, progress: bool = False,
             device: torch.device | None = None) -> dict:
    """Train one model on the fold's training subjects, test it on its test subjects; the fold's record."""
    by_subject: dict[str, list[PairCrops]] = {}
    for p in pairs:
        by_subject.setdefault(p.sample.subject, []).append(p)
    recipe, config, fold = job.recipe, job.config, job.fold
    tr_subjects, val_subjects = carve_validation(fold.train_subjects,
                                                 recipe.val_subjects if recipe.patience > 0 else 0, recipe.seed)
    pick = lambda subs: [p for s in subs for p in by_subject.get(s, ())]  # noqa: E731
    test = PairSet(pick(fold.test_subjects), config.img_size)
    device = device or select_device(recipe.device)
    start = time.time()
    per_epoch: list[list[int]] = []

    def score_test(model: TSFmicro, epoch: int) -> None:  # only for the labelled optimistic figure
        per_epoch.append(predict(model, test, recipe.batch_size, device).argmax(1).tolist())
        model.train()

    fitted = fit(config, PairSet(pick(tr_subjects), config.img_size), recipe, weight_decay=job.weight_decay,
                 val=PairSet(pick(val_subjects), config.img_size) if val_subjects else None,
                 progress=progress, desc=fold.name, device=device,
                 on_epoch=score_test if recipe.report_best_epoch else None)
    probs = predict(fitted.model, test, recipe.batch_size, device)
    y_true, y_pred = test.labels.tolist(), probs.argmax(1).tolist()
    record = {"name": fold.name, "signature": job.signature, "test_subjects": list(fold.test_subjects),
              "train_subjects": tr_subjects, "val_subjects": val_subjects, "epochs": fitted.epochs,
              "best_epoch": fitted.best_epoch, "seconds": round(time.time() - start, 1),
              "keys": [p.sample.key for p in test.pairs], "y_true": y_true, "y_pred": y_pred,
              "metrics": compute_metrics(y_true, y_pred, config.num_classes), "history": fitted.history}
    if per_epoch:
        record["optimistic"] = best_test_epoch(y_true, per_epoch, config.num_classes)
    if job.weights_path:
        prov = {"protocol": f"fold {fold.name}: trained on {', '.join(tr_subjects)}; held out "
                            f"{', '.join(fold.test_subjects)}",
                "train_subjects": tr_subjects, "test_subjects": list(fold.test_subjects),
                "samples_train": len(pick(tr_subjects)), "epochs": fitted.epochs, "recipe": recipe.to_dict(),
                "weight_decay": job.weight_decay, "train_seconds": record["seconds"],
                "heldout_metrics": record["metrics"],
                "created": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()), **(job.provenance or {})}
        save_model(fitted.model.cpu(), job.weights_path, dtype=torch.float16, provenance=prov)
    return record


def run_folds_here(jobs: Sequence[FoldJob], pairs: Sequence[PairCrops], *, progress: bool = True) -> Iterator[dict]:
    """The local :data:`FoldRunner`: one fold after another in this process."""
    device = select_device(jobs[0].recipe.device) if jobs else None
    for job in jobs:
        yield run_fold(job, pairs, progress=progress, device=device)


def cross_validate(dataset: Dataset, cache: CropCache, config: TSFmicroConfig, recipe: Recipe, out_dir: str | Path,
                   *, protocol: str = "loso", k: int = 5, progress: bool = True,
                   on_fold_done: Callable[[dict], None] | None = None, runner: FoldRunner | None = None,
                   save_fold_weights: bool = False, provenance: dict | None = None) -> CVResult:
    """Train and test one model per fold; per-fold files in ``out_dir/folds`` make the run resumable.

    ``save_fold_weights``: each fold's model is also written to ``out_dir/folds/<fold>.safetensors`` (fp16),
    its held-out figures and ``provenance`` in the file's metadata.

    ``runner`` runs the unfinished folds (default: here, one after another; :mod:`tsfgui.train.on_cluster` runs
    them as Ray tasks). Each fold is deterministic given the recipe's seed, so the runner does not change the
    metrics; each finished fold is written as soon as it arrives.
    """
    from tqdm import tqdm

    out = Path(out_dir)
    pairs = cache.prepare(dataset.samples, dataset.report, progress=progress)
    if not pairs:
        raise ValueError(f"{dataset.name}: no usable samples ({dataset.report.summary()})")
    folds = make_folds(sorted({p.sample.subject for p in pairs}), protocol, k, recipe.seed)
    sig = _signature(dataset, pairs, config, recipe, {"protocol": protocol, "k": k})
    wd = recipe.effective_weight_decay(dataset.name, dataset.scheme)
    by_name: dict[str, dict] = {}
    resumed: list[str] = []
    for fold in folds:
        done = _finished_fold(out / "folds" / f"{fold.name}.json", sig)
        if done is not None:
            by_name[fold.name] = done
            resumed.append(fold.name)
    def weights_path(fold: Fold) -> str | None:
        return str((out / "folds" / f"{fold.name}.safetensors").resolve()) if save_fold_weights else None

    prov = {"dataset": dataset.name, "label_scheme": dataset.scheme, **(provenance or {})}
    jobs = [FoldJob(f, sig, config, recipe, wd, weights_path(f), prov) for f in folds if f.name not in by_name]
    trained: list[str] = []
    bar = tqdm(total=len(folds), initial=len(resumed), desc=f"{protocol} folds", unit="fold", disable=not progress)
    records = (runner or (lambda j, p: run_folds_here(j, p, progress=progress)))(jobs, pairs)
    try:
        for record in records:
            atomic_write_json(out / "folds" / f"{record['name']}.json", record)
            by_name[record["name"]] = record
            trained.append(record["name"])
            bar.update(1)
            bar.set_postfix_str(record["name"])
            if on_fold_done is not None:
                on_fold_done(record)
    finally:
        close = getattr(records, "close", None)
        if close is not None:
            close()  # a runner stops its pending folds when this stops early
        bar.close()
    results = [by_name[f.name] for f in folds]
    y_true = [y for r in results for y in r["y_true"]]
    y_pred = [y for r in results for y in r["y_pred"]]
    pooled = compute_metrics(y_true, y_pred, config.num_classes)
    optimistic = None
    if results and all("optimistic" in r for r in results):
        optimistic = compute_metrics(y_true, [y for r in results for y in r["optimistic"]["y_pred"]],
                                     config.num_classes)
        optimistic["label"] = OPTIMISTIC_LABEL
    title = f"TSFmicro on {dataset.name} ({dataset.scheme}), {protocol.upper()}" + (f" k={k}" if protocol == "kfold" else "")
    paths = write_reports(out, title, pooled, results, config.class_names, extra={
        "dataset": dataset.name, "scheme": dataset.scheme, "protocol": protocol, "k": k if protocol == "kfold" else None,
        "recipe": recipe.to_dict(), "weight_decay": wd, "model_config": config.to_dict(),
        "report": dataset.report.to_dict(), "signature": sig,
        "selection": "no selection on test subjects: " + (
            f"early stopping on {recipe.val_subjects} validation subject(s) from the training subjects"
            if recipe.patience > 0 and recipe.val_subjects > 0 else f"fixed budget of {recipe.epochs} epochs"),
        "optimistic_best_test_epoch": optimistic,
    }, note=POOLED_NOTE if optimistic is None else POOLED_NOTE + " " + (
        f"Optimistic figure ({OPTIMISTIC_LABEL}): accuracy {optimistic['accuracy']:.4f}, UF1 {optimistic['uf1']:.4f}, "
        f"UAR {optimistic['uar']:.4f}. It picks each fold's epoch on its own test subject, as the paper's code "
        "reports; the honest figure above does not."))
    return CVResult(pooled, results, trained, resumed, paths)


# final model ------------------------------------------------------------------------------------------------

@dataclass
class TrainResult:
    model: TSFmicro
    weights: Path | None
    metrics: dict | None       # on the held-out subjects (None without hold-out)
    fold: Fold
    epochs: int
    paths: dict[str, Path]
    train_subjects: list[str] = field(default_factory=list)
    val_subjects: list[str] = field(default_factory=list)


def train_final(dataset: Dataset, cache: CropCache, config: TSFmicroConfig, recipe: Recipe, out_dir: str | Path,
                *, holdout_subjects: int = 0, weights: str | Path | None = None, fp16: bool = True,
                progress: bool = True, provenance: dict | None = None) -> TrainResult:
    """Train one model on all subjects except ``holdout_subjects`` (tested on those, never selected on them)
    and save it with its provenance (dataset, protocol, epochs, held-out metrics)."""
    out = Path(out_dir)
    pairs = cache.prepare(dataset.samples, dataset.report, progress=progress)
    if not pairs:
        raise ValueError(f"{dataset.name}: no usable samples ({dataset.report.summary()})")
    subjects = sorted({p.sample.subject for p in pairs})
    fold = holdout_split(subjects, holdout_subjects, recipe.seed)
    tr, val = carve_validation(fold.train_subjects, recipe.val_subjects if recipe.patience > 0 else 0, recipe.seed)
    pick = lambda subs: [p for p in pairs if p.sample.subject in set(subs)]  # noqa: E731
    wd = recipe.effective_weight_decay(dataset.name, dataset.scheme)
    device = select_device(recipe.device)
    start = time.time()
    fitted = fit(config, PairSet(pick(tr), config.img_size), recipe, weight_decay=wd,
                 val=PairSet(pick(val), config.img_size) if val else None, progress=progress, desc="train",
                 device=device)
    metrics, paths = None, {}
    if fold.test_subjects:
        test = PairSet(pick(fold.test_subjects), config.img_size)
        y_true = test.labels.tolist()
        y_pred = predict(fitted.model, test, recipe.batch_size, device).argmax(1).tolist()
        metrics = compute_metrics(y_true, y_pred, config.num_classes)
        record = {"name": "holdout", "test_subjects": list(fold.test_subjects), "epochs": fitted.epochs,
                  "metrics": metrics}
        paths = write_reports(out, f"TSFmicro on {dataset.name} ({dataset.scheme}), held-out subjects",
                              metrics, [record], config.class_names, extra={
                                  "dataset": dataset.name, "scheme": dataset.scheme, "protocol": "holdout",
                                  "train_subjects": tr, "val_subjects": val, "recipe": recipe.to_dict(),
                                  "weight_decay": wd, "model_config": config.to_dict(),
                                  "report": dataset.report.to_dict()},
                              note="Subjects held out of training (never trained on, never used for selection).")
    prov = {"dataset": dataset.name, "label_scheme": dataset.scheme,
            "protocol": f"trained on {len(tr)} subjects; held out {len(fold.test_subjects)} for test"
                        + (f"; early stopping on {len(val)} validation subjects" if val else "; fixed epoch budget"),
            "train_subjects": tr, "val_subjects": val, "test_subjects": list(fold.test_subjects),
            "samples_train": len(pick(tr)), "epochs": fitted.epochs, "best_epoch": fitted.best_epoch,
            "recipe": recipe.to_dict(), "weight_decay": wd, "train_seconds": round(time.time() - start, 1),
            "heldout_metrics": metrics, "skipped_rows": len(dataset.report.skipped),
            "created": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())}
    prov.update(provenance or {})
    saved = None
    if weights is not None:
        saved = save_model(fitted.model.cpu(), weights, dtype=torch.float16 if fp16 else torch.float32, provenance=prov)
        atomic_write_json(out / "train.json", {"weights": str(saved), "provenance": prov})
    return TrainResult(fitted.model, saved, metrics, fold, fitted.epochs, paths, tr, val)


def evaluate_weights(model: TSFmicro, dataset: Dataset, cache: CropCache, out_dir: str | Path, *, batch_size: int = 32,
                     progress: bool = True, device: str | None = None) -> dict:
    """Test a trained model on every usable sample of ``dataset`` (no training) and write the reports."""
    if tuple(model.class_names) != tuple(dataset.class_names):
        raise ValueError(f"the weights predict {list(model.class_names)} but {dataset.name} in scheme "
                         f"{dataset.scheme} has {list(dataset.class_names)}; choose the matching --scheme")
    pairs = cache.prepare(dataset.samples, dataset.report, progress=progress)
    data = PairSet(pairs, model.config.img_size)
    dev = select_device(device)
    model = model.to(dev)
    y_pred = predict(model, data, batch_size, dev).argmax(1).tolist()
    metrics = compute_metrics(data.labels.tolist(), y_pred, model.num_classes)
    by_subject: dict[str, list[int]] = {}
    for i, p in enumerate(pairs):
        by_subject.setdefault(p.sample.subject, []).append(i)
    folds = []
    for s, idx in sorted(by_subject.items()):
        folds.append({"name": s, "test_subjects": [s], "epochs": "", "metrics": compute_metrics(
            [data.labels[i] for i in idx], [y_pred[i] for i in idx], model.num_classes)})
    write_reports(out_dir, f"TSFmicro weights on {dataset.name} ({dataset.scheme})", metrics, folds,
                  model.class_names, extra={"dataset": dataset.name, "scheme": dataset.scheme,
                                            "protocol": "pretrained weights, all samples",
                                            "report": dataset.report.to_dict()},
                  note="All usable samples of the dataset, one trained model (no training here); rows below: per subject.")
    return metrics
