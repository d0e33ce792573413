"""The authors' training recipes as options beside ours: jitter windows, augmentation and epoch budgets.

Facts from the TSFmicro authors' public training code (Liu et al., 2025), per dataset and label scheme:

* onset/apex jitter: the onset and apex are re-drawn within a window proportional to the onset–apex
  distance, 0.0375 × for CASME II and CAS(ME)^3, 0.1 × for SAMM in 5 classes, none for SAMM in 3 classes;
* SAMM 3-class augmentation: rotation up to 4° and random crop after padding by 4 px (and weight decay 0.7,
  which :class:`~tsfgui.train.trainer.Recipe` applies already);
* epoch budgets: 174 for CASME II, 199 for SAMM and CAS(ME)^3;
* the model is tested with the BatchNorm moving averages of training (tsfgui re-estimates them on the
  training pairs by default: ``--no-precise-bn``).

Their reported figure takes, for every test subject, the epoch that scored best *on that subject*; that
is selection on the test set. tsfgui reports it only next to the honest figure and labelled optimistic
(``--report-best-epoch``).
"""

from __future__ import annotations

RECIPES = ("ours", "paper")
FACE_CROPS = ("align", "stretch", "frame")
"""How faces are cut: dlib alignment to a template, the face box stretched square, or the whole image."""

#: Per (dataset, scheme): the option values of the authors' recipe (``None`` = any scheme of that dataset).
PAPER_RECIPES: dict[tuple[str, str | None], dict] = {
    ("casme2", None): {"epochs": 174, "jitter": 0, "jitter_fraction": 0.0375, "precise_bn": False},
    ("casme3a", None): {"epochs": 199, "jitter": 0, "jitter_fraction": 0.0375, "precise_bn": False},
    ("samm", "samm5"): {"epochs": 199, "jitter": 0, "jitter_fraction": 0.1, "precise_bn": False},
    ("samm", "megc3"): {"epochs": 199, "jitter": 0, "jitter_fraction": 0.0, "rotate": 4.0, "crop_padding": 4, "precise_bn": False},
}


def paper_recipe(dataset: str, scheme: str) -> dict:
    """The authors' option values for ``dataset`` in ``scheme``; ``ValueError`` when they published none."""
    for key in ((dataset, scheme), (dataset, None)):
        if key in PAPER_RECIPES:
            return dict(PAPER_RECIPES[key])
    known = ", ".join(f"{d}" + (f" {s}" if s else "") for d, s in PAPER_RECIPES)
    raise ValueError(f"the authors published no recipe for {dataset} in {scheme}; known: {known}")


def jitter_radius(onset: int, apex: int, frames: int = 0, fraction: float = 0.0) -> int:
    """Frames on each side of the onset and of the apex that training may re-draw them from.

    ``round(fraction × |apex − onset|)`` when ``fraction`` is set (the authors' window), else ``frames``;
    the larger of the two when both are.
    """
    if frames < 0 or fraction < 0:
        raise ValueError(f"jitter must be ≥ 0, got {frames} frames and fraction {fraction}")
    proportional = int(fraction * abs(int(apex) - int(onset)) + 0.5) if fraction > 0 else 0
    return max(int(frames), proportional)
