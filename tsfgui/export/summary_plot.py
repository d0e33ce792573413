"""The summary plot (``summary.png``): the optical flow (head motion removed, px at a 224-px face) over the
whole video, globally and per region, with the spotted intervals shaded in the colour of their predicted
class; the grey-level difference for results without flow."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Sequence

import numpy as np

from tsfgui.engine.results import DIFF_KEYS
from tsfgui.engine.spotting import SignalRecorder, SpottedInterval
from tsfgui.io.atomic import atomic_path
from tsfgui.palette import NO_CLASS_COLOUR, class_colour

from .registry import ExportData, Writer, register


def _peak_envelope(t: np.ndarray, values: np.ndarray, max_points: int) -> tuple[np.ndarray, np.ndarray]:
    """At most ``max_points`` samples: the maximum of each run of consecutive frames, so that a
    short burst in an hour of video stays visible (plain decimation would skip it)."""
    step = -(-len(t) // max_points) if len(t) > max_points else 1
    if step == 1:
        return t, values
    n = len(t) // step * step
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN run (no face) stays NaN
        peaks = np.nanmax(values[:n].reshape(-1, step, values.shape[1]), axis=1)
    return t[:n:step], peaks


def plotted_signals(recorder: SignalRecorder) -> tuple[np.ndarray, np.ndarray, str]:
    """Frame indices, the signals the summary plots (frames × :data:`DIFF_KEYS`) and their axis label:
    the flow, or the grey-level difference for results without flow."""
    arrays = recorder.arrays()
    if np.isfinite(arrays["flow"]).any():
        return arrays["index"], arrays["flow"], "flow, head motion removed (px at a 224-px face)"
    return arrays["index"], arrays["diff"], "|apex − onset| (grey levels)"


def write_summary_plot(path: str | Path, recorder: SignalRecorder, events: Sequence[SpottedInterval], fps: float,
                       class_names: Sequence[str] = (), title: str = "") -> Path:
    """A PNG timeline of the flow signals (the difference signals where there is no flow) with the spotted
    intervals shaded by class."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    index, values, unit = plotted_signals(recorder)
    t, values = _peak_envelope(index / fps, values, max_points=4000)  # ~3 per pixel column; peaks kept
    fig = Figure(figsize=(14, 4), dpi=100)
    ax = fig.add_subplot(1, 1, 1)
    for i, key in enumerate(DIFF_KEYS):
        ax.plot(t, values[:, i], lw=1.4 if key == "global" else 0.7, label=key,
                color="black" if key == "global" else None)
    names = list(class_names)
    spans: dict[str, list[tuple[float, float]]] = {}
    for e in events:  # one collection per colour: thousands of intervals stay light
        spans.setdefault(class_colour(e.label, names), []).append((e.onset / fps, (e.offset - e.onset) / fps))
    for c, ranges in spans.items():
        ax.broken_barh(ranges, (0, 1), transform=ax.get_xaxis_transform(), facecolors=c, alpha=0.35, lw=0)
    ax.set_xlabel("time (s)")
    ax.set_ylabel(unit)
    ax.set_title(title or f"{len(events)} spotted intervals")
    handles, labels = ax.get_legend_handles_labels()
    handles += [Patch(color=class_colour(n, names), alpha=0.35, label=n) for n in names]
    if not names:
        handles.append(Patch(color=NO_CLASS_COLOUR, alpha=0.35, label="spotted (no model)"))
    ax.legend(handles=handles, loc="upper right", fontsize=8, ncol=2)
    ax.margins(x=0)
    fig.tight_layout()
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, format="png")
    return Path(path)


def _write(path: Path, data: ExportData) -> int:
    if data.signals is None:
        raise ValueError("the summary plot needs the spotting signals of the analysis")
    write_summary_plot(path, data.signals, data.events, data.fps, data.class_names, title=data.title)
    return len(data.events)


register(Writer("summary-png", "summary", ".png", "summary.png", "PNG", _write))
