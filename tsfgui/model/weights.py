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
``model_card``     optional: the model card (Markdown) that travels with the weights
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

This module reads and writes files only. Turning a file's tensors into a model (translating research
checkpoints, checking every name and shape) is the model's business: :mod:`~tsfgui.model.checkpoint_filter`
and :func:`~tsfgui.model.tsfmicro.create_model`.
"""

from __future__ import annotations

import json
import pickle
import re
import warnings
from pathlib import Path
from typing import Any, Mapping

import torch

from tsfgui.io.atomic import atomic_path

from .config import TSFmicroConfig

__all__ = ["WeightsError", "FORMAT", "FORMAT_VERSION", "save_model", "read_metadata", "read_tensors",
           "load_legacy_checkpoint"]

FORMAT = "tsfgui.tsfmicro"
FORMAT_VERSION = "1"
LEGACY_SUFFIXES = (".pth", ".pt", ".bin", ".ckpt", ".pkl")
_STORAGE_DTYPES = {torch.float32: "float32", torch.float16: "float16", torch.bfloat16: "bfloat16"}


class WeightsError(Exception):
    """A weights file that cannot be used; ``str()`` is a complete sentence naming the file."""

    def __init__(self, path: str | Path | None, message: str):
        self.path = None if path is None else Path(path)
        super().__init__(f"weights file '{path}': {message}" if path is not None else message)


# saving -----------------------------------------------------------------------------------------------

def save_model(model: "torch.nn.Module", path: str | Path, *, dtype: torch.dtype = torch.float32,
               provenance: Mapping[str, Any] | None = None, card: str | None = None) -> Path:
    """Write ``model`` (a :class:`~tsfgui.model.TSFmicro`) to ``path`` as safetensors.

    ``dtype``: storage type of floating tensors — ``torch.float32`` (exact), ``torch.float16`` or
    ``torch.bfloat16`` (half the size; loads back as float32). Integer buffers keep their type.
    ``provenance`` (JSON-serialisable) is merged over ``model.provenance``; ``card`` (Markdown) is stored as
    ``model_card``. The file is written to a
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
    if card:
        metadata["model_card"] = card
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
