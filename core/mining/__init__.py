"""Keyword mining: which words in the explanations predict each class.

Each explanation is a bag of words (presence per document). A multinomial logistic
regression words -> label ranks, per class, the words with the largest positive weights;
each word is shown with its precision ``n/m`` (documents with the word *and* the label /
documents with the word), e.g. ガードレール(8/39). The cross-validated accuracy of words ->
label sits beside the image model's own accuracy on the same photos and the majority-class
baseline: explanations that predict the label about as well as the model does are telling
what the model looks at.

Corpora come from a wordcam DuckDB (tokens stored once per explanation by the precompute
job) or from a CSV/JSONL file with columns ``id,label,text`` (tokenized on the fly). All
functions here are pure functions of (corpus, settings) that never print.

Model: scikit-learn ``LogisticRegression`` (multinomial, L2, ``C=1``) with the newton-cg
solver (tol 1e-4), which reaches converged coefficients in ~5 Newton steps where lbfgs needs
~100 iterations on these nearly separable bag-of-words problems (stable word ranks matter).
Cross-validation: stratified k-fold (``cv`` folds, fewer when a class is smaller); each fold
warm-starts from the full-data coefficients with tol 1e-3. The L2-regularised objective is
strictly convex, so a fold moves to its own optimum (one or two Newton steps from so close a
start); on the 30,000-document benchmark the accuracy equals cold-started folds to 0.001, at
a third of the cost; folds run in threads, one per core. Corpora of :data:`LARGE_CORPUS_DOCS`+
documents use at most :data:`LARGE_CORPUS_FOLDS` folds (the summary line says how many were used).

Stored tables: the precompute job fits the default settings once and stores the result in the
DB (:func:`store_default_results`); :func:`mine_source` answers those settings from it.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from core.errors import DataError

if TYPE_CHECKING:
    import duckdb

#: Classes with fewer labelled documents than this are left out of a mining run.
MIN_CLASS_DOCS = 2
#: From this many documents on, cross-validation uses at most LARGE_CORPUS_FOLDS folds: each
#: held-out fold has 6,000+ documents (accuracy standard error < 0.6 points) and the time stays
#: within the 2-second budget of ``wordcam mine`` on 30,000 explanations.
LARGE_CORPUS_DOCS = 20_000
LARGE_CORPUS_FOLDS = 3

_FILE_SUFFIXES = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
}
_BY = {"true": "true", "predicted": "predicted", "pred": "predicted"}


# ---------------------------------------------------------------------------------------------
# Corpus


@dataclass
class Corpus:
    """Documents (explanations) with labels and their presence term matrix.

    ``vocab`` is the sorted array of terms; ``doc_index``/``term_index`` list the unique
    (document, term) presence pairs. ``labels`` are the labels used for mining (true or
    predicted per ``by``); ``None`` where unknown.
    """

    doc_ids: list[str]
    texts: Sequence[str]
    labels: list[str | None]
    true_labels: list[str | None]
    pred_labels: list[str | None]
    paths: list[str | None]
    image_ids: list[int | None]
    vocab: np.ndarray
    doc_index: np.ndarray
    term_index: np.ndarray
    by: str = "true"
    lang: str = "ja"
    skipped: int = 0
    source: str = ""
    run_id: int | None = None

    def __len__(self) -> int:
        return len(self.doc_ids)

    @property
    def classes(self) -> list[str]:
        """Distinct labels, sorted."""
        return sorted({label for label in self.labels if label is not None})

    def term_id(self, word: str) -> int | None:
        """Index of ``word`` in :attr:`vocab`, or ``None``."""
        i = int(np.searchsorted(self.vocab, word))
        return i if i < len(self.vocab) and self.vocab[i] == word else None

    @cached_property
    def presence(self) -> Any:
        """The binary documents x :attr:`vocab` matrix (``scipy.sparse`` CSR), built once."""
        from scipy.sparse import csr_matrix

        X = csr_matrix(
            (np.ones(len(self.doc_index)), (self.doc_index, self.term_index)),
            shape=(len(self.doc_ids), len(self.vocab)),
        )
        X.sum_duplicates()
        X.data[:] = 1.0
        return X

    def docs_with(self, term_id: int) -> np.ndarray:
        """Sorted indices of the documents containing term ``term_id``."""
        return np.unique(self.doc_index[self.term_index == term_id])


def _build_pairs(token_lists: Sequence[Sequence[str]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(vocab, doc_index, term_index) of the unique presence pairs of ``token_lists``."""
    docs: list[int] = []
    terms: list[str] = []
    for d, tokens in enumerate(token_lists):
        for term in set(tokens):
            if term:
                docs.append(d)
                terms.append(term)
    if not terms:
        return np.array([], dtype=object), np.zeros(0, np.int32), np.zeros(0, np.int32)
    vocab, inverse = np.unique(np.array(terms, dtype=object), return_inverse=True)
    return vocab, np.array(docs, dtype=np.int32), inverse.astype(np.int32)


def _by(by: str) -> str:
    if by not in _BY:
        raise DataError(f"unknown --by {by!r}; use 'true' or 'predicted'")
    return _BY[by]


def load_corpus(
    source: str | Path, run_id: int | None = None, by: str = "true", lang: str = "ja"
) -> Corpus:
    """Load a corpus from a wordcam DuckDB (latest run unless ``run_id``) or a CSV/JSONL file.

    DB: only images with ``status='done'`` and a non-empty explanation count; the others are
    counted in ``skipped``. The run's recorded language wins over ``lang``. Files need the
    columns ``id``, ``label`` and ``text`` (``pred_label`` and ``path`` are optional;
    ``by="predicted"`` uses ``pred_label``); empty texts are skipped.
    """
    by = _by(by)
    path = Path(source)
    kind = _FILE_SUFFIXES.get(path.suffix.lower())
    if kind is not None:
        return _load_file(path, kind, by, lang)
    from core.store import reading

    with reading(path) as con:
        return _load_db(con, path, run_id, by, lang)


def _load_db(
    con: duckdb.DuckDBPyConnection, path: Path, run_id: int | None, by: str, lang: str
) -> Corpus:
    from core.store import latest_run_id

    if run_id is None:
        run_id = latest_run_id(con)
    run = con.execute("SELECT lang FROM runs WHERE run_id = ?", [run_id]).fetchone()
    if run is None:
        runs = [r[0] for r in con.execute("SELECT run_id FROM runs ORDER BY run_id").fetchall()]
        raise DataError(f"{path} has no run {run_id}; its runs are {runs}")
    lang = run[0] or lang
    usable = (
        "i.run_id = $run AND i.status = 'done' AND e.text IS NOT NULL AND length(trim(e.text)) > 0"
    )
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _mine_docs AS "
        f"SELECT (row_number() OVER (ORDER BY i.image_id) - 1)::INTEGER AS d, i.image_id, "
        f"i.path, i.true_label, i.pred_label, t.image_id IS NOT NULL AS has_tokens "
        f"FROM images i JOIN explanations e ON e.image_id = i.image_id "
        f"LEFT JOIN tokens t ON t.image_id = i.image_id AND t.run_id = i.run_id "
        f"WHERE {usable}",
        {"run": run_id},
    )
    docs = con.execute(
        "SELECT image_id, path, true_label, pred_label, has_tokens FROM _mine_docs ORDER BY d"
    ).fetchnumpy()
    skipped = con.execute(  # images are unique per (run, path); one explanation per image
        "SELECT (SELECT count(*) FROM images WHERE run_id = ?) - (SELECT count(*) FROM _mine_docs)",
        [run_id],
    ).fetchone()[0]
    if _term_tables_current(con, run_id):
        vocab, doc_index, term_index = _pairs_from_term_tables(con, run_id)
    else:
        vocab, doc_index, term_index = _pairs_from_tokens(con, run_id)
    con.execute("DROP TABLE _mine_docs")
    image_ids = [int(i) for i in docs["image_id"]]
    texts = _DbTexts(path, run_id, image_ids)

    missing = np.flatnonzero(~np.asarray(docs["has_tokens"], dtype=bool))
    if len(missing):  # explanations stored without tokens: tokenize them now
        from core.text import tokenize_many

        token_lists = tokenize_many([texts[int(i)] for i in missing], lang=lang)
        vocab, doc_index, term_index = _merge_pairs(
            vocab, doc_index, term_index, missing, token_lists
        )
    true_labels = _str_list(docs["true_label"])
    pred_labels = _str_list(docs["pred_label"])
    return Corpus(
        doc_ids=[str(i) for i in image_ids],
        texts=texts,
        labels=true_labels if by == "true" else pred_labels,
        true_labels=true_labels,
        pred_labels=pred_labels,
        paths=_str_list(docs["path"]),
        image_ids=list(image_ids),
        vocab=vocab,
        doc_index=doc_index,
        term_index=term_index,
        by=by,
        lang=lang,
        skipped=int(skipped),
        source=str(path),
        run_id=run_id,
    )


def _term_tables_current(con: duckdb.DuckDBPyConnection, run_id: int) -> bool:
    """Whether ``terms``/``doc_terms`` of the run hold every tokenized finished document.

    :func:`write_terms` (run at the end of each precompute job) keeps them so: the terms and
    the documents must be those of the token lists. A run still in progress, or terms
    written with ``min_df > 1`` that left a word out, fail the check; mining then unnests
    the token lists itself.
    """
    row = con.execute(
        "WITH done AS (SELECT t.image_id, t.tokens FROM tokens t JOIN images i "
        " ON i.image_id = t.image_id AND i.run_id = t.run_id "
        " WHERE t.run_id = $run AND i.status = 'done') "
        "SELECT (SELECT count(*) FROM terms WHERE run_id = $run), "
        "(SELECT count(DISTINCT image_id) FROM doc_terms WHERE run_id = $run), "
        "(SELECT count(DISTINCT term) FROM (SELECT unnest(tokens) AS term FROM done) "
        " WHERE term <> ''), "
        "(SELECT count(*) FROM done WHERE len(list_filter(tokens, lambda x: x <> '')) > 0)",
        {"run": run_id},
    ).fetchone()
    n_terms, docs_with_terms, n_token_terms, docs_with_tokens = row
    return n_terms > 0 and (n_terms, docs_with_terms) == (n_token_terms, docs_with_tokens)


def _pairs_from_term_tables(con: duckdb.DuckDBPyConnection, run_id: int):
    """(vocab, doc_index, term_index) from the run's ``terms``/``doc_terms`` (integers only)."""
    terms = con.execute(
        "SELECT term_id, term FROM terms WHERE run_id = ? ORDER BY term_id", [run_id]
    ).fetchnumpy()
    pairs = con.execute(
        "SELECT m.d, dt.term_id FROM doc_terms dt JOIN _mine_docs m ON m.image_id = dt.image_id "
        "WHERE dt.run_id = ?",
        [run_id],
    ).fetchnumpy()
    term_ids = np.asarray(terms["term_id"], dtype=np.int64)
    index = np.searchsorted(term_ids, np.asarray(pairs["term_id"], dtype=np.int64))
    return _sorted_vocab(
        np.asarray(terms["term"], dtype=object),
        np.asarray(pairs["d"], dtype=np.int32),
        index.astype(np.int32),
    )


def _pairs_from_tokens(con: duckdb.DuckDBPyConnection, run_id: int):
    """(vocab, doc_index, term_index) by unnesting the run's token lists in SQL."""
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _mine_vocab AS "
        "SELECT term, (row_number() OVER (ORDER BY term) - 1)::INTEGER AS k FROM ("
        " SELECT DISTINCT unnest(tokens) AS term FROM tokens WHERE run_id = $run) "
        "WHERE term IS NOT NULL AND term <> ''",
        {"run": run_id},
    )
    vocab = con.execute("SELECT term FROM _mine_vocab ORDER BY k").fetchnumpy()["term"]
    pairs = con.execute(
        "SELECT DISTINCT s.d, v.k FROM ("
        " SELECT m.d, unnest(t.tokens) AS term FROM _mine_docs m"
        " JOIN tokens t ON t.image_id = m.image_id) s "
        "JOIN _mine_vocab v ON v.term = s.term"
    ).fetchnumpy()
    con.execute("DROP TABLE _mine_vocab")
    return _sorted_vocab(
        np.asarray(vocab, dtype=object),
        np.asarray(pairs["d"], dtype=np.int32),
        np.asarray(pairs["k"], dtype=np.int32),
    )


def _sorted_vocab(vocab: np.ndarray, doc_index: np.ndarray, term_index: np.ndarray):
    """Make ``vocab`` sorted in Python string order (for binary search), remapping indices."""
    if len(vocab) > 1 and not all(vocab[i] < vocab[i + 1] for i in range(len(vocab) - 1)):
        order = np.argsort(vocab, kind="stable")
        rank = np.empty(len(order), dtype=np.int32)
        rank[order] = np.arange(len(order), dtype=np.int32)
        vocab, term_index = vocab[order], rank[term_index]
    return vocab, doc_index, term_index


class _DbTexts(Sequence[str]):
    """The explanation texts of a DB corpus, read on first use (mining does not need them)."""

    def __init__(self, db: Path, run_id: int, image_ids: list[int]) -> None:
        self.db, self.run_id, self.image_ids = db, run_id, image_ids
        self._texts: list[str] | None = None

    def _load(self) -> list[str]:
        if self._texts is None:
            from core.store import reading

            with reading(self.db) as con:
                rows = con.execute(
                    "SELECT image_id, text FROM explanations WHERE run_id = ?", [self.run_id]
                ).fetchall()
            by_id = dict(rows)
            self._texts = [str(by_id.get(i) or "") for i in self.image_ids]
        return self._texts

    def __len__(self) -> int:
        return len(self.image_ids)

    def __getitem__(self, index):  # type: ignore[override]
        return self._load()[index]


def _str_list(values: Any) -> list[str | None]:
    out: list[str | None] = []
    for v in values:
        if v is None or (isinstance(v, float) and np.isnan(v)) or v is np.ma.masked:
            out.append(None)
        else:
            s = str(v).strip()
            out.append(s or None)
    return out


def _merge_pairs(
    vocab: np.ndarray,
    doc_index: np.ndarray,
    term_index: np.ndarray,
    docs: np.ndarray,
    token_lists: list[list[str]],
):
    extra_vocab, extra_docs, extra_terms = _build_pairs(token_lists)
    merged = np.unique(np.concatenate([vocab, extra_vocab]).astype(object))
    old = np.searchsorted(merged, vocab).astype(np.int32)
    new = np.searchsorted(merged, extra_vocab).astype(np.int32)
    return (
        merged,
        np.concatenate([doc_index, docs[extra_docs].astype(np.int32)]),
        np.concatenate([old[term_index], new[extra_terms]]).astype(np.int32),
    )


def _read_rows(path: Path, kind: str) -> tuple[list[dict[str, Any]], list[str]]:
    if not path.is_file():
        raise DataError(f"no such file: {path}")
    rows: list[dict[str, Any]] = []
    if kind in ("csv", "tsv"):
        with path.open(encoding="utf-8-sig", newline="") as f:
            reader = csv.DictReader(f, delimiter="\t" if kind == "tsv" else ",")
            columns = [c.strip() for c in (reader.fieldnames or [])]
            for row in reader:
                rows.append({(k or "").strip(): v for k, v in row.items()})
        return rows, columns
    columns_seen: dict[str, None] = {}
    with path.open(encoding="utf-8-sig") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(f"{path}:{n}: not a JSON object per line ({exc.msg})") from None
            if not isinstance(row, dict):
                raise DataError(f"{path}:{n}: expected a JSON object with id, label, text")
            columns_seen.update(dict.fromkeys(row))
            rows.append(row)
    return rows, list(columns_seen)


def _load_file(path: Path, kind: str, by: str, lang: str) -> Corpus:
    rows, columns = _read_rows(path, kind)
    label_column = "label" if by == "true" else "pred_label"
    needed = ["id", label_column, "text"]
    absent = [c for c in needed if c not in columns]
    if absent:
        raise DataError(
            f"{path} lacks column(s) {', '.join(absent)}; it needs {', '.join(needed)} "
            f"(it has: {', '.join(columns) or 'none'})"
        )
    kept = [r for r in rows if str(r.get("text") or "").strip()]
    from core.text import tokenize_many

    texts = [str(r["text"]) for r in kept]
    vocab, doc_index, term_index = _build_pairs(tokenize_many(texts, lang=lang))
    true_labels = _str_list([r.get("label") for r in kept])
    pred_labels = _str_list([r.get("pred_label") for r in kept])
    return Corpus(
        doc_ids=[str(r["id"]) for r in kept],
        texts=texts,
        labels=true_labels if by == "true" else pred_labels,
        true_labels=true_labels,
        pred_labels=pred_labels,
        paths=_str_list([r.get("path") for r in kept]),
        image_ids=[None] * len(kept),
        vocab=vocab,
        doc_index=doc_index,
        term_index=term_index,
        by=by,
        lang=lang,
        skipped=len(rows) - len(kept),
        source=str(path),
    )


# ---------------------------------------------------------------------------------------------
# Mining


@dataclass
class Keyword:
    """A predictive word of a class: ``n`` of the ``m`` documents containing it have the class."""

    word: str
    n: int
    m: int
    weight: float

    @property
    def precision(self) -> float:
        return self.n / self.m if self.m else 0.0

    def cell(self) -> str:
        return f"{self.word}({self.n}/{self.m})"


@dataclass
class MiningResult:
    """Per class the top words by logistic-regression weight, and the accuracies.

    ``skipped`` counts documents left out: failed images, empty explanations and documents
    without a label. ``dropped_classes`` had fewer than :data:`MIN_CLASS_DOCS` documents.
    """

    classes: dict[str, list[Keyword]]
    text_accuracy: float | None
    image_accuracy: float | None
    baseline: float | None
    documents: int
    skipped: int
    by: str = "true"
    folds: int = 0
    vocabulary: int = 0
    class_counts: dict[str, int] = field(default_factory=dict)
    dropped_classes: list[str] = field(default_factory=list)

    def table_rows(self) -> list[dict[str, Any]]:
        """One dict per rank: ``{"rank": i, CLASS: "word(n/m)", ...}`` ("" past a class's end)."""
        depth = max((len(v) for v in self.classes.values()), default=0)
        return [
            {
                "rank": r + 1,
                **{c: (kws[r].cell() if r < len(kws) else "") for c, kws in self.classes.items()},
            }
            for r in range(depth)
        ]

    def summary(self) -> str:
        """One line: text accuracy, image accuracy, baseline, documents, skipped."""
        parts = [
            f"text accuracy {_fmt(self.text_accuracy)}"
            + (f" ({self.folds}-fold CV)" if self.folds else ""),
            f"image accuracy {_fmt(self.image_accuracy)}",
            f"baseline {_fmt(self.baseline)}",
            f"documents {self.documents}",
            f"skipped {self.skipped}",
        ]
        if self.dropped_classes:
            parts.append(
                f"left out (< {MIN_CLASS_DOCS} documents): " + ", ".join(self.dropped_classes)
            )
        return " · ".join(parts)

    def to_markdown(self) -> str:
        """The table (rows = rank, columns = classes, cells ``word(n/m)``) and a summary line."""
        names = list(self.classes)
        lines = [
            "| rank | " + " | ".join(_md(c) for c in names) + " |",
            "|---:|" + "---|" * len(names),
        ]
        for row in self.table_rows():
            lines.append(f"| {row['rank']} | " + " | ".join(_md(row[c]) for c in names) + " |")
        return "\n".join(lines) + "\n\n" + self.summary() + "\n"

    def to_csv(self) -> str:
        """The same table as CSV (header ``rank,CLASS...``)."""
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(["rank", *self.classes])
        for row in self.table_rows():
            writer.writerow([row["rank"], *(row[c] for c in self.classes)])
        return buf.getvalue()

    def to_json(self) -> str:
        """``{"classes": {LABEL: [{"word","n","m","weight"}...]}, "text_accuracy", ...}``."""
        data = {
            "classes": {c: [asdict(k) for k in kws] for c, kws in self.classes.items()},
            "text_accuracy": self.text_accuracy,
            "image_accuracy": self.image_accuracy,
            "baseline": self.baseline,
            "documents": self.documents,
            "skipped": self.skipped,
            "by": self.by,
            "folds": self.folds,
            "vocabulary": self.vocabulary,
            "class_counts": self.class_counts,
            "dropped_classes": self.dropped_classes,
        }
        return json.dumps(data, ensure_ascii=False, indent=2)

    @classmethod
    def from_json(cls, text: str) -> MiningResult:
        """The result that :meth:`to_json` wrote."""
        data = json.loads(text)
        data["classes"] = {c: [Keyword(**k) for k in kws] for c, kws in data["classes"].items()}
        return cls(**data)

    def select(self, top: int, classes: Sequence[str] | None = None) -> MiningResult:
        """The same result narrowed to ``top`` words per class and to ``classes`` (in order)."""
        shown = _resolve_classes(classes, list(self.class_counts) or list(self.classes))
        return replace(self, classes={c: self.classes.get(c, [])[:top] for c in shown})


def _fmt(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.3f}"


def _md(text: Any) -> str:
    """A markdown table cell from untrusted text."""
    return re.sub(r"([|\\`*_\[\]<>])", r"\\\1", str(text)).replace("\n", " ")


def _extra_stopwords(stopwords: Iterable[str], lang: str) -> set[str]:
    import unicodedata

    words = {unicodedata.normalize("NFKC", w).strip() for w in stopwords}
    words.discard("")
    if lang == "en":
        from core.text import lemmatize_en

        words |= {w.lower() for w in words} | {lemmatize_en(w.lower()) for w in words}
    return words


@dataclass
class _Matrix:
    X: Any  # scipy.sparse.csr_matrix, documents x terms (binary)
    y: np.ndarray  # class index per row
    class_names: list[str]
    terms: np.ndarray  # term of each column
    docs: np.ndarray  # corpus document index of each row
    dropped: list[str]


def _matrix(
    corpus: Corpus, min_df: int, stopwords: Iterable[str], only: Sequence[str] | None = None
) -> _Matrix:
    """The binary document-term matrix of the labelled documents (small classes dropped)."""
    labels = corpus.labels
    counts: dict[str, int] = {}
    for label in labels:
        if label is not None and (only is None or label in only):
            counts[label] = counts.get(label, 0) + 1
    kept = sorted(c for c, n in counts.items() if n >= MIN_CLASS_DOCS)
    dropped = sorted(c for c, n in counts.items() if n < MIN_CLASS_DOCS)
    if len(kept) < 2:
        what = f"{len(counts)} class(es)" if counts else "no labelled documents"
        hint = "; try --by predicted" if corpus.by == "true" and not counts else ""
        raise DataError(
            f"keyword mining needs at least 2 classes with {MIN_CLASS_DOCS}+ documents each; "
            f"{corpus.source or 'the corpus'} has {what}"
            + (f" ({', '.join(f'{c}: {n}' for c, n in sorted(counts.items()))})" if counts else "")
            + hint
        )
    class_of = {c: i for i, c in enumerate(kept)}
    y_all = np.array(
        [class_of.get(label, -1) if label is not None else -1 for label in labels], dtype=np.int32
    )
    docs = np.flatnonzero(y_all >= 0)

    vocab = corpus.vocab
    allowed = np.ones(len(vocab), dtype=bool)
    extra = _extra_stopwords(stopwords, corpus.lang)
    if extra and len(vocab):
        allowed &= ~np.isin(vocab, np.array(sorted(extra), dtype=object))
    rows = corpus.presence[docs]  # a slice of the cached matrix: settings change only columns
    df = np.bincount(rows.indices, minlength=len(vocab))
    keep_term = allowed & (df >= max(1, min_df))
    if not keep_term.any():
        raise DataError(f"no word occurs in at least {min_df} documents; lower --min-df")
    X = rows[:, np.flatnonzero(keep_term)]
    return _Matrix(X, y_all[docs], kept, vocab[keep_term], docs, dropped)


def _class_weights(model: Any, n_classes: int) -> np.ndarray:
    """[classes, terms] weights; a binary model's single vector is class 1 (+) / class 0 (-)."""
    coef = np.asarray(model.coef_)
    if n_classes == 2 and coef.shape[0] == 1:
        return np.vstack([-coef[0], coef[0]])
    return coef


def _logistic(C: float, tol: float, max_iter: int, warm: bool = False) -> Any:
    from sklearn.linear_model import LogisticRegression

    # newton-cg converges in a handful of steps on these near-separable bag-of-words problems
    # where lbfgs needs ~100 iterations for the same coefficients.
    return LogisticRegression(C=C, solver="newton-cg", tol=tol, max_iter=max_iter, warm_start=warm)


def _cv_accuracy(
    mat: _Matrix, full: Any, folds: int, seed: int, C: float, tol: float, max_iter: int
) -> float:
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import StratifiedKFold

    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    splits = list(splitter.split(np.zeros(len(mat.y)), mat.y))

    def held_out_correct(split: tuple[np.ndarray, np.ndarray]) -> int:
        train, test = split
        model = _logistic(C, tol, max_iter, warm=True)
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


def _resolve_classes(names: Sequence[str] | None, available: Sequence[str]) -> list[str]:
    if not names:
        return list(available)
    unknown = [c for c in names if c not in available]
    if unknown:
        raise DataError(
            f"unknown class(es) {', '.join(unknown)}; the classes are {', '.join(available)}"
        )
    return list(dict.fromkeys(names))


def mine(
    corpus: Corpus,
    top: int = 10,
    classes: Sequence[str] | None = None,
    min_df: int = 2,
    stopwords: Iterable[str] = (),
    cv: int = 5,
    seed: int = 0,
    *,
    C: float = 1.0,
    tol: float = 1e-4,
    cv_tol: float = 1e-3,
    max_iter: int = 100,
) -> MiningResult:
    """Per class the ``top`` words with the largest positive weights, and the accuracies.

    ``classes`` restricts the columns shown (the model is always fit on all classes);
    ``min_df`` drops words in fewer documents; ``stopwords`` are removed on top of those
    removed at tokenization; at most ``cv`` folds of stratified cross-validation give the
    text accuracy (fewer for a small class or a corpus of :data:`LARGE_CORPUS_DOCS`+
    documents; 0 or 1 skips it, leaving ``text_accuracy`` None). ``C`` is the inverse L2
    strength, ``tol``/``cv_tol`` the solver tolerances of the full fit and of the folds.
    """
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    mat = _matrix(corpus, min_df, stopwords)
    shown = _resolve_classes(classes, mat.class_names)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = _logistic(C, tol, max_iter).fit(mat.X, mat.y)
    weights = _class_weights(model, len(mat.class_names))

    X_csc = mat.X.tocsc()
    m = np.diff(X_csc.indptr)  # documents containing each term
    class_counts = np.bincount(mat.y, minlength=len(mat.class_names))
    result_classes: dict[str, list[Keyword]] = {}
    for name in shown:
        k = mat.class_names.index(name)
        w = weights[k]
        positive = np.flatnonzero(w > 0)
        order = positive[np.lexsort((mat.terms[positive].astype(str), -w[positive]))][:top]
        in_class = (mat.y == k).astype(np.float64)
        n = np.asarray(X_csc[:, order].T @ in_class).ravel() if len(order) else []
        result_classes[name] = [
            Keyword(str(mat.terms[j]), int(n[i]), int(m[j]), float(w[j]))
            for i, j in enumerate(order)
        ]

    folds = min(cv, int(class_counts.min())) if cv and cv > 1 else 0
    if len(mat.y) >= LARGE_CORPUS_DOCS:
        folds = min(folds, LARGE_CORPUS_FOLDS)
    text_accuracy = (
        _cv_accuracy(mat, model, folds, seed, C, cv_tol, max_iter) if folds >= 2 else None
    )
    if folds < 2:
        folds = 0
    return MiningResult(
        classes=result_classes,
        text_accuracy=text_accuracy,
        image_accuracy=_image_accuracy(corpus, mat.docs),
        baseline=float(class_counts.max() / class_counts.sum()),
        documents=len(mat.y),
        skipped=corpus.skipped + (len(corpus) - len(mat.y)),
        by=corpus.by,
        folds=folds,
        vocabulary=int(mat.X.shape[1]),
        class_counts={c: int(n) for c, n in zip(mat.class_names, class_counts, strict=True)},
        dropped_classes=mat.dropped,
    )


def _image_accuracy(corpus: Corpus, docs: Iterable[int]) -> float | None:
    """Share of ``docs`` whose predicted label equals the true label (where both are known)."""
    pairs = [(corpus.true_labels[d], corpus.pred_labels[d]) for d in docs]
    known = [(t, p) for t, p in pairs if t is not None and p is not None]
    return sum(t == p for t, p in known) / len(known) if known else None


# ---------------------------------------------------------------------------------------------
# Contrast and examples


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

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, indent=2)

    def _table(self) -> tuple[list[str], list[list[str]]]:
        if self.kind == "classes":
            header = [
                "side",
                "word",
                f"{self.a} (of {self.docs_a})",
                f"{self.b} (of {self.docs_b})",
                "z",
            ]
            body = [
                [r["side"], r["word"], str(r["n_a"]), str(r["n_b"]), f"{r['z']:.2f}"]
                for r in self.rows
            ]
        else:
            header = [
                "class",
                "documents",
                f"{self.a} n/m",
                f"{self.a} precision",
                f"{self.b} n/m",
                f"{self.b} precision",
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
        lines = ["| " + " | ".join(_md(h) for h in header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(_md(c) for c in row) + " |" for row in body]
        return "\n".join(lines) + "\n"

    def to_csv(self) -> str:
        header, body = self._table()
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(body)
        return buf.getvalue()


def _find_word(corpus: Corpus, word: str) -> int | None:
    """Term id of ``word``, also trying its tokenized (dictionary) form: 面し -> 面す."""
    term = corpus.term_id(word)
    if term is None and word.strip():
        from core.text import tokenize

        tokens = tokenize(word, lang=corpus.lang)
        if len(tokens) == 1:
            term = corpus.term_id(tokens[0])
    return term


def contrast(
    corpus: Corpus,
    a: str,
    b: str,
    top: int = 10,
    min_df: int = 2,
    *,
    stopwords: Iterable[str] = (),
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
    term_a, term_b = _find_word(corpus, a), _find_word(corpus, b)
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
    mat = _matrix(corpus, min_df, stopwords, only=[a, b])
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


@dataclass
class Example:
    """A document containing a word, with the sentence around it."""

    doc_id: str
    image_id: int | None
    path: str | None
    label: str | None
    true_label: str | None
    pred_label: str | None
    sentence: str
    text: str


_SENTENCE_END = re.compile(r"(?<=[。！？!?])|(?<=\.)\s+|\n+")


def split_sentences(text: str) -> list[str]:
    """Sentences of a Japanese or English text (split after 。！？!? and '. ', and at newlines)."""
    return [s.strip() for s in _SENTENCE_END.split(text) if s and s.strip()]


def _sentence_with(text: str, word: str, lang: str) -> str:
    sentences = split_sentences(text)
    hits = [s for s in sentences if word in s]
    if not hits and word:
        from core.text import tokenize

        hits = [s for s in sentences if word in tokenize(s, lang=lang)]
    return " ".join(hits) if hits else text


def examples(corpus: Corpus, word: str, cls: str | None = None, limit: int = 20) -> list[Example]:
    """Documents whose tokens contain ``word`` (optionally of class ``cls``), in corpus order."""
    if cls is not None and cls not in corpus.classes:
        raise DataError(f"unknown class {cls!r}; the classes are {', '.join(corpus.classes)}")
    term = _find_word(corpus, word)
    if term is None:
        return []
    lemma = str(corpus.vocab[term])
    out: list[Example] = []
    for d in corpus.docs_with(term):
        if cls is not None and corpus.labels[d] != cls:
            continue
        text = corpus.texts[d]
        out.append(
            Example(
                doc_id=corpus.doc_ids[d],
                image_id=corpus.image_ids[d],
                path=corpus.paths[d],
                label=corpus.labels[d],
                true_label=corpus.true_labels[d],
                pred_label=corpus.pred_labels[d],
                sentence=_sentence_with(text, word if word in text else lemma, corpus.lang),
                text=text,
            )
        )
        if len(out) >= limit:
            break
    return out


# ---------------------------------------------------------------------------------------------
# Term tables in the DB


def write_terms(con: duckdb.DuckDBPyConnection, run_id: int, min_df: int = 1) -> dict[str, int]:
    """(Re)build the ``terms`` and ``doc_terms`` rows of ``run_id`` from its ``tokens``, in SQL.

    Only documents of finished images count; terms in fewer than ``min_df`` documents are
    left out. Term ids are 1-based in term order. Returns ``{"terms", "doc_terms"}`` counts.
    """
    import duckdb

    params = {"run": run_id, "min_df": max(1, int(min_df))}
    try:
        con.execute("BEGIN TRANSACTION")
        own_transaction = True
    except duckdb.TransactionException:  # the caller's transaction is already open
        own_transaction = False
    try:
        con.execute("DELETE FROM doc_terms WHERE run_id = $run", {"run": run_id})
        con.execute("DELETE FROM terms WHERE run_id = $run", {"run": run_id})
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _wt_pairs AS SELECT DISTINCT image_id, term FROM ("
            " SELECT t.image_id, unnest(t.tokens) AS term FROM tokens t"
            " JOIN images i ON i.image_id = t.image_id AND i.run_id = t.run_id"
            " WHERE t.run_id = $run AND i.status = 'done')"
            " WHERE term IS NOT NULL AND term <> ''",
            {"run": run_id},
        )
        con.execute(
            "INSERT INTO terms (run_id, term_id, term, df) "
            "SELECT $run, row_number() OVER (ORDER BY term), term, df FROM ("
            " SELECT term, count(*) AS df FROM _wt_pairs GROUP BY term) "
            "WHERE df >= $min_df",
            params,
        )
        con.execute(
            "INSERT INTO doc_terms (run_id, image_id, term_id) "
            "SELECT $run, p.image_id, t.term_id FROM _wt_pairs p "
            "JOIN terms t ON t.run_id = $run AND t.term = p.term "
            "ORDER BY p.image_id, t.term_id",
            {"run": run_id},
        )
        con.execute("DROP TABLE _wt_pairs")
        if own_transaction:
            con.execute("COMMIT")
    except Exception:
        if own_transaction:
            con.execute("ROLLBACK")
        raise
    n_terms = con.execute("SELECT count(*) FROM terms WHERE run_id = ?", [run_id]).fetchone()[0]
    n_pairs = con.execute("SELECT count(*) FROM doc_terms WHERE run_id = ?", [run_id]).fetchone()[0]
    return {"terms": int(n_terms), "doc_terms": int(n_pairs)}


# ---------------------------------------------------------------------------------------------
# Stored keyword tables
#
# The precompute job fits the keyword table for the default settings once, at the end of a job
# (:func:`store_default_results`), and stores it in the ``mining`` table with a fingerprint of
# the documents, labels and tokens it was fit on. :func:`stored_result` hands it back while
# the fingerprint still matches; anything else (other settings, a run still being written)
# falls back to fitting. A stored table is what :func:`mine` would return for those settings:
# the same code fit it.

#: Words kept per class in a stored table; ``--top`` up to this is answered from it.
STORED_TOP = 50
#: Part of every stored table's key: bump it when fitting changes, so old tables are refit.
MINING_VERSION = 1
#: The settings the precompute job stores tables for (both label sources where known).
DEFAULT_SETTINGS: dict[str, Any] = {"min_df": 2, "stopwords": (), "cv": 5, "seed": 0}


def settings_key(
    by: str = "true",
    min_df: int = 2,
    stopwords: Iterable[str] = (),
    cv: int = 5,
    seed: int = 0,
    lang: str = "ja",
) -> str:
    """The canonical JSON that identifies a stored keyword table's settings."""
    return json.dumps(
        {
            "version": MINING_VERSION,
            "by": _by(by),
            "min_df": max(1, int(min_df)),
            "stopwords": sorted(_extra_stopwords(stopwords, lang)),
            "cv": int(cv) if cv and cv > 1 else 0,
            "seed": int(seed),
        },
        ensure_ascii=False,
        sort_keys=True,
    )


def corpus_key(con: duckdb.DuckDBPyConnection, run_id: int) -> str:
    """A fingerprint of what mining a run reads: its finished documents, labels and tokens.

    One SQL pass (~30 ms for 30,000 documents); any added, retried or relabelled document
    changes it, so a table stored before the change is not used after it.
    """
    row = con.execute(
        "SELECT count(*), coalesce(sum(hash(i.image_id, i.true_label, i.pred_label, t.tokens,"
        " CASE WHEN t.tokens IS NULL THEN e.text END)), 0), "
        "(SELECT count(*) FROM images WHERE run_id = $run) "
        "FROM images i JOIN explanations e ON e.image_id = i.image_id "
        "LEFT JOIN tokens t ON t.image_id = i.image_id AND t.run_id = i.run_id "
        "WHERE i.run_id = $run AND i.status = 'done'",
        {"run": run_id},
    ).fetchone()
    return f"{row[0]}:{row[1]}:{row[2]}"


def _run_lang(con: duckdb.DuckDBPyConnection, run_id: int, default: str = "ja") -> str:
    row = con.execute("SELECT lang FROM runs WHERE run_id = ?", [run_id]).fetchone()
    return (row[0] if row else None) or default


def stored_result(
    con: duckdb.DuckDBPyConnection,
    run_id: int,
    by: str = "true",
    min_df: int = 2,
    stopwords: Iterable[str] = (),
    cv: int = 5,
    seed: int = 0,
) -> MiningResult | None:
    """The stored keyword table of ``run_id`` for these settings, or ``None`` (refit then).

    ``None`` also when the DB predates stored tables or the run changed since it was stored.
    The result holds up to :data:`STORED_TOP` words of every class; narrow it with
    :meth:`MiningResult.select`.
    """
    import duckdb

    key = settings_key(by, min_df, stopwords, cv, seed, _run_lang(con, run_id))
    try:
        row = con.execute(
            "SELECT corpus_key, result FROM mining WHERE run_id = ? AND settings = ?",
            [run_id, key],
        ).fetchone()
    except duckdb.CatalogException:  # a DB written before stored tables existed
        return None
    if row is None or row[0] != corpus_key(con, run_id):  # fingerprint only when stored
        return None
    return MiningResult.from_json(row[1])


def store_default_results(con: duckdb.DuckDBPyConnection, run_id: int) -> list[str]:
    """Fit and store the keyword tables of the default settings, by true and by predicted label.

    Run by the precompute job at its end, on its own connection: the corpus is loaded once and
    fit per label source. A label source that cannot be mined (fewer than two classes, no
    predictions) is skipped. Returns the label sources stored.
    """
    con.execute("DELETE FROM mining WHERE run_id = ?", [run_id])
    lang = _run_lang(con, run_id)
    fingerprint = corpus_key(con, run_id)
    by_true = _load_db(con, Path(), run_id, "true", lang)
    stored = []
    for corpus in (by_true, replace(by_true, labels=by_true.pred_labels, by="predicted")):
        try:
            result = mine(corpus, top=STORED_TOP, **DEFAULT_SETTINGS)
        except DataError:
            continue
        con.execute(
            "INSERT INTO mining (run_id, settings, corpus_key, result) VALUES (?, ?, ?, ?)",
            [
                run_id,
                settings_key(corpus.by, **DEFAULT_SETTINGS, lang=lang),
                fingerprint,
                result.to_json(),
            ],
        )
        stored.append(corpus.by)
    return stored


def mine_source(
    source: str | Path,
    run_id: int | None = None,
    by: str = "true",
    lang: str = "ja",
    top: int = 10,
    classes: Sequence[str] | None = None,
    min_df: int = 2,
    stopwords: Iterable[str] = (),
    cv: int = 5,
    seed: int = 0,
) -> MiningResult:
    """:func:`mine` on a wordcam DB or a CSV/JSONL corpus (as :func:`load_corpus` reads them).

    With the default settings (:data:`DEFAULT_SETTINGS`, the only ones the precompute job
    stores) a DB answers from its stored table while that matches the run: no model is fit and
    scikit-learn is not even imported. Otherwise the corpus is loaded and fit.
    """
    stopwords = list(stopwords)
    settings = {"min_df": min_df, "stopwords": tuple(stopwords), "cv": cv, "seed": seed}
    from_file = Path(source).suffix.lower() in _FILE_SUFFIXES
    if settings == DEFAULT_SETTINGS and top <= STORED_TOP and not from_file:
        from core.store import latest_run_id, reading

        with reading(source) as con:
            run_id = latest_run_id(con) if run_id is None else run_id
            found = stored_result(con, run_id, by, min_df, stopwords, cv, seed)
        if found is not None:
            return found.select(top, classes)
    _prefetch_sklearn()
    corpus = load_corpus(source, run_id=run_id, by=by, lang=lang)
    return mine(corpus, top, classes, min_df, stopwords, cv, seed)


def _prefetch_sklearn() -> None:
    """Import scikit-learn in a thread while the corpus loads (DuckDB releases the GIL)."""
    import contextlib
    import threading

    def load() -> None:
        with contextlib.suppress(Exception):  # the main thread's own import reports errors
            import sklearn.linear_model  # noqa: F401

    threading.Thread(target=load, name="prefetch-sklearn", daemon=True).start()
