"""Cached reads of the current snapshot: thin wrappers over :mod:`core.store.queries`.

Every wrapper is keyed by ``(db, mtime, ...)`` (see :mod:`dashboard.state`). Results are cached
with ``cache_resource`` (shared, not copied): unpickling a cached DataFrame costs ~10 ms per
Arrow-backed column on every rerun. Never mutate them in place.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from core.store import queries
from dashboard.state import cursor


@st.cache_resource(max_entries=8, show_spinner=False)
def q_runs(db: str, mtime: int) -> pd.DataFrame:
    with cursor(db, mtime) as con:
        return queries.list_runs(con)


@st.cache_resource(max_entries=16, show_spinner=False)
def q_run_info(db: str, mtime: int, run_id: int) -> dict[str, Any]:
    with cursor(db, mtime) as con:
        return queries.run_info(con, run_id)


@st.cache_resource(max_entries=16, show_spinner=False)
def q_run_stats(db: str, mtime: int, run_id: int) -> queries.RunStats:
    with cursor(db, mtime) as con:
        return queries.run_stats(con, run_id)


@st.cache_resource(max_entries=16, show_spinner=False)
def q_word_kinds(db: str, mtime: int, run_id: int) -> dict[str, int]:
    """``{kind: documents}`` of the run's stored word kinds; empty for a run without them."""
    from core.mining import run_word_kinds

    return run_word_kinds(db, run_id)


@st.cache_resource(max_entries=16, show_spinner=False)
def q_class_recall(db: str, mtime: int, run_id: int) -> pd.DataFrame:
    with cursor(db, mtime) as con:
        return queries.class_recall(con, run_id)


@st.cache_resource(max_entries=16, show_spinner=False)
def q_confusion(db: str, mtime: int, run_id: int) -> pd.DataFrame:
    with cursor(db, mtime) as con:
        return queries.confusion(con, run_id)


@st.cache_resource(max_entries=32, show_spinner=False)
def q_labels(db: str, mtime: int, run_id: int, by: str) -> list[str]:
    with cursor(db, mtime) as con:
        return queries.labels(con, run_id, by)


@st.cache_resource(max_entries=16, show_spinner=False)
def q_vocabulary(db: str, mtime: int, run_id: int, min_df: int = 1) -> pd.DataFrame:
    with cursor(db, mtime) as con:
        return queries.vocabulary(con, run_id, min_df)


@st.cache_resource(max_entries=64, show_spinner=False)
def q_word_stats(db: str, mtime: int, run_id: int, words: tuple[str, ...], by: str) -> pd.DataFrame:
    with cursor(db, mtime) as con:
        return queries.word_stats(con, run_id, list(words), by)


@st.cache_resource(max_entries=128, show_spinner=False)
def q_word_examples(
    db: str, mtime: int, run_id: int, word: str, label: str | None, by: str, limit: int
) -> pd.DataFrame:
    with cursor(db, mtime) as con:
        return queries.word_examples(con, run_id, word, label, by, limit)


@st.cache_resource(max_entries=128, show_spinner=False)
def q_count_ordered_photos(
    db: str, mtime: int, run_id: int, f: queries.PhotoFilter, order: str
) -> int:
    with cursor(db, mtime) as con:
        return queries.count_ordered_photos(con, run_id, f, order)


@st.cache_resource(max_entries=128, show_spinner=False)
def q_ordered_photos(
    db: str,
    mtime: int,
    run_id: int,
    f: queries.PhotoFilter,
    order: str,
    seed: int,
    limit: int,
    offset: int,
) -> pd.DataFrame:
    with cursor(db, mtime) as con:
        return queries.ordered_photos(con, run_id, f, order, seed, limit, offset)


@st.cache_resource(max_entries=1024, show_spinner=False)
def asset_image(db: str, path: str | None) -> tuple[bytes, str] | None:
    """``(bytes, "PNG"|"JPEG")`` of an overlay/thumbnail stored in the DB, cached in memory.

    Assets never change once written; serving them from memory, with their real format
    declared, spares Streamlit a stat, a read and a re-encode per image per rerun.
    """
    resolved = queries.resolve_asset(db, path)
    if resolved is None:
        return None
    try:
        data = resolved.read_bytes()
    except OSError:
        return None
    return data, "JPEG" if data[:3] == b"\xff\xd8\xff" else "PNG"
