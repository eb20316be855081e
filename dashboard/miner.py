"""Keyword mining (:mod:`core.mining`) for the pages: memoized, prefetched, in the background.

A page first gets the table the precompute job stored for its settings; otherwise the miner
fits once without cross-validation (fast) while the cross-validated accuracy is computed on
the background worker. Corpora, fits and accuracies are memoized per snapshot and settings.
"""

from __future__ import annotations

from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, replace
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


@dataclass(frozen=True)
class FitKey:
    """What one keyword table depends on: the snapshot and run, and the miner's settings."""

    db: str
    mtime: int
    run_id: int
    by: str
    lang: str
    min_df: int
    stopwords: tuple[str, ...]
    kinds: tuple[str, ...] = ()

    @classmethod
    def of(cls, ctx: Ctx, settings: MiningSettings, **changes: Any) -> FitKey:
        """The key of ``settings`` on ``ctx``'s run, with ``changes`` (e.g. ``min_df=3``)."""
        key = cls(
            *ctx.key, settings.by, ctx.lang, settings.min_df, settings.stopwords, settings.kinds
        )
        return replace(key, **changes) if changes else key


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


def corpus(key: FitKey):
    """The miner's corpus of a run (tokens + labels, of ``key.kinds`` only when given), loaded
    once per snapshot (any thread)."""

    def load():
        from core.mining import load_corpus

        return load_corpus(
            key.db, run_id=key.run_id, by=key.by, lang=key.lang, kinds=key.kinds or None
        )

    return _CORPORA.get((key.db, key.mtime, key.run_id, key.by, key.lang, key.kinds), load).result()


def _stored(key: FitKey):
    """The keyword table the precompute job stored for these settings, or ``None`` (stored
    tables hold every kind of word, so a kind filter always fits)."""
    from core.mining import stored_result

    if key.kinds:
        return None
    with cursor(key.db, key.mtime) as con:
        return stored_result(
            con, key.run_id, key.by, key.min_df, key.stopwords, cv=CV_FOLDS, seed=0
        )


def _fit(key: FitKey):
    """The stored table for ``key`` (top ``MINE_TOP``), else a fit without cross-validation."""
    from core.mining import mine

    found = _stored(key)
    if found is not None:
        return found.select(MINE_TOP)
    return mine(corpus(key), top=MINE_TOP, min_df=key.min_df, stopwords=key.stopwords, cv=0)


def _mining_future(key: FitKey, background: bool = False) -> Future:
    return _MINED.get(key, lambda: _fit(key), background=background)


def mining(key: FitKey):
    """``core.mining.mine`` on the stored tokens (top ``MINE_TOP`` per class; slice for top-K).

    The table the precompute job stored when one matches the settings; otherwise fit once
    without cross-validation (fast), the cross-validated accuracy coming from
    :func:`text_accuracy_future`, computed in the background.
    """
    if _MINED.ready(key):
        return _MINED.get(key, lambda: None).result()
    with st.spinner(t("miner.mining")):
        return _mining_future(key).result()


def mined(ctx: Ctx, settings: MiningSettings):
    """The mining result for ``ctx`` under ``settings`` (cached; ``text_accuracy`` is None)."""
    return mining(FitKey.of(ctx, settings))


def mined_at_once(ctx: Ctx, settings: MiningSettings, shown: MiningSettings | None):
    """``(result, fresh)`` without blocking on a fit when a previous table can stand in.

    When the table for ``settings`` is not ready it is fit on the background worker and the
    table for ``shown`` (the settings last shown, when ready) is returned with ``fresh``
    False: the page marks it as updating and swaps the new one in when it is ready.
    """
    key = FitKey.of(ctx, settings)
    if shown is not None and shown != settings and not _MINED.ready(key):
        old = FitKey.of(ctx, shown)
        if _MINED.ready(old) and _MINED.get(old, lambda: None).exception() is None:
            _mining_future(key, background=True)
            return _MINED.get(old, lambda: None).result(), False
    return mined(ctx, settings), True


def mining_ready(ctx: Ctx, settings: MiningSettings) -> bool:
    """Whether the table for ``settings`` has been fit (or failed)."""
    return _MINED.ready(FitKey.of(ctx, settings))


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
        _mining_future(FitKey.of(ctx, settings, by=by, min_df=min_df), background=True)


def _cv_accuracy(key: FitKey) -> float | None:
    from core.mining import mine

    found = _stored(key)
    if found is not None:
        return found.text_accuracy
    result = mine(corpus(key), top=1, min_df=key.min_df, stopwords=key.stopwords, cv=CV_FOLDS)
    return result.text_accuracy


def text_accuracy_future(key: FitKey) -> Future:
    """The cross-validated words -> label accuracy, computed in the background thread."""
    return _CV.get(key, lambda: _cv_accuracy(key), background=True)


def text_accuracy(ctx: Ctx, settings: MiningSettings, wait: float = 0.0) -> tuple[bool, Any]:
    """``(ready, value)`` of the cross-validated accuracy; ``value`` is an error text on failure."""
    try:
        return True, text_accuracy_future(FitKey.of(ctx, settings)).result(timeout=wait)
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

    key = FitKey(db, mtime, run_id, by, lang, min_df, ())
    return mine_contrast(corpus(key), a, b, top=top, min_df=min_df)


@st.cache_resource(max_entries=256, show_spinner=False)
def _miner_examples(
    db: str, mtime: int, run_id: int, by: str, lang: str, word: str, ward: str | None, limit: int
) -> list[tuple[str | None, str]]:
    from core.mining import examples

    key = FitKey(db, mtime, run_id, by, lang, 1, ())
    found = examples(corpus(key), word, cls=ward, limit=limit)
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
