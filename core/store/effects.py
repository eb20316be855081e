"""The SQL of verified words: ``word_effects`` and ``word_effect_photos`` (migrations 4, 5).

One entry per (class, word, test): ``hide`` (the word's regions hidden), ``colour`` (their
colour taken away, luminance kept) or ``move`` (their content moved elsewhere); see
``docs/verify.md``. Light on purpose (DuckDB only, no torch, no scikit-learn): ``wordcam
mine`` and the dashboard read effects through :func:`read_effects` (each word's *own* test:
the one its kind claims), :func:`read_word_tests` (every test) and :func:`read_photo_effects`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core.store.schema import has_table

if TYPE_CHECKING:
    import duckdb

CAUSAL = "causal"
NO_EFFECT = "no effect shown"
TOO_FEW = "too few photos"
NOT_TESTED = "not tested"
#: The four states of every word-test, in every output (never None).
VERDICTS = (CAUSAL, NO_EFFECT, TOO_FEW, NOT_TESTED)
#: The tests, and the test whose claim is the word's own, by kind (``docs/verify.md``).
TESTS = ("hide", "colour", "move")
OWN_TEST = {"object": "hide", "colour": "colour", "position": "move", "guess": "hide"}


@dataclass(frozen=True)
class WordEffect:
    """A word's stored verification for one class (see ``docs/schema.md``, word_effects)."""

    cls: str
    word: str
    n: int
    effect: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float
    q_value: float | None
    verdict: str | None
    fill: str
    control: str
    fallbacks: int = 0
    unlocalized: int = 0
    by: str = "true"
    test: str = "hide"
    kind: str | None = None
    skipped: int = 0
    family: str | None = None
    family_size: int = 0

    @property
    def causal(self) -> bool:
        return self.verdict == CAUSAL

    @property
    def state(self) -> str:
        """The verdict, one of :data:`VERDICTS` (a word-test without one is not tested)."""
        return self.verdict if self.verdict in VERDICTS else NOT_TESTED

    def to_dict(self) -> dict[str, Any]:
        """The JSON of ``wordcam verify``'s ``words`` entries (and a few more keys)."""
        return {
            "class": self.cls,
            "word": self.word,
            "kind": self.kind or "other",
            "test": self.test,
            "n": self.n,
            "effect": _round(self.effect),
            "ci_low": _round(self.ci_low),
            "ci_high": _round(self.ci_high),
            "p_value": _round(self.p_value) if self.state in (CAUSAL, NO_EFFECT) else None,
            "q_value": _round(self.q_value),
            "verdict": self.state,
            "skipped": self.skipped,
            "family_size": self.family_size,
            "unlocalized": self.unlocalized,
        }


@dataclass(frozen=True)
class PhotoEffect:
    """One photo's probabilities for one word (a ``word_effect_photos`` row)."""

    cls: str
    word: str
    image_id: int
    regions: list[int]
    localized: bool
    p_before: float | None
    p_hidden: float | None
    p_control: float | None
    hidden_share: float | None
    control_kind: str | None
    control_overlap: float | None
    fallback: bool = False
    hidden_path: str | None = None
    control_path: str | None = None
    test: str = "hide"
    skipped: str | None = None


_EFFECT_COLUMNS = (
    "class, word, n, effect, ci_low, ci_high, p_value, q_value, verdict, fill, control,"
    ' fallbacks, unlocalized, "by", test, kind, skipped, family, family_size'
)
_PHOTO_COLUMNS = (
    "class, word, image_id, regions, localized, p_before, p_hidden, p_control, hidden_share,"
    " control_kind, control_overlap, fallback, hidden_path, control_path, test, skipped"
)


def _round(x: float | None, digits: int = 4) -> float | None:
    return None if x is None else round(float(x), digits)


def has_effects(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the DB has the tables (older DBs are read as they are)."""
    return has_table(con, "word_effects")


def done_photos(
    con: duckdb.DuckDBPyConnection, run_id: int, key: str
) -> set[tuple[str, str, str, int]]:
    """``(class, word, test, image_id)`` measured (or skipped) with settings ``key``."""
    rows = con.execute(
        "SELECT class, word, test, image_id FROM word_effect_photos"
        " WHERE run_id = ? AND settings = ?",
        [run_id, key],
    ).fetchall()
    return {(c, w, t, int(i)) for c, w, t, i in rows}


def done_words(
    con: duckdb.DuckDBPyConnection, run_id: int, key: str
) -> dict[tuple[str, str, str], bool]:
    """``{(class, word, test): has a verdict}`` of the effects stored for settings ``key``."""
    rows = con.execute(
        "SELECT class, word, test, verdict IS NOT NULL FROM word_effects"
        " WHERE run_id = ? AND settings = ?",
        [run_id, key],
    ).fetchall()
    return {(c, w, t): bool(v) for c, w, t, v in rows}


def write_photos(
    con: duckdb.DuckDBPyConnection, run_id: int, key: str, rows: Sequence[PhotoEffect]
) -> None:
    """Insert (or replace) photo rows in one transaction."""
    if not rows:
        return
    con.executemany(
        f"INSERT OR REPLACE INTO word_effect_photos (run_id, settings, {_PHOTO_COLUMNS}) "
        f"VALUES ({', '.join(['?'] * 18)})",
        [
            [
                run_id,
                key,
                r.cls,
                r.word,
                r.image_id,
                list(r.regions),
                r.localized,
                r.p_before,
                r.p_hidden,
                r.p_control,
                r.hidden_share,
                r.control_kind,
                r.control_overlap,
                r.fallback,
                r.hidden_path,
                r.control_path,
                r.test,
                r.skipped,
            ]
            for r in rows
        ],
    )


def photo_rows(
    con: duckdb.DuckDBPyConnection, run_id: int, key: str, cls: str, word: str, test: str = "hide"
) -> list[PhotoEffect]:
    """The measured (and skipped) photos of one (class, word, test), by image id."""
    rows = con.execute(
        f"SELECT {_PHOTO_COLUMNS} FROM word_effect_photos WHERE run_id = ? AND settings = ?"
        " AND class = ? AND word = ? AND test = ? ORDER BY image_id",
        [run_id, key, cls, word, test],
    ).fetchall()
    return [PhotoEffect(*r[:3], list(r[3]), *r[4:]) for r in rows]


def write_effect(con: duckdb.DuckDBPyConnection, run_id: int, key: str, e: WordEffect) -> None:
    """Insert (or replace) one word's effect (its q-value and verdict are set by :func:`adjust`)."""
    con.execute(
        f"INSERT OR REPLACE INTO word_effects (run_id, settings, {_EFFECT_COLUMNS}) "
        f"VALUES ({', '.join(['?'] * 21)})",
        [
            run_id,
            key,
            e.cls,
            e.word,
            e.n,
            e.effect,
            e.ci_low,
            e.ci_high,
            e.p_value,
            e.q_value,
            e.verdict,
            e.fill,
            e.control,
            e.fallbacks,
            e.unlocalized,
            e.by,
            e.test,
            e.kind,
            e.skipped,
            e.family,
            e.family_size,
        ],
    )


def set_means(
    con: duckdb.DuckDBPyConnection,
    run_id: int,
    key: str,
    cls: str,
    word: str,
    means: Iterable,
    test: str = "hide",
) -> None:
    """The mean probabilities before, changed and control of one word-test's photos."""
    con.execute(
        "UPDATE word_effects SET mean_before = ?, mean_hidden = ?, mean_control = ?"
        " WHERE run_id = ? AND settings = ? AND class = ? AND word = ? AND test = ?",
        [*means, run_id, key, cls, word, test],
    )


def effects_of(con: duckdb.DuckDBPyConnection, run_id: int, key: str) -> list[WordEffect]:
    """Every word verified on ``run_id`` with settings ``key``, by class and word."""
    rows = con.execute(
        f"SELECT {_EFFECT_COLUMNS} FROM word_effects WHERE run_id = ? AND settings = ?"
        " ORDER BY class, word, test",
        [run_id, key],
    ).fetchall()
    return [WordEffect(*r) for r in rows]


def set_verdicts(
    con: duckdb.DuckDBPyConnection,
    run_id: int,
    key: str,
    verdicts: Iterable[tuple],
    family: str | None = None,
    family_size: int = 0,
) -> None:
    """Store ``(class, word, test, q_value, verdict)`` for settings ``key``, in ``family``."""
    con.executemany(
        "UPDATE word_effects SET q_value = ?, verdict = ?, family = ?, family_size = ?"
        " WHERE run_id = ? AND settings = ? AND class = ? AND word = ? AND test = ?",
        [[q, v, family, family_size, run_id, key, c, w, t] for c, w, t, q, v in verdicts],
    )


def latest_key(con: duckdb.DuckDBPyConnection, run_id: int, by: str | None = None) -> str | None:
    """The settings of the latest verification of ``run_id`` (by that label source)."""
    if not has_effects(con):
        return None
    row = con.execute(
        'SELECT settings FROM word_effects WHERE run_id = ? AND (? IS NULL OR "by" = ?)'
        " ORDER BY created_at DESC, settings LIMIT 1",
        [run_id, by, by],
    ).fetchone()
    return row[0] if row else None


def read_word_tests(
    con: duckdb.DuckDBPyConnection, run_id: int, by: str | None = None, key: str | None = None
) -> dict[tuple[str, str], list[WordEffect]]:
    """``{(class, word): [effect per test]}`` of the latest verification (or ``key``)."""
    key = key or latest_key(con, run_id, by)
    if key is None:
        return {}
    out: dict[tuple[str, str], list[WordEffect]] = {}
    for e in effects_of(con, run_id, key):
        out.setdefault((e.cls, e.word), []).append(e)
    return out


def own_test(effects: Sequence[WordEffect]) -> WordEffect:
    """The entry of the test the word's kind claims (``OWN_TEST``); else the first."""
    for e in effects:
        if OWN_TEST.get(e.kind or "") == e.test:
            return e
    return effects[0]


def read_effects(
    con: duckdb.DuckDBPyConnection, run_id: int, by: str | None = None, key: str | None = None
) -> dict[tuple[str, str], WordEffect]:
    """``{(class, word): effect}`` of the latest verification (or settings ``key``); {} if none.

    One entry per word: its own test (``hide`` for objects, ``colour`` for colour words,
    ``move`` for position words; a word of another kind is ``not tested``), so that no colour
    or position word is shown with the region's verdict. :func:`read_word_tests` has them all.
    """
    return {k: own_test(v) for k, v in read_word_tests(con, run_id, by, key).items()}


def read_photo_effects(
    con: duckdb.DuckDBPyConnection,
    run_id: int,
    image_id: int,
    by: str | None = None,
    key: str | None = None,
) -> list[PhotoEffect]:
    """The words verified on one photo (latest verification), by class and word."""
    key = key or latest_key(con, run_id, by)
    if key is None:
        return []
    rows = con.execute(
        f"SELECT {_PHOTO_COLUMNS} FROM word_effect_photos WHERE run_id = ? AND settings = ?"
        " AND image_id = ? ORDER BY class, word, test",
        [run_id, key, image_id],
    ).fetchall()
    return [PhotoEffect(*r[:3], list(r[3]), *r[4:]) for r in rows]
