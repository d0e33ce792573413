"""The ``tsfgui`` command: a thin dispatcher to the GUI and the headless tools.

Every subcommand has ``--help``. Bad input ends with a one-line ``tsfgui: error: …`` and exit code 2,
never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Callable, Sequence

from tsfgui import __version__
from tsfgui.arguments import add_cluster_argument, cluster_flag_before_inputs, positive_float, positive_int

PROG = "tsfgui"


class UsageError(Exception):
    """Bad input from the command line; the message is printed on one line and the exit code is 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, no usage dump
        raise UsageError(f"{message} (see '{self.prog} --help')")


def _cmd_gui(args: argparse.Namespace) -> int:
    # A path that cannot be read is not refused here: the window opens and shows why in its error bar,
    # as File › Open does (a file manager starts tsfgui this way, and its user never sees stderr).
    from tsfgui.ui.app import run_gui  # Qt is imported only here

    if args.weights is not None and not Path(args.weights).is_file():
        raise UsageError(f"weights file not found: '{args.weights}'")
    weights = None if args.no_weights else (args.weights or "demo")
    return run_gui(args.path, fps=args.fps, weights=weights)


def _cmd_review(args: argparse.Namespace) -> int:
    if args.project is not None and not Path(args.project).is_file():
        raise UsageError(f"project not found: '{args.project}' (create one with: tsfgui project new P.tsfproj)")
    from tsfgui.ui.app import run_review  # Qt is imported only here

    return run_review(args.project, coder=args.coder)


def _cmd_info(args: argparse.Namespace) -> int:
    from tsfgui.io import SourceError, open_source

    try:
        with open_source(args.path, fps=args.fps) as source:
            i = source.info
            duration = f"{i.duration_s:.2f} s" if i.duration_s is not None else "unknown"
            frames = i.frame_count if i.frame_count is not None else "unknown"
            print(f"name:       {i.name}\nkind:       {i.kind}\nsize:       {i.width}x{i.height}\n"
                  f"fps:        {i.fps:g}\nframes:     {frames}\nduration:   {duration}\nrotation:   {i.rotation}")
    except SourceError as exc:
        raise UsageError(str(exc)) from None
    return 0


def _cmd_sample(args: argparse.Namespace) -> int:
    from tsfgui.samples import cli as samples_cli

    if args.out is None and not args.list_types:
        raise UsageError("--out is required (the video file to write)")
    return samples_cli.run(args)


def _cmd_train(args: argparse.Namespace) -> int:
    from tsfgui.train import cli as train_cli

    return train_cli.run_train(args, args.parser_, UsageError)


def _cmd_eval(args: argparse.Namespace) -> int:
    from tsfgui.train import cli as train_cli

    return train_cli.run_eval(args, args.parser_, UsageError)


def _cmd_eval_spotting(args: argparse.Namespace) -> int:
    from tsfgui.train.datasets import DatasetError
    from tsfgui.train.spotting_eval import evaluate

    settings = _spot_settings(args.spot)
    try:
        summary = evaluate(args.dataset, args.root, args.out, annotations=args.annotations, settings=settings,
                           report=(lambda line: None) if args.quiet else (lambda line: print(line, flush=True)))
    except DatasetError as exc:
        raise UsageError(str(exc)) from None
    for kind in ("micro", "macro", "overall"):
        s = summary[kind]
        print(f"{kind:8s} TP {s['tp']:4d}  FP {s['fp']:4d}  FN {s['fn']:4d}  precision {s['precision']:.4f}  "
              f"recall {s['recall']:.4f}  F1 {s['f1']:.4f}")
    print(f"{summary['videos']} videos; written to {Path(args.out) / 'megc.json'} and megc.md")
    return 0


def _cmd_import_weights(args: argparse.Namespace) -> int:
    from tsfgui.model import WeightsError, load_model, read_metadata

    if not Path(args.checkpoint).is_file():
        raise UsageError(f"checkpoint not found: '{args.checkpoint}'")
    card = None
    if args.card is not None:
        try:
            card = Path(args.card).read_text(encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"model card '{args.card}' cannot be read ({exc.strerror})") from None
    try:
        import torch

        model = load_model(args.checkpoint, label_scheme=args.scheme, class_order=args.class_order)
        stored = read_metadata(args.checkpoint).get("dtype") if args.checkpoint.endswith(".safetensors") else None
        half = args.fp16 or stored == "float16"
        model.save_pretrained(args.out, dtype=torch.float16 if half else torch.float32, card=card)
    except WeightsError as exc:
        raise UsageError(str(exc)) from None
    note = model.provenance.get("class_order", {})
    print(f"{args.out}: {model.label_scheme} ({', '.join(model.class_names)}); file's logit order "
          f"{', '.join(note.get('file_order', model.class_names))} — {note.get('how', 'from its metadata')}")
    return 0


BENCH_DIR = Path(__file__).resolve().parent.parent / "bench"


def _bench_names() -> list[str]:
    return sorted(p.stem for p in BENCH_DIR.glob("*.py")) if BENCH_DIR.is_dir() else []


def _cmd_bench(args: argparse.Namespace) -> int:
    import importlib.util

    names = _bench_names()
    if args.name not in names:
        where = f"choose from: {', '.join(names)}" if names else f"no benchmarks found in {BENCH_DIR} (a source checkout has them)"
        raise UsageError(f"unknown benchmark '{args.name}'; {where}")
    spec = importlib.util.spec_from_file_location(f"tsfgui_bench_{args.name}", BENCH_DIR / f"{args.name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    if not hasattr(module, "main"):
        raise UsageError(f"bench/{args.name}.py has no main(argv) function")
    with _one_line_option_errors():  # the benchmark's own options: refused like ours
        result = module.main(args.rest)
    return int(result or 0)


class _one_line_option_errors:
    """While active, every argparse parser ends a bad option with :class:`UsageError` (one line, exit 2)
    instead of printing its usage."""

    def __enter__(self) -> None:
        self._saved = argparse.ArgumentParser.error

        def error(parser: argparse.ArgumentParser, message: str) -> None:
            raise UsageError(f"{parser.prog}: {message} (see '{parser.prog} --help')")

        argparse.ArgumentParser.error = error  # type: ignore[method-assign]

    def __exit__(self, *exc: object) -> None:
        argparse.ArgumentParser.error = self._saved  # type: ignore[method-assign]


def _spot_settings(pairs: Sequence[str]):
    """:class:`SpotSettings` from ``KEY=VALUE`` strings (``--spot threshold=3.5``), each checked."""
    from dataclasses import fields, replace

    from tsfgui.engine.spotting import SIGNALS, SpotSettings

    settings = SpotSettings()
    known = {f.name: type(getattr(settings, f.name)) for f in fields(SpotSettings) if f.name != "regions"}
    choices = {"signal": SIGNALS}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or key not in known:
            raise UsageError(f"--spot takes KEY=VALUE with KEY one of {', '.join(sorted(known))}; got '{pair}'")
        try:
            value = known[key](text)
        except ValueError:
            kind = "a whole number" if known[key] is int else "a number"
            raise UsageError(f"--spot {key}: '{text}' is not {kind}") from None
        if key in choices:
            if value not in choices[key]:
                raise UsageError(f"--spot {key} must be one of {', '.join(choices[key])}, not '{text}'")
            settings = replace(settings, **{key: value})
            continue
        if value < 0 or (key == "threshold" and value == 0):
            raise UsageError(f"--spot {key} must be {'positive' if key == 'threshold' else 'at least 0'}, not {text}")
        settings = replace(settings, **{key: value})
    return settings


def _cmd_analyze(args: argparse.Namespace) -> int:
    from tsfgui.batch import NoInputsError, analyze_batch
    from tsfgui.cluster import ClusterError
    from tsfgui.model.weights import WeightsError

    missing = [p for p in args.inputs if not Path(p).exists()]
    if missing:
        raise UsageError(f"input not found: '{missing[0]}'")
    if args.weights and not Path(args.weights).is_file():
        raise UsageError(f"weights file not found: '{args.weights}'")
    if args.per_frame_model and not args.weights:
        raise UsageError("--per-frame-model needs --weights (a model to run on every frame)")
    if args.cluster:
        from tsfgui.batch.on_ray import check_cluster_options

        try:
            check_cluster_options(args.jobs)
        except ClusterError as exc:
            raise UsageError(str(exc)) from None
    elif args.device == "cuda":  # on a cluster, its GPUs count (checked once connected)
        import torch

        if not torch.cuda.is_available():
            raise UsageError("--device cuda: this machine has no usable CUDA GPU; use --device cpu")
    spotting = _spot_settings(args.spot)
    try:
        report = analyze_batch(args.inputs, args.out, weights=args.weights, device=args.device, fps=args.fps,
                               lag_s=args.lag, batch_size=args.batch_size, jobs=args.jobs,
                               show_progress=not args.quiet, spotting=spotting,
                               per_frame_model=args.per_frame_model, cluster=args.cluster)
    except (WeightsError, ClusterError, NoInputsError) as exc:
        raise UsageError(str(exc)) from None
    done = sum(o.status == "done" for o in report.outcomes)
    earlier = sum(o.status == "skipped" and o.message == "finished earlier" for o in report.outcomes)
    stills = sum(o.status == "skipped" for o in report.outcomes) - earlier
    also = f", {stills} folder(s) of stills skipped" if stills else ""
    print(f"{done} analysed, {earlier} skipped (finished earlier){also}, {len(report.failed)} failed; "
          f"results in {args.out}")
    for o in report.failed:
        print(f"failed: {o.path}: {o.message}", file=sys.stderr)
    return 1 if report.failed else 0


def _cmd_project(args: argparse.Namespace) -> int:
    from tsfgui.project import cli as project_cli

    return project_cli.run(args, UsageError, _spot_settings)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``tsfgui`` with one subparser per command."""
    parser = _Parser(prog=PROG, description="Micro-expression analysis with TSFmicro: desktop app and headless tools. "
                                            "Without a command, the desktop app starts.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--selftest", action="store_true",
                        help="check this installation headless (sample video, face pipeline, model with the demo "
                             "weights, exports, main window offscreen) and exit 0 when all work")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    gui = sub.add_parser("gui", help="start the desktop app (the default command)",
                         description="Start the desktop app, optionally on a video file or a folder of frames.")
    gui.add_argument("path", nargs="?", help="video file or folder of frames to open (default: the bundled sample)")
    gui.add_argument("--fps", type=positive_float, default=None, help="frame rate of a frame folder (default 200) "
                                                            "or to override a video's header")
    choice = gui.add_mutually_exclusive_group()
    choice.add_argument("--weights", default=None, help="TSFmicro weights (.safetensors) to analyse with "
                                                      "(default: the demo weights in model_weights/)")
    choice.add_argument("--no-weights", action="store_true", help="start without a model (difference signals only)")
    gui.set_defaults(func=_cmd_gui)

    review = sub.add_parser("review", help="open the review window on a project (accept, reject, correct events)",
                            description="Go through a project's proposed events with one key per decision; "
                                        "see README, 'Reviewing a project'.")
    review.add_argument("project", nargs="?", help="the project file (.tsfproj); default: choose in the window")
    review.add_argument("--coder", default=None, help="who is reviewing (default: the coder of last time)")
    review.set_defaults(func=_cmd_review)

    info = sub.add_parser("info", help="print what a video or frame folder contains",
                          description="Print size, frame rate, frame count and duration of a video or frame folder.")
    info.add_argument("path", help="video file or folder of frames")
    info.add_argument("--fps", type=positive_float, default=None, help="frame rate of a frame folder (default 200)")
    info.set_defaults(func=_cmd_info)

    analyze = sub.add_parser("analyze", help="analyse videos or frame folders headless, one result folder each",
                             description="Analyse videos or frame folders without a window. Each input gets "
                                         "OUT/<name>/: frames.csv (one row per frame), events.csv and events.json "
                                         "(spotted intervals), events_boris.xlsx (BORIS import), <name>.eaf (ELAN), "
                                         "summary.png and done.json; a re-run skips finished inputs. Exit code 1 "
                                         "when any input failed.")
    analyze.add_argument("inputs", nargs="+", metavar="VIDEO_OR_FOLDER",
                         help="video files, frame folders, or folders of videos (searched recursively)")
    analyze.add_argument("--out", required=True, help="folder for the results")
    analyze.add_argument("--weights", default=None, help="TSFmicro weights: each spotted interval is classified (default: none, "
                                                            "difference signals and spotting only)")
    analyze.add_argument("--device", choices=("cpu", "cuda"), default=None, help="default: CUDA when present")
    analyze.add_argument("--fps", type=positive_float, default=None,
                         help="frame rate of frame folders (default 200); videos keep their own")
    analyze.add_argument("--lag", type=positive_float, default=0.2,
                         help="seconds between a frame and its reference (0.2)")
    analyze.add_argument("--batch-size", type=positive_int, default=8, help="frames per model call (default 8)")
    analyze.add_argument("--jobs", type=positive_int, default=1, help="inputs analysed in parallel processes (default 1; "
                                                              "the CPU cores are shared among them)")
    analyze.add_argument("--spot", action="append", default=[], metavar="KEY=VALUE",
                         help="a spotting setting, repeatable: joint_threshold (the candidates' bar on the patch "
                              "motion and the mean flow together, robust z, default 4), threshold (the bar where one "
                              "signal is read, 3.5), flow_weight, baseline_s, merge_s, micro_max_s, macro_max_s, "
                              "blink_ratio, talk_min_s … (see README)")
    analyze.add_argument("--per-frame-model", action="store_true",
                         help="also run TSFmicro on every frame against the frame --lag seconds before it "
                              "(p_<class> columns of frames.csv; several times slower). By default the model "
                              "classifies only the spotted intervals, on their onset and apex frames")
    add_cluster_argument(analyze, "the inputs, one task each,", "Inputs, weights and --out must be on a filesystem "
                                                             "every node mounts at the same path.")
    analyze.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    analyze.set_defaults(func=_cmd_analyze)

    imp = sub.add_parser("import-weights", help="convert a research checkpoint (.pth) into a tsfgui weights file "
                                                "(or re-save one with a model card)",
                         description="Read a research checkpoint (the authors' TSFmicro code or an RMT backbone) with "
                                     "torch.load(weights_only=True), put its classifier rows into the label scheme's "
                                     "order and write a .safetensors file that names its classes.")
    imp.add_argument("checkpoint", help="the .pth/.pt checkpoint")
    imp.add_argument("out", help="the .safetensors file to write")
    imp.add_argument("--scheme", default=None, help="label scheme (default: inferred from the head size when unique)")
    imp.add_argument("--class-order", default=None,
                     help="the checkpoint's logit order: class names separated by commas, or 'authors' (3 classes: "
                          "positive,surprise,negative). Default: detected from the tensor names")
    imp.add_argument("--card", default=None, help="a model card (Markdown) to store in the file's metadata")
    imp.add_argument("--fp16", action="store_true", help="store float16 (files stored in float16 stay float16)")
    imp.set_defaults(func=_cmd_import_weights)

    bench = sub.add_parser("bench", help="measure speed (face, model …) and print the figures",
                           description="Run a benchmark script from bench/ and print what it measures. "
                                       "Options after the name go to the benchmark (e.g. tsfgui bench model --help).")
    bench.add_argument("name", help="benchmark to run: " + (", ".join(_bench_names()) or "none found"))
    bench.add_argument("rest", nargs=argparse.REMAINDER, help="options for the benchmark")
    bench.set_defaults(func=_cmd_bench)

    from tsfgui.project import cli as project_cli

    project = sub.add_parser("project", help="a study's recordings, proposals and coders' decisions in one file",
                             description=project_cli.DESCRIPTION)
    project_cli.add_arguments(project, _Parser)
    project.set_defaults(func=_cmd_project)

    from tsfgui.samples import cli as samples_cli

    sample = sub.add_parser("sample", help="make a synthetic micro-expression video with ground truth",
                            description=samples_cli.DESCRIPTION)
    samples_cli.add_arguments(sample)
    sample.set_defaults(func=_cmd_sample, prog=f"{PROG} sample")

    from tsfgui.train import cli as train_cli

    train = sub.add_parser("train", help="train TSFmicro on a dataset and save the weights",
                           description=train_cli.TRAIN_DESCRIPTION)
    train_cli.add_train_arguments(train)
    train.set_defaults(func=_cmd_train, parser_=train)

    evaluate = sub.add_parser("eval", help="LOSO / k-fold evaluation (accuracy, UF1, UAR) or test trained weights",
                              description=train_cli.EVAL_DESCRIPTION)
    train_cli.add_eval_arguments(evaluate)
    evaluate.set_defaults(func=_cmd_eval, parser_=evaluate)

    spotting = sub.add_parser("eval-spotting", help="spotting on a long-video dataset, scored as MEGC (P/R/F1)",
                              description="Spot micro- and macro-expressions in the long videos of SAMM Long Videos "
                                          "(samm-lv), CAS(ME)^2 (casme2-lv) or CAS(ME)^3 part A (casme3-lv), read in "
                                          "their published layouts, and score them with the MEGC protocol (IoU >= 0.5, "
                                          "TP/FP/FN pooled over videos). Writes OUT/megc.json, OUT/megc.md and one "
                                          "result per video (a re-run resumes).")
    spotting.add_argument("--dataset", required=True, choices=("samm-lv", "casme2-lv", "casme3-lv"))
    spotting.add_argument("--root", required=True, help="the folder the dataset was unpacked into")
    spotting.add_argument("--out", required=True, help="folder for the results")
    spotting.add_argument("--annotations", default=None, help="the annotation sheet (default: found under --root)")
    spotting.add_argument("--spot", action="append", default=[], metavar="KEY=VALUE",
                          help="a spotting setting, repeatable (as tsfgui analyze --spot)")
    spotting.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    spotting.set_defaults(func=_cmd_eval_spotting)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``tsfgui`` console script; returns the process exit code."""
    argv = cluster_flag_before_inputs(list(sys.argv[1:] if argv is None else argv))
    parser = build_parser()
    commands = set(parser._subparsers._group_actions[0].choices)  # type: ignore[union-attr]
    if not argv:
        argv = ["gui"]
    elif argv[0] not in commands and not argv[0].startswith("-") and os.path.exists(argv[0]):
        argv = ["gui", *argv]  # `tsfgui video.mp4` opens the video
    try:
        args = parser.parse_args(argv)
        if args.selftest:
            if args.command is not None:
                raise UsageError("--selftest takes no command")
            from tsfgui.selftest import run_selftest

            return run_selftest()
        if args.command is None:
            args = parser.parse_args(["gui", *argv])
        func: Callable[[argparse.Namespace], int] = args.func
        return func(args)
    except UsageError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
