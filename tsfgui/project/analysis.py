"""Analysing a project's recordings with the batch machinery, and storing the results as runs.

The analysis itself is ``tsfgui analyze``'s (:func:`analyze_batch`: the same pipeline, process pool,
progress and resume from ``done.json``), written to ``<project>-analysis/`` beside the project file.
Each finished input becomes one run in the database: its spotted intervals are the tool's proposals,
its per-frame signals (every numeric column of ``frames.csv``) a compressed numpy BLOB. A recording
that already has a run with the same identity — the weights' content fingerprint and the settings — is
skipped without opening it; one interrupted half-way is redone; a missing or unreadable one is
reported and the others go on. The settings include every spotting threshold, the defaults too, and
the version of the signals spotting reads (:func:`analysis_settings`): after an upgrade that changes
either, ``analyze`` analyses the project's recordings again, so a study is not left half in the old
rules; the earlier runs stay, with every decision coders made on their proposals.
"""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .fingerprint import fingerprint
from .records import Recording

if TYPE_CHECKING:
    from tsfgui.engine.spotting import SpotSettings

    from .project import Project

_TEXT_COLUMNS = {"face_quality", "label"}


@dataclass
class AnalysisReport:
    analysed: list[Recording] = field(default_factory=list)
    skipped: list[Recording] = field(default_factory=list)          # a run with the same identity exists
    redone: list[Recording] = field(default_factory=list)  # analysed although they had a run (other settings)
    failed: list[tuple[Recording, str]] = field(default_factory=list)  # missing on disk, unreadable …


def results_dir(project: "Project") -> Path:
    """Where the batch analysis writes its per-recording folders: ``<project stem>-analysis/``."""
    return project.folder / f"{project.path.stem}-analysis"


def run_identity(weights_fingerprint: str | None, settings: dict) -> str:
    """What makes two runs the same: the weights' content and the settings that change results (not
    paths, times, or the batch size of model calls)."""
    kept = {k: v for k, v in settings.items() if k != "batch_size"}
    blob = json.dumps({"weights": weights_fingerprint, "settings": kept}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


def analysis_settings(lag_s: float, batch_size: int, spotting: "SpotSettings | None") -> dict:
    """The settings a run is stored with and identified by: the reference lag, the model's batch size
    (not part of the identity), every spotting threshold — the defaults too, which a new version may
    change — and the version of the signals spotting reads."""
    from tsfgui.engine.flow import SIGNALS_VERSION
    from tsfgui.engine.spotting import SpotSettings

    settings = {"lag_s": lag_s, "batch_size": batch_size, "spotting": asdict(spotting or SpotSettings()),
                "signals_version": SIGNALS_VERSION}
    return json.loads(json.dumps(settings))  # as the database gives it back (tuples become lists)


def analyze_project(project: "Project", *, weights: str | None = None, jobs: int = 1, device: str | None = None,
                    lag_s: float = 0.2, batch_size: int = 8, spotting: "SpotSettings | None" = None,
                    show_progress: bool = True, cluster: str | None = None) -> AnalysisReport:
    """Analyse every recording that has no run with these weights and settings yet (``cluster``: as Ray tasks on
    that cluster, see :mod:`tsfgui.batch.on_ray`)."""
    from tsfgui.batch import analyze_batch

    settings = analysis_settings(lag_s, batch_size, spotting)
    weights_fp = fingerprint(weights)[0] if weights else None
    identity = run_identity(weights_fp, settings)
    report = AnalysisReport()
    todo: dict[float | None, list[Recording]] = {}
    again: set[int] = set()
    for rec in project.recordings():
        if project.find_run(rec.id, identity) is not None:
            report.skipped.append(rec)
        elif not rec.exists:
            report.failed.append((rec, f"not found at '{rec.location}' (moved? tsfgui project relink)"))
        else:  # frame folders need their frame rate; videos know theirs
            todo.setdefault(rec.fps if rec.kind == "folder" else None, []).append(rec)
            if project.current_run(rec.id) is not None:
                again.add(rec.id)
    if again and show_progress:
        print(f"{len(again)} recording{'s' if len(again) > 1 else ''} analysed before with other weights or settings "
              "(or an earlier tsfgui's spotting): analysing again; the earlier runs and every decision on their "
              "proposals are kept", file=sys.stderr, flush=True)
    out = results_dir(project)
    for fps, recs in todo.items():
        batch = analyze_batch([r.location for r in recs], out, weights=weights, device=device, fps=fps, lag_s=lag_s,
                              batch_size=batch_size, jobs=jobs, show_progress=show_progress, spotting=spotting,
                              cluster=cluster, exact=True)
        for rec, outcome in zip(recs, batch.outcomes):
            if outcome.status == "failed":
                project.mark_failed(rec.id, outcome.message)
                report.failed.append((rec, outcome.message))
                continue
            store_run(project, rec, outcome.out_dir, identity=identity, weights=weights, weights_fingerprint=weights_fp,
                      settings=settings)
            report.analysed.append(rec)
            if rec.id in again:
                report.redone.append(rec)
    return report


def store_run(project: "Project", rec: Recording, out_dir: Path, *, identity: str, weights: str | None,
              weights_fingerprint: str | None, settings: dict):
    """One finished batch folder (``done.json``, ``events.json``, ``frames.csv``) as a run of ``rec``."""
    done = json.loads((out_dir / "done.json").read_text(encoding="utf-8"))
    events = json.loads((out_dir / "events.json").read_text(encoding="utf-8"))["events"]
    proposals = [{"onset": e["onset_frame"], "apex": e["apex_frame"], "offset": e["offset_frame"], "kind": e["kind"],
                  "label": e.get("label"), "probability": e.get("probability"), "region": e.get("region"),
                  "score": e.get("score")} for e in events]
    return project.save_run(rec.id, identity=identity, weights=str(Path(weights).resolve()) if weights else None,
                            weights_fingerprint=weights_fingerprint, settings=settings,
                            class_names=done.get("classes", []), frames=int(done["frames"]),
                            seconds=float(done.get("seconds", 0.0)), warning=done.get("warning", ""),
                            proposals=proposals, signals=read_signals(out_dir / "frames.csv"),
                            timings=done.get("seconds_per_stage", {}))


def read_signals(frames_csv: Path) -> dict[str, np.ndarray]:
    """Every numeric column of a ``frames.csv`` as a float32 array (NaN where empty), ``frame`` as int32."""
    import pandas as pd

    table = pd.read_csv(frames_csv, usecols=lambda c: c not in _TEXT_COLUMNS)
    out = {c: table[c].to_numpy(dtype=np.float32) for c in table.columns if c != "frame"}
    out["frame"] = table["frame"].to_numpy(dtype=np.int32)
    return out
