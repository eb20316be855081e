"""Read-only queries over a published wordcam DB, for the dashboard (and anyone else).

Every function takes an open read-only DuckDB connection (:func:`open_snapshot`, re-exported
here with :func:`snapshot_cursor` and :func:`db_version` from :mod:`core.store.reader`, or
:func:`core.store.connect_read`) and a ``run_id``; the heavy lifting is DuckDB SQL, never Python loops over rows. Label columns
are chosen from a fixed whitelist (``by="true"`` or ``by="pred"``), all values are bound as
parameters. Text returned here (explanations, labels, paths) is untrusted: render it as text.

This module imports only the standard library and :mod:`core.store` at import time (pandas and
duckdb come in through the connection), so the dashboard never loads torch through it.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from core.errors import DataError
from core.store.paths import asset_dir
from core.store.reader import SNAPSHOT as SNAPSHOT
from core.store.reader import db_version as db_version
from core.store.reader import latest_run_id
from core.store.reader import open_snapshot as open_snapshot
from core.store.reader import snapshot_cursor as snapshot_cursor

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

By = Literal["true", "pred"]
Correctness = Literal["all", "correct", "incorrect"]

_LABEL_COLUMN = {"true": "true_label", "pred": "pred_label"}


def label_column(by: str) -> str:
    """``true_label`` or ``pred_label``; a clear error for anything else."""
    try:
        return _LABEL_COLUMN[by]
    except KeyError:
        raise DataError(f"unknown label source {by!r}; use 'true' or 'pred'") from None


# ---------------------------------------------------------------- runs and overview


def list_runs(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """All runs, newest first, with their photo counts (done / failed)."""
    return con.execute(
        """
        SELECT r.run_id, r.created_at, r.updated_at, r.kind, r.source, r.model, r.explainer,
               r.mode, r.method, r.lang, r.status, r.image_accuracy,
               count(i.image_id) AS n_images,
               count(i.image_id) FILTER (WHERE i.status = 'done') AS n_done,
               count(i.image_id) FILTER (WHERE i.status = 'failed') AS n_failed
        FROM runs r LEFT JOIN images i USING (run_id)
        GROUP BY ALL
        ORDER BY r.run_id DESC
        """
    ).df()


def resolve_run(con: duckdb.DuckDBPyConnection, run_id: int | None = None) -> int:
    """``run_id`` if the DB holds it, else the latest run; ``DataError`` when there is none."""
    if run_id is not None:
        row = con.execute("SELECT 1 FROM runs WHERE run_id = ?", [run_id]).fetchone()
        if row:
            return int(run_id)
    return latest_run_id(con)


def run_info(con: duckdb.DuckDBPyConnection, run_id: int) -> dict[str, Any]:
    """One run's row as a dict (``labels`` and ``settings`` decoded from JSON)."""
    cur = con.execute("SELECT * FROM runs WHERE run_id = ?", [run_id])
    row = cur.fetchone()
    if row is None:
        raise DataError(f"run {run_id} is not in this database; pick one of the listed runs")
    info = dict(zip([d[0] for d in cur.description], row, strict=True))
    for key in ("labels", "settings"):
        value = info.get(key)
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                info[key] = json.loads(value)
    return info


@dataclass(frozen=True)
class RunStats:
    """Headline numbers of one run."""

    n_images: int
    n_done: int
    n_failed: int
    n_labeled: int
    n_explained: int
    image_accuracy: float | None
    baseline: float | None
    majority_label: str | None


def run_stats(con: duckdb.DuckDBPyConnection, run_id: int) -> RunStats:
    """Counts, image-model accuracy (pred == true over labelled photos) and majority baseline."""
    from core.store.metrics import image_accuracy, majority_baseline

    counts = con.execute(
        """
        SELECT count(*),
               count(*) FILTER (WHERE status = 'done'),
               count(*) FILTER (WHERE status = 'failed'),
               count(*) FILTER (WHERE status = 'done' AND true_label IS NOT NULL)
        FROM images WHERE run_id = ?
        """,
        [run_id],
    ).fetchone()
    n_explained = con.execute(
        "SELECT count(*) FROM explanations WHERE run_id = ? AND coalesce(text, '') <> ''",
        [run_id],
    ).fetchone()[0]
    majority_label, baseline = majority_baseline(con, run_id)
    return RunStats(
        n_images=int(counts[0]),
        n_done=int(counts[1]),
        n_failed=int(counts[2]),
        n_labeled=int(counts[3]),
        n_explained=int(n_explained),
        image_accuracy=image_accuracy(con, run_id),
        baseline=baseline,
        majority_label=majority_label,
    )


def class_recall(con: duckdb.DuckDBPyConnection, run_id: int) -> pd.DataFrame:
    """Per true label: ``support``, ``correct``, ``recall`` of the image model."""
    return con.execute(
        """
        SELECT true_label AS label, count(*) AS support,
               count(*) FILTER (WHERE pred_label = true_label) AS correct,
               count(*) FILTER (WHERE pred_label = true_label) / count(*) AS recall
        FROM images
        WHERE run_id = ? AND status = 'done' AND true_label IS NOT NULL
        GROUP BY true_label ORDER BY true_label
        """,
        [run_id],
    ).df()


def confusion(con: duckdb.DuckDBPyConnection, run_id: int) -> pd.DataFrame:
    """Confusion matrix in long form: ``true_label, pred_label, n, share`` (share of the row)."""
    return con.execute(
        """
        SELECT true_label, pred_label, count(*) AS n,
               count(*) / sum(count(*)) OVER (PARTITION BY true_label) AS share
        FROM images
        WHERE run_id = ? AND status = 'done' AND true_label IS NOT NULL
              AND pred_label IS NOT NULL
        GROUP BY true_label, pred_label ORDER BY true_label, pred_label
        """,
        [run_id],
    ).df()


def labels(con: duckdb.DuckDBPyConnection, run_id: int, by: str = "true") -> list[str]:
    """The distinct labels (wards) of a run's photos, sorted."""
    col = label_column(by)
    rows = con.execute(
        f"SELECT DISTINCT {col} FROM images WHERE run_id = ? AND {col} IS NOT NULL ORDER BY 1",
        [run_id],
    ).fetchall()
    return [r[0] for r in rows]


# ---------------------------------------------------------------- words


def vocabulary(con: duckdb.DuckDBPyConnection, run_id: int, min_df: int = 1) -> pd.DataFrame:
    """``term, df`` of a run (documents containing the term), most frequent first."""
    return con.execute(
        """
        WITH words AS (
            SELECT DISTINCT t.image_id, u.term
            FROM tokens t, unnest(t.tokens) AS u(term)
            WHERE t.run_id = ?
        )
        SELECT term, count(*) AS df FROM words
        GROUP BY term HAVING count(*) >= ? ORDER BY df DESC, term
        """,
        [run_id, min_df],
    ).df()


def word_stats(
    con: duckdb.DuckDBPyConnection, run_id: int, words: list[str], by: str = "true"
) -> pd.DataFrame:
    """Per word and label: document frequency and precision.

    Columns: ``word, label, n`` (documents of the label containing the word), ``m`` (documents
    containing the word, any label), ``docs`` (documents of the label), ``precision`` (n/m),
    ``doc_share`` (n/docs). Every (word, label) pair is present, with zeros where absent.
    """
    col = label_column(by)
    return con.execute(
        f"""
        WITH docs AS (
            SELECT t.image_id, t.tokens, i.{col} AS label
            FROM tokens t JOIN images i USING (image_id)
            WHERE t.run_id = ? AND i.{col} IS NOT NULL
        ),
        wanted AS (SELECT DISTINCT unnest(?::VARCHAR[]) AS word),
        per_label AS (SELECT label, count(*) AS docs FROM docs GROUP BY label),
        hits AS (
            SELECT w.word, d.label, count(*) AS n
            FROM docs d JOIN wanted w ON list_contains(d.tokens, w.word)
            GROUP BY w.word, d.label
        )
        SELECT w.word, p.label, coalesce(h.n, 0) AS n,
               coalesce(sum(h.n) OVER (PARTITION BY w.word), 0)::BIGINT AS m,
               p.docs,
               coalesce(h.n, 0) / nullif(sum(h.n) OVER (PARTITION BY w.word), 0) AS precision,
               coalesce(h.n, 0) / p.docs AS doc_share
        FROM wanted w CROSS JOIN per_label p
        LEFT JOIN hits h ON h.word = w.word AND h.label = p.label
        ORDER BY w.word, p.label
        """,
        [run_id, list(words)],
    ).df()


def word_examples(
    con: duckdb.DuckDBPyConnection,
    run_id: int,
    word: str,
    label: str | None = None,
    by: str = "true",
    limit: int = 5,
) -> pd.DataFrame:
    """Explanations containing ``word`` (as a token): ``image_id, label, text``."""
    col = label_column(by)
    return con.execute(
        f"""
        SELECT i.image_id, i.{col} AS label, e.text
        FROM tokens t JOIN images i USING (image_id) JOIN explanations e USING (image_id)
        WHERE t.run_id = ? AND list_contains(t.tokens, ?)
              AND (?::VARCHAR IS NULL OR i.{col} = ?)
        ORDER BY i.image_id LIMIT ?
        """,
        [run_id, word, label, label, limit],
    ).df()


# ---------------------------------------------------------------- photos


@dataclass(frozen=True)
class PhotoFilter:
    """What the Photos page shows: all filters are optional and combined with AND."""

    word: str | None = None
    labels: tuple[str, ...] = ()
    by: str = "true"
    correctness: str = "all"
    search: str | None = None
    include_failed: bool = False
    true_labels: tuple[str, ...] = ()  # and truly one of these (a confusion cell: by="pred")


def _photo_where(f: PhotoFilter) -> tuple[str, list[Any]]:
    col = label_column(f.by)
    clauses = ["i.run_id = ?"]
    params: list[Any] = []
    if not f.include_failed:
        clauses.append("i.status = 'done'")
    if f.word:
        clauses.append(
            "i.image_id IN (SELECT image_id FROM tokens WHERE run_id = i.run_id"
            " AND list_contains(tokens, ?))"
        )
        params.append(f.word)
    if f.labels:
        clauses.append(f"i.{col} IN (SELECT unnest(?::VARCHAR[]))")
        params.append(list(f.labels))
    if f.true_labels:
        clauses.append("i.true_label IN (SELECT unnest(?::VARCHAR[]))")
        params.append(list(f.true_labels))
    if f.correctness == "correct":
        clauses.append("i.pred_label = i.true_label")
    elif f.correctness == "incorrect":
        clauses.append("i.pred_label IS DISTINCT FROM i.true_label")
    elif f.correctness != "all":
        raise DataError(f"unknown correctness filter {f.correctness!r}; use all/correct/incorrect")
    if f.search:
        clauses.append(
            "(contains(lower(coalesce(e.text, '')), lower(?))"
            " OR contains(lower(coalesce(i.rel_path, i.path)), lower(?)))"
        )
        params += [f.search, f.search]
    return " AND ".join(clauses), params


def count_photos(con: duckdb.DuckDBPyConnection, run_id: int, f: PhotoFilter) -> int:
    """How many photos match ``f``."""
    where, params = _photo_where(f)
    sql = f"SELECT count(*) FROM images i LEFT JOIN explanations e USING (image_id) WHERE {where}"
    return int(con.execute(sql, [run_id, *params]).fetchone()[0])


def photos(
    con: duckdb.DuckDBPyConnection,
    run_id: int,
    f: PhotoFilter,
    limit: int = 12,
    offset: int = 0,
) -> pd.DataFrame:
    """One page of photos matching ``f`` (SQL LIMIT/OFFSET), ordered by image id.

    Columns: image_id, path, rel_path, true_label, pred_label, pred_prob, topk (JSON text),
    thumb_path, overlay_path, marks_path, panel_path, status, error, text, explanation_error.
    """
    where, params = _photo_where(f)
    sql = f"""
        SELECT i.image_id, i.path, i.rel_path, i.true_label, i.pred_label, i.pred_prob,
               CAST(i.topk AS VARCHAR) AS topk, i.thumb_path, i.overlay_path, i.marks_path,
               i.panel_path, i.status, i.error, e.text, e.error AS explanation_error
        FROM images i LEFT JOIN explanations e USING (image_id)
        WHERE {where}
        ORDER BY i.image_id LIMIT ? OFFSET ?
    """
    return con.execute(sql, [run_id, *params, int(limit), int(offset)]).df()


def photo_results(con: duckdb.DuckDBPyConnection, run_id: int) -> pd.DataFrame:
    """Per-photo results of a run for export: one row per photo, tokens joined by spaces."""
    return con.execute(
        """
        SELECT i.image_id, coalesce(i.rel_path, i.path) AS path, i.true_label, i.pred_label,
               i.pred_prob, i.pred_label = i.true_label AS correct, i.status, i.error,
               e.text AS explanation, e.error AS explanation_error,
               array_to_string(t.tokens, ' ') AS tokens
        FROM images i LEFT JOIN explanations e USING (image_id)
        LEFT JOIN tokens t USING (image_id)
        WHERE i.run_id = ?
        ORDER BY i.image_id
        """,
        [run_id],
    ).df()


def parse_topk(value: str | None) -> list[tuple[str, float]]:
    """The ``topk`` JSON column as ``[(label, prob)]`` (the localized ``display`` name when the
    job stored one); empty on NULL or malformed JSON."""
    if not value:
        return []
    try:
        items = json.loads(value)
        return [(str(item.get("display") or item["label"]), float(item["prob"])) for item in items]
    except (ValueError, TypeError, KeyError):
        return []


def resolve_asset(db: str | Path, path: str | None) -> Path | None:
    """Where an overlay/thumbnail path stored in the DB lies on disk, or ``None``.

    Absolute paths are used as they are; relative ones are tried against the DB's folder and
    its asset folder (:func:`core.store.asset_dir`).
    """
    if not path:
        return None
    p = Path(path)
    candidates = [p] if p.is_absolute() else [Path(db).parent / p, asset_dir(db) / p, p]
    for candidate in candidates:
        if os.path.isfile(candidate):
            return candidate
    return None


# ---------------------------------------------------------------- photos in order (issue 13)

PHOTO_ORDERS = ("id", "confidence", "mistakes", "random")


def _ward_score(con: duckdb.DuckDBPyConnection, run_id: int, wards: tuple[str, ...]):
    """SQL for "how sure the model is of the chosen wards" and its parameters.

    The largest probability the model gave one of ``wards`` (positions in ``runs.labels``);
    the predicted label's probability when no ward is chosen or the model has no such class.
    """
    info = run_info(con, run_id)
    classes = info.get("labels") if isinstance(info.get("labels"), list) else []
    positions = [classes.index(w) + 1 for w in wards if w in classes]
    if not positions:
        return "i.pred_prob", []
    return (
        "coalesce(list_max(list_transform(?::INTEGER[], lambda k: i.probs[k])), i.pred_prob)",
        [positions],
    )


def _ordered_where(f: PhotoFilter, order: str) -> tuple[str, list[Any]]:
    """The filter of ``order``: "mistakes" are predicted as the wards but truly another."""
    if order not in PHOTO_ORDERS:
        raise DataError(f"unknown photo order {order!r}; use one of {', '.join(PHOTO_ORDERS)}")
    base = replace(f, search=None)
    if order == "mistakes":
        base = replace(base, by="pred", correctness="incorrect")
    where, params = _photo_where(base)
    if order == "mistakes":
        where += " AND i.true_label IS NOT NULL"
    if f.search:
        where, params = where + " AND " + _search_clause(f.search), [*params, f.search, f.search]
    return where, params


def _search_clause(search: str) -> str:
    """Free text in the explanation or the file name, ignoring case.

    Text without cased letters (Japanese, digits) is matched as it is, sparing DuckDB a
    ``lower()`` of every explanation (2-3x faster on 300,000 photos).
    """
    text = "e.text" if search.lower() == search.upper() else "lower(e.text)"
    return (
        f"(contains(coalesce({text}, ''), lower(?))"
        " OR contains(lower(coalesce(i.rel_path, i.path)), lower(?)))"
    )


def _from(f: PhotoFilter) -> str:
    """The tables a photo filter reads: explanations only when searching their text."""
    return "images i LEFT JOIN explanations e USING (image_id)" if f.search else "images i"


def count_ordered_photos(
    con: duckdb.DuckDBPyConnection, run_id: int, f: PhotoFilter, order: str = "id"
) -> int:
    """How many photos :func:`ordered_photos` pages through."""
    where, params = _ordered_where(f, order)
    sql = f"SELECT count(*) FROM {_from(f)} WHERE {where}"
    return int(con.execute(sql, [run_id, *params]).fetchone()[0])


def ordered_photos(
    con: duckdb.DuckDBPyConnection,
    run_id: int,
    f: PhotoFilter,
    order: str = "id",
    seed: int = 0,
    limit: int = 12,
    offset: int = 0,
) -> pd.DataFrame:
    """One page of photos matching ``f`` in ``order``; the columns of :func:`photos` + ``score``.

    ``id``: by image id. ``confidence``: most confident first, the model's probability of the
    chosen wards (``f.labels``; the prediction's when none). ``mistakes``: photos predicted as
    one of the wards but truly another, most confident first. ``random``: a reproducible
    shuffle (the same ``seed``, the same order). The page's ids are found first (a top-N over
    ``images``), then only those rows are read in full.
    """
    where, params = _ordered_where(f, order)
    score, score_params = "i.pred_prob", []
    if order == "confidence":
        score, score_params = _ward_score(con, run_id, f.labels)
    sort = {
        "id": "i.image_id",
        "confidence": "score DESC NULLS LAST, i.image_id",
        "mistakes": "i.pred_prob DESC NULLS LAST, i.image_id",
        "random": "hash(i.image_id, ?::BIGINT), i.image_id",
    }[order]
    tail = [int(seed)] if order == "random" else []
    page = con.execute(
        f"SELECT i.image_id, {score} AS score FROM {_from(f)} WHERE {where} "
        f"ORDER BY {sort} LIMIT ? OFFSET ?",
        [*score_params, run_id, *params, *tail, int(limit), int(offset)],
    ).df()
    rows = con.execute(
        """
        SELECT i.image_id, i.path, i.rel_path, i.true_label, i.pred_label, i.pred_prob,
               CAST(i.topk AS VARCHAR) AS topk, i.thumb_path, i.overlay_path, i.marks_path,
               i.panel_path, i.status, i.error, e.text, e.error AS explanation_error
        FROM images i LEFT JOIN explanations e USING (image_id)
        WHERE i.image_id IN (SELECT unnest(?::BIGINT[]))
        """,
        [page["image_id"].astype("int64").tolist()],
    ).df()
    return page.merge(rows, on="image_id", how="left")[[*rows.columns, "score"]]


# ---------------------------------------------------------------- issue 23: photos by id


def photos_by_ids(
    con: duckdb.DuckDBPyConnection, run_id: int, image_ids: list[int]
) -> list[dict[str, Any]]:
    """The rows of :func:`ordered_photos` (``score`` = the predicted label's probability) for
    ``image_ids`` of ``run_id``, in the order given (ids not in the run are left out)."""
    if not image_ids:
        return []
    rows = con.execute(
        """
        SELECT i.image_id, i.path, i.rel_path, i.true_label, i.pred_label, i.pred_prob,
               CAST(i.topk AS VARCHAR) AS topk, i.thumb_path, i.overlay_path, i.marks_path,
               i.panel_path, i.status, i.error, e.text, e.error AS explanation_error,
               i.pred_prob AS score
        FROM images i LEFT JOIN explanations e USING (image_id)
        WHERE i.run_id = ? AND i.image_id IN (SELECT unnest(?::BIGINT[]))
        """,
        [run_id, [int(i) for i in image_ids]],
    ).df()
    by_id = {int(r["image_id"]): r for r in rows.to_dict("records")}
    return [by_id[int(i)] for i in image_ids if int(i) in by_id]
