"""The SQL of verified words: ``word_effects`` and ``word_effect_photos`` (migration 4).

Light on purpose (DuckDB only, no torch, no scikit-learn): ``wordcam mine`` and the dashboard
read effects through :func:`read_effects` and :func:`read_photo_effects`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core.store.schema import has_table

if TYPE_CHECKING:
    import duckdb


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

    @property
    def causal(self) -> bool:
        return self.verdict == "causal"

    def to_dict(self) -> dict[str, Any]:
        """The JSON of ``wordcam verify``'s ``words`` entries (and a few more keys)."""
        return {
            "class": self.cls,
            "word": self.word,
            "n": self.n,
            "effect": _round(self.effect),
            "ci_low": _round(self.ci_low),
            "ci_high": _round(self.ci_high),
            "verdict": self.verdict,
            "p_value": _round(self.p_value),
            "q_value": _round(self.q_value),
            "fallbacks": self.fallbacks,
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
    p_before: float
    p_hidden: float
    p_control: float
    hidden_share: float
    control_kind: str
    control_overlap: float
    fallback: bool
    hidden_path: str | None = None
    control_path: str | None = None


_EFFECT_COLUMNS = (
    "class, word, n, effect, ci_low, ci_high, p_value, q_value, verdict, fill, control,"
    ' fallbacks, unlocalized, "by"'
)
_PHOTO_COLUMNS = (
    "class, word, image_id, regions, localized, p_before, p_hidden, p_control, hidden_share,"
    " control_kind, control_overlap, fallback, hidden_path, control_path"
)


def _round(x: float | None, digits: int = 4) -> float | None:
    return None if x is None else round(float(x), digits)


def has_effects(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the DB has the tables (older DBs are read as they are)."""
    return has_table(con, "word_effects")


def done_photos(con: duckdb.DuckDBPyConnection, run_id: int, key: str) -> set[tuple[str, str, int]]:
    """``(class, word, image_id)`` already measured with settings ``key`` (for resuming)."""
    rows = con.execute(
        "SELECT class, word, image_id FROM word_effect_photos WHERE run_id = ? AND settings = ?",
        [run_id, key],
    ).fetchall()
    return {(c, w, int(i)) for c, w, i in rows}


def done_words(con: duckdb.DuckDBPyConnection, run_id: int, key: str) -> set[tuple[str, str]]:
    """``(class, word)`` whose effect is stored for settings ``key``."""
    rows = con.execute(
        "SELECT class, word FROM word_effects WHERE run_id = ? AND settings = ?", [run_id, key]
    ).fetchall()
    return {(c, w) for c, w in rows}


def write_photos(
    con: duckdb.DuckDBPyConnection, run_id: int, key: str, rows: Sequence[PhotoEffect]
) -> None:
    """Insert (or replace) photo rows in one transaction."""
    if not rows:
        return
    con.executemany(
        f"INSERT OR REPLACE INTO word_effect_photos (run_id, settings, {_PHOTO_COLUMNS}) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
            ]
            for r in rows
        ],
    )


def photo_rows(
    con: duckdb.DuckDBPyConnection, run_id: int, key: str, cls: str, word: str
) -> list[PhotoEffect]:
    """The measured photos of one (class, word), by image id."""
    rows = con.execute(
        f"SELECT {_PHOTO_COLUMNS} FROM word_effect_photos WHERE run_id = ? AND settings = ?"
        " AND class = ? AND word = ? ORDER BY image_id",
        [run_id, key, cls, word],
    ).fetchall()
    return [PhotoEffect(*r[:3], list(r[3]), *r[4:]) for r in rows]


def write_effect(con: duckdb.DuckDBPyConnection, run_id: int, key: str, e: WordEffect) -> None:
    """Insert (or replace) one word's effect (its q-value and verdict are set by :func:`adjust`)."""
    con.execute(
        f"INSERT OR REPLACE INTO word_effects (run_id, settings, {_EFFECT_COLUMNS}) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
        ],
    )


def set_means(
    con: duckdb.DuckDBPyConnection, run_id: int, key: str, cls: str, word: str, means: Iterable
) -> None:
    """The mean probabilities before, hidden and control of one word's photos."""
    con.execute(
        "UPDATE word_effects SET mean_before = ?, mean_hidden = ?, mean_control = ?"
        " WHERE run_id = ? AND settings = ? AND class = ? AND word = ?",
        [*means, run_id, key, cls, word],
    )


def effects_of(con: duckdb.DuckDBPyConnection, run_id: int, key: str) -> list[WordEffect]:
    """Every word verified on ``run_id`` with settings ``key``, by class and word."""
    rows = con.execute(
        f"SELECT {_EFFECT_COLUMNS} FROM word_effects WHERE run_id = ? AND settings = ?"
        " ORDER BY class, word",
        [run_id, key],
    ).fetchall()
    return [WordEffect(*r) for r in rows]


def set_verdicts(
    con: duckdb.DuckDBPyConnection, run_id: int, key: str, verdicts: Iterable[tuple]
) -> None:
    """Store ``(class, word, q_value, verdict)`` for settings ``key``."""
    con.executemany(
        "UPDATE word_effects SET q_value = ?, verdict = ?"
        " WHERE run_id = ? AND settings = ? AND class = ? AND word = ?",
        [[q, v, run_id, key, c, w] for c, w, q, v in verdicts],
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


def read_effects(
    con: duckdb.DuckDBPyConnection, run_id: int, by: str | None = None, key: str | None = None
) -> dict[tuple[str, str], WordEffect]:
    """``{(class, word): effect}`` of the latest verification (or settings ``key``); {} if none."""
    key = key or latest_key(con, run_id, by)
    if key is None:
        return {}
    return {(e.cls, e.word): e for e in effects_of(con, run_id, key)}


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
        " AND image_id = ? ORDER BY class, word",
        [run_id, key, image_id],
    ).fetchall()
    return [PhotoEffect(*r[:3], list(r[3]), *r[4:]) for r in rows]
