"""Training and evaluation of TSFmicro on the micro-expression datasets' layouts (no Qt).

- :mod:`~tsfgui.train.datasets`: one adapter per layout (CASME II, SAMM, CAS(ME)^3 part A, SMIC-HS, the MEGC 2019
  composite), label schemes, the report of skipped rows.
- :mod:`~tsfgui.train.preprocess`: aligned onset/apex crops cached per sample.
- :mod:`~tsfgui.train.protocol`: LOSO, k-fold by subject, hold-out, validation split from training subjects.
- :mod:`~tsfgui.train.metrics`: accuracy, UF1, UAR pooled over folds; JSON / Markdown / PNG reports.
- :mod:`~tsfgui.train.trainer`: the published recipe, cross-validation with resume, the final model.
- :mod:`~tsfgui.train.on_cluster`: the folds as Ray tasks (``eval --cluster``; needs the ``cluster`` extra).
- :mod:`~tsfgui.train.synthetic`: synthetic datasets in each real layout (tests, demo weights).
"""

import importlib

_EXPORTS = {
    "datasets": ("DATASETS", "SCHEMES_BY_DATASET", "Dataset", "DatasetError", "DatasetReport", "Sample", "load_casme2",
                 "load_casme3a", "load_dataset", "load_megc2019", "load_samm", "load_smic"),
    "metrics": ("compute_metrics", "write_reports"),
    "preprocess": ("CropCache", "PairCrops", "PreprocessSettings"),
    "protocol": ("Fold", "carve_validation", "holdout_split", "kfold_folds", "loso_folds"),
    "trainer": ("CVResult", "Recipe", "TrainResult", "cross_validate", "evaluate_weights", "fit", "model_config",
                "train_final"),
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}


def __getattr__(name: str):  # lazy: the CLI's --help does not import torch
    if name in _WHERE:
        return getattr(importlib.import_module(f"tsfgui.train.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'tsfgui.train' has no attribute {name!r}")


__all__ = [
    "DATASETS", "SCHEMES_BY_DATASET", "Dataset", "DatasetError", "DatasetReport", "Sample", "load_casme2",
    "load_casme3a", "load_dataset", "load_megc2019", "load_samm", "load_smic", "compute_metrics", "write_reports",
    "CropCache", "PairCrops", "PreprocessSettings", "Fold", "carve_validation", "holdout_split", "kfold_folds",
    "loso_folds", "CVResult", "Recipe", "TrainResult", "cross_validate", "evaluate_weights", "fit", "model_config",
    "train_final",
]
