"""``tsfgui project …``: create a project, add and analyse recordings, import annotations, measure
agreement, export, relink moved recordings, undo a coder's last change.

Every failure a user can cause (a missing or damaged project, a malformed import, an unknown coder) is one
line ``tsfgui: error: …`` and exit code 2; a project command never prints a traceback.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
from pathlib import Path
from typing import Callable

from tsfgui.arguments import add_cluster_argument, positive_float, positive_int

DESCRIPTION = ("A project keeps many recordings, the tool's proposed events and each coder's decisions in one "
               "SQLite file (*.tsfproj). Workflow: new → add → analyze → (import, review) → agreement → export.")


def add_arguments(p: argparse.ArgumentParser, parser_class) -> None:
    sub = p.add_subparsers(dest="action", metavar="ACTION", parser_class=parser_class)
    sub.required = True

    def action(name: str, help_: str, description: str | None = None) -> argparse.ArgumentParser:
        a = sub.add_parser(name, help=help_, description=description or help_)
        a.add_argument("project", metavar="P.tsfproj", help="the project file")
        return a

    action("new", "create an empty project file")
    a = action("add", "add videos, frame folders or folders of videos (as tsfgui analyze finds them)")
    a.add_argument("inputs", nargs="+", metavar="FILE_OR_FOLDER")
    a.add_argument("--subject", default=None, help="subject of these recordings (default: a frame folder's parent "
                                                   "folder, a video's name); LOSO training splits by it")
    a.add_argument("--session", default="", help="session of these recordings")
    a.add_argument("--fps", type=positive_float, default=None, help="frame rate of frame folders (default 200)")
    a = action("analyze", "analyse the recordings not yet analysed with these weights and settings",
               "Analyse every recording of the project that has no analysis with these weights and settings "
               "(the batch analysis of tsfgui analyze; results also in <project>-analysis/). Resumable: run it "
               "again after an interruption.")
    a.add_argument("--weights", default=None, help="TSFmicro weights (default: none, difference signals only)")
    a.add_argument("--jobs", type=positive_int, default=1, help="recordings analysed in parallel processes (default 1)")
    a.add_argument("--device", choices=("cpu", "cuda"), default=None, help="default: CUDA when present")
    a.add_argument("--lag", type=positive_float, default=0.2, help="seconds between a frame and its reference (0.2)")
    a.add_argument("--batch-size", type=positive_int, default=8, help="frames per model call (default 8)")
    a.add_argument("--spot", action="append", default=[], metavar="KEY=VALUE",
                   help="a spotting threshold, as for tsfgui analyze (repeatable)")
    add_cluster_argument(a, "the recordings, one task each,", "As tsfgui analyze --cluster: the recordings and the "
                                                            "project's folder shared by every node.")
    a.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    a = action("status", "a table of recordings: analysed, proposals, and each coder's decisions")
    a.add_argument("--json", action="store_true", help="print JSON instead of a table")
    a = action("import", "import annotations as one coder's events",
               "Import annotations as one coder's events (one undoable change): ELAN .eaf, BORIS export "
               "(.csv/.tsv/.xlsx), tsfgui CSV/JSON (also a sample's ground truth), or a dataset's sheet. A "
               "malformed file is refused with file, row and reason, and nothing of it is imported.")
    a.add_argument("file", help="the annotation file")
    a.add_argument("--coder", required=True, help="whose annotations these are (e.g. truth, A)")
    from .imports import FORMATS

    a.add_argument("--format", choices=FORMATS, default=None, help="default: from the file's name and columns")
    a.add_argument("--tier", default=None, help="ELAN: the tier to import (default: the expression tiers, or "
                                               "the only tier with annotations)")
    a.add_argument("--recording", default=None, help="the recording annotated (default: the one the file names, "
                                                    "or the project's only recording)")
    a = action("agreement", "agreement of two raters: MEGC IoU matching, precision/recall/F1, Cohen's kappa",
               "Agreement of the second rater with the first (the reference), per recording and pooled. A rater is "
               "a coder (accepted, edited and added events) or 'tool' (the proposals).")
    a.add_argument("--coders", nargs=2, required=True, metavar=("REFERENCE", "OTHER"))
    a.add_argument("--out", default=None, help="folder for agreement.json and agreement.md (default: print only)")
    a = action("export", "write the events with the coders' corrections (ELAN, BORIS, CSV, JSON)",
               "One file per recording in OUT. ELAN: a tier for the tool's proposals and one per coder. "
               "--final: only the chosen coder's accepted, edited and added events.")
    a.add_argument("--format", choices=("eaf", "boris", "csv", "json"), required=True)
    a.add_argument("--out", required=True, help="folder for the files")
    a.add_argument("--coder", default=None, help="only this coder (default: the tool's proposals and every coder)")
    a.add_argument("--final", action="store_true", help="only the accepted, edited and added events of --coder")
    a = action("relink", "find moved or renamed recordings in a folder by their content")
    a.add_argument("folder", help="where the recordings are now (searched recursively)")
    a = action("history", "every change to the coders' decisions, oldest first (who, what, when)")
    a.add_argument("--coder", default=None, help="only this coder's changes")
    a.add_argument("--json", action="store_true", help="print JSON (with each decision's state before and after)")
    for name in ("undo", "redo"):
        a = action(name, f"{name} a coder's latest change")
        a.add_argument("--coder", required=True)


def run(args: argparse.Namespace, usage_error: type[Exception], spot_settings: Callable) -> int:
    """Run ``tsfgui project ACTION``; every ProjectError becomes a one-line usage error."""
    from .database import ProjectError

    try:
        return _ACTIONS[args.action](args, spot_settings)
    except ProjectError as exc:
        raise usage_error(str(exc)) from None
    except sqlite3.DatabaseError as exc:  # damage found while reading, after the checks on opening
        raise usage_error(f"project '{args.project}' cannot be read: {exc}; restore it from a backup") from None


def _open(args):
    from .project import Project

    return Project.open(args.project)


def _new(args, _spot) -> int:
    from .project import SUFFIX, Project

    path = Path(args.project)
    if path.suffix != SUFFIX:
        print(f"note: project files are usually named *{SUFFIX}", file=sys.stderr)
    Project.create(path).close()
    print(f"created {path}")
    return 0


def _add(args, _spot) -> int:
    from tsfgui.batch import expand_inputs

    from .database import ProjectError

    missing = [p for p in args.inputs if not Path(p).exists()]
    if missing:
        raise ProjectError(f"input not found: '{missing[0]}'")
    with _open(args) as p:
        report = p.add_recordings(expand_inputs(args.inputs), subject=args.subject, session=args.session, fps=args.fps)
    for r in report.added:
        print(f"added   {r.name}: {r.width}x{r.height}, {r.fps:g} fps, {r.frame_count} frames, subject {r.subject}")
    for path in report.already:
        print(f"already in the project: {path}")
    for path, why in report.failed:
        print(f"failed  {path}: {why}", file=sys.stderr)
    print(f"{len(report.added)} added, {len(report.already)} already there, {len(report.failed)} failed")
    return 1 if report.failed else 0


def _analyze(args, spot_settings) -> int:
    from .analysis import analyze_project
    from .database import ProjectError

    if args.weights and not Path(args.weights).is_file():
        raise ProjectError(f"weights file not found: '{args.weights}'")
    spotting = spot_settings(args.spot)
    from tsfgui.cluster import ClusterError
    from tsfgui.model.weights import WeightsError

    if args.cluster:
        from tsfgui.batch.on_ray import check_cluster_options

        try:
            check_cluster_options(args.jobs)
        except ClusterError as exc:
            raise ProjectError(str(exc)) from None
    with _open(args) as p:
        try:
            report = analyze_project(p, weights=args.weights, jobs=args.jobs, device=args.device, lag_s=args.lag,
                                     batch_size=args.batch_size, spotting=spotting, show_progress=not args.quiet,
                                     cluster=args.cluster)
        except (WeightsError, ClusterError) as exc:
            raise ProjectError(str(exc)) from None
    for rec, why in report.failed:
        print(f"failed: {rec.name}: {why}", file=sys.stderr)
    again = f" ({len(report.redone)} of them again: analysed before with other settings)" if report.redone else ""
    print(f"{len(report.analysed)} analysed{again}, {len(report.skipped)} skipped (analysed earlier with these weights "
          f"and settings), {len(report.failed)} failed")
    return 1 if report.failed else 0


def _status(args, _spot) -> int:
    with _open(args) as p:
        rows = p.status_rows()
        coders = [c.name for c in p.coders()]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(status_table(rows, coders))
    return 0


def status_table(rows: list[dict], coders: list[str]) -> str:
    """The status rows as a plain-text table; per coder ``proposed/accepted/rejected/edited/added``."""
    head = ["id", "recording", "subject", "analysis", "frames", "proposals"] + [f"{c} p/a/r/e/+" for c in coders]
    body = []
    for r in rows:
        state = r["status"] if r["present"] else f"{r['status']}, MISSING"
        cells = [str(r["id"]), r["recording"], r["subject"], state, str(r["frames"] or "?"), str(r["proposals"])]
        cells += ["/".join(str(v) for v in r["coders"][c].values()) for c in coders]
        body.append(cells)
    widths = [max(len(x) for x in col) for col in zip(head, *body)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip() for line in [head, *body]]
    return "\n".join(lines + [f"{len(rows)} recordings, {sum(r['status'] == 'analysed' for r in rows)} analysed"])


def _import(args, _spot) -> int:
    from .imports import import_file

    with _open(args) as p:
        change, n = import_file(p, args.coder, args.file, fmt=args.format, tier=args.tier, recording=args.recording)
    print(f"imported {n} events from {args.file} as coder '{args.coder}' (change {change.id}; "
          f"tsfgui project undo {args.project} --coder {args.coder} takes it back)")
    return 0


def _agreement(args, _spot) -> int:
    from tsfgui.io.atomic import atomic_write

    from .agreement import markdown, project_agreement, table
    from .database import ProjectError
    from .records import TOOL

    ref, other = args.coders
    with _open(args) as p:
        for name in (ref, other):
            if name != TOOL:
                p.coder(name, create=False)
        rows = project_agreement(p, ref, other)
        name = p.path.name
    if rows[-1].reference == 0 and rows[-1].other == 0:
        raise ProjectError(f"neither '{ref}' nor '{other}' has events in '{args.project}'")
    print(table(rows, ref, other))
    if args.out:
        out = Path(args.out)
        with atomic_write(out / "agreement.json", encoding="utf-8") as fh:
            json.dump({"reference": ref, "other": other, "iou_threshold": 0.5,
                       "recordings": [a.to_dict() for a in rows[:-1]], "pooled": rows[-1].to_dict()}, fh, indent=2)
        with atomic_write(out / "agreement.md", encoding="utf-8") as fh:
            fh.write(markdown(rows, ref, other, name))
        print(f"written: {out / 'agreement.json'}, {out / 'agreement.md'}")
    return 0


def _export(args, _spot) -> int:
    from .exports import export_project

    with _open(args) as p:
        files = export_project(p, args.format, args.out, coder=args.coder, final=args.final)
    for f in files:
        print(f"written {f}")
    print(f"{len(files)} file(s) in {args.out}")
    return 0


def _relink(args, _spot) -> int:
    with _open(args) as p:
        report = p.relink(args.folder)
    for rec, new in report.found:
        print(f"found   {rec.name}: {new}")
    for rec in report.missing:
        print(f"missing {rec.name}: expected at {rec.location}", file=sys.stderr)
    print(f"{len(report.found)} found, {len(report.missing)} still missing")
    return 1 if report.missing else 0


def _history(args, _spot) -> int:
    with _open(args) as p:
        if args.coder is not None:
            p.coder(args.coder, create=False)
        entries = p.history(args.coder)
    if args.json:
        print(json.dumps([{"change": h.change.id, "coder": h.change.coder, "action": h.change.action,
                           "target": h.change.target, "description": h.change.description, "at": h.change.at,
                           "decision": h.decision_id, "before": h.before, "after": h.after} for h in entries], indent=2))
        return 0
    last = None
    for h in entries:
        if h.change.id == last:
            continue
        last = h.change.id
        n = sum(1 for x in entries if x.change.id == h.change.id)
        print(f"{h.change.at}  #{h.change.id:<5} {h.change.coder:<12} {h.change.description}"
              + (f" ({n} decisions)" if n > 1 else ""))
    return 0


def _undo_redo(args, _spot) -> int:
    with _open(args) as p:
        change = (p.undo if args.action == "undo" else p.redo)(args.coder)
    if change is None:
        print(f"nothing to {args.action} for coder '{args.coder}'")
        return 0
    print(f"{change.description}")
    return 0


_ACTIONS = {"new": _new, "add": _add, "analyze": _analyze, "status": _status, "import": _import,
            "agreement": _agreement, "export": _export, "relink": _relink, "history": _history, "undo": _undo_redo,
            "redo": _undo_redo}
