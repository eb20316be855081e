"""The SQL that loads a run's corpus for the keyword miner: documents, labels and word pairs.

A document is a finished image with a non-empty explanation. Its words come from the run's
term matrix (``terms``/``doc_terms``) while that is current, else from unnesting the stored
token lists; documents without stored tokens are flagged for the caller to tokenize.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from core.store.terms import terms_current

if TYPE_CHECKING:
    import duckdb

_DOCS = """
CREATE OR REPLACE TEMP TABLE _mine_docs AS
SELECT (row_number() OVER (ORDER BY i.image_id) - 1)::INTEGER AS d, i.image_id,
    i.path, i.true_label, i.pred_label, t.image_id IS NOT NULL AS has_tokens
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


@dataclass
class RunDocuments:
    """The documents of a run, in image order, and their (document, term) presence pairs.

    ``columns`` holds ``image_id``, ``path``, ``true_label``, ``pred_label`` and
    ``has_tokens`` arrays (one entry per document); ``vocab[term_index[p]]`` occurs in
    document ``doc_index[p]`` (``vocab`` is in DuckDB's order, not necessarily Python's).
    ``skipped`` counts the run's images that are not documents.
    """

    columns: dict[str, Any]
    skipped: int
    vocab: np.ndarray
    doc_index: np.ndarray
    term_index: np.ndarray


def run_ids(con: duckdb.DuckDBPyConnection) -> list[int]:
    """Every run id, ascending."""
    return [r[0] for r in con.execute("SELECT run_id FROM runs ORDER BY run_id").fetchall()]


def run_lang(con: duckdb.DuckDBPyConnection, run_id: int) -> tuple[bool, str | None]:
    """``(the run exists, its recorded language or None)``."""
    row = con.execute("SELECT lang FROM runs WHERE run_id = ?", [run_id]).fetchone()
    return (row is not None, row[0] if row else None)


def run_documents(con: duckdb.DuckDBPyConnection, run_id: int) -> RunDocuments:
    """The documents of ``run_id`` and their word pairs (see :class:`RunDocuments`)."""
    con.execute(_DOCS, {"run": run_id})
    columns = con.execute(
        "SELECT image_id, path, true_label, pred_label, has_tokens FROM _mine_docs ORDER BY d"
    ).fetchnumpy()
    # images are unique per (run, path); one explanation per image
    skipped = int(con.execute(_SKIPPED, [run_id]).fetchone()[0])
    if terms_current(con, run_id):
        pairs = _pairs_from_term_tables(con, run_id)
    else:
        pairs = _pairs_from_tokens(con, run_id)
    con.execute("DROP TABLE _mine_docs")
    return RunDocuments(dict(columns), skipped, *pairs)


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
