"""Classification metrics of a classifier on labelled photos (top-1/top-3, macro-F1, per-class
scores, confusion matrix) and their one-line summary.

These score a model on a photo folder (``wordcam train`` / ``wordcam eval``); the metrics of a
stored explanation run (image accuracy, majority baseline) are :mod:`core.store.metrics`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np


def classification_metrics(
    y_true: Sequence[int] | np.ndarray,
    probs: np.ndarray,
    labels: Sequence[str],
    skipped: Sequence[tuple[str, str]] = (),
) -> dict[str, Any]:
    """Top-1/top-3 accuracy, macro-F1, per-class precision/recall/F1, confusion matrix, counts.

    Macro averages run over the classes present in ``y_true`` (a test folder may hold only
    some of the model's classes). The confusion matrix has rows = true, columns = predicted.
    """
    import numpy as np

    y = np.asarray(y_true, dtype=np.int64)
    probs = np.asarray(probs, dtype=np.float64)
    n, c = len(y), len(labels)
    k = min(3, c)
    pred = probs.argmax(axis=1) if n else np.zeros(0, np.int64)
    confusion = np.zeros((c, c), dtype=np.int64)
    np.add.at(confusion, (y, pred), 1)
    topk = np.argsort(-probs, axis=1)[:, :k] if n else np.zeros((0, k), np.int64)
    in_topk = (topk == y[:, None]).any(axis=1) if n else np.zeros(0, bool)
    per_class, f1s, recalls = _per_class(confusion, labels)
    log_loss = (
        float(-np.log(np.clip(probs[np.arange(n), y], 1e-12, 1.0)).mean()) if n else float("nan")
    )
    return {
        "n": n,
        "skipped": len(skipped),
        "top1": round(float((pred == y).mean()), 4) if n else 0.0,
        "top3": round(float(in_topk.mean()), 4) if n else 0.0,
        "top_k": k,
        "macro_f1": round(float(np.mean(f1s)), 4) if f1s else 0.0,
        "balanced_accuracy": round(float(np.mean(recalls)), 4) if recalls else 0.0,
        "log_loss": round(log_loss, 4) if not math.isnan(log_loss) else None,
        "labels": list(labels),
        "support": {name: int(confusion[i].sum()) for i, name in enumerate(labels)},
        "per_class": per_class,
        "confusion_matrix": confusion.tolist(),
        "skipped_files": [{"path": p, "error": why} for p, why in skipped],
    }


def _per_class(
    confusion: np.ndarray, labels: Sequence[str]
) -> tuple[dict[str, dict[str, float | int]], list[float], list[float]]:
    """Precision/recall/F1/support per class, and the unrounded F1s and recalls of the classes
    that have photos (for the macro averages)."""
    per_class: dict[str, dict[str, float | int]] = {}
    f1s: list[float] = []
    recalls: list[float] = []
    for i, name in enumerate(labels):
        tp = int(confusion[i, i])
        support = int(confusion[i].sum())
        predicted = int(confusion[:, i].sum())
        precision = tp / predicted if predicted else 0.0
        recall = tp / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[name] = {
            "precision": round(precision, 4),
            "recall": round(recall, 4),
            "f1": round(f1, 4),
            "support": support,
            "predicted": predicted,
        }
        if support:
            f1s.append(f1)
            recalls.append(recall)
    return per_class, f1s, recalls


def summary_line(metrics: dict[str, Any]) -> str:
    """``top1=0.912 top3=0.990 macro_f1=0.905 n=340 skipped=1``."""
    return (
        f"top1={metrics['top1']:.3f} top3={metrics['top3']:.3f} "
        f"macro_f1={metrics['macro_f1']:.3f} n={metrics['n']} skipped={metrics['skipped']}"
    )
