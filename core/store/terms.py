"""The term matrix of a run: ``terms`` (one row per word) and ``doc_terms`` (presence pairs).

Built from the run's ``tokens`` by :func:`write_terms` at the end of every precompute job;
:func:`terms_current` tells a reader whether the tables still match the token lists.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.store.writer import transaction

if TYPE_CHECKING:
    import duckdb

_PAIRS = """
CREATE OR REPLACE TEMP TABLE _wt_pairs AS SELECT DISTINCT image_id, term FROM (
    SELECT t.image_id, unnest(t.tokens) AS term FROM tokens t
    JOIN images i ON i.image_id = t.image_id AND i.run_id = t.run_id
    WHERE t.run_id = $run AND i.status = 'done')
WHERE term IS NOT NULL AND term <> ''
"""
_INSERT_TERMS = """
INSERT INTO terms (run_id, term_id, term, df)
SELECT $run, row_number() OVER (ORDER BY term), term, df FROM (
    SELECT term, count(*) AS df FROM _wt_pairs GROUP BY term)
WHERE df >= $min_df
"""
_INSERT_DOC_TERMS = """
INSERT INTO doc_terms (run_id, image_id, term_id)
SELECT $run, p.image_id, t.term_id FROM _wt_pairs p
JOIN terms t ON t.run_id = $run AND t.term = p.term
ORDER BY p.image_id, t.term_id
"""


def write_terms(con: duckdb.DuckDBPyConnection, run_id: int, min_df: int = 1) -> dict[str, int]:
    """(Re)build the ``terms`` and ``doc_terms`` rows of ``run_id`` from its ``tokens``, in SQL.

    Only documents of finished images count; terms in fewer than ``min_df`` documents are
    left out. Term ids are 1-based in term order. Returns ``{"terms", "doc_terms"}`` counts.
    Runs in its own transaction, or in the caller's when one is open
    (:func:`core.store.writer.transaction`).
    """
    run = {"run": run_id}
    with transaction(con):
        con.execute("DELETE FROM doc_terms WHERE run_id = $run", run)
        con.execute("DELETE FROM terms WHERE run_id = $run", run)
        con.execute(_PAIRS, run)
        con.execute(_INSERT_TERMS, {**run, "min_df": max(1, int(min_df))})
        con.execute(_INSERT_DOC_TERMS, run)
        con.execute("DROP TABLE _wt_pairs")
    n_terms = con.execute("SELECT count(*) FROM terms WHERE run_id = ?", [run_id]).fetchone()[0]
    n_pairs = con.execute("SELECT count(*) FROM doc_terms WHERE run_id = ?", [run_id]).fetchone()[0]
    return {"terms": int(n_terms), "doc_terms": int(n_pairs)}


_CURRENT = """
WITH done AS (SELECT t.image_id, t.tokens FROM tokens t JOIN images i
    ON i.image_id = t.image_id AND i.run_id = t.run_id
    WHERE t.run_id = $run AND i.status = 'done')
SELECT (SELECT count(*) FROM terms WHERE run_id = $run),
    (SELECT count(DISTINCT image_id) FROM doc_terms WHERE run_id = $run),
    (SELECT count(DISTINCT term) FROM (SELECT unnest(tokens) AS term FROM done)
     WHERE term <> ''),
    (SELECT count(*) FROM done WHERE len(list_filter(tokens, lambda x: x <> '')) > 0)
"""


def terms_current(con: duckdb.DuckDBPyConnection, run_id: int) -> bool:
    """Whether ``terms``/``doc_terms`` of the run hold every tokenized finished document.

    :func:`write_terms` (run at the end of each precompute job) keeps them so: the terms and
    the documents must be those of the token lists. A run still in progress, or terms
    written with ``min_df > 1`` that left a word out, fail the check; readers then unnest
    the token lists themselves.
    """
    row = con.execute(_CURRENT, {"run": run_id}).fetchone()
    n_terms, docs_with_terms, n_token_terms, docs_with_tokens = row
    return n_terms > 0 and (n_terms, docs_with_terms) == (n_token_terms, docs_with_tokens)
