"""The checkpoint filter beside the model: a weights file's tensors → this implementation's names,
configuration and class order, and what of them to load.

tsfgui files pass through with the configuration in their metadata. Research checkpoints are
translated from the authors' TSFmicro code (``vit_pos.*``, ``main_branch.*``) and from RMT
(``patch_embed.*``, ``layers.*``); a checkpoint holding only the retentive backbone loads into the
temporal branch of a new model. :func:`~tsfgui.model.tsfmicro.create_model` builds the model and
loads what this module returns; :mod:`~tsfgui.model.weights` only reads and writes the files.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import torch

from .class_order import parse_class_order, reorder_head, source_class_order
from .config import ConfigError, LABEL_SCHEMES, TSFmicroConfig
from .weights import FORMAT, FORMAT_VERSION, WeightsError

__all__ = ["LoadReport", "FilteredCheckpoint", "filter_checkpoint", "translate_legacy", "check_state_dict"]


@dataclass
class LoadReport:
    """How a file's tensors matched the model's.

    ``missing``: model tensors the file lacks; ``unexpected``: file tensors the model has no place for;
    ``mismatched``: ``(name, shape in file, shape in model)``; ``ignored``: file tensors left out on
    purpose (unused by this architecture, e.g. the ViT's unused class token, RMT's decay buffers);
    ``loaded``: tensors copied into the model.
    """

    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    mismatched: list[tuple[str, tuple[int, ...], tuple[int, ...]]] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    loaded: list[str] = field(default_factory=list)
    backbone_only: bool = False

    @property
    def ok(self) -> bool:
        return not (self.missing or self.unexpected or self.mismatched)

    def describe(self, limit: int = 12) -> str:
        """Human-readable list of every mismatch (at most ``limit`` names per kind)."""
        def names(items: list[str]) -> str:
            more = f", … ({len(items) - limit} more)" if len(items) > limit else ""
            return ", ".join(items[:limit]) + more

        parts = []
        if self.mismatched:
            shown = [f"{n} (file {list(f)}, model {list(m)})" for n, f, m in self.mismatched]
            parts.append(f"{len(self.mismatched)} with a different shape: {names(shown)}")
        if self.missing:
            parts.append(f"{len(self.missing)} missing from the file: {names(self.missing)}")
        if self.unexpected:
            parts.append(f"{len(self.unexpected)} not in the model: {names(self.unexpected)}")
        return "; ".join(parts) if parts else "all tensors match"


# translation of research checkpoints ------------------------------------------------------------------

_IGNORED_LEGACY = (
    re.compile(r"^spatial\.(cls_token|head\.|to_Mask\.)"),  # unused parts of the authors' ViT
    re.compile(r"\.Relpos\.(angle|decay)$"),  # RMT constants; we derive them from the configuration
)


def translate_legacy(state: Mapping[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], list[str]]:
    """Rename a research checkpoint's tensors to this implementation's names.

    Understands the authors' TSFmicro model (``vit_pos.*`` = spatial branch, ``main_branch.*`` =
    temporal branch and head) and bare RMT backbones (``patch_embed.*``, ``layers.*``,
    ``proj``/``norm``/``head``). Separate ``q_proj``/``k_proj``/``v_proj`` are concatenated into
    ``qkv``; the 1×1 embedding convolution becomes a linear weight. Names already in our form pass
    through. Returns ``(translated, ignored names)``.
    """
    out: dict[str, torch.Tensor] = {}
    ignored: list[str] = []
    qkv_parts: dict[str, dict[str, torch.Tensor]] = {}
    stem_map = {"0": ("0", "conv"), "1": ("0", "bn"), "3": ("1", "conv"), "4": ("1", "bn"),
                "6": ("2", "conv"), "7": ("2", "bn"), "9": ("3", "conv"), "10": ("3", "bn")}
    for name, t in state.items():
        n = name
        if n.startswith("vit_pos."):
            n = "spatial." + n[len("vit_pos."):]
        elif n.startswith("main_branch."):
            n = n[len("main_branch."):]
        if not n.startswith(("spatial.", "temporal.", "head.")) or n.startswith("head.") and n.count(".") == 1:
            n = _translate_rmt(n, stem_map)
        if n.startswith("spatial."):
            n = n.replace(".patch_embed.proj.", ".patch_embed.")
            if n == "spatial.patch_embed.weight" and t.ndim == 4:
                t = t.flatten(1)
        if any(p.search(n) for p in _IGNORED_LEGACY):
            ignored.append(name)
            continue
        m = re.match(r"^(temporal\.stages\.\d+\.blocks\.\d+\.attn)\.(q|k|v)_proj\.(weight|bias)$", n)
        if m:
            qkv_parts.setdefault(f"{m.group(1)}.qkv.{m.group(3)}", {})[m.group(2)] = t
            continue
        out[n] = t
    for name, parts in qkv_parts.items():
        if set(parts) == {"q", "k", "v"}:
            out[name] = torch.cat([parts["q"], parts["k"], parts["v"]], dim=0)
        else:  # incomplete: keep what is there under recognisable names so the report shows it
            for key, t in parts.items():
                out[name.replace(".qkv.", f".{key}_proj.")] = t
    return out, ignored


def _translate_rmt(n: str, stem_map: Mapping[str, tuple[str, str]]) -> str:
    m = re.match(r"^patch_embed\.proj\.(\d+)\.(.+)$", n)
    if m and m.group(1) in stem_map:
        idx, kind = stem_map[m.group(1)]
        return f"temporal.stem.{idx}.{kind}.{m.group(2)}"
    m = re.match(r"^layers\.(\d+)\.downsample\.(reduction|norm)\.(.+)$", n)
    if m:
        kind = "conv" if m.group(2) == "reduction" else "bn"
        return f"temporal.merges.{m.group(1)}.reduction.{kind}.{m.group(3)}"
    m = re.match(r"^layers\.(\d+)\.Relpos\.(.+)$", n)
    if m:
        return f"temporal.stages.{m.group(1)}.Relpos.{m.group(2)}"
    m = re.match(r"^layers\.(\d+)\.blocks\.(\d+)\.(.+)$", n)
    if m:
        pre, rest = f"temporal.stages.{m.group(1)}.blocks.{m.group(2)}", m.group(3)
        table = [
            (r"^pos\.conv\.(.+)$", r"cpe.conv.\1"),
            (r"^retention_layer_norm\.(.+)$", r"norm1.\1"),
            (r"^final_layer_norm\.(.+)$", r"norm2.\1"),
            (r"^retention\.(q|k|v)_proj\.(.+)$", r"attn.\1_proj.\2"),
            (r"^retention\.out_proj\.(.+)$", r"attn.proj.\1"),
            (r"^retention\.lepe\.conv\.(.+)$", r"attn.lepe.conv.\1"),
            (r"^ffn\.(fc1|fc2)\.(.+)$", r"ffn.\1.\2"),
            (r"^ffn\.dwconv\.conv\.(.+)$", r"ffn.dwconv.conv.\1"),
        ]
        for pat, rep in table:
            if re.match(pat, rest):
                return f"{pre}.{re.sub(pat, rep, rest)}"
        return f"{pre}.{rest}"
    m = re.match(r"^(proj|norm)\.(.+)$", n)
    if m:
        return f"head.{m.group(1)}.{m.group(2)}"
    m = re.match(r"^head\.(weight|bias)$", n)
    if m:
        return f"head.fc.{m.group(1)}"
    return n


# checking ---------------------------------------------------------------------------------

def check_state_dict(model: torch.nn.Module, state: Mapping[str, torch.Tensor], prefix: str = "") -> LoadReport:
    """Compare ``state`` with the model's tensors (only those under ``prefix`` when given)."""
    own = {k: v for k, v in model.state_dict().items() if k.startswith(prefix)}
    report = LoadReport()
    for name, t in state.items():
        if name not in own:
            report.unexpected.append(name)
        elif tuple(t.shape) != tuple(own[name].shape):
            report.mismatched.append((name, tuple(t.shape), tuple(own[name].shape)))
    report.missing = [k for k in own if k not in state]
    return report


def _infer_config(path: Path, state: Mapping[str, torch.Tensor], label_scheme: str | None) -> TSFmicroConfig:
    """Configuration for a legacy full-model checkpoint: the paper's, classes from the head size."""
    fc = state.get("head.fc.weight")
    if label_scheme is not None:
        try:
            return TSFmicroConfig(label_scheme=label_scheme)
        except ConfigError as exc:
            raise WeightsError(path, str(exc)) from None
    if fc is None:
        return TSFmicroConfig()
    n = int(fc.shape[0])
    schemes = [s.name for s in LABEL_SCHEMES.values() if s.num_classes == n]
    if len(schemes) == 1:
        return TSFmicroConfig(label_scheme=schemes[0])
    if not schemes:
        raise WeightsError(path, f"has a {n}-class head, which matches no label scheme; pass class_names=")
    raise WeightsError(path, f"has a {n}-class head, which fits the label schemes {', '.join(schemes)}; "
                             f"pass label_scheme= to say which")



@dataclass
class FilteredCheckpoint:
    """What a file gives a model: its configuration, the tensors to load (under ``prefix`` only for a
    backbone checkpoint), the tensor names left out on purpose, and its provenance."""

    config: TSFmicroConfig
    state: dict[str, torch.Tensor]
    prefix: str
    ignored: list[str]
    backbone_only: bool
    provenance: dict[str, Any]


def _provenance(path: Path, meta: Mapping[str, str]) -> dict[str, Any]:
    """A tsfgui file's provenance; a damaged one is kept as a warning, never dropped silently."""
    text = meta.get("provenance", "{}")
    try:
        provenance = json.loads(text)
    except json.JSONDecodeError:
        provenance = None
    if not isinstance(provenance, dict):
        return {"damaged": True, "warning": f"the provenance in '{path.name}' is damaged; where these weights come "
                                            "from and whether they were validated is unknown"}
    return provenance


def filter_checkpoint(path: str | Path, tensors: Mapping[str, torch.Tensor], meta: Mapping[str, str], *,
                      config: TSFmicroConfig | None = None, label_scheme: str | None = None,
                      class_names: list[str] | tuple[str, ...] | None = None,
                      class_order: str | list[str] | tuple[str, ...] | None = None) -> FilteredCheckpoint:
    """The tensors of ``path`` (read by :func:`~tsfgui.model.weights.read_tensors`) made fit for a
    TSFmicro model; the options are those of :func:`~tsfgui.model.tsfmicro.create_model`."""
    path = Path(path)
    is_ours = meta.get("format") == FORMAT
    if is_ours:
        if meta.get("format_version") != FORMAT_VERSION:
            raise WeightsError(path, f"has format version {meta.get('format_version')!r}; this tsfgui reads "
                                     f"version {FORMAT_VERSION}. Update tsfgui.")
        try:
            file_cfg = TSFmicroConfig.from_json(meta["config"])
        except (KeyError, ConfigError) as exc:
            raise WeightsError(path, f"has a damaged configuration in its metadata ({exc})") from None
        if config is not None and config != file_cfg:
            diff = [k for k, v in config.to_dict().items() if file_cfg.to_dict().get(k) != v]
            raise WeightsError(path, f"was saved with a different configuration (differs in: {', '.join(diff)})")
        cfg = file_cfg
        if class_order is not None and parse_class_order(class_order, cfg.label_scheme) != cfg.class_names:
            raise WeightsError(path, f"names its classes in its metadata ({', '.join(cfg.class_names)}); "
                                     "a class order can only be given for research checkpoints (.pth)")
        ignored: list[str] = []
        state = dict(tensors)
        order_note = None
    else:
        state, ignored = translate_legacy(tensors)
        if config is not None:
            cfg = config
        elif class_names is not None:
            cfg = TSFmicroConfig(label_scheme=label_scheme or "custom", class_names=tuple(class_names))
        else:
            cfg = _infer_config(path, state, label_scheme)
        order_note = None
        if state.get("head.fc.weight") is not None and state["head.fc.weight"].shape[0] == cfg.num_classes:
            given = parse_class_order(class_order, cfg.label_scheme)
            order, how = source_class_order(list(tensors), cfg.label_scheme, given)
            try:
                state = reorder_head(state, order or cfg.class_names, cfg.class_names)
            except ValueError as exc:
                raise WeightsError(path, f"{exc}; give the file's logit order as class names separated by "
                                         f"commas") from None
            order_note = {"file_order": list(order or cfg.class_names), "how": how}
        elif class_order is not None:
            raise WeightsError(path, "has no classifier head of the model's size, so a class order cannot apply")
    if not state:
        raise WeightsError(path, "holds no tensors")
    backbone_only = (not is_ours and any(k.startswith("temporal.") for k in state)
                     and not any(k.startswith("spatial.") for k in state))
    prefix = ""
    if backbone_only:
        # a backbone checkpoint: only the temporal branch is taken; its own head (e.g. ImageNet) is not ours
        prefix = "temporal."
        ignored = ignored + [k for k in state if not k.startswith("temporal.")]
        state = {k: v for k, v in state.items() if k.startswith("temporal.")}
    elif not any(k.startswith(("temporal.", "spatial.", "head.")) for k in state):
        raise WeightsError(path, "holds no tensors this model knows (neither a TSFmicro model nor an RMT "
                                 "backbone); is it a checkpoint of another network?")
    if is_ours:
        provenance = _provenance(path, meta)
    else:
        provenance = {"imported_from": path.name, "backbone_only": bool(backbone_only)}
        if order_note is not None:
            provenance["class_order"] = order_note
    return FilteredCheckpoint(cfg, state, prefix, ignored, bool(backbone_only), provenance)
