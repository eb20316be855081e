"""Pipeline results -> store rows (:class:`core.store.results.ResultRow`), and their tokens."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.store.results import ResultRow

PICTURES = ("overlay_path", "panel_path", "marks_path", "thumb_path")


@dataclass
class PhotoRow(ResultRow):
    """A photo's rows, plus whether its explainer failed (not stored: the fail-fast check)."""

    explainer_failed: bool = False


def one_line(message: object, limit: int = 500) -> str:
    """``message`` on one line, at most ``limit`` characters."""
    text = " ".join(str(message).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def photo_rows(
    chunk: Sequence[tuple[Path, str | None]],
    results: Sequence[Any],
    root: Path,
    labels: Sequence[str],
) -> list[PhotoRow]:
    """One row per input photo of ``chunk`` (``(path, true label)``), from the pipeline's results."""
    by_path = {str(Path(r.path).resolve()): r for r in results}
    rows = []
    for index, (path, label) in enumerate(chunk):
        result = by_path.get(str(path))
        if result is None and len(results) == len(chunk):
            result = results[index]
        rel = path.relative_to(root).as_posix()
        if result is None:
            error = "the pipeline returned no result for this photo"
            rows.append(PhotoRow(str(path), rel, label, status="failed", error=error))
        else:
            rows.append(result_row(result, path, rel, label, labels))
    return rows


def result_row(
    result: Any, path: Path, rel_path: str, true_label: str | None, labels: Sequence[str]
) -> PhotoRow:
    """An :class:`core.pipeline.ImageResult` as rows (failed when it or its explanation failed)."""
    row = PhotoRow(
        path=str(path),
        rel_path=rel_path,
        true_label=true_label,
        status="done",
        sha256=getattr(result, "sha256", None),
    )
    probs = getattr(result, "probs", None)
    if probs is not None:
        _set_prediction(row, result, probs, labels)
    for name in PICTURES:
        value = getattr(result, name, None)
        setattr(row, name, str(Path(value).resolve()) if value else None)
    explanation = getattr(result, "explanation", None)
    if explanation is not None:
        row.text = str(explanation.text or "")
        row.text_error = one_line(explanation.error) if explanation.error else None
        row.details = dict(explanation.details or {})
    error = getattr(result, "error", None)
    if error:
        row.status, row.error = "failed", one_line(error)
    elif explanation is None:
        row.status, row.error = "failed", "no explanation was produced"
    elif explanation.error:
        row.status, row.error = "failed", f"explainer: {row.text_error}"
        row.explainer_failed = True
    return row


def _set_prediction(row: PhotoRow, result: Any, probs: Any, labels: Sequence[str]) -> None:
    """``probs``, the predicted label and its probability, and the top-k list of ``row``."""
    import numpy as np

    probs = np.asarray(probs, dtype=np.float32).reshape(-1)
    row.probs = probs
    pred_index = getattr(result, "pred_index", None)
    if pred_index is None:
        pred_index = int(np.argmax(probs))
    pred_index = int(pred_index)
    row.pred_label = labels[pred_index] if pred_index < len(labels) else str(pred_index)
    row.pred_prob = float(probs[pred_index])
    shown = list(getattr(result, "predictions", None) or [])
    order = np.argsort(-probs, kind="stable")[: max(1, len(shown))]
    row.topk = [
        {
            "label": labels[i] if i < len(labels) else str(int(i)),
            "display": shown[n][0] if n < len(shown) else None,
            "prob": round(float(probs[i]), 6),
        }
        for n, i in enumerate(order)
    ]


def tokenize_rows(
    rows: Sequence[ResultRow],
    lang: str,
    workers: int = 1,
    phrases: Sequence[str] = (),
    explainer: str | None = None,
    regions: bool = False,
) -> None:
    """Fill ``tokens``, ``kinds`` and ``tokenizer`` of every finished row (and, with
    ``regions``, its ``word_regions``) from its text and details
    (:func:`core.text.evidence.documents_terms`); ``phrases`` are the model's labels.

    Identical free texts are tokenized once.
    """
    from core.text.evidence import TERMS_VERSION, documents_terms

    done = [r for r in rows if r.status == "done"]
    keys = [_terms_key(r) for r in done]
    first = {key: r for key, r in reversed(list(zip(keys, done, strict=True)))}
    docs = [(r.text or "", r.details, explainer) for r in first.values()]
    found = dict(zip(first, documents_terms(docs, lang, phrases, workers=workers), strict=True))
    for r, key in zip(done, keys, strict=True):
        terms = found[key]
        r.tokens, r.kinds, r.tokenizer = terms.tokens, terms.kinds, TERMS_VERSION
        r.word_regions = terms.word_regions() if regions else None


def _terms_key(row: ResultRow) -> str:
    """Rows with the same key have the same terms: the text, and details unless free text."""
    import json

    details = row.details or {}
    if not details.get("regions") and not details.get("objects"):
        return row.text or ""
    return (row.text or "") + "\0" + json.dumps(details, sort_keys=True, default=str)
