""":func:`mine`: per class the words that predict it, with their precision and the accuracies."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from core.mining import fit as fitting
from core.mining.corpus import Corpus
from core.mining.result import Keyword, MiningResult, resolve_classes
from core.mining.settings import DEFAULTS


def mine(
    corpus: Corpus,
    top: int = DEFAULTS.top,
    classes: Sequence[str] | None = None,
    min_df: int = DEFAULTS.min_df,
    stopwords: Iterable[str] = DEFAULTS.stopwords,
    cv: int = DEFAULTS.cv,
    seed: int = DEFAULTS.seed,
    *,
    C: float = 1.0,
    tol: float = 1e-4,
    cv_tol: float = 1e-3,
    max_iter: int = 100,
) -> MiningResult:
    """Per class the ``top`` words with the largest positive weights, and the accuracies.

    The defaults are :data:`core.mining.settings.DEFAULTS`'s; readers of a run's table call
    :func:`core.mining.keyword_table`, which answers from the stored table when it can.

    ``classes`` restricts the columns shown (the model is always fit on all classes);
    ``min_df`` drops words in fewer documents; ``stopwords`` are removed on top of those
    removed at tokenization; at most ``cv`` folds of stratified cross-validation give the
    text accuracy (fewer for a small class or a corpus of
    :data:`~core.mining.fit.LARGE_CORPUS_DOCS`+ documents; 0 or 1 skips it, leaving
    ``text_accuracy`` None). ``C`` is the inverse L2 strength, ``tol``/``cv_tol`` the solver
    tolerances of the full fit and of the folds. The image accuracy is the corpus's
    (:attr:`Corpus.image_accuracy`: the whole run's, not only the documents mined).
    """
    mat = fitting.document_matrix(corpus, min_df, stopwords)
    shown = resolve_classes(classes, mat.class_names)
    model = fitting.fit(mat, C, tol, max_iter)
    class_counts = np.bincount(mat.y, minlength=len(mat.class_names))
    folds = fitting.fold_count(cv, class_counts)
    text_accuracy = (
        fitting.cv_accuracy(mat, model, folds, seed, C, cv_tol, max_iter) if folds else None
    )
    return MiningResult(
        classes=_top_words(mat, fitting.class_weights(model, len(mat.class_names)), shown, top),
        text_accuracy=text_accuracy,
        image_accuracy=corpus.image_accuracy,
        baseline=(
            corpus.baseline
            if corpus.baseline is not None
            else float(class_counts.max() / class_counts.sum())
        ),
        documents=len(mat.y),
        skipped=corpus.skipped + (len(corpus) - len(mat.y)),
        by=corpus.by,
        folds=folds,
        vocabulary=int(mat.X.shape[1]),
        class_counts={c: int(n) for c, n in zip(mat.class_names, class_counts, strict=True)},
        dropped_classes=mat.dropped,
    ).in_lang(corpus.lang)  # the table's text in the corpus's language


def _top_words(
    mat: fitting.Matrix, weights: np.ndarray, shown: list[str], top: int
) -> dict[str, list[Keyword]]:
    """Per shown class its ``top`` positive-weight words (ties by word) with n/m counts."""
    X_csc = mat.X.tocsc()
    m = np.diff(X_csc.indptr)  # documents containing each term
    out: dict[str, list[Keyword]] = {}
    for name in shown:
        k = mat.class_names.index(name)
        w = weights[k]
        positive = np.flatnonzero(w > 0)
        order = positive[np.lexsort((mat.terms[positive].astype(str), -w[positive]))][:top]
        in_class = (mat.y == k).astype(np.float64)
        n = np.asarray(X_csc[:, order].T @ in_class).ravel() if len(order) else []
        out[name] = [
            Keyword(str(mat.terms[j]), int(n[i]), int(m[j]), float(w[j]))
            for i, j in enumerate(order)
        ]
    return out
