"""The corpus: documents with labels and their presence term matrix, from a DB or a file.

A wordcam DuckDB gives the documents of one run (tokens stored once per explanation by the
precompute job; the SQL is :mod:`core.store.corpus`); a corpus file (:mod:`core.mining.files`)
is tokenized on the fly. ``kinds=`` keeps only the words of those kinds (object, colour,
position, other, guess: :mod:`core.text.evidence`), e.g. to mine object words alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from core.errors import DataError
from core.mining.files import TEXT_COLUMNS, is_corpus_file, read_text_records
from core.mining.settings import DEFAULTS, label_source
from core.store import corpus as sql
from core.store import latest_run_id, reading
from core.store.metrics import image_accuracy, image_accuracy_of, majority_baseline

if TYPE_CHECKING:
    import duckdb

_KIND_ALIASES = {
    "color": "colour",
    "objects": "object",
    "colours": "colour",
    "colors": "colour",
    "guesses": "guess",
}


@dataclass
class Corpus:
    """Documents (explanations) with labels and their presence term matrix.

    ``vocab`` is the sorted array of terms; ``doc_index``/``term_index`` list the unique
    (document, term) presence pairs. ``labels`` are the labels used for mining (true or
    predicted per ``by``); ``None`` where unknown. ``image_accuracy`` is the image model's
    accuracy on the whole source (:mod:`core.store.metrics`), whatever the documents mined;
    ``baseline`` is the run's majority baseline (:func:`core.store.metrics.majority_baseline`)
    for a DB corpus mined by true label, else ``None`` (the miner then uses the majority share
    of the labels it mined).
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
    image_accuracy: float | None = None
    baseline: float | None = None
    #: The model's probability of its predicted label per document (``None`` where unknown:
    #: files, failed rows).
    pred_probs: list[float | None] | None = None

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


def word_kinds(values: str | Sequence[str] | None) -> tuple[str, ...] | None:
    """Kinds from ``--kind`` values (repeatable, comma lists; ``color`` is ``colour``), in
    :data:`~core.text.evidence.KINDS` order; ``None`` when none are given (no filter)."""
    from core.text.evidence import KINDS

    if values is None:
        return None
    items = [values] if isinstance(values, str) else list(values)
    wanted = {_KIND_ALIASES.get(k, k) for v in items for k in str(v).lower().split(",") if k}
    unknown = sorted(wanted - set(KINDS))
    if unknown:
        raise DataError(f"unknown word kind {', '.join(unknown)}; use {', '.join(KINDS)}")
    return tuple(k for k in KINDS if k in wanted) or None


def run_word_kinds(source: str | Path, run_id: int | None = None) -> dict[str, int]:
    """``{kind: documents with a word of that kind}`` of a DB run (the latest by default), in
    :data:`~core.text.evidence.KINDS` order; empty when the run stores no kinds (written
    before them: rerun ``wordcam precompute`` to re-tokenize) or ``source`` is a corpus file.
    For a Keywords filter: offer the kinds present, pass the choice as ``kinds=``."""
    from core.text.evidence import KINDS

    if is_corpus_file(Path(source)):
        return {}
    with reading(Path(source)) as con:
        counts = sql.kind_counts(con, latest_run_id(con) if run_id is None else run_id)
    return {k: counts[k] for k in KINDS if k in counts}


def shown_kinds(present: Sequence[str]) -> tuple[str, ...]:
    """The kinds a default view loads from a run storing the kinds ``present``
    (:func:`run_word_kinds`): all of them but the hidden ones
    (:data:`~core.text.evidence.HIDDEN_KINDS`: guesses) when the run has any, else ``()`` (no
    filter). The default table is fit on every kind and hides guesses as it lays them out
    (:mod:`core.mining.arrange`); a view without that layout (the ward contrast) loads this."""
    from core.text.evidence import HIDDEN_KINDS

    if not any(k in HIDDEN_KINDS for k in present):
        return ()
    return tuple(k for k in present if k not in HIDDEN_KINDS)


def find_word(corpus: Corpus, word: str) -> int | None:
    """Term id of ``word``, also trying its tokenized (dictionary) form: 面し -> 面す."""
    term = corpus.term_id(word)
    if term is None and word.strip():
        from core.text import tokenize

        tokens = tokenize(word, lang=corpus.lang)
        if len(tokens) == 1:
            term = corpus.term_id(tokens[0])
    return term


def load_corpus(
    source: str | Path,
    run_id: int | None = None,
    by: str = DEFAULTS.by,
    lang: str = "ja",
    kinds: Sequence[str] | None = None,
) -> Corpus:
    """Load a corpus from a wordcam DuckDB (latest run unless ``run_id``) or a corpus file.

    DB: only images with ``status='done'`` and a non-empty explanation count; the others are
    counted in ``skipped``. The run's recorded language wins over ``lang``. Files need the
    columns ``id``, ``label`` and ``text`` (``pred_label`` and ``path`` are optional;
    ``by="predicted"`` needs ``pred_label`` instead of ``label``); empty texts are skipped.
    ``kinds`` (see :func:`word_kinds`) keeps only the words of those kinds.
    """
    by = label_source(by)
    kinds = word_kinds(kinds)
    path = Path(source)
    if is_corpus_file(path):
        return load_file_corpus(path, by, lang, kinds)
    with reading(path) as con:
        return load_db_corpus(con, path, run_id, by, lang, kinds)


def load_db_corpus(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    run_id: int | None,
    by: str,
    lang: str,
    kinds: Sequence[str] | None = None,
) -> Corpus:
    """The corpus of run ``run_id`` (the latest when ``None``) of the open DB ``path``."""
    if run_id is None:
        run_id = latest_run_id(con)
    exists, run_lang = sql.run_lang(con, run_id)
    if not exists:
        raise DataError(f"{path} has no run {run_id}; its runs are {sql.run_ids(con)}")
    lang = run_lang or lang
    docs = sql.run_documents(con, run_id, kinds)
    if docs.without_kinds:
        raise DataError(
            f"run {run_id} of {path}: {docs.without_kinds} documents have no stored word kinds"
            " (tokenized before kinds existed); rerun the same `wordcam precompute` command"
            " (it re-tokenizes without explaining again) or core.jobs.retokenize(db)"
        )
    vocab, doc_index, term_index = _sorted_vocab(docs.vocab, docs.doc_index, docs.term_index)
    image_ids = [int(i) for i in docs.columns["image_id"]]
    texts = _DbTexts(path, run_id, image_ids)
    missing = np.flatnonzero(~np.asarray(docs.columns["has_tokens"], dtype=bool))
    if len(missing):  # explanations stored without tokens: tokenize them now
        from core.text import tokenize_many

        texts.read(con)

        token_lists = tokenize_many([texts[int(i)] for i in missing], lang=lang)
        vocab, doc_index, term_index = _merge_pairs(
            vocab, doc_index, term_index, missing, token_lists
        )
    true_labels = _str_list(docs.columns["true_label"])
    pred_labels = _str_list(docs.columns["pred_label"])
    return Corpus(
        doc_ids=[str(i) for i in image_ids],
        texts=texts,
        labels=true_labels if by == "true" else pred_labels,
        true_labels=true_labels,
        pred_labels=pred_labels,
        paths=_str_list(docs.columns["path"]),
        image_ids=list(image_ids),
        vocab=vocab,
        doc_index=doc_index,
        term_index=term_index,
        by=by,
        lang=lang,
        skipped=docs.skipped,
        source=str(path),
        run_id=run_id,
        image_accuracy=image_accuracy(con, run_id),
        baseline=majority_baseline(con, run_id)[1] if by == "true" else None,
        pred_probs=_float_list(docs.columns["pred_prob"]),
    )


def load_file_corpus(path: Path, by: str, lang: str, kinds: Sequence[str] | None = None) -> Corpus:
    """The corpus of a CSV/TSV/JSONL file; its image accuracy counts every row."""
    label_column = "label" if by == "true" else "pred_label"
    required = [label_column if c == "label" else c for c in TEXT_COLUMNS]
    records = list(read_text_records(path, required))
    kept = [r for r in records if r.text.strip()]
    texts = [r.text for r in kept]
    vocab, doc_index, term_index = build_pairs(_file_tokens(texts, lang, kinds))
    true_labels = [r.label for r in kept]
    pred_labels = [r.pred_label for r in kept]
    return Corpus(
        doc_ids=[r.id for r in kept],
        texts=texts,
        labels=true_labels if by == "true" else pred_labels,
        true_labels=true_labels,
        pred_labels=pred_labels,
        paths=[r.path for r in kept],
        image_ids=[None] * len(kept),
        vocab=vocab,
        doc_index=doc_index,
        term_index=term_index,
        by=by,
        lang=lang,
        skipped=len(records) - len(kept),
        source=str(path),
        image_accuracy=image_accuracy_of(
            [r.label for r in records], [r.pred_label for r in records]
        ),
    )


def _file_tokens(texts: list[str], lang: str, kinds: Sequence[str] | None) -> list[list[str]]:
    """The terms of free texts; with ``kinds``, only those of these kinds."""
    if kinds is None:
        from core.text import tokenize_many

        return tokenize_many(texts, lang=lang)
    from core.text.evidence import documents_terms

    docs = documents_terms([(t, None, None) for t in texts], lang, workers=2)
    return [[t.term for t in d.terms if t.kind in kinds] for d in docs]


def build_pairs(token_lists: Sequence[Sequence[str]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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


def _sorted_vocab(vocab: np.ndarray, doc_index: np.ndarray, term_index: np.ndarray):
    """Make ``vocab`` sorted in Python string order (for binary search), remapping indices."""
    if len(vocab) > 1 and not all(vocab[i] < vocab[i + 1] for i in range(len(vocab) - 1)):
        order = np.argsort(vocab, kind="stable")
        rank = np.empty(len(order), dtype=np.int32)
        rank[order] = np.arange(len(order), dtype=np.int32)
        vocab, term_index = vocab[order], rank[term_index]
    return vocab, doc_index, term_index


def _merge_pairs(
    vocab: np.ndarray,
    doc_index: np.ndarray,
    term_index: np.ndarray,
    docs: np.ndarray,
    token_lists: list[list[str]],
):
    """Add the pairs of ``token_lists`` (documents ``docs``) to a corpus's pairs."""
    extra_vocab, extra_docs, extra_terms = build_pairs(token_lists)
    merged = np.unique(np.concatenate([vocab, extra_vocab]).astype(object))
    old = np.searchsorted(merged, vocab).astype(np.int32)
    new = np.searchsorted(merged, extra_vocab).astype(np.int32)
    return (
        merged,
        np.concatenate([doc_index, docs[extra_docs].astype(np.int32)]),
        np.concatenate([old[term_index], new[extra_terms]]).astype(np.int32),
    )


class _DbTexts(Sequence[str]):
    """The explanation texts of a DB corpus, read on first use (mining does not need them)."""

    def __init__(self, db: Path, run_id: int, image_ids: list[int]) -> None:
        self.db, self.run_id, self.image_ids = db, run_id, image_ids
        self._texts: list[str] | None = None

    def read(self, con: duckdb.DuckDBPyConnection) -> None:
        """Read the texts now, on the open connection ``con``."""
        by_id = sql.explanation_texts(con, self.run_id)
        self._texts = [str(by_id.get(i) or "") for i in self.image_ids]

    def _load(self) -> list[str]:
        if self._texts is None:
            with reading(self.db) as con:
                self.read(con)
        return self._texts

    def __len__(self) -> int:
        return len(self.image_ids)

    def __getitem__(self, index):  # type: ignore[override]
        return self._load()[index]


def _float_list(values: Any) -> list[float | None]:
    """Floats of a DB column, ``None`` for NULL or NaN values."""
    out: list[float | None] = []
    for v in values:
        if v is None or v is np.ma.masked or np.isnan(float(v)):
            out.append(None)
        else:
            out.append(float(v))
    return out


def _str_list(values: Any) -> list[str | None]:
    """Stripped strings of a DB column, ``None`` for NULL, NaN or empty values."""
    out: list[str | None] = []
    for v in values:
        if v is None or (isinstance(v, float) and np.isnan(v)) or v is np.ma.masked:
            out.append(None)
        else:
            s = str(v).strip()
            out.append(s or None)
    return out
