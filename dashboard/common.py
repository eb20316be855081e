"""Shared dashboard plumbing: which DB, the cached read-only connection, cached queries, mining.

Every cache is keyed by ``(db path, file mtime)`` so that a snapshot re-published by the
precompute job (an atomic rename, hence a new mtime) is picked up on the next interaction.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from core.errors import WordcamError
from core.store import queries, work_path
from dashboard.text import escape_markdown

DB_ENV = "WORDCAM_DB"
MINE_TOP = 50  # keywords mined per class; the top-K setting slices this list
CV_FOLDS = 5
MAX_MIN_DF = 1000  # the largest minimum document frequency the Keywords page offers
PAGES = {
    "overview": "views/overview.py",
    "keywords": "views/keywords.py",
    "compare": "views/compare.py",
    "photos": "views/photos.py",
    "precompute": "views/precompute.py",
    "export": "views/export.py",
}


# ---------------------------------------------------------------- which DB


def _db_from_argv(argv: list[str]) -> str | None:
    """``--db`` after ``streamlit run dashboard/app.py --`` (ignored under other programs)."""
    if not argv or not argv[0].endswith("app.py"):
        return None
    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    parser.add_argument("--db")
    known, _ = parser.parse_known_args(argv[1:])
    return known.db


def db_path() -> Path:
    """The DB this session reads: ``--db`` argument, else ``$WORDCAM_DB``, else the default."""
    if "wordcam_db" not in st.session_state:
        from core.store import DEFAULT_DB

        chosen = _db_from_argv(sys.argv) or os.environ.get(DB_ENV) or str(DEFAULT_DB)
        st.session_state["wordcam_db"] = str(Path(chosen).expanduser().resolve())
    return Path(st.session_state["wordcam_db"])


@dataclass(frozen=True)
class Ctx:
    """What a data page needs: the DB, its snapshot version, the chosen run and its info."""

    db: str
    mtime: int
    run_id: int
    info: dict[str, Any]

    @property
    def key(self) -> tuple[str, int, int]:
        return self.db, self.mtime, self.run_id


_CONNECTIONS: dict[str, tuple[int, Any]] = {}
_CONNECTIONS_LOCK = threading.Lock()


def cursor(db: str, mtime: int):
    """A thread-private cursor on the current snapshot (one shared connection per snapshot).

    When the DB is re-published (new mtime) the old connection is closed and the new file
    attached, so every session sees the new results on its next interaction.
    """
    with _CONNECTIONS_LOCK:
        held = _CONNECTIONS.get(db)
        if held is None or held[0] != mtime:
            if held is not None:
                held[1].close()
            _CONNECTIONS[db] = (mtime, queries.open_snapshot(db))
        return queries.snapshot_cursor(_CONNECTIONS[db][1])


def missing_db_message(db: Path, reason: str | None = None) -> None:
    """A friendly explanation of how to create the DB, instead of a traceback."""
    st.info(
        "No wordcam results to show yet."
        + (f" ({escape_markdown(reason)})" if reason else "")
        + "\n\nCreate them with the Precompute page, or from a shell:"
    )
    st.code(f"wordcam precompute DATA_DIR --db {db}\nwordcam dashboard --db {db}", language="bash")
    st.page_link(
        PAGES["precompute"], label="Open the Precompute page", icon=":material/play_arrow:"
    )


def load_ctx(stop: bool = True) -> Ctx | None:
    """The current DB snapshot and run, or a friendly message (and ``st.stop()``) when absent."""
    db = db_path()
    version = queries.db_version(db)
    reason = None
    if version is not None:
        try:
            runs = q_runs(*version)
            if runs.empty:
                reason = "the database holds no runs yet"
            else:
                run_ids = [int(r) for r in runs["run_id"]]
                chosen = st.session_state.get("run_id")
                run_id = chosen if chosen in run_ids else run_ids[0]
                return Ctx(version[0], version[1], run_id, q_run_info(*version, run_id))
        except WordcamError as exc:
            reason = str(exc)
        except Exception as exc:  # a corrupt or foreign file: say so, do not crash the page
            reason = f"cannot read {db}: {type(exc).__name__}: {exc}"
    if version is None and work_path(db).exists():
        reason = "a precompute job is writing it; its first snapshot is not published yet"
    if stop:
        missing_db_message(db, reason)
        st.stop()
    return None


# ---------------------------------------------------------------- cached queries
# Query results are cached with ``cache_resource`` (shared, not copied): unpickling a cached
# DataFrame costs ~10 ms per Arrow-backed column on every rerun. Never mutate them in place.


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
def q_count_photos(db: str, mtime: int, run_id: int, f: queries.PhotoFilter) -> int:
    with cursor(db, mtime) as con:
        return queries.count_photos(con, run_id, f)


@st.cache_resource(max_entries=128, show_spinner=False)
def q_photos(
    db: str, mtime: int, run_id: int, f: queries.PhotoFilter, limit: int, offset: int
) -> pd.DataFrame:
    with cursor(db, mtime) as con:
        return queries.photos(con, run_id, f, limit, offset)


# ---------------------------------------------------------------- mining (core.mining)


def mining_error() -> str | None:
    """Why keyword mining is unavailable (``core.mining`` missing), or ``None``."""
    try:
        import core.mining  # noqa: F401
    except ImportError as exc:
        return f"keyword mining is unavailable: {exc}"
    return None


class _Memo:
    """A thread-safe memo of futures: each key is computed once, inline or in the background.

    Unlike ``st.cache_resource`` it can be filled from the background thread (prefetching) and
    waited on from the script thread. Holds at most ``size`` keys (oldest evicted); a failed
    computation is forgotten so that the next call retries.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self.lock = threading.Lock()
        self.items: OrderedDict[tuple, Future] = OrderedDict()

    def get(self, key: tuple, compute: Callable[[], Any], background: bool = False) -> Future:
        with self.lock:
            future = self.items.get(key)
            owner = future is None
            if owner:
                future = self.items[key] = Future()
                while len(self.items) > self.size:
                    self.items.popitem(last=False)
            else:
                self.items.move_to_end(key)
        if owner:
            if background:
                _SUBMITTED.append(_background().submit(self._run, key, future, compute))
            else:
                self._run(key, future, compute)
        return future

    def ready(self, key: tuple) -> bool:
        future = self.items.get(key)
        return future is not None and future.done()

    def _run(self, key: tuple, future: Future, compute: Callable[[], Any]) -> None:
        try:
            future.set_result(compute())
        except BaseException as exc:  # noqa: BLE001 - handed to whoever waits on the future
            with self.lock:
                if self.items.get(key) is future:
                    del self.items[key]
            future.set_exception(exc)


_CORPORA = _Memo(6)
_MINED = _Memo(24)
_CV = _Memo(24)
_SUBMITTED: list[Future] = []


@st.cache_resource(show_spinner=False)
def _background() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="wordcam-bg")


def background_busy() -> bool:
    """Whether a background computation (prefetch, cross-validation) is running or queued."""
    _SUBMITTED[:] = [f for f in _SUBMITTED if not f.done()]
    return bool(_SUBMITTED)


def corpus(db: str, mtime: int, run_id: int, by: str, lang: str):
    """The miner's corpus of a run (tokens + labels), loaded once per snapshot (any thread)."""

    def load():
        from core.mining import load_corpus

        return load_corpus(db, run_id=run_id, by=by, lang=lang)

    return _CORPORA.get((db, mtime, run_id, by, lang), load).result()


def _mining_future(
    key: tuple[str, int, int, str, str, int, tuple[str, ...]], background: bool = False
) -> Future:
    db, mtime, run_id, by, lang, min_df, stopwords = key

    def fit():
        from core.mining import mine

        found = _stored(db, mtime, run_id, by, min_df, stopwords)
        if found is not None:
            return found.select(MINE_TOP)
        return mine(
            corpus(db, mtime, run_id, by, lang),
            top=MINE_TOP,
            min_df=min_df,
            stopwords=stopwords,
            cv=0,
        )

    return _MINED.get(key, fit, background=background)


def _stored(db: str, mtime: int, run_id: int, by: str, min_df: int, stopwords: tuple[str, ...]):
    """The keyword table the precompute job stored for these settings, or ``None``."""
    from core.mining import stored_result

    with cursor(db, mtime) as con:
        return stored_result(con, run_id, by, min_df, stopwords, cv=CV_FOLDS, seed=0)


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
    with st.spinner("Mining keywords…"):
        return _mining_future(key).result()


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
        _mining_future((*ctx.key, by, _lang(ctx), min_df, settings.stopwords), background=True)


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


@st.cache_resource(max_entries=24, show_spinner="Contrasting…")
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
            return _miner_examples(*ctx.key, by, _lang(ctx), word, ward, limit)
        except WordcamError:
            pass  # e.g. a ward the miner left out: fall back to SQL
    frame = q_word_examples(*ctx.key, word, ward, by, limit)
    return list(zip(frame["label"], frame["text"], strict=True))


@dataclass(frozen=True)
class MiningSettings:
    """The Keywords page settings (shared with Export and Overview through session state)."""

    top: int = 10
    min_df: int = 2
    by: str = "true"
    stopwords: tuple[str, ...] = ()


def mining_settings() -> MiningSettings:
    """The current settings from session state (defaults until the Keywords page sets them)."""
    s = st.session_state
    words = tuple(
        sorted(
            {
                w
                for w in str(s.get("kw_stopwords", "")).replace("、", " ").replace(",", " ").split()
                if w
            }
        )
    )
    return MiningSettings(
        top=int(s.get("kw_top", 10)),
        min_df=int(s.get("kw_min_df", 2)),
        by=str(s.get("kw_by", "true")),
        stopwords=words,
    )


def mined(ctx: Ctx, settings: MiningSettings):
    """The mining result for ``ctx`` under ``settings`` (cached; ``text_accuracy`` is None)."""
    return mining(*ctx.key, settings.by, _lang(ctx), settings.min_df, settings.stopwords)


def _lang(ctx: Ctx) -> str:
    return str(ctx.info.get("lang") or "ja")


def text_accuracy(ctx: Ctx, settings: MiningSettings, wait: float = 0.0) -> tuple[bool, Any]:
    """``(ready, value)`` of the cross-validated accuracy; ``value`` is an error text on failure."""
    try:
        future = text_accuracy_future(
            *ctx.key, settings.by, _lang(ctx), settings.min_df, settings.stopwords
        )
        return True, future.result(timeout=wait)
    except FutureTimeout:
        return False, None
    except Exception as exc:  # the miner refused (e.g. a single class): show why
        return True, describe(exc)


def accuracy_metric(slot, ctx: Ctx, settings: MiningSettings, label: str) -> None:
    """A metric of the cross-validated accuracy that fills itself in when the job finishes."""

    ready, _ = text_accuracy(ctx, settings)

    @st.fragment(run_every=None if ready else 1.0)
    def _show() -> None:
        done, value = text_accuracy(ctx, settings)
        if not done:
            st.metric(label, "computing…", help="cross-validation runs in the background")
        elif isinstance(value, str):
            st.metric(label, "—", help=escape_markdown(value))
        else:
            st.metric(
                label,
                fmt_pct(value),
                help=f"{CV_FOLDS}-fold cross-validated logistic regression words → label",
            )

    with slot:
        _show()


def keywords_frame(result, top: int, classes: list[str] | None = None) -> pd.DataFrame:
    """Long table of mined keywords: ``ward, rank, word, n, m, precision, weight``."""
    rows = []
    for ward, keywords in result.classes.items():
        if classes is not None and ward not in classes:
            continue
        for rank, kw in enumerate(keywords[:top], start=1):
            rows.append(
                (
                    ward,
                    rank,
                    kw.word,
                    int(kw.n),
                    int(kw.m),
                    kw.n / kw.m if kw.m else 0.0,
                    float(kw.weight),
                )
            )
    return pd.DataFrame(rows, columns=["ward", "rank", "word", "n", "m", "precision", "weight"])


def keywords_table(result, top: int, classes: list[str] | None = None) -> pd.DataFrame:
    """The table as ``wordcam mine`` prints it: rank x ward, cells ``word(n/m)``."""
    rows = result.table_rows()[:top]
    wards = list(result.classes) if classes is None else [w for w in classes if w in result.classes]
    frame = pd.DataFrame(rows, columns=["rank", *wards])
    return frame.set_index("rank")


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


# ---------------------------------------------------------------- misc


def to_csv_bytes(frame: pd.DataFrame, index: bool = False) -> bytes:
    """CSV as UTF-8 with a BOM, so that Excel shows Japanese correctly."""
    return frame.to_csv(index=index).encode("utf-8-sig")


def go_to_photos(word: str | None = None, wards: list[str] | None = None, by: str = "true") -> None:
    """Open the Photos page filtered by ``word`` (and ``wards``), via session state + URL."""
    st.session_state["photos_request"] = {"word": word or "", "wards": list(wards or []), "by": by}
    params: dict[str, Any] = {}
    if word:
        params["word"] = word
    if wards:
        params["ward"] = list(wards)
    st.switch_page(PAGES["photos"], query_params=params or None)


def describe(exc: BaseException) -> str:
    """A one-line message for an exception: a user-level error as is, others with their type."""
    return str(exc) if isinstance(exc, WordcamError) else f"{type(exc).__name__}: {exc}"


def fmt_pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def snapshot_time(mtime_ns: int) -> str:
    """A snapshot's publication time, local, to the second."""
    from datetime import datetime

    return datetime.fromtimestamp(mtime_ns / 1e9).strftime("%Y-%m-%d %H:%M:%S")


def ward_by_radio(slot, key: str) -> str:
    """A sticky "Ward by" radio (``"true"`` or ``"pred"``) in ``slot``, stored under ``key``."""
    by = slot.radio(
        "Ward by",
        ["true", "pred"],
        horizontal=True,
        key=sticky(key, "true"),
        format_func={"true": "true label", "pred": "predicted"}.get,
    )
    keep(key)
    return by


def sticky(key: str, default: Any) -> str:
    """The widget key for a setting that survives page switches.

    Streamlit drops a widget's state when a page without it runs; the value is kept under
    ``key`` and the widget (key ``w_<key>``) is re-seeded from it. Call :func:`keep` after the
    widget to store its new value.
    """
    widget_key = f"w_{key}"
    if widget_key not in st.session_state:
        st.session_state[widget_key] = st.session_state.get(key, default)
    return widget_key


def keep(key: str) -> Any:
    """Store the value of the widget made with :func:`sticky` under ``key``; return it."""
    st.session_state[key] = st.session_state[f"w_{key}"]
    return st.session_state[key]
