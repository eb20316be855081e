"""Fitting: the document-term matrix, the logistic regression and its cross-validation.

Model: scikit-learn ``LogisticRegression`` (multinomial, L2, ``C=1``) with the newton-cg
solver (tol 1e-4), which reaches converged coefficients in ~5 Newton steps where lbfgs needs
~100 iterations on these nearly separable bag-of-words problems (stable word ranks matter).
Cross-validation: stratified k-fold (``cv`` folds, fewer when a class is smaller); each fold
warm-starts from the full-data coefficients with tol 1e-3. The L2-regularised objective is
strictly convex, so a fold moves to its own optimum (one or two Newton steps from so close a
start); on the 30,000-document benchmark the accuracy equals cold-started folds to 0.001, at
a third of the cost; folds run in threads, one per core. Corpora of :data:`LARGE_CORPUS_DOCS`+
documents use at most :data:`LARGE_CORPUS_FOLDS` folds (the summary line says how many were used).
scikit-learn and scipy are imported on first use, never at import.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.errors import DataError
from core.mining.corpus import Corpus

#: Classes with fewer labelled documents than this are left out of a mining run.
MIN_CLASS_DOCS = 2
#: From this many documents on, cross-validation uses at most LARGE_CORPUS_FOLDS folds: each
#: held-out fold has 6,000+ documents (accuracy standard error < 0.6 points) and the time stays
#: within the 2-second budget of ``wordcam mine`` on 30,000 explanations.
LARGE_CORPUS_DOCS = 20_000
LARGE_CORPUS_FOLDS = 3
#: Repeated documents are folded into weighted rows when that leaves at most this share of rows.
FOLD_REPEATS_BELOW = 0.75


@dataclass
class Matrix:
    """The labelled documents of a corpus as a binary documents x terms matrix."""

    X: Any  # scipy.sparse.csr_matrix, documents x terms (binary)
    y: np.ndarray  # class index per row
    class_names: list[str]
    terms: np.ndarray  # term of each column
    docs: np.ndarray  # corpus document index of each row
    dropped: list[str]


def extra_stopwords(stopwords: Iterable[str], lang: str) -> set[str]:
    """The stop words as the vocabulary spells them (NFKC; English also lower-cased, lemmas)."""
    import unicodedata

    words = {unicodedata.normalize("NFKC", w).strip() for w in stopwords}
    words.discard("")
    if lang == "en":
        from core.text import lemmatize_en

        words |= {w.lower() for w in words} | {lemmatize_en(w.lower()) for w in words}
    return words


def _kept_classes(corpus: Corpus, only: Sequence[str] | None) -> tuple[list[str], list[str]]:
    """(classes with MIN_CLASS_DOCS+ documents, smaller ones); DataError if under two kept."""
    counts: dict[str, int] = {}
    for label in corpus.labels:
        if label is not None and (only is None or label in only):
            counts[label] = counts.get(label, 0) + 1
    kept = sorted(c for c, n in counts.items() if n >= MIN_CLASS_DOCS)
    dropped = sorted(c for c, n in counts.items() if n < MIN_CLASS_DOCS)
    if len(kept) < 2:
        what = f"{len(counts)} class(es)" if counts else "no labelled documents"
        hint = (
            "; without true labels, mine by the model's: wordcam mine --by predicted"
            if corpus.by == "true" and not counts
            else ""
        )
        raise DataError(
            f"keyword mining needs at least 2 classes with {MIN_CLASS_DOCS}+ documents each; "
            f"{corpus.source or 'the corpus'} has {what}"
            + (f" ({', '.join(f'{c}: {n}' for c, n in sorted(counts.items()))})" if counts else "")
            + hint
        )
    return kept, dropped


def document_matrix(
    corpus: Corpus, min_df: int, stopwords: Iterable[str], only: Sequence[str] | None = None
) -> Matrix:
    """The binary document-term matrix of the labelled documents (small classes dropped)."""
    kept, dropped = _kept_classes(corpus, only)
    class_of = {c: i for i, c in enumerate(kept)}
    y_all = np.array(
        [class_of.get(label, -1) if label is not None else -1 for label in corpus.labels],
        dtype=np.int32,
    )
    docs = np.flatnonzero(y_all >= 0)

    vocab = corpus.vocab
    allowed = np.ones(len(vocab), dtype=bool)
    extra = extra_stopwords(stopwords, corpus.lang)
    if extra and len(vocab):
        allowed &= ~np.isin(vocab, np.array(sorted(extra), dtype=object))
    rows = corpus.presence[docs]  # a slice of the cached matrix: settings change only columns
    df = np.bincount(rows.indices, minlength=len(vocab))
    keep_term = allowed & (df >= max(1, min_df))
    if not keep_term.any():
        raise DataError(f"no word occurs in at least {min_df} documents; lower --min-df")
    X = rows[:, np.flatnonzero(keep_term)]
    return Matrix(X, y_all[docs], kept, vocab[keep_term], docs, dropped)


def class_weights(model: Any, n_classes: int) -> np.ndarray:
    """[classes, terms] weights; a binary model's single vector is class 1 (+) / class 0 (-)."""
    coef = np.asarray(model.coef_)
    if n_classes == 2 and coef.shape[0] == 1:
        return np.vstack([-coef[0], coef[0]])
    return coef


def logistic(C: float, tol: float, max_iter: int, warm: bool = False) -> Any:
    """An unfitted scikit-learn logistic regression with the miner's solver."""
    from sklearn.linear_model import LogisticRegression

    # newton-cg converges in a handful of steps on these near-separable bag-of-words problems
    # where lbfgs needs ~100 iterations for the same coefficients.
    return LogisticRegression(C=C, solver="newton-cg", tol=tol, max_iter=max_iter, warm_start=warm)


def distinct_rows(X: Any, y: np.ndarray, seed: int = 0) -> tuple[Any, np.ndarray, np.ndarray]:
    """``(X_u, y_u, counts)``: the distinct (document row, label) pairs and how often each occurs.

    Rows are grouped by a random 64-bit hash of their terms and label, then every row is
    checked against its group's first row, so a hash collision can never merge two different
    rows (the input comes back unchanged, with counts of 1, if one ever happens).
    """
    import scipy.sparse as sp

    X = sp.csr_matrix(X, dtype=np.float64)
    rng = np.random.default_rng(seed)
    weights = rng.integers(1, 2**62, size=X.shape[1], dtype=np.int64)
    with np.errstate(over="ignore"):
        codes = np.zeros(X.shape[0], dtype=np.int64)
        np.add.at(codes, np.repeat(np.arange(X.shape[0]), np.diff(X.indptr)), weights[X.indices])
        codes = codes * np.int64(1_000_003) + y.astype(np.int64)
    _, first, inverse, counts = np.unique(
        codes, return_index=True, return_inverse=True, return_counts=True
    )
    representative = first[inverse]
    same = (X - X[representative]).count_nonzero() == 0 and np.array_equal(y, y[representative])
    if not same:  # a collision: keep every row
        return X, y, np.ones(len(y), dtype=np.float64)
    return X[first], y[first], counts.astype(np.float64)


def fit(mat: Matrix, C: float, tol: float, max_iter: int) -> Any:
    """The logistic regression fit on all of ``mat`` (convergence warnings silenced).

    Repeated documents (the same words and label, common in template-like explanations) are
    fit once with their count as sample weight: the same objective (a sum over documents),
    so the same coefficients, in a fraction of the time (300,000 synthetic explanations have
    ~35,000 distinct rows).
    """
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    X, y, counts = distinct_rows(mat.X, mat.y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if len(y) > FOLD_REPEATS_BELOW * len(mat.y):  # few repeats: not worth the weights
            return logistic(C, tol, max_iter).fit(mat.X, mat.y)
        return logistic(C, tol, max_iter).fit(X, y, sample_weight=counts)


def fold_count(cv: int, class_counts: np.ndarray) -> int:
    """Folds to use for at most ``cv`` (0 when fewer than 2 are possible or asked for)."""
    folds = min(cv, int(class_counts.min())) if cv and cv > 1 else 0
    if class_counts.sum() >= LARGE_CORPUS_DOCS:
        folds = min(folds, LARGE_CORPUS_FOLDS)
    return folds if folds >= 2 else 0


def cv_accuracy(
    mat: Matrix, full: Any, folds: int, seed: int, C: float, tol: float, max_iter: int
) -> float:
    """Stratified ``folds``-fold accuracy, each fold warm-started from the ``full`` fit."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import StratifiedKFold

    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    splits = list(splitter.split(np.zeros(len(mat.y)), mat.y))

    def held_out_correct(split: tuple[np.ndarray, np.ndarray]) -> int:
        train, test = split
        model = logistic(C, tol, max_iter, warm=True)
        model.coef_ = full.coef_.copy()
        model.intercept_ = full.intercept_.copy()
        model.fit(mat.X[train], mat.y[train])
        return int((model.predict(mat.X[test]) == mat.y[test]).sum())

    # scipy's sparse products release the GIL: folds in threads use every core.
    workers = min(len(splits), os.cpu_count() or 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if workers > 1:
            with ThreadPoolExecutor(workers, thread_name_prefix="wordcam-cv") as pool:
                correct = sum(pool.map(held_out_correct, splits))
        else:
            correct = sum(map(held_out_correct, splits))
    return correct / len(mat.y)
