"""The ``tsfgui train`` and ``tsfgui eval`` commands (argument definitions and their runners, no Qt)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from tsfgui.arguments import add_cluster_argument
from tsfgui.train.datasets import DATASETS, SCHEMES_BY_DATASET
from tsfgui.train.recipes import FACE_CROPS, RECIPES

TRAIN_DESCRIPTION = (
    "Train one TSFmicro model on a dataset (all subjects, or all but --holdout-subjects which are then used "
    "only to report accuracy/UF1/UAR) and save it as safetensors with its provenance. Defaults are the "
    "published recipe; --model-size tiny and fewer --epochs give quick runs.")
EVAL_DESCRIPTION = (
    "Evaluate TSFmicro on a dataset by subject-independent cross-validation: leave-one-subject-out (default) "
    "or k-fold by subject, one model trained per fold, metrics pooled over folds as in MEGC (accuracy, UF1, "
    "UAR, per-class recall, confusion matrix). No selection on test subjects. An interrupted run resumes at "
    "the next unfinished fold when started again with the same options. With --weights, test a trained "
    "model on the whole dataset instead (no training).")


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "tsfgui" / "crops"


def _common(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("data")
    g.add_argument("--dataset", required=True, choices=(*DATASETS, "synthetic", "project"),
                   help="dataset layout: casme2, samm, casme3a (CAS(ME)^3 part A), smic (SMIC-HS), megc2019 "
                        "(CASME II + SAMM [+ SMIC-HS] in 3 classes), synthetic (generated AU clips in the "
                        "CASME II layout, 3 classes) or project (a tsfgui project's reviewed events: --root "
                        "P.tsfproj --coder NAME)")
    g.add_argument("--coder", help="project: whose accepted, edited and added events to train on")
    g.add_argument("--root", help="the dataset's folder (holding its frames and annotation sheet); for "
                                  "synthetic, where the generated set is (written there when absent)")
    g.add_argument("--annotations", help="annotation sheet (.xlsx) when it is not under --root")
    g.add_argument("--cropped", action="store_true",
                   help="casme2: read the Cropped/…/reg_img*.jpg frames instead of CASME2_RAW_selected")
    g.add_argument("--casme2", help="megc2019: CASME II root")
    g.add_argument("--samm", help="megc2019: SAMM root")
    g.add_argument("--smic", help="megc2019: SMIC-HS root (optional)")
    g.add_argument("--scheme", help="label scheme: casme2 casme2_5|megc3, samm samm5|megc3, casme3a "
                                    "casme3_4|casme3_7, megc2019/smic/synthetic megc3 (default: the first)")
    g.add_argument("--out", required=True, help="output folder for metrics.json, metrics.md, confusion.png "
                                                "(and folds/ or the weights)")
    g.add_argument("--cache", default=None, help=f"folder of cached aligned crops (default {default_cache_dir()})")
    g.add_argument("--crop-size", type=int, default=224, help="side of the cached aligned face crops (default 224)")
    g.add_argument("--detector", choices=("hog", "cnn"), default="hog", help="dlib face detector (default hog)")
    g.add_argument("--face-crop", choices=FACE_CROPS, default="align",
                   help="align: dlib landmarks to a template (default); stretch: the face box stretched to the crop "
                        "size, as the datasets' Cropped folders; frame: the whole image resized (already cropped)")
    g.add_argument("--synthetic-subjects", type=int, default=8, help="synthetic: subjects to generate (default 8)")
    g.add_argument("--synthetic-clips", type=int, default=6, help="synthetic: clips per subject (default 6)")
    g.add_argument("--synthetic-size", type=int, default=224, help="synthetic: frame side in px (default 224)")
    g.add_argument("--synthetic-faces", default=None,
                   help="synthetic: face photographs, one subject each ('all' or names separated by commas: "
                        "astronaut, obama, biden, grace_hopper); LOSO then holds out a face never trained on")
    g.add_argument("--synthetic-motion", choices=("landmarks", "rig", "mixed"), default="landmarks",
                   help="synthetic: AU motion from landmark patterns, from the ICT-FaceKit rig, or mixed (every "
                        "other clip; default landmarks)")
    g.add_argument("--synthetic-identities", action="store_true",
                   help="synthetic: a new random rig face shape for every clip (never repeated)")

    g.add_argument("--synthetic-negatives", choices=("default", "no-dimpler"), default="default",
                   help="synthetic: the negative events (default: AU4, AU4+AU7, AU15, AU9, AU14, AU20; no-dimpler: "
                        "AU15+AU17 instead of AU14, whose rig motion looks like a smile's)")
    m = p.add_argument_group("model")
    m.add_argument("--model-size", choices=("full", "small", "tiny"), default="full",
                   help="full: the paper's network; small: 0.8 M parameters for CPU training; tiny: "
                        "TSFmicroConfig.tiny for quick runs (default full)")
    m.add_argument("--img-size", type=int, default=None,
                   help="model input side (default 224 full, 96 small, 32 tiny)")

    r = p.add_argument_group("recipe (defaults as published)")
    r.add_argument("--epochs", type=int, default=200, help="epoch budget (default 200)")
    r.add_argument("--batch-size", type=int, default=32, help="pairs per batch (default 32)")
    r.add_argument("--lr", type=float, default=8e-4, help="AdamW learning rate (default 8e-4)")
    r.add_argument("--weight-decay", type=float, default=None,
                   help="AdamW weight decay (default 0.6; 0.7 for SAMM in 3 classes)")
    r.add_argument("--gamma", type=float, default=0.987, help="exponential LR decay per epoch (default 0.987)")
    r.add_argument("--decay-epochs", type=int, default=50, help="epochs during which the LR decays (default 50)")
    r.add_argument("--hflip", type=float, default=0.5, help="probability of a horizontal flip (default 0.5)")
    r.add_argument("--rotate", type=float, default=3.0, help="largest rotation in degrees (default 3)")
    r.add_argument("--crop-padding", type=int, default=15,
                   help="random crop 224 after padding by this many px (scaled to the input size; default 15)")
    r.add_argument("--jitter", type=int, default=2,
                   help="onset/apex jitter window in frames for training (0 = off; default 2)")
    r.add_argument("--jitter-fraction", type=float, default=0.0,
                   help="the authors' jitter: a window of this fraction of the onset-apex distance (e.g. 0.0375)")
    r.add_argument("--scale-jitter", type=float, default=0.0,
                   help="zoom both frames of a pair by a random factor in [1-S, 1+S] (default 0: off)")
    r.add_argument("--photometric", type=float, default=0.0,
                   help="per-pair contrast, brightness, gamma and colour-cast jitter of strength S, the same on "
                        "both frames (e.g. 0.3; default 0: off)")
    r.add_argument("--recipe", choices=RECIPES, default="ours",
                   help="paper: the authors' values where not given on the command line (jitter window, SAMM "
                        "3-class rotation 4 and padding 4, epochs 174 CASME II / 199 SAMM and CAS(ME)^3)")
    r.add_argument("--report-best-epoch", action="store_true",
                   help="eval: also report the paper code's optimistic figure (best test-subject epoch per fold), "
                        "labelled as such, next to the honest one")
    r.add_argument("--precise-bn", action=argparse.BooleanOptionalAction, default=True,
                   help="re-estimate the BatchNorm statistics on the training pairs (no augmentation) before the "
                        "model is tested or saved (default on; --no-precise-bn keeps the moving averages of "
                        "training, as the authors' code; --recipe paper turns it off)")
    r.add_argument("--average-epochs", type=int, default=0,
                   help="the model is the average of its weights over the last N epochs (stochastic weight "
                        "averaging; BatchNorm statistics re-estimated for it); 0 = the last epoch's (default)")
    r.add_argument("--patience", type=int, default=0,
                   help="early stopping after this many epochs without better validation UF1 (0 = fixed budget)")
    r.add_argument("--val-subjects", type=int, default=0,
                   help="training subjects carved out as the validation set for early stopping (default 0)")
    r.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    r.add_argument("--device", default=None, help="torch device (default: GPU when present, else CPU)")
    r.add_argument("--threads", type=int, default=None,
                   help="CPU threads for torch (default: all available; with eval --cluster: the CPUs each fold "
                        "task reserves, default 1)")
    p.add_argument("--config", help="TOML file whose keys (flag names with _ or -) set defaults for these options")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")


def add_train_arguments(p: argparse.ArgumentParser) -> None:
    _common(p)
    t = p.add_argument_group("train")
    t.add_argument("--weights-out", help="weights file to write (default OUT/tsfmicro-DATASET-SCHEME.safetensors)")
    t.add_argument("--holdout-subjects", type=int, default=0,
                   help="subjects never trained on, used only for the reported metrics (default 0)")
    t.add_argument("--fp16", action="store_true", help="store the weights in float16 (half the size)")


def add_eval_arguments(p: argparse.ArgumentParser) -> None:
    _common(p)
    e = p.add_argument_group("evaluation")
    e.add_argument("--protocol", choices=("loso", "kfold"), default="loso",
                   help="leave-one-subject-out or k-fold by subject (default loso)")
    e.add_argument("--folds", type=int, default=5, help="k for --protocol kfold (default 5)")
    e.add_argument("--weights", help="test these trained weights on the whole dataset instead of cross-validating")
    e.add_argument("--save-fold-weights", action="store_true",
                   help="also write each fold's model to OUT/folds/<fold>.safetensors (fp16, with its held-out figures)")
    e.add_argument("--class-order", default=None,
                   help="with --weights of a research checkpoint: its logit order (names separated by commas, or "
                        "'authors'); default: detected from the tensor names")
    add_cluster_argument(e, "the folds, one task each,", "Same metrics as a local run.")


# running -----------------------------------------------------------------------------------------------------

def _apply_config(args: argparse.Namespace, parser: argparse.ArgumentParser, usage_error) -> None:
    import tomllib

    path = Path(args.config)
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise usage_error(f"config file not found: '{path}'") from None
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise usage_error(f"config file '{path}' is not valid TOML: {exc}") from None
    actions = {a.dest: a for a in parser._actions}
    for key, value in data.items():
        dest = key.replace("-", "_")
        action = actions.get(dest)
        if action is None or dest in ("help", "config"):
            raise usage_error(f"config file '{path}': unknown option '{key}'")
        try:
            if action.nargs == 0:  # a switch such as --fp16
                if not isinstance(value, bool):
                    raise ValueError("expected true or false")
            elif action.type is not None:
                value = action.type(value)
            else:
                value = str(value)
        except (TypeError, ValueError) as exc:
            raise usage_error(f"config file '{path}': bad value {value!r} for '{key}' ({exc})") from None
        if action.choices is not None and value not in action.choices:
            raise usage_error(f"config file '{path}': '{key}' must be one of {', '.join(map(str, action.choices))}")
        if getattr(args, dest) == parser.get_default(dest):  # the command line wins
            setattr(args, dest, value)


def _setup(args, parser, usage_error):
    if args.config:
        _apply_config(args, parser, usage_error)
    logging.basicConfig(level=logging.ERROR if args.quiet else logging.WARNING, format="tsfgui: %(message)s",
                        stream=sys.stderr)


def _threads(args) -> None:
    from tsfgui.model import configure_threads  # imports torch: only once the input is known to be good

    configure_threads(None if getattr(args, "cluster", None) else args.threads)  # --cluster: --threads is per fold


def _load(args, usage_error):
    from tsfgui.train.datasets import DatasetError, load_dataset

    scheme = args.scheme
    try:
        if args.dataset == "synthetic":
            from tsfgui.train.synthetic import write_synthetic

            if not args.root:
                raise usage_error("--root is required: the folder of the synthetic set (written there when absent)")
            root = Path(args.root)
            if not list(root.glob("CASME2-coding-*.xlsx")):
                write_synthetic("casme2", root, subjects=args.synthetic_subjects,
                                clips_per_subject=args.synthetic_clips, seed=args.seed,
                                size=(args.synthetic_size, args.synthetic_size), progress=not args.quiet,
                                faces=_synthetic_faces(args, usage_error), motion=args.synthetic_motion,
                                identities=args.synthetic_identities, negatives=args.synthetic_negatives)
            if scheme not in (None, "megc3"):
                raise usage_error("the synthetic set has only the 3-class scheme 'megc3'")
            ds = load_dataset("casme2", root, "megc3")
            ds.name = "synthetic"
            ds.report.dataset = "synthetic"
            return ds
        if args.dataset == "project":
            from tsfgui.train.project_data import load_project_dataset

            if not args.root or not args.coder:
                raise usage_error("--dataset project needs --root P.tsfproj and --coder NAME")
            return load_project_dataset(args.root, args.coder, scheme or "megc3",
                                        frames_dir=Path(args.cache or default_cache_dir()).parent / "project-frames",
                                        jitter=max(args.jitter, 0))
        if args.dataset == "megc2019":
            if not (args.casme2 or args.samm or args.smic):
                raise usage_error("megc2019 needs --casme2 and/or --samm (and optionally --smic) roots")
            return load_dataset("megc2019", scheme=scheme, casme2=args.casme2, samm=args.samm, smic=args.smic)
        if not args.root:
            raise usage_error(f"--root is required: the folder that holds {args.dataset}")
        if scheme is not None and scheme not in SCHEMES_BY_DATASET[args.dataset]:
            raise usage_error(f"label scheme '{scheme}' does not apply to {args.dataset}; choose one of "
                              f"{', '.join(SCHEMES_BY_DATASET[args.dataset])}")
        return load_dataset(args.dataset, args.root, scheme, annotations=args.annotations,
                            cropped=True if args.cropped and args.dataset == "casme2" else None)
    except DatasetError as exc:
        raise usage_error(str(exc)) from None


def _synthetic_faces(args, usage_error) -> list[str] | None:
    if not args.synthetic_faces:
        return None
    from tsfgui.samples.faces import face_names

    known = face_names()
    names = known if args.synthetic_faces == "all" else [n.strip() for n in args.synthetic_faces.split(",") if n.strip()]
    unknown = [n for n in names if n not in known]
    if unknown or len(names) < 2:
        raise usage_error(f"--synthetic-faces: give 'all' or at least two of {', '.join(known)}"
                          + (f" (unknown: {', '.join(unknown)})" if unknown else ""))
    return names


def _recipe(args):
    from tsfgui.train.trainer import Recipe

    return Recipe(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, weight_decay=args.weight_decay,
                  gamma=args.gamma, decay_epochs=args.decay_epochs, hflip=args.hflip, rotate_deg=args.rotate,
                  crop_padding=args.crop_padding, jitter=args.jitter, jitter_fraction=args.jitter_fraction,
                  report_best_epoch=args.report_best_epoch, patience=args.patience,
                  val_subjects=args.val_subjects, seed=args.seed, device=args.device, precise_bn=args.precise_bn,
                  average_epochs=args.average_epochs, scale_jitter=args.scale_jitter,
                  photometric=args.photometric)


def _check_numbers(args, usage_error) -> None:
    for name in ("epochs", "batch_size", "crop_size"):
        if getattr(args, name) < 1:
            raise usage_error(f"--{name.replace('_', '-')} must be at least 1, got {getattr(args, name)}")
    if not 0 <= args.average_epochs <= args.epochs:
        raise usage_error(f"--average-epochs must lie between 0 and --epochs ({args.epochs}), got {args.average_epochs}")
    for name in ("scale_jitter", "photometric"):
        if not 0 <= getattr(args, name) < 1:
            raise usage_error(f"--{name.replace('_', '-')} must lie in [0, 1), got {getattr(args, name)}")
    if args.average_epochs and args.patience:
        raise usage_error("--average-epochs and --patience exclude each other (an average or the best validation epoch)")
    if args.patience > 0 and args.val_subjects < 1:
        raise usage_error("--patience needs --val-subjects ≥ 1 (validation comes from training subjects only)")


def _cache(args):
    from tsfgui.train.preprocess import CropCache, PreprocessSettings

    return CropCache(args.cache or default_cache_dir(),
                     PreprocessSettings(crop_size=args.crop_size, jitter=max(args.jitter, 0), detector=args.detector,
                                        jitter_fraction=max(args.jitter_fraction, 0.0), face_crop=args.face_crop))


def _apply_paper_recipe(args, parser, ds, usage_error) -> None:
    """``--recipe paper``: the authors' values for the options left at their defaults."""
    from tsfgui.train.recipes import paper_recipe

    if args.recipe != "paper":
        return
    try:
        values = paper_recipe(args.dataset, ds.scheme)
    except ValueError as exc:
        raise usage_error(str(exc)) from None
    for dest, value in values.items():
        if getattr(args, dest) == parser.get_default(dest):
            setattr(args, dest, value)


def _print_summary(ds, title: str, metrics: dict, paths: dict) -> None:
    print(ds.report.summary())
    if ds.report.skipped:
        print(f"skipped {len(ds.report.skipped)} row(s) (see metrics.json 'report'):")
        for s in ds.report.skipped[:20]:
            print(f"  {s}")
    print(f"{title}: accuracy {metrics['accuracy']:.4f}  UF1 {metrics['uf1']:.4f}  UAR {metrics['uar']:.4f}  "
          f"(n={metrics['n']})")
    for k, v in paths.items():
        print(f"{k}: {v}")


SYNTHETIC_WARNING = ("Trained on synthetic clips only (AU motion planted on a real face photo); NOT validated on "
                     "real micro-expression data. For demonstration only.")


def _provenance(args, ds) -> dict:
    prov = {"model_size": args.model_size,
            "command": ("tsfgui " + " ".join(sys.argv[1:])) if sys.argv[1:2] in (["train"], ["eval"]) else "tsfgui.train.cli"}
    if ds.name == "project":
        prov.update(project=str(Path(args.root).resolve()), coder=args.coder,
                    note="trained on the coder's accepted, edited and added events of a tsfgui project")
    if ds.name == "synthetic":
        prov.update(synthetic=True, validated_on_real_data=False, warning=SYNTHETIC_WARNING,
                    synthetic_set={"subjects": args.synthetic_subjects, "clips_per_subject": args.synthetic_clips,
                                   "frame_size": args.synthetic_size, "seed": args.seed,
                                   "faces": args.synthetic_faces, "motion": args.synthetic_motion,
                                   "identities": args.synthetic_identities,
                                   "negatives": args.synthetic_negatives,
                                   "generator": "tsfgui.samples.render_clip (CASME II layout)"})
    return prov


def run_train(args: argparse.Namespace, parser: argparse.ArgumentParser, usage_error) -> int:
    _setup(args, parser, usage_error)
    _check_numbers(args, usage_error)
    ds = _load(args, usage_error)
    _apply_paper_recipe(args, parser, ds, usage_error)
    _threads(args)
    from tsfgui.train.trainer import model_config, train_final
    try:
        cfg = model_config(ds.scheme, args.model_size, args.img_size)
    except Exception as exc:  # ConfigError
        raise usage_error(f"model configuration: {exc}") from None
    out = Path(args.out)
    weights = Path(args.weights_out) if args.weights_out else out / f"tsfmicro-{ds.name}-{ds.scheme}.safetensors"
    try:
        res = train_final(ds, _cache(args), cfg, _recipe(args), out, holdout_subjects=args.holdout_subjects,
                          weights=weights, fp16=args.fp16, progress=not args.quiet,
                          provenance=_provenance(args, ds))
    except ValueError as exc:
        raise usage_error(str(exc)) from None
    print(ds.report.summary())
    for s in ds.report.skipped[:20]:
        print(f"  skipped {s}")
    print(f"trained {res.epochs} epochs on subjects {', '.join(res.train_subjects)}"
          + (f" (validation: {', '.join(res.val_subjects)})" if res.val_subjects else ""))
    if res.metrics:
        _print_summary_metrics(res.metrics, res.fold.test_subjects)
    print(f"weights: {res.weights}")
    return 0


def _print_summary_metrics(m: dict, subjects) -> None:
    print(f"held-out subjects {', '.join(subjects)}: accuracy {m['accuracy']:.4f}  UF1 {m['uf1']:.4f}  "
          f"UAR {m['uar']:.4f}  (n={m['n']})")


def _cluster_runner(args, usage_error):
    """The Ray fold runner for ``eval --cluster`` (a one-line error when Ray is missing or the address is bad)."""
    from tsfgui.cluster import ClusterError

    if args.weights:
        raise usage_error("--cluster runs cross-validation folds; it does not apply to --weights")
    if args.threads is not None and args.threads < 1:
        raise usage_error(f"--threads must be at least 1, got {args.threads}")
    try:
        from tsfgui.train.on_cluster import cluster_fold_runner

        return cluster_fold_runner(args.cluster, cpus_per_fold=args.threads or 1)
    except ClusterError as exc:
        raise usage_error(str(exc)) from None


def run_eval(args: argparse.Namespace, parser: argparse.ArgumentParser, usage_error) -> int:
    _setup(args, parser, usage_error)
    _check_numbers(args, usage_error)
    if args.weights and not Path(args.weights).is_file():
        raise usage_error(f"weights file not found: '{args.weights}'")
    runner = _cluster_runner(args, usage_error) if args.cluster else None
    ds = _load(args, usage_error)
    _apply_paper_recipe(args, parser, ds, usage_error)
    _threads(args)
    from tsfgui.cluster import ClusterError
    from tsfgui.train.on_cluster import FoldsFailed
    from tsfgui.train.trainer import cross_validate, evaluate_weights, model_config
    out = Path(args.out)
    if args.weights:
        from tsfgui.model import WeightsError, load_model

        try:
            model = load_model(args.weights, class_order=args.class_order)
        except WeightsError as exc:
            raise usage_error(str(exc)) from None
        try:
            m = evaluate_weights(model, ds, _cache(args), out, batch_size=args.batch_size, progress=not args.quiet,
                                 device=args.device)
        except ValueError as exc:
            raise usage_error(str(exc)) from None
        _print_summary(ds, f"{Path(args.weights).name} on {ds.name}", m,
                       {"metrics": out / "metrics.json", "table": out / "metrics.md", "confusion": out / "confusion.png"})
        return 0
    try:
        cfg = model_config(ds.scheme, args.model_size, args.img_size)
    except Exception as exc:  # ConfigError
        raise usage_error(f"model configuration: {exc}") from None
    try:
        res = cross_validate(ds, _cache(args), cfg, _recipe(args), out, protocol=args.protocol, k=args.folds,
                             progress=not args.quiet, runner=runner, save_fold_weights=args.save_fold_weights,
                             provenance=_provenance(args, ds))
    except ValueError as exc:
        raise usage_error(str(exc)) from None
    except ClusterError as exc:
        raise usage_error(str(exc)) from None
    except FoldsFailed as exc:  # the finished folds are kept
        print(f"tsfgui: error: {exc}; finished folds are in {out / 'folds'}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"tsfgui: finished folds are kept in {out / 'folds'}; run the same command again to resume",
              file=sys.stderr)
        raise
    if res.resumed:
        print(f"resumed: {len(res.resumed)} fold(s) read from an earlier run, {len(res.trained)} trained now")
    _print_summary(ds, f"{args.protocol.upper()} pooled over {len(res.folds)} folds", res.pooled, res.paths)
    return 0
