"""Contrast: two classes (the words that separate them) or two words (their use per class)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from core.errors import DataError
from core.mining.corpus import Corpus, find_word
from core.mining.fit import document_matrix
from core.mining.result import md_cell
from core.mining.settings import DEFAULTS
from core.mining.strings import text


@dataclass
class ContrastResult:
    """Two classes (``kind="classes"``) or two words (``kind="words"``) side by side.

    classes: ``rows`` are ``{"side", "word", "n_a", "n_b", "z"}`` — the words that mark class
    ``a`` (side a, z > 0) or ``b`` (z < 0) by log-odds with an informative Dirichlet prior,
    with the number of documents of each class containing them (out of ``docs_a``/``docs_b``).
    words: ``rows`` are per class ``{"class", "docs", "n_a", "m_a", "precision_a", "n_b",
    "m_b", "precision_b"}``: documents of the class containing each word, the word's total
    document count and its precision for the class.
    """

    kind: str
    a: str
    b: str
    rows: list[dict[str, Any]]
    docs_a: int = 0
    docs_b: int = 0
    lang: str = "en"  # the language of the table's headers (``wordcam mine``: --lang or the run's)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, indent=2)

    def _table(self) -> tuple[list[str], list[list[str]]]:
        if self.kind == "classes":
            header = [
                text("head.side", self.lang),
                text("head.word", self.lang),
                text("head.of", self.lang, label=self.a, n=self.docs_a),
                text("head.of", self.lang, label=self.b, n=self.docs_b),
                "z",
            ]
            body = [
                [r["side"], r["word"], str(r["n_a"]), str(r["n_b"]), f"{r['z']:.2f}"]
                for r in self.rows
            ]
        else:
            header = [
                text("head.class", self.lang),
                text("head.documents", self.lang),
                text("head.nm", self.lang, word=self.a),
                text("head.precision", self.lang, word=self.a),
                text("head.nm", self.lang, word=self.b),
                text("head.precision", self.lang, word=self.b),
            ]
            body = [
                [
                    r["class"],
                    str(r["docs"]),
                    f"{r['n_a']}/{r['m_a']}",
                    f"{r['precision_a']:.2f}",
                    f"{r['n_b']}/{r['m_b']}",
                    f"{r['precision_b']:.2f}",
                ]
                for r in self.rows
            ]
        return header, body

    def to_markdown(self) -> str:
        header, body = self._table()
        lines = ["| " + " | ".join(md_cell(h) for h in header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(md_cell(c) for c in row) + " |" for row in body]
        return "\n".join(lines) + "\n"

    def to_csv(self) -> str:
        from core.export import csv_text

        header, body = self._table()
        return csv_text([header, *body])


def contrast(
    corpus: Corpus,
    a: str,
    b: str,
    top: int = DEFAULTS.top,
    min_df: int = DEFAULTS.min_df,
    *,
    stopwords: Iterable[str] = DEFAULTS.stopwords,
) -> ContrastResult:
    """Contrast two classes (their separating words) or two words (their use per class).

    ``min_df`` and ``stopwords`` apply to the class contrast (the words compared).
    """
    classes = corpus.classes
    if a in classes and b in classes:
        if a == b:
            raise DataError(f"contrast needs two different classes, got {a!r} twice")
        return _contrast_classes(corpus, a, b, top, min_df, stopwords)
    if (a in classes) != (b in classes):
        cls, other = (a, b) if a in classes else (b, a)
        raise DataError(
            f"contrast needs two classes or two words: {cls!r} is a class, {other!r} is not"
        )
    term_a, term_b = find_word(corpus, a), find_word(corpus, b)
    for given, term in ((a, term_a), (b, term_b)):
        if term is None:
            raise DataError(
                f"{given!r} is neither a class ({', '.join(classes[:20])}"
                f"{' ...' if len(classes) > 20 else ''}) nor a word of the corpus"
            )
    return _contrast_words(corpus, a, b, int(term_a), int(term_b))


def _contrast_classes(
    corpus: Corpus, a: str, b: str, top: int, min_df: int, stopwords: Iterable[str]
) -> ContrastResult:
    mat = document_matrix(corpus, min_df, stopwords, only=[a, b])
    ka, kb = mat.class_names.index(a), mat.class_names.index(b)
    X = mat.X.tocsc()
    ya = np.asarray(X.T @ (mat.y == ka).astype(np.float64)).ravel()
    yb = np.asarray(X.T @ (mat.y == kb).astype(np.float64)).ravel()
    na, nb = int((mat.y == ka).sum()), int((mat.y == kb).sum())
    # Monroe et al. (2008) log-odds with an informative Dirichlet prior on presence counts.
    total = ya + yb
    alpha = 10.0 * total / max(total.sum(), 1.0) + 0.01
    a0 = alpha.sum()
    denom_a = na * 1.0 + a0 - ya - alpha
    denom_b = nb * 1.0 + a0 - yb - alpha
    delta = np.log((ya + alpha) / np.maximum(denom_a, 1e-9)) - np.log(
        (yb + alpha) / np.maximum(denom_b, 1e-9)
    )
    z = delta / np.sqrt(1.0 / (ya + alpha) + 1.0 / (yb + alpha))
    rows = []
    for side, order in ((a, np.argsort(-z, kind="stable")), (b, np.argsort(z, kind="stable"))):
        sign = 1 if side == a else -1
        picked = [j for j in order if sign * z[j] > 0][:top]
        rows += [
            {
                "side": side,
                "word": str(mat.terms[j]),
                "n_a": int(ya[j]),
                "n_b": int(yb[j]),
                "z": float(z[j]),
            }
            for j in picked
        ]
    return ContrastResult("classes", a, b, rows, na, nb)


def _contrast_words(corpus: Corpus, a: str, b: str, term_a: int, term_b: int) -> ContrastResult:
    docs_a, docs_b = set(corpus.docs_with(term_a).tolist()), set(corpus.docs_with(term_b).tolist())
    labelled = [i for i, label in enumerate(corpus.labels) if label is not None]
    m_a = sum(1 for i in labelled if i in docs_a)
    m_b = sum(1 for i in labelled if i in docs_b)
    rows = []
    for cls in corpus.classes:
        members = [i for i in labelled if corpus.labels[i] == cls]
        n_a = sum(1 for i in members if i in docs_a)
        n_b = sum(1 for i in members if i in docs_b)
        rows.append(
            {
                "class": cls,
                "docs": len(members),
                "n_a": n_a,
                "m_a": m_a,
                "precision_a": n_a / m_a if m_a else 0.0,
                "n_b": n_b,
                "m_b": m_b,
                "precision_b": n_b / m_b if m_b else 0.0,
            }
        )
    return ContrastResult(
        "words", str(corpus.vocab[term_a]), str(corpus.vocab[term_b]), rows, m_a, m_b
    )
