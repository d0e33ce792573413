"""Configuration of the TSFmicro model and the registry of label schemes.

Everything that defines the network — architecture hyper-parameters, input size, normalisation, the
label scheme and its class names — is one JSON-serialisable dataclass, :class:`TSFmicroConfig`. It
travels inside every weights file (see :mod:`tsfgui.model.weights`), so a file always rebuilds the
network it was saved from.

Defaults are the paper's configuration (Liu, Nan, Qian, Fu, arXiv 2505.16372, and the authors'
public configuration of the temporal branch):

* temporal branch: embed dims (64, 128, 256, 512), depths (1, 1, 2, 1), heads (2, 2, 2, 2),
  MLP ratio 3, drop-path 0.1, decay init 2, decay ranges (4, 4, 6, 6), stages 1–2 decomposed;
* spatial branch: depth 2, 4 heads, MLP ratio 4, its width equal to the last temporal width;
* head: 1024 hidden units.

:meth:`TSFmicroConfig.tiny` gives a few-thousand-parameter network of the same structure, for tests.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any, Mapping

IMAGENET_MEAN: tuple[float, float, float] = (0.485, 0.456, 0.406)
IMAGENET_STD: tuple[float, float, float] = (0.229, 0.224, 0.225)


class ConfigError(ValueError):
    """A configuration that cannot describe a TSFmicro network; the message says which field and why."""


@dataclass(frozen=True)
class LabelScheme:
    """A set of emotion classes in a fixed order (the order of the logits)."""

    name: str
    title: str
    class_names: tuple[str, ...]
    note: str = ""

    @property
    def num_classes(self) -> int:
        return len(self.class_names)


#: The label schemes of the paper's experiments. Class order is the logit order; the datasets'
#: own labels are mapped to these names by the training adapters (``tsfgui.train``).
LABEL_SCHEMES: dict[str, LabelScheme] = {
    s.name: s
    for s in (
        LabelScheme(
            "megc3", "MEGC composite, 3 classes", ("negative", "positive", "surprise"),
            "MEGC 2019 order. Negative = anger, contempt, disgust, fear, sadness (and CASME II "
            "repression); positive = happiness. The authors' code orders its 3-class logits "
            "(positive, surprise, negative); importing their checkpoints re-orders the head rows "
            "(tsfgui.model.class_order).",
        ),
        LabelScheme(
            "casme2_5", "CASME II, 5 classes", ("happiness", "repression", "disgust", "surprise", "others"),
            "Order of the authors' CASME II loader.",
        ),
        LabelScheme(
            "samm5", "SAMM, 5 classes", ("anger", "contempt", "happiness", "surprise", "others"),
            "Order of the authors' SAMM loader.",
        ),
        LabelScheme(
            "casme3_4", "CAS(ME)^3, 4 classes", ("positive", "surprise", "others", "negative"),
            "Order of the authors' CAS(ME)^3 4-class loader (positive = happy; negative = anger, "
            "disgust, fear, sad).",
        ),
        LabelScheme(
            "casme3_7", "CAS(ME)^3, 7 classes",
            ("anger", "disgust", "fear", "happiness", "sadness", "surprise", "others"),
            "Order of the authors' CAS(ME)^3 7-class loader.",
        ),
    )
}

#: Name of a scheme whose class names are given explicitly (weights trained on another label set).
CUSTOM_SCHEME = "custom"


def get_label_scheme(name: str) -> LabelScheme:
    """The registered scheme ``name``; ``KeyError`` naming the known schemes otherwise."""
    try:
        return LABEL_SCHEMES[name]
    except KeyError:
        raise KeyError(f"unknown label scheme {name!r}; known: {', '.join(LABEL_SCHEMES)}") from None


def _tuple(value: Any, kind: type, name: str) -> tuple:
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise ConfigError(f"{name} must be a list, got {value!r}")
    try:
        return tuple(kind(v) for v in value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a list of {kind.__name__}, got {value!r}") from None


@dataclass(frozen=True)
class TSFmicroConfig:
    """All hyper-parameters of a TSFmicro network (JSON-serialisable: :meth:`to_json`/:meth:`from_json`).

    ``class_names`` defaults to the names of ``label_scheme``; with ``label_scheme="custom"`` they
    must be given. ``img_size`` must be divisible by ``2 ** len(depths)`` (stem stride 2, then one
    stride-2 patch merging between consecutive stages): 224 → 112 → 56 → 28 → 14.
    """

    label_scheme: str = "megc3"
    class_names: tuple[str, ...] = ()
    img_size: int = 224
    in_chans: int = 3
    mean: tuple[float, ...] = IMAGENET_MEAN
    std: tuple[float, ...] = IMAGENET_STD
    # temporal branch (retentive backbone on apex − onset)
    embed_dims: tuple[int, ...] = (64, 128, 256, 512)
    depths: tuple[int, ...] = (1, 1, 2, 1)
    num_heads: tuple[int, ...] = (2, 2, 2, 2)
    mlp_ratio: float = 3.0
    drop_path_rate: float = 0.1
    decay_init: float = 2.0
    decay_ranges: tuple[float, ...] = (4.0, 4.0, 6.0, 6.0)
    decomposed: tuple[bool, ...] = (True, True, False, False)
    rotary: bool = True
    lepe_kernel: int = 5
    cpe_kernel: int = 3
    ffn_kernel: int = 3
    # spatial branch (shallow ViT on the onset frame at the feature resolution)
    spatial_depth: int = 2
    spatial_heads: int = 4
    spatial_mlp_ratio: float = 4.0
    # classification head
    head_hidden: int = 1024

    def __post_init__(self) -> None:
        set_ = lambda k, v: object.__setattr__(self, k, v)  # noqa: E731 (frozen dataclass)
        set_("embed_dims", _tuple(self.embed_dims, int, "embed_dims"))
        set_("depths", _tuple(self.depths, int, "depths"))
        set_("num_heads", _tuple(self.num_heads, int, "num_heads"))
        set_("decay_ranges", _tuple(self.decay_ranges, float, "decay_ranges"))
        set_("decomposed", _tuple(self.decomposed, bool, "decomposed"))
        set_("mean", _tuple(self.mean, float, "mean"))
        set_("std", _tuple(self.std, float, "std"))
        set_("class_names", _tuple(self.class_names, str, "class_names"))
        if not self.class_names:
            if self.label_scheme == CUSTOM_SCHEME:
                raise ConfigError("label_scheme 'custom' needs class_names")
            try:
                set_("class_names", get_label_scheme(self.label_scheme).class_names)
            except KeyError as exc:
                raise ConfigError(str(exc.args[0])) from None
        self._validate()

    def _validate(self) -> None:
        n = len(self.embed_dims)
        for name in ("depths", "num_heads", "decay_ranges", "decomposed"):
            if len(getattr(self, name)) != n:
                raise ConfigError(f"{name} has {len(getattr(self, name))} entries, embed_dims has {n}")
        if n < 1:
            raise ConfigError("embed_dims must name at least one stage")
        if len(set(self.class_names)) != len(self.class_names):
            raise ConfigError(f"class_names must be unique, got {list(self.class_names)}")
        if len(self.mean) != self.in_chans or len(self.std) != self.in_chans:
            raise ConfigError(f"mean and std need {self.in_chans} values (one per input channel)")
        if any(s <= 0 for s in self.std):
            raise ConfigError(f"std must be positive, got {list(self.std)}")
        stride = 2 ** n
        if self.img_size <= 0 or self.img_size % stride:
            raise ConfigError(f"img_size {self.img_size} must be a positive multiple of {stride} "
                              f"(stem stride 2 and {n - 1} stride-2 patch mergings)")
        for i, (d, h) in enumerate(zip(self.embed_dims, self.num_heads)):
            if d <= 0 or h <= 0 or d % h:
                raise ConfigError(f"stage {i + 1}: embed dim {d} is not divisible by {h} heads")
            if self.rotary and (d // h) % 2:
                raise ConfigError(f"stage {i + 1}: rotary position needs an even head dim, got {d // h}")
        if self.embed_dims[0] % 2:
            raise ConfigError("embed_dims[0] must be even (the stem's first convolutions use half of it)")
        if any(d < 1 for d in self.depths) or self.spatial_depth < 0:
            raise ConfigError("depths must be ≥ 1 and spatial_depth ≥ 0")
        if self.spatial_heads <= 0 or self.embed_dims[-1] % self.spatial_heads:
            raise ConfigError(f"spatial width {self.embed_dims[-1]} is not divisible by {self.spatial_heads} heads")
        for k in ("lepe_kernel", "cpe_kernel", "ffn_kernel"):
            if getattr(self, k) % 2 == 0 or getattr(self, k) < 1:
                raise ConfigError(f"{k} must be odd, got {getattr(self, k)}")
        if not 0.0 <= self.drop_path_rate < 1.0:
            raise ConfigError(f"drop_path_rate must be in [0, 1), got {self.drop_path_rate}")
        if self.mlp_ratio <= 0 or self.spatial_mlp_ratio <= 0 or self.head_hidden <= 0:
            raise ConfigError("mlp ratios and head_hidden must be positive")

    # derived sizes ------------------------------------------------------------------------
    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def num_stages(self) -> int:
        return len(self.embed_dims)

    @property
    def feature_size(self) -> int:
        """Side of the fused map (14 for a 224 input)."""
        return self.img_size // 2 ** self.num_stages

    @property
    def feature_dim(self) -> int:
        """Channels of the fused map (the last temporal width, also the spatial width)."""
        return self.embed_dims[-1]

    def stage_sizes(self) -> list[int]:
        """Side of the token grid of each temporal stage (112, 56, 28, 14 for a 224 input)."""
        return [self.img_size // 2 ** (i + 1) for i in range(self.num_stages)]

    # (de)serialisation --------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "TSFmicroConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown configuration fields: {', '.join(unknown)}")
        return cls(**dict(data))

    @classmethod
    def from_json(cls, text: str) -> "TSFmicroConfig":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"configuration is not valid JSON: {exc}") from None
        if not isinstance(data, dict):
            raise ConfigError("configuration JSON must be an object")
        return cls.from_dict(data)

    def replace(self, **changes: Any) -> "TSFmicroConfig":
        """A copy with ``changes``; changing ``label_scheme`` alone also takes that scheme's class names."""
        if "label_scheme" in changes and "class_names" not in changes:
            changes["class_names"] = ()
        return dataclasses.replace(self, **changes)

    @classmethod
    def tiny(cls, label_scheme: str = "megc3", img_size: int = 32, **changes: Any) -> "TSFmicroConfig":
        """A very small network with the full structure (4 stages, both attention forms, ViT, head).

        For tests: ~20k parameters, a 32×32 input gives 16/8/4/2 token grids and a 2×2 fused map.
        """
        base = dict(
            label_scheme=label_scheme, img_size=img_size, embed_dims=(8, 16, 16, 32), depths=(1, 1, 2, 1),
            num_heads=(2, 2, 2, 2), spatial_heads=2, head_hidden=32,
        )
        base.update(changes)
        return cls(**base)
