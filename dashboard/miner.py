"""Keyword mining (:mod:`core.mining`) for the pages: memoized, prefetched, in the background.

Every table is :func:`core.mining.keyword_table`'s (the table the precompute job stored for
the settings when it answers, the run's verified words attached); when it must fit, it fits
without cross-validation (fast) while the cross-validated accuracy is computed on the
background worker. Corpora, tables and accuracies are memoized per snapshot and settings.
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
from dashboard.settings import MAX_MIN_DF, MINE_TOP, MiningSettings
from dashboard.state import cursor


@dataclass(frozen=True)
class FitKey:
    """What one keyword table depends on: the snapshot and run, and the miner's settings
    (``top`` always :data:`MINE_TOP`: the top-K setting slices one table)."""

    db: str
    mtime: int
    run_id: int
    lang: str
    settings: MiningSettings

    @classmethod
    def of(cls, ctx: Ctx, settings: MiningSettings, **changes: Any) -> FitKey:
        """The key of ``settings`` on ``ctx``'s run, with ``changes`` (e.g. ``min_df=3``)."""
        return cls(*ctx.key, ctx.lang, replace(settings, top=MINE_TOP, **changes))


_CORPORA = Memo(6)
_MINED = Memo(24)
_CV = Memo(24)


def mining_error() -> str | None:
    """Why keyword mining is unavailable (``core.mining`` missing), or ``None``."""
    try:
        import core.mining.table  # noqa: F401 (the package's own names are lazy)
    except ImportError as exc:
        return f"keyword mining is unavailable: {exc}"
    return None


def corpus(key: FitKey):
    """The miner's corpus of a run (tokens + labels, of ``key.kinds`` only when given), loaded
    once per snapshot (any thread)."""

    by, kinds = key.settings.by, key.settings.kinds

    def load():
        from core.mining import load_corpus

        return load_corpus(key.db, run_id=key.run_id, by=by, lang=key.lang, kinds=kinds or None)

    return _CORPORA.get((key.db, key.mtime, key.run_id, by, key.lang, kinds), load).result()


def _table(key: FitKey, cv_on_fit: bool):
    """:func:`core.mining.keyword_table` of ``key`` on the snapshot, fit on the memoized corpus."""
    from core.mining import keyword_table

    with cursor(key.db, key.mtime) as con:
        return keyword_table(
            con, key.run_id, key.settings, corpus=lambda: corpus(key), cv_on_fit=cv_on_fit
        )


def _fit(key: FitKey):
    """The stored table for ``key`` (top ``MINE_TOP``), else a fit without cross-validation."""
    return _table(key, cv_on_fit=False)


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
    other = "pred" if settings.label_source == "true" else "true"
    nearby = [(other, settings.min_df)] + [
        (settings.by, settings.min_df + step)
        for step in (1, -1)
        if 1 <= settings.min_df + step <= MAX_MIN_DF
    ]
    for by, min_df in nearby:
        _mining_future(FitKey.of(ctx, settings, by=by, min_df=min_df), background=True)


def _cv_accuracy(key: FitKey) -> float | None:
    """The stored table's accuracy, else a cross-validated fit's (one word per class)."""
    return _table(replace(key, settings=replace(key.settings, top=1)), cv_on_fit=True).text_accuracy


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
    db: str,
    mtime: int,
    run_id: int,
    by: str,
    lang: str,
    a: str,
    b: str,
    top: int,
    min_df: int,
    kinds: tuple[str, ...] = (),
):
    """``core.mining.contrast`` between two classes (of the words of ``kinds`` when given)."""
    from core.mining import contrast as mine_contrast

    key = FitKey(db, mtime, run_id, lang, MiningSettings(by=by, min_df=min_df, kinds=kinds))
    return mine_contrast(corpus(key), a, b, top=top, min_df=min_df)


@st.cache_resource(max_entries=256, show_spinner=False)
def _miner_examples(
    db: str, mtime: int, run_id: int, by: str, lang: str, word: str, ward: str | None, limit: int
) -> list[tuple[str | None, str]]:
    from core.mining import examples

    key = FitKey(db, mtime, run_id, lang, MiningSettings(by=by))
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
