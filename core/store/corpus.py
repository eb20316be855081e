"""The SQL that loads a run's corpus for the keyword miner: documents, labels and word pairs.

A document is a finished image with a non-empty explanation. Its words come from the run's
term matrix (``terms``/``doc_terms``) while that is current, else from unnesting the stored
token lists; documents without stored tokens are flagged for the caller to tokenize. With a
kind filter (``kinds=("object",)``) only the tokens of those kinds count (``tokens.kinds``
runs parallel to ``tokens.tokens``); every document stays a document.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from core.errors import DataError
from core.store.schema import has_column
from core.store.terms import terms_current

if TYPE_CHECKING:
    import duckdb

_DOCS = """
CREATE OR REPLACE TEMP TABLE _mine_docs AS
SELECT (row_number() OVER (ORDER BY i.image_id) - 1)::INTEGER AS d, i.image_id,
    i.path, i.true_label, i.pred_label, i.pred_prob, t.image_id IS NOT NULL AS has_tokens
FROM images i JOIN explanations e ON e.image_id = i.image_id
LEFT JOIN tokens t ON t.image_id = i.image_id AND t.run_id = i.run_id
WHERE i.run_id = $run AND i.status = 'done' AND e.text IS NOT NULL
    AND length(trim(e.text)) > 0
"""
_SKIPPED = """
SELECT (SELECT count(*) FROM images WHERE run_id = ?) - (SELECT count(*) FROM _mine_docs)
"""
_TERM_PAIRS = """
SELECT m.d, dt.term_id FROM doc_terms dt JOIN _mine_docs m ON m.image_id = dt.image_id
WHERE dt.run_id = ?
"""
_VOCAB = """
CREATE OR REPLACE TEMP TABLE _mine_vocab AS
SELECT term, (row_number() OVER (ORDER BY term) - 1)::INTEGER AS k FROM (
    SELECT DISTINCT unnest(tokens) AS term FROM tokens WHERE run_id = $run)
WHERE term IS NOT NULL AND term <> ''
"""
_TOKEN_PAIRS = """
SELECT DISTINCT s.d, v.k FROM (
    SELECT m.d, unnest(t.tokens) AS term FROM _mine_docs m
    JOIN tokens t ON t.image_id = m.image_id) s
JOIN _mine_vocab v ON v.term = s.term
"""

_KIND_PAIRS = """
CREATE OR REPLACE TEMP TABLE _mine_kind_pairs AS
SELECT DISTINCT d, term FROM (
    SELECT m.d, unnest(t.tokens) AS term, unnest(t.kinds) AS kind FROM _mine_docs m
    JOIN tokens t ON t.image_id = m.image_id)
WHERE list_contains($kinds, kind) AND term IS NOT NULL AND term <> ''
"""
_WITHOUT_KINDS = """
SELECT count(*) FROM _mine_docs m LEFT JOIN tokens t ON t.image_id = m.image_id
WHERE t.kinds IS NULL
"""
_KIND_COUNTS = """
SELECT kind, count(DISTINCT image_id) FROM (
    SELECT t.image_id, unnest(t.kinds) AS kind FROM tokens t
    JOIN images i ON i.image_id = t.image_id AND i.run_id = t.run_id
    WHERE t.run_id = ? AND i.status = 'done')
WHERE kind IS NOT NULL GROUP BY kind
"""


@dataclass
class RunDocuments:
    """The documents of a run, in image order, and their (document, term) presence pairs.

    ``columns`` holds ``image_id``, ``path``, ``true_label``, ``pred_label``, ``pred_prob`` and
    ``has_tokens`` arrays (one entry per document); ``vocab[term_index[p]]`` occurs in
    document ``doc_index[p]`` (``vocab`` is in DuckDB's order, not necessarily Python's).
    ``skipped`` counts the run's images that are not documents; ``without_kinds`` the
    documents whose tokens have no stored kinds (only counted with a kind filter).
    """

    columns: dict[str, Any]
    skipped: int
    vocab: np.ndarray
    doc_index: np.ndarray
    term_index: np.ndarray
    without_kinds: int = 0


def run_ids(con: duckdb.DuckDBPyConnection) -> list[int]:
    """Every run id, ascending."""
    return [r[0] for r in con.execute("SELECT run_id FROM runs ORDER BY run_id").fetchall()]


def run_lang(con: duckdb.DuckDBPyConnection, run_id: int) -> tuple[bool, str | None]:
    """``(the run exists, its recorded language or None)``."""
    row = con.execute("SELECT lang FROM runs WHERE run_id = ?", [run_id]).fetchone()
    return (row is not None, row[0] if row else None)


def run_documents(
    con: duckdb.DuckDBPyConnection, run_id: int, kinds: Sequence[str] | None = None
) -> RunDocuments:
    """The documents of ``run_id`` and their word pairs (see :class:`RunDocuments`); with
    ``kinds``, only the words of those kinds."""
    con.execute(_DOCS, {"run": run_id})
    columns = con.execute(
        "SELECT image_id, path, true_label, pred_label, pred_prob, has_tokens FROM _mine_docs"
        " ORDER BY d"
    ).fetchnumpy()
    # images are unique per (run, path); one explanation per image
    skipped = int(con.execute(_SKIPPED, [run_id]).fetchone()[0])
    without_kinds = 0
    if kinds is not None:
        if not has_column(con, "tokens", "kinds"):
            raise DataError(
                "this DB was written before word kinds were stored; rerun its "
                "`wordcam precompute` command to re-tokenize it (nothing is explained again)"
            )
        without_kinds = int(con.execute(_WITHOUT_KINDS).fetchone()[0])
        pairs = _pairs_of_kinds(con, list(kinds))
    elif terms_current(con, run_id):
        pairs = _pairs_from_term_tables(con, run_id)
    else:
        pairs = _pairs_from_tokens(con, run_id)
    con.execute("DROP TABLE _mine_docs")
    return RunDocuments(dict(columns), skipped, *pairs, without_kinds=without_kinds)


def kind_counts(con: duckdb.DuckDBPyConnection, run_id: int) -> dict[str, int]:
    """``{kind: finished documents with a word of that kind}`` (empty: no kinds stored)."""
    if not has_column(con, "tokens", "kinds"):  # a DB from before migration 3, read as it is
        return {}
    return {str(k): int(n) for k, n in con.execute(_KIND_COUNTS, [run_id]).fetchall()}


def _pairs_of_kinds(con: duckdb.DuckDBPyConnection, kinds: list[str]):
    """(vocab, doc_index, term_index) of the tokens whose kind is one of ``kinds``."""
    con.execute(_KIND_PAIRS, {"kinds": kinds})
    pairs = con.execute(
        "SELECT p.d, v.k FROM _mine_kind_pairs p JOIN (SELECT term, (row_number() OVER"
        " (ORDER BY term) - 1)::INTEGER AS k FROM (SELECT DISTINCT term FROM _mine_kind_pairs))"
        " v USING (term)"
    ).fetchnumpy()
    vocab = con.execute("SELECT DISTINCT term FROM _mine_kind_pairs ORDER BY term").fetchnumpy()
    vocab = vocab["term"]
    con.execute("DROP TABLE _mine_kind_pairs")
    return (
        np.asarray(vocab, dtype=object),
        np.asarray(pairs["d"], dtype=np.int32),
        np.asarray(pairs["k"], dtype=np.int32),
    )


def _pairs_from_term_tables(con: duckdb.DuckDBPyConnection, run_id: int):
    """(vocab, doc_index, term_index) from the run's ``terms``/``doc_terms`` (integers only)."""
    terms = con.execute(
        "SELECT term_id, term FROM terms WHERE run_id = ? ORDER BY term_id", [run_id]
    ).fetchnumpy()
    pairs = con.execute(_TERM_PAIRS, [run_id]).fetchnumpy()
    term_ids = np.asarray(terms["term_id"], dtype=np.int64)
    index = np.searchsorted(term_ids, np.asarray(pairs["term_id"], dtype=np.int64))
    return (
        np.asarray(terms["term"], dtype=object),
        np.asarray(pairs["d"], dtype=np.int32),
        index.astype(np.int32),
    )


def _pairs_from_tokens(con: duckdb.DuckDBPyConnection, run_id: int):
    """(vocab, doc_index, term_index) by unnesting the run's token lists in SQL."""
    con.execute(_VOCAB, {"run": run_id})
    vocab = con.execute("SELECT term FROM _mine_vocab ORDER BY k").fetchnumpy()["term"]
    pairs = con.execute(_TOKEN_PAIRS).fetchnumpy()
    con.execute("DROP TABLE _mine_vocab")
    return (
        np.asarray(vocab, dtype=object),
        np.asarray(pairs["d"], dtype=np.int32),
        np.asarray(pairs["k"], dtype=np.int32),
    )


def explanation_texts(con: duckdb.DuckDBPyConnection, run_id: int) -> dict[int, str]:
    """``{image_id: explanation text}`` of the run."""
    rows = con.execute(
        "SELECT image_id, text FROM explanations WHERE run_id = ?", [run_id]
    ).fetchall()
    return dict(rows)
