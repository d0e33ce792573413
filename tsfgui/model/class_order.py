"""The order of a checkpoint's class logits, and re-ordering a classifier head to a label scheme.

The authors' TSFmicro training code orders its 3-class logits (positive, surprise, negative), while the
MEGC composite scheme here is (negative, positive, surprise). A checkpoint's rows must therefore be
permuted on import, or every class name comes out wrong without any error. Their 5-, 4- and 7-class
loaders use the orders our schemes already have (see :data:`tsfgui.model.config.LABEL_SCHEMES`).
"""

from __future__ import annotations

from typing import Mapping, Sequence

import torch

#: Logit order of the authors' code where it differs from the label scheme's own order.
AUTHORS_CLASS_ORDER: dict[str, tuple[str, ...]] = {"megc3": ("positive", "surprise", "negative")}

#: Prefixes that only checkpoints written by the authors' TSFmicro code have.
AUTHORS_PREFIXES = ("main_branch.", "vit_pos.")

HEAD_ROWS = ("head.fc.weight", "head.fc.bias")


def is_authors_checkpoint(names: Sequence[str]) -> bool:
    """Whether tensor ``names`` are those of the authors' TSFmicro code (``main_branch.*``, ``vit_pos.*``)."""
    return any(n.startswith(AUTHORS_PREFIXES) for n in names)


def parse_class_order(text: str | Sequence[str] | None, scheme: str) -> tuple[str, ...] | None:
    """``"positive,surprise,negative"`` / a list → a tuple of names; ``"authors"`` → the authors' order for
    ``scheme`` (its own order when the authors' code agrees with it); ``None`` → ``None``."""
    if text is None:
        return None
    if isinstance(text, str):
        if text.strip().lower() == "authors":
            return AUTHORS_CLASS_ORDER.get(scheme)
        text = [t for t in (s.strip() for s in text.split(",")) if t]
    return tuple(text)


def source_class_order(tensor_names: Sequence[str], scheme: str,
                       given: tuple[str, ...] | None) -> tuple[tuple[str, ...] | None, str]:
    """The file's logit order and how it was decided: given, or detected from the authors' tensor names.

    Returns ``(order or None for "already in the scheme's order", explanation)``.
    """
    if given is not None:
        return given, "given by the user (class_order)"
    if scheme in AUTHORS_CLASS_ORDER and is_authors_checkpoint(tensor_names):
        return AUTHORS_CLASS_ORDER[scheme], "detected: tensor names of the authors' TSFmicro code"
    return None, "assumed: the label scheme's own order"


def reorder_head(state: Mapping[str, torch.Tensor], source: Sequence[str],
                 target: Sequence[str]) -> dict[str, torch.Tensor]:
    """``state`` with the classifier rows permuted from the ``source`` logit order to ``target``.

    Raises ``ValueError`` when the two orders do not name the same classes or the head has another size.
    """
    source, target = tuple(source), tuple(target)
    if sorted(source) != sorted(target) or len(set(source)) != len(source):
        raise ValueError(f"the class order {', '.join(source)} does not name the classes of the model "
                         f"({', '.join(target)}) exactly once each")
    out = dict(state)
    if source == target:
        return out
    perm = torch.tensor([source.index(name) for name in target])
    for key in HEAD_ROWS:
        if key in out:
            if out[key].shape[0] != len(source):
                raise ValueError(f"the classifier has {out[key].shape[0]} outputs but the class order names "
                                 f"{len(source)}")
            out[key] = out[key].index_select(0, perm)
    return out
