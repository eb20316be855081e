"""Stored keyword tables: fit once by the precompute job, answered without refitting.

The job fits the keyword table for the default settings at its end
(:func:`store_default_results`) and stores it with a fingerprint of the documents, labels and
tokens it was fit on (the SQL: :mod:`core.store.keyword_tables`). :func:`stored_result` hands
it back while the fingerprint still matches; anything else (other settings, a run still being
written) falls back to fitting. A stored table is what :func:`~core.mining.mine` would return
for those settings: the same code fit it. Its image accuracy is read afresh from the run
(:func:`core.store.metrics.image_accuracy`, and by true label the majority baseline), so a
table stored before those metrics were defined once shows the same numbers as everything else.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from core.errors import DataError
from core.mining.corpus import Corpus, load_db_corpus
from core.mining.fit import extra_stopwords
from core.mining.keywords import mine
from core.mining.result import MiningResult
from core.mining.settings import DEFAULTS, STORED_TOP, MiningSettings
from core.store import keyword_tables
from core.store.corpus import run_lang
from core.store.metrics import image_accuracy, majority_baseline

if TYPE_CHECKING:
    import duckdb

#: Part of every stored table's key: bump it when fitting changes, so old tables are refit.
MINING_VERSION = 1


def settings_key(settings: MiningSettings, lang: str) -> str:
    """The canonical JSON that identifies a stored keyword table's settings (``top`` and
    ``kinds`` aside: a table holds :data:`STORED_TOP` words of every kind)."""
    return json.dumps(
        {
            "version": MINING_VERSION,
            "by": settings.label_source,
            "min_df": max(1, int(settings.min_df)),
            "stopwords": sorted(extra_stopwords(settings.stopwords, lang)),
            "cv": int(settings.cv) if settings.cv and settings.cv > 1 else 0,
            "seed": int(settings.seed),
        },
        ensure_ascii=False,
        sort_keys=True,
    )


def _run_lang(con: duckdb.DuckDBPyConnection, run_id: int, default: str = "ja") -> str:
    return run_lang(con, run_id)[1] or default


def stored_result(
    con: duckdb.DuckDBPyConnection, run_id: int, settings: MiningSettings = DEFAULTS
) -> MiningResult | None:
    """The stored keyword table of ``run_id`` for these settings, or ``None`` (refit then).

    ``None`` also when the DB predates stored tables or the run changed since it was stored.
    The result holds up to :data:`STORED_TOP` words of every class, none verified; narrow it
    with :meth:`MiningResult.select` (:func:`core.mining.keyword_table` does both).
    """
    key = settings_key(settings, _run_lang(con, run_id))
    row = keyword_tables.read_keyword_table(con, run_id, key)
    if row is None or row[0] != keyword_tables.corpus_key(con, run_id):
        return None  # (fingerprinted only when a table is stored)
    result = MiningResult.from_json(row[1])
    result = replace(result, image_accuracy=image_accuracy(con, run_id))
    if result.by == "true":  # the run's baseline, as a fresh fit of this corpus gives it
        result = replace(result, baseline=majority_baseline(con, run_id)[1])
    return result


def store_default_results(con: duckdb.DuckDBPyConnection, run_id: int) -> list[str]:
    """Fit and store the keyword tables of the default settings, by true and by predicted label.

    Run by the precompute job at its end, on its own connection (it writes to the DB through
    :mod:`core.store.keyword_tables`): the corpus is loaded once and fit per label source. A
    label source that cannot be mined (fewer than two classes, no predictions) is skipped.
    Returns the label sources stored.
    """
    keyword_tables.delete_keyword_tables(con, run_id)
    lang = _run_lang(con, run_id)
    fingerprint = keyword_tables.corpus_key(con, run_id)
    by_true = load_db_corpus(con, Path(), run_id, "true", lang)
    stored = []
    for corpus in (by_true, replace(by_true, labels=by_true.pred_labels, by="predicted")):
        settings = replace(DEFAULTS, by=corpus.by, top=STORED_TOP)
        try:
            result = fit_table(corpus, settings)
        except DataError:
            continue
        key = settings_key(settings, lang)
        keyword_tables.write_keyword_table(con, run_id, key, fingerprint, result.to_json())
        stored.append(corpus.by)
    return stored


def fit_table(
    corpus: Corpus,
    settings: MiningSettings,
    classes: Sequence[str] | None = None,
    cv_on_fit: bool = True,
) -> MiningResult:
    """:func:`~core.mining.mine` of ``corpus`` with ``settings`` (``cv_on_fit=False``: no CV)."""
    folds = settings.cv if cv_on_fit else 0
    return mine(
        corpus, settings.top, classes, settings.min_df, settings.stopwords, folds, settings.seed
    )
