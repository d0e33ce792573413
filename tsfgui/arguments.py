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


def cluster_address(text: str) -> str:
    """``--cluster``'s value: ``auto`` (a cluster on this machine, or a local one), ``local`` or ``HOST:PORT``."""
    from tsfgui.cluster import is_address

    if not is_address(text):
        raise argparse.ArgumentTypeError(f"'{text}' is not a Ray cluster: give auto (a cluster on this machine, or a "
                                         "local one) or the head's HOST:PORT")
    return text


def add_cluster_argument(parser: argparse.ArgumentParser, what: str, note: str = "") -> None:
    """The ``--cluster [ADDRESS]`` option of the commands that can run on Ray (the optional extra)."""
    parser.add_argument("--cluster", nargs="?", const="auto", default=None, type=cluster_address, metavar="ADDRESS",
                        help=f"run {what} as Ray tasks, a GPU each when the cluster has GPUs, on the cluster whose "
                             "head is at ADDRESS (HOST:PORT), or with no ADDRESS (auto) on the one running on this "
                             f"machine or a local one started for this run.{' ' + note if note else ''} Needs the "
                             "optional extra: pip install 'tsfgui[cluster]'")


def cluster_flag_before_inputs(argv: list[str]) -> list[str]:
    """``--cluster`` followed by something that is no address (an input: ``--cluster videos/``) takes its default,
    so the input stays an input."""
    from tsfgui.cluster import is_address

    out = list(argv)
    for i, token in enumerate(out[:-1]):
        if token == "--cluster" and not out[i + 1].startswith("-") and not is_address(out[i + 1]):
            out[i] = "--cluster=auto"
    return out
