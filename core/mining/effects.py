"""The verified effects of a keyword table's words: attached in this one place.

``wordcam verify`` stores, per class and word, what hiding the word's regions did to the
class probability (:mod:`core.store.effects`). :func:`attach_effects` gives every word of a
:class:`~core.mining.result.MiningResult` the stored rows of its (class, word), whatever they
are (one per test once words are tested more than one way); a word no row covers carries
:data:`NOT_TESTED`, an explicit state, never ``None``. :func:`stored_effects` reads the rows
of a run's latest verification by the table's label source.

A word is shown with the verdict of its OWN test (:func:`own_verification`, :data:`OWN_TEST`):
an object word's hiding test, a colour word's colour test, a position word's move test. A
colour or position word whose only stored row is a hiding test reads *not tested*: hiding
its region shows that the region matters, not its colour or its place (issue 21).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from core.mining.settings import label_source
from core.store.effects import NOT_TESTED as NOT_TESTED_STATE
from core.store.effects import OWN_TEST, TOO_FEW

if TYPE_CHECKING:
    import duckdb

    from core.mining.result import MiningResult


@dataclass(frozen=True)
class NotTested:
    """The verification state of a word that no stored verification covers.

    It answers what a stored row (:class:`core.store.effects.WordEffect`) answers, with
    nothing measured: no effect, no interval, no verdict, not causal.
    """

    effect: None = None
    ci_low: None = None
    ci_high: None = None
    verdict: None = None
    causal: bool = False
    test: None = None
    n: int = 0

    @property
    def state(self) -> str:
        return NOT_TESTED_STATE

    def to_dict(self) -> dict[str, Any]:
        """The keys of a stored row's ``to_dict`` that a table shows, all empty."""
        return {"effect": None, "ci_low": None, "ci_high": None, "verdict": None}


#: The state of every word without a stored verification.
NOT_TESTED = NotTested()
#: The test of a stored row that names none (rows written before tests had names).
LEGACY_TEST = "hide"


def row_test(row: Any) -> str | None:
    """The test that produced ``row`` (``hide``, ``colour``, ``move``); None for NOT_TESTED."""
    if isinstance(row, NotTested):
        return None
    return getattr(row, "test", None) or LEGACY_TEST


def state_of(row: Any) -> str:
    """One of the four states: ``causal``, ``no effect shown``, ``too few photos`` (a row
    without a verdict) or ``not tested`` (no row)."""
    if isinstance(row, NotTested):
        return NOT_TESTED_STATE
    state = getattr(row, "state", None)  # rows that know their state (issue 21's verify)
    if state:
        return str(state)
    return str(row.verdict) if row.verdict else TOO_FEW


def own_verification(kind: str | None, rows: Sequence[Any]) -> Any:
    """The row of the test ``kind`` claims, else :data:`NOT_TESTED`.

    ``kind`` is the word's kind in the run; without one, a row's own ``kind`` decides; a word
    of no known kind (a DB from before kinds) keeps its hiding row, as before tests had names.
    """
    if not rows:
        return NOT_TESTED
    kind = kind or next((getattr(r, "kind", None) for r in rows if getattr(r, "kind", None)), None)
    wanted = OWN_TEST.get(kind) if kind else LEGACY_TEST
    return next((r for r in rows if row_test(r) == wanted), NOT_TESTED)


def attach_effects(
    result: MiningResult, rows: Iterable[Any], about: dict[str, Any] | None
) -> MiningResult:
    """``result`` with each word's rows (anything with ``cls`` and ``word``, e.g. WordEffect).

    ``about`` describes the verification (fill, settings) and is kept when any row exists,
    whether or not the table's words are among them; ``None`` without rows.
    """
    found: dict[tuple[str, str], list[Any]] = {}
    for row in rows:
        found.setdefault((row.cls, row.word), []).append(row)
    classes = {
        c: [replace(k, tests=tuple(found.get((c, k.word), ()))) for k in kws]
        for c, kws in result.classes.items()
    }
    return replace(result, classes=classes, verification=about if found else None)


def stored_effects(
    con: duckdb.DuckDBPyConnection, run_id: int, by: str
) -> tuple[list[Any], dict[str, Any] | None]:
    """``(rows, about)`` of the latest verification of ``run_id`` by label source ``by``.

    ``about`` is ``{"fill", "settings"}`` of that verification; ``([], None)`` when none is
    stored (or the DB predates verification).
    """
    from core.store import effects as sql

    key = sql.latest_key(con, run_id, label_source(by))
    if key is None:
        return [], None
    try:
        settings = json.loads(key)
    except ValueError:  # settings stored as plain text: described as they are
        settings = key
    fill = settings.get("fill") if isinstance(settings, dict) else None
    about = {"fill": fill, "settings": settings}
    every_test = getattr(sql, "read_word_tests", None)  # one row per test, once tests exist
    if every_test is not None:
        return [r for rows in every_test(con, run_id, key=key).values() for r in rows], about
    return list(sql.read_effects(con, run_id, key=key).values()), about
