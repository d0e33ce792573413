"""The colours of the emotion classes, shared by the app's widgets and the pictures it exports
(the summary plot), so that a class looks the same on screen and on paper. No imports: any layer
may read it."""

from __future__ import annotations

from typing import Sequence

CLASS_COLOURS = ("#e05050", "#50c85a", "#f5c828", "#5a8cfa", "#c86ee6", "#78dcdc", "#f0965a")
NO_CLASS_COLOUR = "#9a9a9a"


def class_colour(label: str | None, class_names: Sequence[str]) -> str:
    """The colour of ``label`` among ``class_names`` (grey for no label or an unknown one)."""
    names = list(class_names)
    return CLASS_COLOURS[names.index(label) % len(CLASS_COLOURS)] if label in names else NO_CLASS_COLOUR


def colour_of_class(position: int) -> str:
    """The colour of the class at ``position`` in the model's class list."""
    return CLASS_COLOURS[position % len(CLASS_COLOURS)]
