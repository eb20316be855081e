"""Keyword mining (:mod:`core.mining`) for the pages: memoized, prefetched, in the background.

A page first gets the table the precompute job stored for its settings; otherwise the miner
fits once without cross-validation (fast) while the cross-validated accuracy is computed on
the background worker. Corpora, fits and accuracies are memoized per snapshot and settings.
"""

from __future__ import annotations

from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

import streamlit as st

from core.errors import WordcamError
from dashboard.background import Memo
from dashboard.context import Ctx
from dashboard.data import q_word_examples
from dashboard.fmt import describe
from dashboard.i18n import t
from dashboard.settings import CV_FOLDS, MAX_MIN_DF, MINE_TOP, MiningSettings
from dashboard.state import cursor

# (db, mtime, run_id, by, lang, min_df, stopwords): what a fit depends on
FitKey = tuple[str, int, int, str, str, int, tuple[str, ...]]

_CORPORA = Memo(6)
_MINED = Memo(24)
_CV = Memo(24)


def mining_error() -> str | None:
    """Why keyword mining is unavailable (``core.mining`` missing), or ``None``."""
    try:
        import core.mining  # noqa: F401
    except ImportError as exc:
        return f"keyword mining is unavailable: {exc}"
    return None


def corpus(db: str, mtime: int, run_id: int, by: str, lang: str):
    """The miner's corpus of a run (tokens + labels), loaded once per snapshot (any thread)."""

    def load():
        from core.mining import load_corpus

        return load_corpus(db, run_id=run_id, by=by, lang=lang)

    return _CORPORA.get((db, mtime, run_id, by, lang), load).result()


def _stored(db: str, mtime: int, run_id: int, by: str, min_df: int, stopwords: tuple[str, ...]):
    """The keyword table the precompute job stored for these settings, or ``None``."""
    from core.mining import stored_result

    with cursor(db, mtime) as con:
        return stored_result(con, run_id, by, min_df, stopwords, cv=CV_FOLDS, seed=0)


def _fit(key: FitKey):
    """The stored table for ``key`` (top ``MINE_TOP``), else a fit without cross-validation."""
    from core.mining import mine

    db, mtime, run_id, by, lang, min_df, stopwords = key
    found = _stored(db, mtime, run_id, by, min_df, stopwords)
    if found is not None:
        return found.select(MINE_TOP)
    return mine(
        corpus(db, mtime, run_id, by, lang), top=MINE_TOP, min_df=min_df, stopwords=stopwords, cv=0
    )


def _mining_future(key: FitKey, background: bool = False) -> Future:
    return _MINED.get(key, lambda: _fit(key), background=background)


def mining(
    db: str, mtime: int, run_id: int, by: str, lang: str, min_df: int, stopwords: tuple[str, ...]
):
    """``core.mining.mine`` on the stored tokens (top ``MINE_TOP`` per class; slice for top-K).

    The table the precompute job stored when one matches the settings; otherwise fit once
    without cross-validation (fast), the cross-validated accuracy coming from
    :func:`text_accuracy_future`, computed in the background.
    """
    key = (db, mtime, run_id, by, lang, min_df, stopwords)
    if _MINED.ready(key):
        return _MINED.get(key, lambda: None).result()
    with st.spinner(t("miner.mining")):
        return _mining_future(key).result()


def mined(ctx: Ctx, settings: MiningSettings):
    """The mining result for ``ctx`` under ``settings`` (cached; ``text_accuracy`` is None)."""
    return mining(*ctx.key, settings.by, ctx.lang, settings.min_df, settings.stopwords)


def mined_at_once(ctx: Ctx, settings: MiningSettings, shown: MiningSettings | None):
    """``(result, fresh)`` without blocking on a fit when a previous table can stand in.

    When the table for ``settings`` is not ready it is fit on the background worker and the
    table for ``shown`` (the settings last shown, when ready) is returned with ``fresh``
    False: the page marks it as updating and swaps the new one in when it is ready.
    """
    key = (*ctx.key, settings.by, ctx.lang, settings.min_df, settings.stopwords)
    if shown is not None and shown != settings and not _MINED.ready(key):
        old = (*ctx.key, shown.by, ctx.lang, shown.min_df, shown.stopwords)
        if _MINED.ready(old) and _MINED.get(old, lambda: None).exception() is None:
            _mining_future(key, background=True)
            return _MINED.get(old, lambda: None).result(), False
    return mined(ctx, settings), True


def mining_ready(ctx: Ctx, settings: MiningSettings) -> bool:
    """Whether the table for ``settings`` has been fit (or failed)."""
    return _MINED.ready((*ctx.key, settings.by, ctx.lang, settings.min_df, settings.stopwords))


def prefetch_mining(ctx: Ctx, settings: MiningSettings) -> None:
    """Fit, in the background, what the next likely click needs.

    The other label source, and the minimum document frequencies one step either side (the
    setting's +/- buttons), in that order.
    """
    other = "pred" if settings.by == "true" else "true"
    nearby = [(other, settings.min_df)] + [
        (settings.by, settings.min_df + step)
        for step in (1, -1)
        if 1 <= settings.min_df + step <= MAX_MIN_DF
    ]
    for by, min_df in nearby:
        _mining_future((*ctx.key, by, ctx.lang, min_df, settings.stopwords), background=True)


def _cv_accuracy(
    db: str, mtime: int, run_id: int, by: str, lang: str, min_df: int, stopwords: tuple[str, ...]
) -> float | None:
    from core.mining import mine

    found = _stored(db, mtime, run_id, by, min_df, stopwords)
    if found is not None:
        return found.text_accuracy
    corpus_ = corpus(db, mtime, run_id, by, lang)
    return mine(corpus_, top=1, min_df=min_df, stopwords=stopwords, cv=CV_FOLDS).text_accuracy


def text_accuracy_future(
    db: str, mtime: int, run_id: int, by: str, lang: str, min_df: int, stopwords: tuple[str, ...]
) -> Future:
    """The cross-validated words -> label accuracy, computed in the background thread."""
    key = (db, mtime, run_id, by, lang, min_df, stopwords)
    return _CV.get(key, lambda: _cv_accuracy(*key), background=True)


def text_accuracy(ctx: Ctx, settings: MiningSettings, wait: float = 0.0) -> tuple[bool, Any]:
    """``(ready, value)`` of the cross-validated accuracy; ``value`` is an error text on failure."""
    try:
        future = text_accuracy_future(
            *ctx.key, settings.by, ctx.lang, settings.min_df, settings.stopwords
        )
        return True, future.result(timeout=wait)
    except FutureTimeout:
        return False, None
    except Exception as exc:  # the miner refused (e.g. a single class): show why
        return True, describe(exc)


@st.cache_resource(max_entries=24, show_spinner=False)
def contrast(
    db: str, mtime: int, run_id: int, by: str, lang: str, a: str, b: str, top: int, min_df: int
):
    """``core.mining.contrast`` between two classes."""
    from core.mining import contrast as mine_contrast

    return mine_contrast(corpus(db, mtime, run_id, by, lang), a, b, top=top, min_df=min_df)


@st.cache_resource(max_entries=256, show_spinner=False)
def _miner_examples(
    db: str, mtime: int, run_id: int, by: str, lang: str, word: str, ward: str | None, limit: int
) -> list[tuple[str | None, str]]:
    from core.mining import examples

    found = examples(corpus(db, mtime, run_id, by, lang), word, cls=ward, limit=limit)
    return [(ex.label, ex.sentence) for ex in found]


def word_examples(
    ctx: Ctx, word: str, ward: str | None, by: str, limit: int
) -> list[tuple[str | None, str]]:
    """``(label, sentence)`` pairs: the sentences of explanations that contain ``word``.

    From the miner (:func:`core.mining.examples`, the sentence around the word) when it is
    available, else the whole explanation from SQL.
    """
    if mining_error() is None:
        try:
            return _miner_examples(*ctx.key, by, ctx.lang, word, ward, limit)
        except WordcamError:
            pass  # e.g. a ward the miner left out: fall back to SQL
    frame = q_word_examples(*ctx.key, word, ward, by, limit)
    return list(zip(frame["label"], frame["text"], strict=True))
