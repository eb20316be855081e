""":func:`keyword_table`: THE keyword table of a run for some settings, with its verified words.

One function answers every reader (``wordcam mine``, the dashboard, the report, the words
``wordcam verify`` samples, the demo, the benchmarks). It decides, once, whether the table
the precompute job stored answers (:mod:`core.mining.stored`: the default settings, up to
:data:`~core.mining.settings.STORED_TOP` words, no kind filter, the run's fingerprint
unchanged) or the corpus is fit, and attaches the run's stored verifications to the words
(:mod:`core.mining.effects`). The stored path imports neither scikit-learn nor scipy.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from core.mining.corpus import Corpus, load_corpus, load_db_corpus, word_kinds
from core.mining.effects import attach_effects, stored_effects
from core.mining.files import is_corpus_file
from core.mining.result import MiningResult
from core.mining.settings import DEFAULTS, MiningSettings
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
    (``lang`` is its language; a file has no verifications). ``classes`` narrows the columns
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
        return fit_table(loaded, settings, classes, cv_on_fit)
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
        result = found.select(settings.top, classes)
    else:
        _prefetch_sklearn()
        if corpus is not None:
            loaded = corpus()
        else:
            by, kinds = settings.label_source, word_kinds(settings.kinds or None)
            loaded = load_db_corpus(con, path, run_id, by, lang, kinds)
        result = fit_table(loaded, settings, classes, cv_on_fit)
    return attach_effects(result, *stored_effects(con, run_id, result.by))


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
