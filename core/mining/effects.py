"""The verified effects of a keyword table's words: attached in this one place.

``wordcam verify`` stores, per class and word, what hiding the word's regions did to the
class probability (:mod:`core.store.effects`). :func:`attach_effects` gives every word of a
:class:`~core.mining.result.MiningResult` the stored rows of its (class, word), whatever they
are (one per test once words are tested more than one way); a word no row covers carries
:data:`NOT_TESTED`, an explicit state, never ``None``. :func:`stored_effects` reads the rows
of a run's latest verification by the table's label source.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from core.mining.settings import label_source

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

    def to_dict(self) -> dict[str, Any]:
        """The keys of a stored row's ``to_dict`` that a table shows, all empty."""
        return {"effect": None, "ci_low": None, "ci_high": None, "verdict": None}


#: The state of every word without a stored verification.
NOT_TESTED = NotTested()


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
    from core.store.effects import latest_key, read_effects

    key = latest_key(con, run_id, label_source(by))
    if key is None:
        return [], None
    try:
        settings = json.loads(key)
    except ValueError:  # settings stored as plain text: described as they are
        settings = key
    fill = settings.get("fill") if isinstance(settings, dict) else None
    return list(read_effects(con, run_id, key=key).values()), {"fill": fill, "settings": settings}
