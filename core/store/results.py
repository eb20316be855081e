"""A run's per-document rows: ``images`` + ``explanations`` + ``tokens`` (+ ``word_regions``),
written a batch at a time."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from core.store.writer import transaction

if TYPE_CHECKING:
    import duckdb
    import pandas as pd


@dataclass
class ResultRow:
    """One document's rows: its ``images`` row, explanation (when ``text`` or ``text_error``),
    tokens (when ``tokens`` is not None: with one kind per token in ``kinds`` and the version
    that made them in ``tokenizer``) and ``word_regions`` (when not None: ``{term: (regions,
    localized)}``, see :meth:`core.text.evidence.DocumentTerms.word_regions`)."""

    path: str
    rel_path: str | None
    true_label: str | None
    status: str
    error: str | None = None
    sha256: str | None = None
    pred_label: str | None = None
    pred_prob: float | None = None
    topk: list[dict[str, Any]] | None = None
    probs: Any = None
    overlay_path: str | None = None
    panel_path: str | None = None
    marks_path: str | None = None
    thumb_path: str | None = None
    text: str | None = None
    text_error: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    tokens: list[str] | None = None
    kinds: list[str] | None = None
    tokenizer: str | None = None
    word_regions: dict[str, tuple[list[int], bool]] | None = None


@dataclass(frozen=True)
class ExplanationSource:
    """The ``explanations`` columns shared by a whole run: who explained, how, in what language."""

    explainer: str | None
    mode: str | None
    lang: str


def json_or_null(data: Any) -> str | None:
    """``data`` as JSON text (arrays as lists), or None when empty."""
    if not data:
        return None
    return json.dumps(
        data, ensure_ascii=False, default=lambda o: getattr(o, "tolist", lambda: repr(o))()
    )


def document_status(con: duckdb.DuckDBPyConnection, run_id: int) -> dict[str, str]:
    """``{path: status}`` of the run's documents."""
    return dict(
        con.execute("SELECT path, status FROM images WHERE run_id = ?", [run_id]).fetchall()
    )


def write_rows(
    con: duckdb.DuckDBPyConnection,
    run_id: int,
    rows: Sequence[ResultRow],
    source: ExplanationSource,
) -> None:
    """Replace the rows of ``rows``' paths in one transaction (all of a batch, or nothing)."""
    if not rows:
        return
    with transaction(con):
        con.register("wc_batch_images", _images_frame(rows))
        _delete_stale(con, run_id)
        ids = _insert_images(con, run_id)
        _insert_explanations(con, run_id, rows, ids, source)
        insert_tokens(con, run_id, rows, ids)
        insert_word_regions(con, run_id, rows, ids)
        con.unregister("wc_batch_images")
        con.execute("UPDATE runs SET updated_at = current_timestamp WHERE run_id = ?", [run_id])


def _images_frame(rows: Sequence[ResultRow]) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame(
        {
            "path": [r.path for r in rows],
            "rel_path": [r.rel_path for r in rows],
            "sha256": [r.sha256 for r in rows],
            "true_label": [r.true_label for r in rows],
            "pred_label": [r.pred_label for r in rows],
            "pred_prob": pd.array([r.pred_prob for r in rows], dtype="Float64"),
            "topk": [json_or_null(r.topk) for r in rows],
            "probs": [None if r.probs is None else [float(x) for x in r.probs] for r in rows],
            "overlay_path": [r.overlay_path for r in rows],
            "panel_path": [r.panel_path for r in rows],
            "marks_path": [r.marks_path for r in rows],
            "thumb_path": [r.thumb_path for r in rows],
            "status": [r.status for r in rows],
            "error": [r.error for r in rows],
        }
    )


def _delete_stale(con: duckdb.DuckDBPyConnection, run_id: int) -> None:
    """Drop the earlier rows (and their dependants) of the batch's paths.

    One lookup first: a batch of new photos (a fresh run, or the unfinished part of a resumed
    one) has no earlier rows, and then nothing else runs.
    """
    stale = "SELECT image_id FROM images WHERE run_id = ? AND path IN (SELECT path FROM wc_batch_images)"
    if con.execute(f"{stale} LIMIT 1", [run_id]).fetchone() is None:
        return
    con.execute(f"DELETE FROM tokens WHERE image_id IN ({stale})", [run_id])
    con.execute(f"DELETE FROM word_regions WHERE image_id IN ({stale})", [run_id])
    con.execute(f"DELETE FROM explanations WHERE image_id IN ({stale})", [run_id])
    con.execute(f"DELETE FROM doc_terms WHERE image_id IN ({stale})", [run_id])
    con.execute(
        "DELETE FROM images WHERE run_id = ? AND path IN (SELECT path FROM wc_batch_images)",
        [run_id],
    )


def _insert_images(con: duckdb.DuckDBPyConnection, run_id: int) -> dict[str, int]:
    """Insert the batch's ``images`` rows; ``{path: image_id}``."""
    inserted = con.execute(
        "INSERT INTO images (run_id, path, rel_path, sha256, true_label, pred_label, pred_prob,"
        " topk, probs, overlay_path, panel_path, marks_path, thumb_path, status, error)"
        " SELECT ?, path, rel_path, sha256, true_label, pred_label, pred_prob,"
        " CAST(topk AS JSON), CAST(probs AS FLOAT[]), overlay_path, panel_path, marks_path,"
        " thumb_path, status, error FROM wc_batch_images RETURNING image_id, path",
        [run_id],
    ).fetchall()
    return {path: int(image_id) for image_id, path in inserted}


def _insert_explanations(
    con: duckdb.DuckDBPyConnection,
    run_id: int,
    rows: Sequence[ResultRow],
    ids: dict[str, int],
    source: ExplanationSource,
) -> None:
    import pandas as pd

    explained = [r for r in rows if r.text is not None or r.text_error is not None]
    if not explained:
        return
    frame = pd.DataFrame(
        {
            "image_id": pd.array([ids[r.path] for r in explained], dtype="Int64"),
            "text": [r.text or "" for r in explained],
            "error": [r.text_error for r in explained],
            "details": [json_or_null(r.details) for r in explained],
        }
    )
    con.register("wc_batch_expl", frame)
    con.execute(
        "INSERT INTO explanations (image_id, run_id, explainer, mode, lang, text, error,"
        " details) SELECT image_id, ?, ?, ?, ?, text, error, CAST(details AS JSON)"
        " FROM wc_batch_expl",
        [run_id, source.explainer, source.mode, source.lang],
    )
    con.unregister("wc_batch_expl")


def insert_tokens(
    con: duckdb.DuckDBPyConnection, run_id: int, rows: Sequence[ResultRow], ids: dict[str, int]
) -> None:
    """Insert the ``tokens`` rows (tokens, kinds, tokenizer) of the rows that have tokens."""
    import pandas as pd

    tokenized = [r for r in rows if r.tokens is not None]
    if not tokenized:
        return
    frame = pd.DataFrame(
        {
            "image_id": pd.array([ids[r.path] for r in tokenized], dtype="Int64"),
            "tokens": [list(r.tokens or []) for r in tokenized],
            "kinds": [None if r.kinds is None else list(r.kinds) for r in tokenized],
            "tokenizer": [r.tokenizer for r in tokenized],
        }
    )
    con.register("wc_batch_tokens", frame)
    con.execute(
        "INSERT INTO tokens (image_id, run_id, tokens, kinds, tokenizer) SELECT image_id, ?,"
        " CAST(tokens AS VARCHAR[]), CAST(kinds AS VARCHAR[]), CAST(tokenizer AS VARCHAR)"
        " FROM wc_batch_tokens",
        [run_id],
    )
    con.unregister("wc_batch_tokens")


def insert_word_regions(
    con: duckdb.DuckDBPyConnection, run_id: int, rows: Sequence[ResultRow], ids: dict[str, int]
) -> None:
    """Insert one ``word_regions`` row per term of each row that has ``word_regions``."""
    import pandas as pd

    records = [
        (ids[r.path], term, [int(i) for i in regions], bool(localized))
        for r in rows
        if r.word_regions
        for term, (regions, localized) in r.word_regions.items()
    ]
    if not records:
        return
    image_ids, terms, regions, localized = zip(*records, strict=True)
    frame = pd.DataFrame(
        {
            "image_id": pd.array(image_ids, dtype="Int64"),
            "term": list(terms),
            "regions": list(regions),
            "localized": list(localized),
        }
    )
    con.register("wc_batch_regions", frame)
    con.execute(
        "INSERT INTO word_regions (run_id, image_id, term, regions, localized)"
        " SELECT ?, image_id, term, CAST(regions AS INTEGER[]), localized FROM wc_batch_regions",
        [run_id],
    )
    con.unregister("wc_batch_regions")


@dataclass(frozen=True)
class StoredExplanation:
    """A finished document's stored explanation, as the terms step re-reads it."""

    image_id: int
    text: str
    details: dict[str, Any]
    explainer: str | None


_STALE = """
SELECT i.image_id, e.text, CAST(e.details AS VARCHAR), e.explainer
FROM images i JOIN explanations e ON e.image_id = i.image_id
LEFT JOIN tokens t ON t.image_id = i.image_id AND t.run_id = i.run_id
WHERE i.run_id = $run AND i.status = 'done'
    AND (t.image_id IS NULL OR t.tokenizer IS DISTINCT FROM $version)
ORDER BY i.image_id
"""


def stale_explanations(
    con: duckdb.DuckDBPyConnection, run_id: int, version: str
) -> list[StoredExplanation]:
    """The run's finished documents whose tokens are missing or of another version than
    ``version`` (NULL: written before versions were stored)."""
    rows = con.execute(_STALE, {"run": run_id, "version": version}).fetchall()
    return [
        StoredExplanation(int(i), text or "", json.loads(details) if details else {}, explainer)
        for i, text, details, explainer in rows
    ]


def run_terms_context(
    con: duckdb.DuckDBPyConnection, run_id: int
) -> tuple[str, str | None, list[str], str]:
    """``(kind, lang, labels, status)`` of a run: what re-tokenizing its documents needs."""
    kind, lang, labels, status = con.execute(
        "SELECT kind, lang, CAST(labels AS VARCHAR), status FROM runs WHERE run_id = ?", [run_id]
    ).fetchone()
    return str(kind), lang, [str(x) for x in json.loads(labels or "[]")], str(status)


def replace_tokens(
    con: duckdb.DuckDBPyConnection, run_id: int, rows: Sequence[ResultRow], ids: dict[str, int]
) -> None:
    """Replace the ``tokens`` and ``word_regions`` rows of the documents ``ids`` (by path) with
    those of ``rows``, in one transaction; explanations and images are left as they are."""
    if not rows:
        return
    with transaction(con):
        con.register("wc_retoken_ids", _id_frame(ids.values()))
        for table in ("tokens", "word_regions"):
            con.execute(
                f"DELETE FROM {table} WHERE run_id = ? AND image_id IN"
                " (SELECT image_id FROM wc_retoken_ids)",
                [run_id],
            )
        con.unregister("wc_retoken_ids")
        insert_tokens(con, run_id, rows, ids)
        insert_word_regions(con, run_id, rows, ids)


def _id_frame(ids: Any) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame({"image_id": pd.array(list(ids), dtype="Int64")})
