"""Value types for command-line options: a bad number is refused by argparse with one line naming it."""

from __future__ import annotations

import argparse
import math


def _whole_number(text: str, least: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if value < least:
        raise argparse.ArgumentTypeError(f"must be at least {least}, not {text}")
    return value


def positive_int(text: str) -> int:
    """A whole number of at least 1 (``--batch-size``, ``--jobs``, ``--frames`` …)."""
    return _whole_number(text, 1)


def non_negative_int(text: str) -> int:
    """A whole number of at least 0."""
    return _whole_number(text, 0)


def positive_float(text: str) -> float:
    """A finite number above 0 (``--fps``, ``--lag`` in seconds …)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a positive number, not {text}")
    return value
