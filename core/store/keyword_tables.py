"""The stored keyword tables (table ``mining``) and the fingerprint that keeps them honest.

The precompute job stores the miner's result for its default settings once per run, keyed by
the settings' canonical JSON and stamped with :func:`corpus_key`; a reader uses a table only
while the run's fingerprint still equals the stamp. (:mod:`core.mining.stored` decides what is
stored and when; this module is its SQL.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb

_FINGERPRINT = """
SELECT count(*), coalesce(sum(hash(i.image_id, i.true_label, i.pred_label, t.tokens,
    CASE WHEN t.tokens IS NULL THEN e.text END)), 0),
    (SELECT count(*) FROM images WHERE run_id = $run)
FROM images i JOIN explanations e ON e.image_id = i.image_id
LEFT JOIN tokens t ON t.image_id = i.image_id AND t.run_id = i.run_id
WHERE i.run_id = $run AND i.status = 'done'
"""


def corpus_key(con: duckdb.DuckDBPyConnection, run_id: int) -> str:
    """A fingerprint of what mining a run reads: its finished documents, labels and tokens.

    One SQL pass (~30 ms for 30,000 documents); any added, retried or relabelled document
    changes it, so a table stored before the change is not used after it.
    """
    row = con.execute(_FINGERPRINT, {"run": run_id}).fetchone()
    return f"{row[0]}:{row[1]}:{row[2]}"


def read_keyword_table(
    con: duckdb.DuckDBPyConnection, run_id: int, settings: str
) -> tuple[str, str] | None:
    """``(corpus_key, result JSON)`` stored for ``run_id`` and ``settings``, or ``None``.

    ``None`` also for a DB written before the ``mining`` table existed.
    """
    from core.store.schema import has_table

    if not has_table(con, "mining"):  # a snapshot from before migration 2, read as it is
        return None
    return con.execute(
        "SELECT corpus_key, result FROM mining WHERE run_id = ? AND settings = ?",
        [run_id, settings],
    ).fetchone()


def delete_keyword_tables(con: duckdb.DuckDBPyConnection, run_id: int) -> None:
    """Remove every stored keyword table of ``run_id``."""
    con.execute("DELETE FROM mining WHERE run_id = ?", [run_id])


def write_keyword_table(
    con: duckdb.DuckDBPyConnection, run_id: int, settings: str, key: str, result: str
) -> None:
    """Store ``result`` (JSON) for ``run_id`` and ``settings``, stamped with ``key``."""
    con.execute(
        "INSERT INTO mining (run_id, settings, corpus_key, result) VALUES (?, ?, ?, ?)",
        [run_id, settings, key, result],
    )


def run_progress(con: duckdb.DuckDBPyConnection, run_id: int) -> tuple[str, int] | None:
    """``(status, photos done)`` of ``run_id``, or ``None`` for no such run: why a run that is
    still running may have too few documents for a keyword table yet."""
    row = con.execute(
        "SELECT r.status, count(i.image_id) FILTER (WHERE i.status = 'done') FROM runs r"
        " LEFT JOIN images i USING (run_id) WHERE r.run_id = ? GROUP BY r.status",
        [run_id],
    ).fetchone()
    return None if row is None else (str(row[0]), int(row[1]))
