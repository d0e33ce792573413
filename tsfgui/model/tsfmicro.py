"""TSFmicro: temporal and spatial feature fusion for micro-expression recognition.

Liu, Nan, Qian, Fu, "Temporal and Spatial Feature Fusion Framework for Dynamic Micro Expression
Recognition" (arXiv 2505.16372). Given two aligned face crops of the same person — the **onset**
(reference) frame and the **apex** (current) frame, ``B×3×224×224``, RGB, ImageNet-normalised:

* the temporal branch (:class:`~tsfgui.model.retention.RetentiveBackbone`) runs on ``apex − onset``
  and ends at ``B×14×14×512``;
* the spatial branch (:class:`~tsfgui.model.vit.SpatialViT`) runs on the onset frame resized to
  14×14 and gives ``B×14×14×512``;
* the two maps are summed (parallel high-dimensional fusion);
* the head applies, at each of the 14×14 positions, Linear 512→1024, BatchNorm and Swish, averages
  over the positions, and maps 1024 → C logits (C from the label scheme).

The API follows timm: :meth:`TSFmicro.forward_features` returns the fused map,
:meth:`TSFmicro.forward_head` the logits from it, :meth:`TSFmicro.forward` both, and
:meth:`TSFmicro.forward_intermediates` everything at once (branch outputs, temporal stages, the
ViT's attention matrices) without hooks. :meth:`TSFmicro.embed_reference` runs the spatial branch
alone, and every forward accepts its result as ``reference=``, so a caller that pairs one onset
frame with many apex frames embeds each onset once.

Maps returned by the model are ``(B, C, h, w)`` tensors in channels-last memory (views of the
``(B, h, w, C)`` data the branches compute); ``.permute(0, 2, 3, 1)`` gives ``h×w×C`` without copy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from . import ops
from .checkpoint_filter import check_state_dict, filter_checkpoint
from .config import IMAGENET_MEAN, IMAGENET_STD, TSFmicroConfig
from .image_parallel import split_across_threads
from .weights import WeightsError, read_tensors, save_model
from .retention import FoldsBatchNorm, RetentiveBackbone, count_backbone_flops, fold_batchnorm, init_weights
from .vit import SpatialViT, resize_reference

__all__ = ["TSFmicro", "TSFmicroOutput", "ClassifierHead", "crops_to_tensor", "count_flops"]


def crops_to_tensor(
    crops: np.ndarray | Sequence[np.ndarray],
    *,
    mean: Sequence[float] = IMAGENET_MEAN,
    std: Sequence[float] = IMAGENET_STD,
    size: int | None = 224,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """Aligned ``uint8`` BGR crops (``H×W×3``, one or a batch) → normalised RGB ``(N, 3, S, S)``.

    What the face pipeline produces goes in as is: a single crop, an ``(N, H, W, 3)`` array or a
    list of crops. Crops whose size differs from ``size`` are resized (area interpolation when
    shrinking, bilinear when enlarging; ``size=None`` keeps them). The result is channels-last
    (the memory layout the model runs fastest on), on ``device`` in ``dtype``.
    """
    if isinstance(crops, np.ndarray) and crops.ndim == 3:
        crops = crops[None]
    arrays = list(crops) if not isinstance(crops, np.ndarray) else crops
    if len(arrays) == 0:
        raise ValueError("crops_to_tensor: no crops given")
    checked = []
    for i, a in enumerate(arrays):
        a = np.asarray(a)
        if a.dtype != np.uint8 or a.ndim != 3 or a.shape[2] != 3:
            raise ValueError(f"crop {i}: expected an H×W×3 uint8 BGR image, got {a.dtype} array of shape {a.shape}")
        if size is not None and a.shape[:2] != (size, size):
            interp = cv2.INTER_AREA if a.shape[0] > size else cv2.INTER_LINEAR
            a = cv2.resize(a, (size, size), interpolation=interp)
        checked.append(a)
    if len({a.shape for a in checked}) != 1:
        raise ValueError(f"crops_to_tensor: crops differ in size {sorted({a.shape for a in checked})}; pass size=")
    x = torch.from_numpy(np.stack(checked))
    if device is not None:
        x = x.to(device)
    # BGR → RGB, then (x/255 − mean)/std = x·a + b, in one pass over float data
    a = torch.tensor([1.0 / (255.0 * s) for s in std], dtype=torch.float32, device=x.device)
    b = torch.tensor([-m / s for m, s in zip(mean, std)], dtype=torch.float32, device=x.device)
    x = torch.addcmul(b, x.flip(-1).to(torch.float32), a)
    return x.to(dtype).permute(0, 3, 1, 2)


class ClassifierHead(FoldsBatchNorm):
    """Per-position Linear → BatchNorm → Swish, global average pool, Linear (the paper's head)."""

    def __init__(self, dim: int, hidden: int, num_classes: int):
        super().__init__()
        self.proj = nn.Linear(dim, hidden)
        self.norm = nn.BatchNorm1d(hidden)
        self.fc = nn.Linear(hidden, num_classes)

    def _fold(self) -> tuple[torch.Tensor, torch.Tensor]:
        return fold_batchnorm(self.proj.weight, self.proj.bias, self.norm)

    def forward(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        """``x``: ``(B, h, w, dim)``. Returns logits ``(B, C)``, or the pooled ``(B, hidden)``."""
        proj, norm = self.proj, self.norm
        if not norm.training and ops._onednn_ok(x, proj.weight):
            weight, bias = self.folded_or_now()
            y = ops.linear(x, weight.to(x.dtype), bias.to(x.dtype), act="swish")
        else:
            y = ops.linear(x, proj.weight, proj.bias)
            y = F.silu(norm(y.reshape(-1, y.shape[-1])).view(y.shape))
        pooled = y.mean(dim=(1, 2))
        if pre_logits:
            return pooled
        return ops.linear(pooled, self.fc.weight, self.fc.bias)


@dataclass
class TSFmicroOutput:
    """Everything one forward pass can tell (maps are ``(B, C, h, w)``, channels-last memory).

    ``spatial_attention``: one ``(B, heads, N, N)`` matrix per ViT block (rows = queries), empty when
    not requested or when a precomputed reference embedding was used. ``stages``: the temporal
    branch's stage outputs when requested.
    """

    logits: torch.Tensor
    fused: torch.Tensor
    temporal: torch.Tensor
    spatial: torch.Tensor
    spatial_attention: list[torch.Tensor] = field(default_factory=list)
    stages: list[torch.Tensor] = field(default_factory=list)

    @property
    def probabilities(self) -> torch.Tensor:
        return torch.softmax(self.logits.float(), dim=-1)


class TSFmicro(nn.Module):
    """The TSFmicro network (see module docstring). ``TSFmicro()`` is the paper's 3-class model
    with random weights; ``TSFmicro(TSFmicroConfig.tiny())`` a small one for tests;
    ``TSFmicro.from_pretrained(path)`` one from a weights file."""

    def __init__(self, config: TSFmicroConfig | None = None, **changes: Any):
        super().__init__()
        cfg = config if config is not None else TSFmicroConfig()
        if changes:
            cfg = cfg.replace(**changes)
        self.config = cfg
        self.temporal = RetentiveBackbone(cfg)
        self.spatial = SpatialViT(cfg.feature_size, cfg.feature_dim, cfg.spatial_depth, cfg.spatial_heads,
                                  cfg.spatial_mlp_ratio, cfg.in_chans)
        self.head = ClassifierHead(cfg.feature_dim, cfg.head_hidden, cfg.num_classes)
        self.head.apply(init_weights)
        #: where the weights came from (training data, protocol, date …); saved in weights files
        self.provenance: dict[str, Any] = {}
        #: what :meth:`from_pretrained` loaded and left out (a :class:`~tsfgui.model.weights.LoadReport`)
        self.load_report = None

    # description ---------------------------------------------------------------------------
    @property
    def class_names(self) -> tuple[str, ...]:
        return self.config.class_names

    @property
    def num_classes(self) -> int:
        return self.config.num_classes

    @property
    def label_scheme(self) -> str:
        return self.config.label_scheme

    def num_parameters(self, trainable_only: bool = False) -> int:
        return sum(p.numel() for p in self.parameters() if p.requires_grad or not trainable_only)

    def extra_repr(self) -> str:
        c = self.config
        return f"label_scheme={c.label_scheme!r}, classes={list(c.class_names)}, img_size={c.img_size}"

    # input ---------------------------------------------------------------------------------
    def preprocess(self, crops: np.ndarray | Sequence[np.ndarray]) -> torch.Tensor:
        """:func:`crops_to_tensor` with this model's size, normalisation, device and dtype."""
        p = next(self.parameters())
        c = self.config
        return crops_to_tensor(crops, mean=c.mean, std=c.std, size=c.img_size, device=p.device, dtype=p.dtype)

    def _check_pair(self, onset: torch.Tensor, apex: torch.Tensor | None = None) -> None:
        c = self.config
        want = (c.in_chans, c.img_size, c.img_size)
        for name, t in (("onset", onset), ("apex", apex)):
            if t is not None and (t.ndim != 4 or tuple(t.shape[1:]) != want):
                raise ValueError(f"{name} must be a (B, {want[0]}, {want[1]}, {want[2]}) batch, got {tuple(t.shape)}")
        if apex is not None and onset.shape[0] not in (1, apex.shape[0]):
            raise ValueError(f"onset batch {onset.shape[0]} must be 1 or equal the apex batch {apex.shape[0]}")

    # branches ------------------------------------------------------------------------------
    def embed_reference(self, onset: torch.Tensor, need_weights: bool = False):
        """Spatial branch alone: ``(B, C, h, w)`` embedding of normalised onset frames.

        Cache it per frame and pass it as ``reference=`` to the other methods; with
        ``need_weights`` returns ``(embedding, [attention per block])``.
        """
        self._check_pair(onset)
        tokens, attns = self.spatial(resize_reference(onset, self.config.feature_size), need_weights)
        emb = ops.nhwc_to_nchw(tokens)
        return (emb, attns) if need_weights else emb

    def forward_temporal(self, onset: torch.Tensor, apex: torch.Tensor, return_stages: bool = False):
        """Temporal branch alone on ``apex − onset``: ``(B, C, h, w)`` (and stage outputs)."""
        self._check_pair(onset, apex)
        diff = (apex - onset).contiguous(memory_format=torch.channels_last)
        out = self.temporal(diff, return_stages=return_stages)
        if return_stages:
            x, stages = out
            return ops.nhwc_to_nchw(x), [ops.nhwc_to_nchw(s) for s in stages]
        return ops.nhwc_to_nchw(out)

    def _check_reference(self, reference: torch.Tensor, batch: int) -> None:
        c = self.config
        want = (c.feature_dim, c.feature_size, c.feature_size)
        if reference.ndim != 4 or tuple(reference.shape[1:]) != want or reference.shape[0] not in (1, batch):
            raise ValueError(f"reference must be a (B or 1, {want[0]}, {want[1]}, {want[2]}) embedding from "
                             f"embed_reference(), got {tuple(reference.shape)}")

    def _reference_nhwc(self, onset: torch.Tensor, reference: torch.Tensor | None, batch: int) -> torch.Tensor:
        if reference is None:
            return self.embed_reference(onset).permute(0, 2, 3, 1)
        self._check_reference(reference, batch)
        return reference.permute(0, 2, 3, 1)

    def forward_features(self, onset: torch.Tensor, apex: torch.Tensor,
                         reference: torch.Tensor | None = None) -> torch.Tensor:
        """The fused ``(B, C, h, w)`` map: temporal(apex − onset) + spatial(onset or ``reference``).

        ``onset`` (and ``reference``) may have batch size 1 and are then shared by all apex frames.
        For inference on the CPU with ``T ≥ 2`` threads, a batch of ``T`` or more pairs is split by image
        across ``T`` threads (:func:`~tsfgui.model.image_parallel.split_across_threads`).
        """
        self._check_pair(onset, apex)
        batch = apex.shape[0]
        if reference is not None:
            self._check_reference(reference, batch)
        if ops.fast_kernels_enabled() and ops.images_independent(self):  # no BatchNorm gathering statistics
            def share(images: slice) -> torch.Tensor:
                on = onset if onset.shape[0] == 1 else onset[images]
                ref = reference if reference is None or reference.shape[0] == 1 else reference[images]
                return self.forward_features(on, apex[images], ref).permute(0, 2, 3, 1)

            # images in parallel threads where that applies (see image_parallel)
            fused = split_across_threads(share, batch, apex.device)
            if fused is not None:
                return ops.nhwc_to_nchw(fused)
        temporal = self.forward_temporal(onset, apex).permute(0, 2, 3, 1)
        fused = temporal + self._reference_nhwc(onset, reference, batch)
        return ops.nhwc_to_nchw(fused)

    def forward_head(self, features: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        """Logits ``(B, num_classes)`` from a fused map (or the pooled ``(B, head_hidden)`` features)."""
        return self.head(features.permute(0, 2, 3, 1), pre_logits=pre_logits)

    def forward(self, onset: torch.Tensor, apex: torch.Tensor, reference: torch.Tensor | None = None) -> torch.Tensor:
        """Logits ``(B, num_classes)`` for onset/apex batches (normalised, ``B×3×S×S``)."""
        return self.forward_head(self.forward_features(onset, apex, reference))

    def forward_intermediates(self, onset: torch.Tensor, apex: torch.Tensor, reference: torch.Tensor | None = None,
                              *, attention: bool = True, stages: bool = False) -> TSFmicroOutput:
        """One pass that keeps the branch outputs, the fused map, the logits and, on request, the
        ViT attention matrices (``attention``, needs the onset to be embedded here, i.e. no
        ``reference``) and the temporal stage outputs (``stages``)."""
        self._check_pair(onset, apex)
        attns: list[torch.Tensor] = []
        if reference is None:
            if attention:
                spatial, attns = self.embed_reference(onset, need_weights=True)
            else:
                spatial = self.embed_reference(onset)
        else:
            spatial = ops.nhwc_to_nchw(self._reference_nhwc(onset, reference, apex.shape[0]))
        if stages:
            temporal, stage_maps = self.forward_temporal(onset, apex, return_stages=True)
        else:
            temporal, stage_maps = self.forward_temporal(onset, apex), []
        fused = ops.nhwc_to_nchw(temporal.permute(0, 2, 3, 1) + spatial.permute(0, 2, 3, 1))
        logits = self.forward_head(fused)
        return TSFmicroOutput(logits, fused, temporal, spatial, list(attns or []), stage_maps)

    # classes -------------------------------------------------------------------------------
    def reset_classifier(self, label_scheme: str | None = None, class_names: Sequence[str] | None = None) -> None:
        """Replace the last layer for another label scheme (or explicit class names); the rest of
        the network (both branches, head projection) is kept."""
        changes: dict[str, Any] = {}
        if label_scheme is not None:
            changes["label_scheme"] = label_scheme
        if class_names is not None:
            changes["class_names"] = tuple(class_names)
            changes.setdefault("label_scheme", "custom" if label_scheme is None else label_scheme)
        self.config = self.config.replace(**changes)
        p = self.head.fc.weight
        fc = nn.Linear(self.config.head_hidden, self.config.num_classes).to(device=p.device, dtype=p.dtype)
        init_weights(fc)
        self.head.fc = fc

    # weights -------------------------------------------------------------------------------
    @classmethod
    def from_pretrained(cls, path: str | Path, **kwargs: Any) -> "TSFmicro":
        """Load a weights file; see :func:`create_model` for the options."""
        return create_model(pretrained=path, **kwargs)

    def save_pretrained(self, path: str | Path, **kwargs: Any) -> Path:
        """Save to a safetensors file; see :func:`tsfgui.model.weights.save_model` for the options."""
        return save_model(self, path, **kwargs)

    # inference -----------------------------------------------------------------------------
    def fuse(self) -> "TSFmicro":
        """Prepare for inference once: eval mode, every BatchNorm folded into the layer before it
        (the stem's and patch mergings' convolutions, the head's projection), so no forward pass folds
        them again, and the linear layers' weights marked for oneDNN's blocked layout
        (:func:`~tsfgui.model.ops.prepack_linear`). Training mode (``.train()``) unfolds them; a
        changed weight is packed again. Returns ``self``."""
        self.eval()
        for module in self.modules():
            if module is not self and hasattr(module, "fuse"):
                module.fuse()
        for module in self.modules():
            if isinstance(module, nn.Linear):
                ops.prepack_linear(module.weight)
        if self.head.folded is not None:
            ops.prepack_linear(self.head.folded[0])
        return self

    @property
    def fused(self) -> bool:
        """Whether :meth:`fuse` has folded the BatchNorms (and training has not undone it)."""
        return any(getattr(m, "folded", None) is not None for m in self.modules())


def create_model(config: TSFmicroConfig | None = None, pretrained: str | Path | None = None, *,
                 label_scheme: str | None = None, class_names: list[str] | tuple[str, ...] | None = None,
                 strict: bool = True, device: torch.device | str | None = None,
                 class_order: str | list[str] | tuple[str, ...] | None = None, fuse: bool = True) -> TSFmicro:
    """A TSFmicro model: ``create_model(config)`` with random weights (training), or
    ``create_model(pretrained=path)`` from a weights file (for inference: eval mode and, with ``fuse``,
    its BatchNorms folded once, see :meth:`TSFmicro.fuse`). The file's tensors pass through
    :func:`~tsfgui.model.checkpoint_filter.filter_checkpoint`:

    * tsfgui ``.safetensors`` files carry their configuration; ``config`` must not contradict it.
    * Legacy full-model checkpoints (authors' TSFmicro) get the paper's configuration with the label
      scheme given, or inferred from the head size when unambiguous (``label_scheme``/``class_names``).
    * Backbone-only checkpoints (tensors of the temporal branch only, e.g. an RMT checkpoint) load
      into the temporal branch of a new model built from ``config`` (default: the paper's); spatial
      branch and head keep their random initialisation. Their non-backbone tensors (an ImageNet head)
      are reported as unexpected and skipped.
    * ``class_order`` (research checkpoints): the file's logit order, e.g. ``"positive,surprise,negative"``
      or ``"authors"``; the head's rows are permuted into the label scheme's order. Without it, a
      3-class checkpoint with the authors' tensor names is taken to be in the authors' order
      (positive, surprise, negative) and re-ordered; others are taken to be in the scheme's order.
      ``model.provenance["class_order"]`` records the file's order and how it was decided.

    Every tensor name and shape is checked. With ``strict`` (default) any missing, unexpected or
    differently shaped tensor raises :class:`~tsfgui.model.weights.WeightsError` listing them all; otherwise the matching
    tensors load and ``model.load_report`` (:class:`~tsfgui.model.checkpoint_filter.LoadReport`) says what did not.
    """
    if pretrained is None:
        return TSFmicro(config)
    path = Path(pretrained)
    tensors, meta = read_tensors(path)
    found = filter_checkpoint(path, tensors, meta, config=config, label_scheme=label_scheme, class_names=class_names,
                              class_order=class_order)
    cfg = found.config
    model = TSFmicro(cfg)
    report = check_state_dict(model, found.state, found.prefix)
    report.ignored = found.ignored
    report.backbone_only = found.backbone_only
    if not report.ok and strict:
        kind = "backbone checkpoint" if found.backbone_only else "weights"
        raise WeightsError(path, f"{kind} do not fit the {cfg.label_scheme} TSFmicro model: {report.describe()}. "
                                 "Was it saved from another architecture or label scheme? "
                                 "(strict=False loads the matching tensors only.)")
    skip = set(report.unexpected) | {m[0] for m in report.mismatched}
    good = {k: v for k, v in found.state.items() if k not in skip}
    own = model.state_dict()
    with torch.no_grad():
        for k, v in good.items():
            own[k].copy_(v.to(own[k].dtype) if v.is_floating_point() else v)
    report.loaded = sorted(good)
    model.load_report = report
    model.provenance = found.provenance
    model.eval()
    if device is not None:
        model.to(device)
    return model.fuse() if fuse else model


def load_model(path: str | Path, **kwargs: Any) -> TSFmicro:
    """``create_model(pretrained=path, **kwargs)``: a model from a weights file, ready for inference."""
    return create_model(pretrained=path, **kwargs)


def count_flops(config: TSFmicroConfig | None = None) -> dict[str, float]:
    """Analytic FLOPs of one onset/apex pair by part (2 FLOPs per multiply-add; convolutions and
    matrix products only, element-wise work excluded — the convention of ``FlopCounterMode``)."""
    cfg = config or TSFmicroConfig()
    out = {f"temporal.{k}": v for k, v in count_backbone_flops(cfg).items()}
    n = cfg.feature_size ** 2
    c = cfg.feature_dim
    hid = int(c * cfg.spatial_mlp_ratio)
    out["spatial.embed"] = 2.0 * n * cfg.in_chans * c
    out["spatial.blocks"] = cfg.spatial_depth * (2.0 * n * c * 4 * c + 2.0 * 2 * n * n * c + 2.0 * 2 * n * c * hid)
    out["head"] = 2.0 * n * c * cfg.head_hidden + 2.0 * cfg.head_hidden * cfg.num_classes
    return out
