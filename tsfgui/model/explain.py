"""Explanations a person can look at: where the model looked, and how much the face moved.

* **Spatial-branch attention** (:func:`attention_received`, :func:`attention_rollout`): the ViT
  over the onset frame has one token per cell of the 14×14 grid, so its attention matrices say
  which face regions the position calibration draws on. *Attention received* by a cell is the mean,
  over all query cells (and heads), of the attention paid to it. *Rollout* (Abnar & Zuidema, 2020)
  composes the layers: each layer's head-averaged matrix is mixed with the identity for the
  residual path, ``Â = ½·A + ½·I`` (rows renormalised), and ``R = Â_L ⋯ Â_1``; with no class token
  the map is again the mean over query rows of ``R``.
* **Grad-CAM** (:func:`grad_cam`, Selvaraju et al., 2017) on the fused 14×14×512 map: the gradient
  of the chosen class's logit, averaged over positions, weights the channels;
  ``ReLU(Σ_c α_c·A_c)`` shows where the evidence for that class lies. The gradient flows only
  through the head, so it costs one forward pass plus a tiny backward pass.
* :func:`explain` computes the kinds asked for on one batch of onset/apex pairs: the one function
  the analysis (:class:`~tsfgui.engine.Analyzer`) and the app's inspector use.
* Cell ``u`` of an ``n×n`` map covers crop pixels ``[u·S/n, (u+1)·S/n)`` (:func:`upsample_heatmap`);
  :func:`tsfgui.face.heatmap_to_frame` warps a map onto the video frame with the alignment's inverse.

The difference between the aligned crops (how much the face moved) is a signal of the engine,
:mod:`tsfgui.engine.difference`, not an explanation of the model.

Heatmaps are ``float32`` numpy arrays in [0, 1]: attention maps are min–max scaled (all values
are positive, their contrast is what matters), Grad-CAM maps are divided by their maximum (zero
keeps its meaning: no evidence).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import cv2
import numpy as np
import torch

__all__ = [
    "HEATMAP_KINDS", "explain", "attention_received", "attention_rollout", "GradCAM", "grad_cam", "upsample_heatmap",
    "overlay_heatmap", "normalize_heatmap",
]

#: the heatmaps :func:`explain` computes; ``"layers"`` adds the attention received in every layer and head
HEATMAP_KINDS = ("attention", "rollout", "gradcam")


def _np(x: torch.Tensor | np.ndarray) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().float().cpu().numpy()
    return np.asarray(x, dtype=np.float32)


def normalize_heatmap(h: np.ndarray, mode: str = "minmax") -> np.ndarray:
    """Scale each map of ``h`` (``(..., H, W)``) to [0, 1]: ``"minmax"`` or ``"max"`` (keeps 0 at 0)."""
    h = np.asarray(h, dtype=np.float32)
    flat = h.reshape(-1, h.shape[-2] * h.shape[-1]) if h.ndim > 2 else h.reshape(1, -1)
    lo = flat.min(axis=1, keepdims=True) if mode == "minmax" else np.zeros((flat.shape[0], 1), np.float32)
    hi = flat.max(axis=1, keepdims=True)
    span = np.where(hi - lo > 0, hi - lo, 1.0)
    out = np.clip((flat - lo) / span, 0.0, 1.0)
    return out.reshape(h.shape).astype(np.float32)


def _grid(n_tokens: int, grid: tuple[int, int] | None) -> tuple[int, int]:
    if grid is not None:
        return grid
    side = int(round(n_tokens ** 0.5))
    if side * side != n_tokens:
        raise ValueError(f"{n_tokens} tokens are not a square grid; pass grid=(rows, cols)")
    return side, side


def _as_bhnn(a: torch.Tensor | np.ndarray) -> np.ndarray:
    a = _np(a)
    if a.ndim == 2:  # (N, N)
        a = a[None, None]
    elif a.ndim == 3:  # (heads, N, N)
        a = a[None]
    if a.ndim != 4 or a.shape[-1] != a.shape[-2]:
        raise ValueError(f"attention must be (B, heads, N, N), got shape {a.shape}")
    return a


def attention_received(attention: torch.Tensor | np.ndarray, head: int | None = None,
                       grid: tuple[int, int] | None = None, normalize: bool = True) -> np.ndarray:
    """Attention received by each token as a ``(B, rows, cols)`` map.

    ``attention``: one layer's ``(B, heads, N, N)`` matrix (rows = queries), e.g.
    ``model.forward_intermediates(...).spatial_attention[-1]``. ``head``: one head, or the mean of
    all heads (default).
    """
    a = _as_bhnn(attention)
    a = a.mean(axis=1) if head is None else a[:, head]
    received = a.mean(axis=1)  # mean over queries → (B, N)
    r, c = _grid(received.shape[-1], grid)
    out = received.reshape(-1, r, c)
    return normalize_heatmap(out) if normalize else out.astype(np.float32)


def attention_rollout(attentions: Sequence[torch.Tensor | np.ndarray], residual: float = 0.5,
                      grid: tuple[int, int] | None = None, normalize: bool = True) -> np.ndarray:
    """Attention rollout over all layers (first to last) as a ``(B, rows, cols)`` map.

    Heads are averaged per layer; ``residual`` is the weight of the identity (the skip connection).
    """
    if not attentions:
        raise ValueError("attention_rollout needs at least one attention matrix")
    mats = [_as_bhnn(a).mean(axis=1).astype(np.float64) for a in attentions]
    n = mats[0].shape[-1]
    eye = np.eye(n)
    rollout = None
    for a in mats:
        a_hat = (1.0 - residual) * a + residual * eye
        a_hat /= a_hat.sum(axis=-1, keepdims=True)
        rollout = a_hat if rollout is None else a_hat @ rollout
    received = rollout.mean(axis=1)
    r, c = _grid(n, grid)
    out = received.reshape(-1, r, c).astype(np.float32)
    return normalize_heatmap(out) if normalize else out


@dataclass
class GradCAM:
    """Grad-CAM of one batch: ``heatmaps`` ``(B, h, w)`` in [0, 1], the explained class per sample,
    and the model's probabilities ``(B, C)``."""

    heatmaps: np.ndarray
    classes: list[int]
    probabilities: np.ndarray
    class_names: list[str] = field(default_factory=list)


def grad_cam(model: torch.nn.Module, onset: torch.Tensor, apex: torch.Tensor, *,
             target: int | str | Sequence[int | str] | None = None,
             reference: torch.Tensor | None = None, features: torch.Tensor | None = None) -> GradCAM:
    """Class-specific Grad-CAM on the fused map of a :class:`~tsfgui.model.TSFmicro`.

    ``target``: the class to explain — ``None`` for each sample's predicted class, an index or a
    class name for all samples, or one per sample. ``reference``: a cached spatial embedding;
    ``features``: an already computed fused map (skips the forward pass). Works inside
    ``torch.inference_mode()`` too (gradients are switched on locally). Put the model in eval mode
    first: in training mode the head's BatchNorm mixes the samples of the batch.
    """
    names = list(getattr(model, "class_names", []))
    with torch.inference_mode(False):
        if features is None:
            with torch.no_grad():
                features = model.forward_features(onset, apex, reference)
        fused = features.detach().clone().requires_grad_(True)
        with torch.enable_grad():
            logits = model.forward_head(fused)
            b, c = logits.shape
            if target is None:
                classes = logits.argmax(dim=1).tolist()
            else:
                items = list(target) if isinstance(target, (list, tuple)) else [target] * b
                if len(items) != b:
                    raise ValueError(f"target has {len(items)} entries for a batch of {b}")
                classes = []
                for t in items:
                    if isinstance(t, str):
                        if t not in names:
                            raise ValueError(f"unknown class {t!r}; classes: {', '.join(names)}")
                        t = names.index(t)
                    if not 0 <= int(t) < c:
                        raise ValueError(f"class index {t} out of range for {c} classes")
                    classes.append(int(t))
            idx = torch.tensor(classes, device=logits.device)
            score = logits.gather(1, idx[:, None]).sum()
            (grad,) = torch.autograd.grad(score, fused)
        weights = grad.float().mean(dim=(2, 3), keepdim=True)  # α_c per sample
        cam = torch.relu((weights * fused.detach().float()).sum(dim=1))
        probs = torch.softmax(logits.detach().float(), dim=1)
    return GradCAM(normalize_heatmap(cam.cpu().numpy(), "max"), classes, probs.cpu().numpy(), names)


def upsample_heatmap(heatmap: np.ndarray | torch.Tensor, size: int | tuple[int, int] = 224) -> np.ndarray:
    """Bilinear upsampling of ``(h, w)`` or ``(B, h, w)`` maps to ``size`` (side, or (height, width)).

    Cell centres stay at cell centres (OpenCV's half-pixel convention): cell ``u`` of an ``n``-cell
    map covers pixels ``[u·S/n, (u+1)·S/n)``.
    """
    h = _np(heatmap)
    hh, ww = (size, size) if isinstance(size, int) else size
    if h.ndim == 2:
        return cv2.resize(h, (ww, hh), interpolation=cv2.INTER_LINEAR)
    return np.stack([cv2.resize(m, (ww, hh), interpolation=cv2.INTER_LINEAR) for m in h])


def overlay_heatmap(frame: np.ndarray, heatmap: np.ndarray, alpha: float = 0.45,
                    colormap: int = cv2.COLORMAP_JET, mask_below: float | None = 0.0) -> np.ndarray:
    """Blend a [0, 1] heatmap (same height/width as ``frame``) onto a BGR ``uint8`` frame.

    Pixels whose heat is at most ``mask_below`` stay untouched (e.g. outside the face crop).
    """
    heat = np.clip(np.asarray(heatmap, dtype=np.float32), 0.0, 1.0)
    colour = cv2.applyColorMap((heat * 255).astype(np.uint8), colormap)
    blended = cv2.addWeighted(frame, 1.0 - alpha, colour, alpha, 0.0)
    if mask_below is not None:
        keep = heat <= mask_below
        blended[keep] = frame[keep]
    return blended


def explain(model: torch.nn.Module, onset: torch.Tensor, apex: torch.Tensor, kinds: Sequence[str] = HEATMAP_KINDS, *,
            reference: torch.Tensor | None = None, features: torch.Tensor | None = None,
            target: int | str | Sequence[int | str] | None = None) -> dict[str, np.ndarray]:
    """Heatmaps of a batch of pairs (normalised onset and apex tensors): ``{kind: (B, h, w)}`` in
    [0, 1] for each of ``kinds`` — ``attention`` (received, last layer), ``rollout``, ``gradcam`` (of
    ``target``, default the predicted class) and ``layers`` (``"layer L head H"`` for every layer and
    head of the spatial branch). ``reference``/``features``: the spatial embedding and fused map when
    the caller computed them already (the analysis does)."""
    unknown = set(kinds) - set(HEATMAP_KINDS) - {"layers"}
    if unknown:
        raise ValueError(f"unknown heatmap kind(s) {sorted(unknown)}; choose from {', '.join(HEATMAP_KINDS)}, layers")
    maps: dict[str, np.ndarray] = {}
    if {"attention", "rollout", "layers"} & set(kinds):
        _, attentions = model.embed_reference(onset, need_weights=True)
        if "attention" in kinds:
            maps["attention"] = np.asarray(attention_received(attentions[-1]))
        if "rollout" in kinds:
            maps["rollout"] = np.asarray(attention_rollout(attentions))
        if "layers" in kinds:
            for layer, att in enumerate(attentions):
                for head in range(att.shape[1]):
                    maps[f"layer {layer + 1} head {head + 1}"] = np.asarray(attention_received(att, head=head))
    if "gradcam" in kinds:
        maps["gradcam"] = grad_cam(model, onset, apex, target=target, reference=reference, features=features).heatmaps
    return maps
