"""Weights files: safetensors with the whole configuration inside; legacy checkpoints read safely.

A tsfgui weights file is a ``.safetensors`` file whose metadata (string → string) holds:

=================  ==========================================================================
``format``         ``tsfgui.tsfmicro``
``format_version`` ``1``
``config``         :class:`~tsfgui.model.config.TSFmicroConfig` as JSON (architecture, input size)
``class_names``    JSON list, the logit order
``label_scheme``   e.g. ``megc3``
``normalization``  JSON ``{"mean": [...], "std": [...]}`` (RGB, for inputs in [0, 1])
``input_size``     e.g. ``224``
``dtype``          storage dtype of the floating tensors (``float32`` or ``float16``/``bfloat16``)
``provenance``     JSON object: where the weights came from (data set, protocol, fold, date …)
=================  ==========================================================================

Loading runs no code: safetensors holds only tensors and strings. Files stored in float16 or
bfloat16 load back as float32.

Research checkpoints (``.pth``/``.pt``/``.bin``/``.ckpt``) are pickles; they are opened only with
``torch.load(weights_only=True)``, which refuses pickles that reference anything but tensors and
plain containers (such a file could run code while loading), and there is no fallback to
``weights_only=False``. Their tensor names are translated from the authors' TSFmicro code
(``vit_pos.*``, ``main_branch.*``) and from RMT (``patch_embed.*``, ``layers.*``) to ours; a
checkpoint that holds only the retentive backbone loads into the temporal branch of a new model.

Every problem raises :class:`WeightsError`, whose message names the file, says what is wrong and
what to do.
"""

from __future__ import annotations

import json
import pickle
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import torch

from tsfgui.io.atomic import atomic_path

from .class_order import parse_class_order, reorder_head, source_class_order
from .config import ConfigError, LABEL_SCHEMES, TSFmicroConfig

__all__ = [
    "WeightsError", "LoadReport", "FORMAT", "FORMAT_VERSION", "save_model", "load_model", "read_metadata",
    "read_tensors", "load_legacy_checkpoint", "translate_legacy", "check_state_dict",
]

FORMAT = "tsfgui.tsfmicro"
FORMAT_VERSION = "1"
LEGACY_SUFFIXES = (".pth", ".pt", ".bin", ".ckpt", ".pkl")
_STORAGE_DTYPES = {torch.float32: "float32", torch.float16: "float16", torch.bfloat16: "bfloat16"}


class WeightsError(Exception):
    """A weights file that cannot be used; ``str()`` is a complete sentence naming the file."""

    def __init__(self, path: str | Path | None, message: str):
        self.path = None if path is None else Path(path)
        super().__init__(f"weights file '{path}': {message}" if path is not None else message)


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


# saving -----------------------------------------------------------------------------------------------

def save_model(model: "torch.nn.Module", path: str | Path, *, dtype: torch.dtype = torch.float32,
               provenance: Mapping[str, Any] | None = None) -> Path:
    """Write ``model`` (a :class:`~tsfgui.model.TSFmicro`) to ``path`` as safetensors.

    ``dtype``: storage type of floating tensors — ``torch.float32`` (exact), ``torch.float16`` or
    ``torch.bfloat16`` (half the size; loads back as float32). Integer buffers keep their type.
    ``provenance`` (JSON-serialisable) is merged over ``model.provenance``. The file is written to a
    temporary name and renamed, so a crash never leaves a truncated file behind.
    """
    from safetensors.torch import save_file

    if dtype not in _STORAGE_DTYPES:
        raise ValueError(f"storage dtype must be one of {list(_STORAGE_DTYPES.values())}, got {dtype}")
    path = Path(path)
    cfg: TSFmicroConfig = model.config
    prov = dict(getattr(model, "provenance", {}) or {})
    prov.update(provenance or {})
    try:
        prov_json = json.dumps(prov, sort_keys=True)
    except TypeError as exc:
        raise ValueError(f"provenance must be JSON-serialisable: {exc}") from None
    tensors = {}
    for name, t in model.state_dict().items():
        t = t.detach().to("cpu")
        if t.is_floating_point():
            t = t.to(dtype)
        tensors[name] = t.contiguous()
    metadata = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "config": cfg.to_json(),
        "class_names": json.dumps(list(cfg.class_names)),
        "label_scheme": cfg.label_scheme,
        "normalization": json.dumps({"mean": list(cfg.mean), "std": list(cfg.std)}),
        "input_size": str(cfg.img_size),
        "dtype": _STORAGE_DTYPES[dtype],
        "provenance": prov_json,
    }
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata=metadata)
    return path


# reading ----------------------------------------------------------------------------------------------

def _is_safetensors(path: Path) -> bool:
    """A safetensors file starts with an 8-byte little-endian header length, then ``{``."""
    try:
        with open(path, "rb") as f:
            head = f.read(9)
    except OSError:
        return False
    if len(head) < 9 or head[8:9] != b"{":
        return False
    n = int.from_bytes(head[:8], "little")
    return 0 < n <= path.stat().st_size - 8


def read_metadata(path: str | Path) -> dict[str, str]:
    """The metadata strings of a safetensors file (empty dict when it has none)."""
    from safetensors import safe_open

    path = Path(path)
    _check_exists(path)
    try:
        with safe_open(str(path), framework="pt") as f:
            return dict(f.metadata() or {})
    except Exception as exc:  # safetensors raises its own error types
        raise WeightsError(path, f"is not a readable safetensors file ({exc})") from None


def read_tensors(path: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """``(tensors, metadata)`` of a safetensors file, or of a legacy checkpoint (metadata empty)."""
    path = Path(path)
    _check_exists(path)
    if _is_safetensors(path):
        from safetensors.torch import load_file

        meta = read_metadata(path)
        try:
            return load_file(str(path), device="cpu"), meta
        except Exception as exc:
            raise WeightsError(path, f"is damaged or not a safetensors file ({exc})") from None
    return load_legacy_checkpoint(path), {}


def _check_exists(path: Path) -> None:
    if not path.exists():
        raise WeightsError(path, "does not exist")
    if path.is_dir():
        raise WeightsError(path, "is a folder; give the .safetensors file inside it")


_UNSAFE_GLOBAL = re.compile(r"GLOBAL\s+([\w.]+)")


def load_legacy_checkpoint(path: str | Path) -> dict[str, torch.Tensor]:
    """Tensors of a ``.pth``/``.pt`` research checkpoint, read with ``torch.load(weights_only=True)``.

    Accepts a bare state dict or one nested under ``state_dict``/``model``/``model_state_dict``/
    ``net``/``module``; strips ``module.`` prefixes (DataParallel). Refuses, with
    :class:`WeightsError`, pickles that would run code or import anything but tensors.
    """
    path = Path(path)
    _check_exists(path)
    try:
        with warnings.catch_warnings():  # e.g. "pickle protocol 4" notes: the outcome is reported below
            warnings.simplefilter("ignore", UserWarning)
            obj = torch.load(str(path), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        text = str(exc)
        found = _UNSAFE_GLOBAL.search(text)
        what = f" (it references {found.group(1).strip()})" if found else ""
        raise WeightsError(
            path,
            "is a pickle that carries code or non-tensor objects" + what + ", so tsfgui refuses to open it: "
            "loading it could run arbitrary code. Ask its author for a .safetensors file, or, if you "
            "trust where it came from, re-save only its tensors (model.state_dict()) in a separate "
            "Python session and convert that.",
        ) from None
    except Exception as exc:  # zip, EOF, safetensors-detection errors … all mean: not a checkpoint we can read
        raise WeightsError(path, f"is neither a safetensors file nor a readable PyTorch checkpoint ({exc})") from None
    state = _find_state_dict(obj)
    if state is None:
        raise WeightsError(path, "holds no tensors (expected a state dict of weights)")
    return state


def _find_state_dict(obj: Any) -> dict[str, torch.Tensor] | None:
    if isinstance(obj, Mapping):
        tensors = {str(k): v for k, v in obj.items() if isinstance(v, torch.Tensor)}
        if tensors and len(tensors) >= len(obj) / 2:
            return {k[7:] if k.startswith("module.") else k: v for k, v in tensors.items()}
        for key in ("state_dict", "model", "model_state_dict", "net", "module", "ema", "model_ema"):
            if key in obj:
                found = _find_state_dict(obj[key])
                if found:
                    return found
    return None


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


# checking and loading ---------------------------------------------------------------------------------

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


def load_model(path: str | Path, *, config: TSFmicroConfig | None = None, label_scheme: str | None = None,
               class_names: list[str] | tuple[str, ...] | None = None, strict: bool = True,
               device: torch.device | str | None = None,
               class_order: str | list[str] | tuple[str, ...] | None = None) -> "torch.nn.Module":
    """Build a :class:`~tsfgui.model.TSFmicro` from a weights file and load its tensors.

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
    differently shaped tensor raises :class:`WeightsError` listing them all; otherwise the matching
    tensors load and ``model.load_report`` (:class:`LoadReport`) says what did not.
    """
    from .tsfmicro import TSFmicro

    path = Path(path)
    tensors, meta = read_tensors(path)
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
    model = TSFmicro(cfg)
    prefix = ""
    if backbone_only:
        # a backbone checkpoint: only the temporal branch is taken; its own head (e.g. ImageNet) is not ours
        prefix = "temporal."
        ignored = ignored + [k for k in state if not k.startswith("temporal.")]
        state = {k: v for k, v in state.items() if k.startswith("temporal.")}
    elif not any(k.startswith(("temporal.", "spatial.", "head.")) for k in state):
        raise WeightsError(path, "holds no tensors this model knows (neither a TSFmicro model nor an RMT "
                                 "backbone); is it a checkpoint of another network?")
    report = check_state_dict(model, state, prefix)
    report.ignored = ignored
    report.backbone_only = bool(backbone_only)
    if not report.ok and strict:
        kind = "backbone checkpoint" if backbone_only else "weights"
        raise WeightsError(path, f"{kind} do not fit the {cfg.label_scheme} TSFmicro model: {report.describe()}. "
                                 "Was it saved from another architecture or label scheme? "
                                 "(strict=False loads the matching tensors only.)")
    good = {k: v for k, v in state.items()
            if k not in report.unexpected and k not in {m[0] for m in report.mismatched}}
    own = model.state_dict()
    with torch.no_grad():
        for k, v in good.items():
            own[k].copy_(v.to(own[k].dtype) if v.is_floating_point() else v)
    report.loaded = sorted(good)
    model.load_report = report
    if is_ours:
        try:
            model.provenance = json.loads(meta.get("provenance", "{}"))
        except json.JSONDecodeError:
            model.provenance = {}
    else:
        model.provenance = {"imported_from": path.name, "backbone_only": bool(backbone_only)}
        if order_note is not None:
            model.provenance["class_order"] = order_note
    model.eval()
    if device is not None:
        model.to(device)
    return model
