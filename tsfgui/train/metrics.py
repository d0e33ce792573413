"""MEGC-style metrics (pooled over folds) and their JSON / Markdown / PNG reports, written atomically.

Accuracy, UF1 (unweighted = macro F1) and UAR (unweighted average recall = macro recall) are computed with
scikit-learn on the predictions of all folds pooled, with ``labels=range(C)`` and ``zero_division=0``, as
the MEGC composite protocol does. Classes absent from the data count as zero in the macro averages.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from tsfgui.io.atomic import atomic_write_bytes


def compute_metrics(y_true: Sequence[int], y_pred: Sequence[int], num_classes: int) -> dict[str, Any]:
    """Accuracy, UF1, UAR, per-class recall and the confusion matrix (rows true, columns predicted)."""
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, recall_score

    y_true = np.asarray(y_true, dtype=int)
    y_pred = np.asarray(y_pred, dtype=int)
    labels = list(range(num_classes))
    if y_true.size == 0:
        return {"n": 0, "accuracy": 0.0, "uf1": 0.0, "uar": 0.0, "per_class_recall": [0.0] * num_classes,
                "confusion": [[0] * num_classes for _ in labels]}
    return {
        "n": int(y_true.size),
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "uf1": float(f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)),
        "uar": float(recall_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)),
        "per_class_recall": [float(v) for v in recall_score(y_true, y_pred, labels=labels, average=None,
                                                            zero_division=0)],
        "confusion": confusion_matrix(y_true, y_pred, labels=labels).astype(int).tolist(),
    }


# atomic writes ---------------------------------------------------------------------------------------------

def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | Path, obj: Any) -> Path:
    return atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")


# reports ---------------------------------------------------------------------------------------------------

POOLED_NOTE = "Pooled over all folds (MEGC protocol)."


def markdown_report(title: str, pooled: dict, folds: Sequence[dict], class_names: Sequence[str],
                    note: str = POOLED_NOTE) -> str:
    """Markdown: pooled figures, per-class recall, confusion matrix and per-fold figures."""
    lines = [f"# {title}", "", note, "",
             "| samples | accuracy | UF1 | UAR |", "|---:|---:|---:|---:|",
             f"| {pooled['n']} | {pooled['accuracy']:.4f} | {pooled['uf1']:.4f} | {pooled['uar']:.4f} |", "",
             "| class | recall |", "|---|---:|"]
    lines += [f"| {c} | {r:.4f} |" for c, r in zip(class_names, pooled["per_class_recall"])]
    lines += ["", "Confusion matrix (rows: true class, columns: predicted class)", "",
              "| true \\ predicted | " + " | ".join(class_names) + " |",
              "|---|" + "---:|" * len(class_names)]
    lines += [f"| {c} | " + " | ".join(str(v) for v in row) + " |" for c, row in zip(class_names, pooled["confusion"])]
    if folds:
        lines += ["", "## Per fold", "", "| fold | test subjects | samples | epochs | accuracy | UF1 | UAR |",
                  "|---|---|---:|---:|---:|---:|---:|"]
        for f in folds:
            m = f["metrics"]
            lines.append(f"| {f['name']} | {', '.join(f['test_subjects'])} | {m['n']} | {f.get('epochs', '')} | "
                         f"{m['accuracy']:.4f} | {m['uf1']:.4f} | {m['uar']:.4f} |")
    return "\n".join(lines) + "\n"


def confusion_png(path: str | Path, confusion: Sequence[Sequence[int]], class_names: Sequence[str],
                  title: str = "") -> Path:
    """Draw the confusion matrix (counts, row-normalised colour) as a PNG, atomically."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    cm = np.asarray(confusion, dtype=float)
    norm = cm / np.maximum(cm.sum(1, keepdims=True), 1)
    n = len(class_names)
    fig = Figure(figsize=(1.2 + 0.9 * n, 1.0 + 0.8 * n), dpi=110)
    ax = fig.add_subplot()
    ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(n), class_names, rotation=45, ha="right")
    ax.set_yticks(range(n), class_names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if title:
        ax.set_title(title, fontsize=9)
    for i in range(n):
        for j in range(n):
            ax.text(j, i, str(int(cm[i, j])), ha="center", va="center",
                    color="white" if norm[i, j] > 0.5 else "black", fontsize=9)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return atomic_write_bytes(path, buf.getvalue())


def write_reports(out_dir: str | Path, title: str, pooled: dict, folds: Sequence[dict],
                  class_names: Sequence[str], extra: dict | None = None, note: str = POOLED_NOTE) -> dict[str, Path]:
    """``metrics.json``, ``metrics.md`` and ``confusion.png`` in ``out_dir``; returns their paths."""
    out = Path(out_dir)
    doc = {"title": title, "class_names": list(class_names), "pooled": pooled,
           "folds": [{k: v for k, v in f.items() if k not in ("y_true", "y_pred", "keys")} for f in folds],
           **(extra or {})}
    return {
        "json": atomic_write_json(out / "metrics.json", doc),
        "markdown": atomic_write_text(out / "metrics.md", markdown_report(title, pooled, folds, class_names, note)),
        "png": confusion_png(out / "confusion.png", pooled["confusion"], class_names, title),
    }
