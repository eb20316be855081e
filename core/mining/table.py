""":func:`keyword_table`: THE keyword table of a run for some settings, with its verified words.

One function answers every reader (``wordcam mine``, the dashboard, the report, the words
``wordcam verify`` samples, the demo, the benchmarks). It decides, once, whether the table
the precompute job stored answers (:mod:`core.mining.stored`: the default settings, up to
:data:`~core.mining.settings.STORED_TOP` words, no kind filter, the run's fingerprint
unchanged) or the corpus is fit, and attaches the run's stored verifications to the words
(:mod:`core.mining.effects`). Both paths give the same candidates (a class's
:data:`~core.mining.settings.STORED_TOP` words of largest positive weight), laid out for the
settings by :func:`core.mining.arrange.arrange`: ``min_m``, the rank, object words first and
colour/position words as the attribute of the object whose regions they describe (the kinds
and regions read here, in the same snapshot). The stored path imports neither scikit-learn
nor scipy.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from core.mining.arrange import arrange, hidden_kinds
from core.mining.corpus import Corpus, load_corpus, load_db_corpus, word_kinds
from core.mining.effects import attach_effects, stored_effects
from core.mining.files import is_corpus_file
from core.mining.result import MiningResult
from core.mining.settings import DEFAULTS, STORED_TOP, MiningSettings
from core.mining.stored import fit_table, stored_result
from core.store import latest_run_id, reading

if TYPE_CHECKING:
    import duckdb

#: The language of a corpus file whose readers name none (a DB run records its own).
FILE_LANG = "ja"


def keyword_table(
    source: str | Path | duckdb.DuckDBPyConnection,
    run_id: int | None = None,
    settings: MiningSettings = DEFAULTS,
    *,
    classes: Sequence[str] | None = None,
    lang: str = FILE_LANG,
    corpus: Callable[[], Corpus] | None = None,
    cv_on_fit: bool = True,
) -> MiningResult:
    """Per class the ``settings.top`` words of run ``run_id`` (the latest), verified or not.

    ``source`` is a wordcam DB (a path, or a connection already open on one) or a corpus file
    (``lang`` is its language; a file has no verifications). The table's text
    (:attr:`MiningResult.lang`) is in the run's recorded language, else ``lang``. ``classes`` narrows the columns
    shown. The stored table answers when it can; otherwise the corpus is loaded (``corpus``:
    a caller's own loader, e.g. a memoized one) and fit, with cross-validation unless
    ``cv_on_fit`` is False (a caller computing the accuracy elsewhere). Every word carries the
    latest stored verification by the table's label source, or ``NOT_TESTED``.
    """
    if not isinstance(source, (str, Path)):
        return _db_table(source, Path(), run_id, settings, classes, lang, corpus, cv_on_fit)
    if is_corpus_file(source):
        _prefetch_sklearn()
        kinds = settings.kinds or None
        loaded = corpus() if corpus else load_corpus(source, None, settings.by, lang, kinds)
        return arrange(fit_table(loaded, settings, classes, cv_on_fit), settings)
    with reading(source) as con:
        return _db_table(con, Path(source), run_id, settings, classes, lang, corpus, cv_on_fit)


def _db_table(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    run_id: int | None,
    settings: MiningSettings,
    classes: Sequence[str] | None,
    lang: str,
    corpus: Callable[[], Corpus] | None,
    cv_on_fit: bool,
) -> MiningResult:
    """The table of a DB run on the open connection ``con`` (one snapshot for table and
    verifications)."""
    run_id = latest_run_id(con) if run_id is None else run_id
    found = stored_result(con, run_id, settings) if settings.answered_from_store else None
    if found is not None:
        result = found.select(STORED_TOP, classes)
    else:
        _prefetch_sklearn()
        if corpus is not None:
            loaded = corpus()
        else:
            by, kinds = settings.label_source, word_kinds(settings.kinds or None)
            loaded = load_db_corpus(con, path, run_id, by, lang, kinds)
        result = fit_table(loaded, settings, classes, cv_on_fit)
    result = _arranged(con, run_id, result, settings).in_lang(_run_lang(con, run_id, lang))
    return attach_effects(result, *stored_effects(con, run_id, result.by))


def _run_lang(con: duckdb.DuckDBPyConnection, run_id: int, lang: str) -> str:
    """The language the run records (its table is written in it), else ``lang``."""
    from core.store.corpus import run_lang

    return run_lang(con, run_id)[1] or lang


def _arranged(
    con: duckdb.DuckDBPyConnection, run_id: int, result: MiningResult, settings: MiningSettings
) -> MiningResult:
    """:func:`arrange` with the run's word kinds and word regions (what the store has)."""
    from core.store import word_owners

    words = sorted({k.word for kws in result.classes.values() for k in kws})
    kinds = word_owners.term_kinds(con, run_id, words)

    def owners(attributes: dict[str, list[str]], objects: dict[str, list[str]]):
        return word_owners.attribute_owners(con, run_id, result.by, attributes, objects)

    hidden = sorted(hidden_kinds(settings))
    guessed = word_owners.guessed_only(con, run_id, result.by, words, hidden) if hidden else {}
    objects = _unfiltered_objects(con, run_id, settings)
    return arrange(result, settings, kinds, owners, objects, guessed)


def _unfiltered_objects(
    con: duckdb.DuckDBPyConnection, run_id: int, settings: MiningSettings
) -> dict[str, list[str]] | None:
    """With a kind filter that leaves object words out: per class the object words of the
    stored unfiltered table (ranked as it would show them), the owners its colour and
    position words are named after; None otherwise (or with no stored table)."""
    from dataclasses import replace

    from core.mining.arrange import ranked
    from core.store import word_owners

    if not settings.kinds or "object" in settings.kinds:
        return None
    unfiltered = replace(settings, kinds=(), top=STORED_TOP)
    stored = stored_result(con, run_id, unfiltered) if unfiltered.answered_from_store else None
    if stored is None:
        return None
    words = sorted({k.word for kws in stored.classes.values() for k in kws})
    kinds = word_owners.term_kinds(con, run_id, words)
    return {
        c: [k.word for k in ranked(kws, settings) if kinds.get(k.word) == "object"]
        for c, kws in stored.classes.items()
    }


def mine_source(
    source: str | Path,
    run_id: int | None = None,
    *,
    classes: Sequence[str] | None = None,
    lang: str = FILE_LANG,
    **settings: object,
) -> MiningResult:
    """:func:`keyword_table` with the settings as keywords (``top=3, min_df=4``), the rest
    :data:`~core.mining.settings.DEFAULTS`."""
    return keyword_table(
        source,
        run_id,
        MiningSettings(**settings),
        classes=classes,
        lang=lang,  # type: ignore[arg-type]
    )


def _prefetch_sklearn() -> None:
    """Import scikit-learn in a thread while the corpus loads (DuckDB releases the GIL)."""
    import contextlib
    import threading

    def load() -> None:
        with contextlib.suppress(Exception):  # the main thread's own import reports errors
            import sklearn.linear_model  # noqa: F401

    threading.Thread(target=load, name="prefetch-sklearn", daemon=True).start()
