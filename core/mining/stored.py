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
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import DataError
from core.mining.corpus import label_source, load_corpus, load_db_corpus
from core.mining.files import is_corpus_file
from core.mining.fit import extra_stopwords
from core.mining.keywords import mine
from core.mining.result import MiningResult
from core.store import keyword_tables, latest_run_id, reading
from core.store.corpus import run_lang
from core.store.metrics import image_accuracy, majority_baseline

if TYPE_CHECKING:
    import duckdb

#: Words kept per class in a stored table; ``--top`` up to this is answered from it.
STORED_TOP = 50
#: Part of every stored table's key: bump it when fitting changes, so old tables are refit.
MINING_VERSION = 1
#: The settings the precompute job stores tables for (both label sources where known).
DEFAULT_SETTINGS: dict[str, Any] = {"min_df": 2, "stopwords": (), "cv": 5, "seed": 0}


def settings_key(
    by: str = "true",
    min_df: int = 2,
    stopwords: Iterable[str] = (),
    cv: int = 5,
    seed: int = 0,
    lang: str = "ja",
) -> str:
    """The canonical JSON that identifies a stored keyword table's settings."""
    return json.dumps(
        {
            "version": MINING_VERSION,
            "by": label_source(by),
            "min_df": max(1, int(min_df)),
            "stopwords": sorted(extra_stopwords(stopwords, lang)),
            "cv": int(cv) if cv and cv > 1 else 0,
            "seed": int(seed),
        },
        ensure_ascii=False,
        sort_keys=True,
    )


def _run_lang(con: duckdb.DuckDBPyConnection, run_id: int, default: str = "ja") -> str:
    return run_lang(con, run_id)[1] or default


def stored_result(
    con: duckdb.DuckDBPyConnection,
    run_id: int,
    by: str = "true",
    min_df: int = 2,
    stopwords: Iterable[str] = (),
    cv: int = 5,
    seed: int = 0,
) -> MiningResult | None:
    """The stored keyword table of ``run_id`` for these settings, or ``None`` (refit then).

    ``None`` also when the DB predates stored tables or the run changed since it was stored.
    The result holds up to :data:`STORED_TOP` words of every class; narrow it with
    :meth:`MiningResult.select`.
    """
    key = settings_key(by, min_df, stopwords, cv, seed, _run_lang(con, run_id))
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
        try:
            result = mine(corpus, top=STORED_TOP, **DEFAULT_SETTINGS)
        except DataError:
            continue
        key = settings_key(corpus.by, **DEFAULT_SETTINGS, lang=lang)
        keyword_tables.write_keyword_table(con, run_id, key, fingerprint, result.to_json())
        stored.append(corpus.by)
    return stored


def mine_source(
    source: str | Path,
    run_id: int | None = None,
    by: str = "true",
    lang: str = "ja",
    top: int = 10,
    classes: Sequence[str] | None = None,
    min_df: int = 2,
    stopwords: Iterable[str] = (),
    cv: int = 5,
    seed: int = 0,
    kinds: Sequence[str] | None = None,
) -> MiningResult:
    """:func:`~core.mining.mine` on a wordcam DB or a corpus file (as ``load_corpus`` reads them).

    With the default settings (:data:`DEFAULT_SETTINGS`, the only ones the precompute job
    stores) a DB answers from its stored table while that matches the run: no model is fit and
    scikit-learn is not even imported. Otherwise (also with a ``kinds`` filter) the corpus is
    loaded and fit. A DB's stored word verifications (``wordcam verify``) are added to the words
    they cover.
    """
    stopwords = list(stopwords)
    settings = {"min_df": min_df, "stopwords": tuple(stopwords), "cv": cv, "seed": seed}
    stored = settings == DEFAULT_SETTINGS and top <= STORED_TOP and not kinds
    if stored and not is_corpus_file(source):
        with reading(source) as con:
            run_id = latest_run_id(con) if run_id is None else run_id
            found = stored_result(con, run_id, by, min_df, stopwords, cv, seed)
            if found is not None:  # (one connection for the table and its verified words)
                return with_stored_effects(found.select(top, classes), con, run_id)
    _prefetch_sklearn()
    corpus = load_corpus(source, run_id=run_id, by=by, lang=lang, kinds=kinds)
    result = mine(corpus, top, classes, min_df, stopwords, cv, seed)
    if is_corpus_file(source):
        return result
    with reading(source) as con:
        return with_stored_effects(result, con, corpus.run_id if run_id is None else run_id)


def with_stored_effects(
    result: MiningResult, con: duckdb.DuckDBPyConnection, run_id: int
) -> MiningResult:
    """``result`` with the latest stored verification of its words (by its label source)."""
    from core.store.effects import latest_key, read_effects

    key = latest_key(con, run_id, result.by)
    if key is None:
        return result
    about = json.loads(key)
    effects = read_effects(con, run_id, key=key)
    return result.with_effects(effects, {"fill": about.get("fill"), "settings": about})


def _prefetch_sklearn() -> None:
    """Import scikit-learn in a thread while the corpus loads (DuckDB releases the GIL)."""
    import contextlib
    import threading

    def load() -> None:
        with contextlib.suppress(Exception):  # the main thread's own import reports errors
            import sklearn.linear_model  # noqa: F401

    threading.Thread(target=load, name="prefetch-sklearn", daemon=True).start()
