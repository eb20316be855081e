"""The miner's answer: :class:`Keyword` and :class:`MiningResult`, as Markdown, CSV or JSON."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from core.errors import DataError
from core.languages import DEFAULT_LANG
from core.mining.effects import NOT_TESTED, OWN_TEST, own_verification, row_test, state_of
from core.mining.fit import MIN_CLASS_DOCS
from core.mining.strings import STRINGS, text

EFFECT_KEYS = ("effect", "ci_low", "ci_high", "verdict")
#: Marks a verified word in the table cells (``wordcam verify``).
CAUSAL_MARK = "✓"


@dataclass
class Keyword:
    """A predictive word of a class: ``n`` of the ``m`` documents containing it have the class.

    ``kind`` is the word's kind in the run (object, colour, position, other, guess; None when the
    run stores none). ``attribute_of`` names the object word of the same class whose regions
    this colour or position word describes, or this object word names too (one ranked above
    it; :mod:`core.mining.arrange`): the table shows it as that object's attribute or other
    name ("赤 — region of エスプレッソ"), never as a cause of its own.
    ``rank`` is the word's place in the class's ranking (1 = best; the table lists object
    words first, so it need not be the row): :meth:`MiningResult.select` keeps ranks 1..top.
    ``lang`` is the language its :meth:`cell` is written in: its table's
    (:meth:`MiningResult.in_lang` sets both).

    ``tests``: the stored verifications of this (class, word), one per test (:mod:`core.verify`,
    attached by :func:`core.mining.effects.attach_effects`), () when none covers it.
    :attr:`verification` is the one shown: the word's OWN test's
    (:func:`~core.mining.effects.own_verification`: hiding for an object, the colour test for
    a colour word, the move test for a position word), else
    :data:`~core.mining.effects.NOT_TESTED`; ``effect`` ... ``verdict`` read it.
    """

    word: str
    n: int
    m: int
    weight: float
    tests: tuple[Any, ...] = ()
    kind: str | None = None
    attribute_of: str | None = None
    rank: int | None = None
    lang: str = DEFAULT_LANG

    @property
    def precision(self) -> float:
        return self.n / self.m if self.m else 0.0

    @property
    def precision_low(self) -> float:
        """The lower end of the 95% Wilson interval of :attr:`precision` (the table's rank)."""
        from core.mining.arrange import wilson_low

        return float(wilson_low(self.n, self.m))

    @property
    def verification(self) -> Any:
        """The stored verification of the word's own test (a ``WordEffect``), else
        ``NOT_TESTED``; never another test's (a colour word's hiding row is not its verdict)."""
        return own_verification(self.kind, self.tests)

    @property
    def test(self) -> str | None:
        """The test behind :attr:`verification` (``hide``, ``colour``, ``move``), or None."""
        return row_test(self.verification)

    @property
    def state(self) -> str:
        """causal, no effect shown, too few photos or not tested (never None)."""
        return state_of(self.verification)

    @property
    def effect(self) -> float | None:
        return self.verification.effect

    @property
    def ci_low(self) -> float | None:
        return self.verification.ci_low

    @property
    def ci_high(self) -> float | None:
        return self.verification.ci_high

    @property
    def verdict(self) -> str | None:
        return self.verification.verdict

    @property
    def verified(self) -> bool:
        return self.verdict is not None

    def cell(self, states: bool = False) -> str:
        """``word(n/m)``, ``— region of OBJECT`` for an attribute, and the word's own test's
        verdict when anything is stored for it (or always, with ``states``: a table of a
        verified run): ``hide +0.74✓``, ``colour +0.05``, ``colour: not tested``, ``move: too
        few photos``, ``not tested``; in :attr:`lang` (``赤(26/32) — エスプレッソの領域 色:
        未検証`` in Japanese)."""
        cell = f"{self.word}({self.n}/{self.m})"
        if self.attribute_of:
            cell += " — " + text("region_of", self.lang, obj=self.attribute_of)
        if not self.tests and not states:
            return cell
        own = self.test or OWN_TEST.get(self.kind or "")
        test = _said("test", own, self.lang) if own else None
        state = self.state
        if self.effect is not None and state in ("causal", "no effect shown"):
            mark = CAUSAL_MARK if state == "causal" else ""
            return f"{cell} {test} {self.effect:+.2f}{mark}"
        shown = _said("state", state, self.lang)
        return f"{cell} {test}: {shown}" if test else f"{cell} {shown}"

    def to_dict(self, effects: bool) -> dict[str, Any]:
        """``word, n, m, weight, precision_low, kind, attribute_of``; with ``effects`` also
        the own test's ``effect, ci_low, ci_high``, ``verdict`` (one of the four states),
        ``test`` and every stored test of the word under ``tests``."""
        data = {
            "word": self.word,
            "n": self.n,
            "m": self.m,
            "weight": self.weight,
            "precision_low": round(self.precision_low, 4),
            "kind": self.kind,
            "attribute_of": self.attribute_of,
            "rank": self.rank,
        }
        if not effects:
            return data
        return (
            data
            | {k: getattr(self, k) for k in EFFECT_KEYS}
            | {
                "verdict": self.state,
                "test": self.test,
                "tests": [_test_dict(r) for r in self.tests],
            }
        )


@dataclass
class MiningResult:
    """Per class the top words by logistic-regression weight, and the accuracies.

    ``skipped`` counts documents left out: failed images, empty explanations and documents
    without a label. ``dropped_classes`` had fewer than :data:`MIN_CLASS_DOCS` documents.
    ``image_accuracy`` is the run's (:func:`core.store.metrics.image_accuracy`).
    ``verification`` describes the run's latest verification (``{"fill", "settings"}``) when
    one is stored, whether or not it covers the words shown; ``None`` when there is none.
    """

    classes: dict[str, list[Keyword]]
    text_accuracy: float | None
    image_accuracy: float | None
    baseline: float | None
    documents: int
    skipped: int
    by: str = "true"
    folds: int = 0
    vocabulary: int = 0
    class_counts: dict[str, int] = field(default_factory=dict)
    dropped_classes: list[str] = field(default_factory=list)
    verification: dict[str, Any] | None = None
    ranking: dict[str, Any] | None = None
    lang: str = DEFAULT_LANG

    def in_lang(self, lang: str) -> MiningResult:
        """The same result written in ``lang`` (its words' cells and its summary; the run's
        language, set by :func:`core.mining.keyword_table`); JSON is the same in every one."""
        classes = {c: [replace(k, lang=lang) for k in kws] for c, kws in self.classes.items()}
        return replace(self, classes=classes, lang=lang)

    @property
    def has_effects(self) -> bool:
        """Whether any word carries a stored verification (of any test)."""
        return any(k.tests for kws in self.classes.values() for k in kws)

    def keyword(self, cls: str, word: str) -> Keyword | None:
        """``word`` as class ``cls``'s table shows it (kind, owner, own verdict), or None."""
        return next((k for k in self.classes.get(cls, ()) if k.word == word), None)

    def verification_of(self, cls: str, word: str) -> Any:
        """The verification of ``word`` in class ``cls`` (``NOT_TESTED`` when not in the table)."""
        keyword = self.keyword(cls, word)
        return NOT_TESTED if keyword is None else keyword.verification

    def word_rows(self, top: int | None = None) -> list[dict[str, Any]]:
        """The table as long rows, in layout order (``top``: :meth:`select` first): ``class,
        row, rank, word, n, m, precision, precision_low, weight, kind, attribute_of, test,
        verdict, effect, ci_low, ci_high, cell`` (``verdict``: one of the four states; a page
        shows these instead of rebuilding them)."""
        shown = self.select(top) if top is not None else self
        states = self.verification is not None
        return [
            {
                "class": c,
                "row": i,
                "rank": k.rank,
                "word": k.word,
                "n": k.n,
                "m": k.m,
                "precision": k.precision,
                "precision_low": k.precision_low,
                "weight": k.weight,
                "kind": k.kind,
                "attribute_of": k.attribute_of,
                "test": k.test,
                "verdict": k.state,
                "effect": k.effect,
                "ci_low": k.ci_low,
                "ci_high": k.ci_high,
                "cell": k.cell(states),
            }
            for c, kws in shown.classes.items()
            for i, k in enumerate(kws, start=1)
        ]

    def table_rows(self) -> list[dict[str, Any]]:
        """One dict per rank: ``{"rank": i, CLASS: "word(n/m)", ...}`` ("" past a class's end);
        in a verified run every word's cell names its state (:meth:`Keyword.cell`)."""
        states = self.verification is not None
        depth = max((len(v) for v in self.classes.values()), default=0)
        return [
            {
                "rank": r + 1,
                **{
                    c: (kws[r].cell(states) if r < len(kws) else "")
                    for c, kws in self.classes.items()
                },
            }
            for r in range(depth)
        ]

    def summary(self) -> str:
        """One line: text accuracy, image accuracy, baseline, documents, skipped (in
        :attr:`lang`); then how the words were ranked and what a verified word means."""
        lang = self.lang
        parts = [
            text("text_accuracy", lang, value=_fmt(self.text_accuracy, lang))
            + (text("folds", lang, folds=self.folds) if self.folds else ""),
            text("image_accuracy", lang, value=_fmt(self.image_accuracy, lang)),
            text("baseline", lang, value=_fmt(self.baseline, lang)),
            text("documents", lang, n=self.documents),
            text("skipped", lang, n=self.skipped),
        ]
        if self.dropped_classes:
            dropped = text("list_sep", lang).join(self.dropped_classes)
            parts.append(text("left_out", lang, min=MIN_CLASS_DOCS, classes=dropped))
        line = " · ".join(parts)
        if self.ranking:
            line += "\n" + ranking_line(self.ranking, lang)
        if self.has_effects:
            fill = (self.verification or {}).get("fill", "?")
            line += "\n" + text("verified", lang, fill=fill, mark=CAUSAL_MARK)
        return line

    def to_markdown(self) -> str:
        """The table (rows = rank, columns = classes, cells ``word(n/m)``) and a summary line,
        headers and summary in :attr:`lang`."""
        names = list(self.classes)
        lines = [
            f"| {md_cell(text('head.rank', self.lang))} | "
            + " | ".join(md_cell(c) for c in names)
            + " |",
            "|---:|" + "---|" * len(names),
        ]
        for row in self.table_rows():
            lines.append(f"| {row['rank']} | " + " | ".join(md_cell(row[c]) for c in names) + " |")
        return "\n".join(lines) + "\n\n" + self.summary() + "\n"

    def to_csv(self) -> str:
        """The same table as CSV (header ``rank,CLASS...``, in :attr:`lang`)."""
        from core.export import csv_text

        rows = ([row["rank"], *(row[c] for c in self.classes)] for row in self.table_rows())
        return csv_text([[text("head.rank", self.lang), *self.classes], *rows])

    def to_json(self) -> str:
        """``{"classes": {LABEL: [{"word","n","m","weight"}...]}, "text_accuracy", ...}``."""
        data = {
            "classes": {
                c: [k.to_dict(self.has_effects) for k in kws] for c, kws in self.classes.items()
            },
            "text_accuracy": self.text_accuracy,
            "image_accuracy": self.image_accuracy,
            "baseline": self.baseline,
            "documents": self.documents,
            "skipped": self.skipped,
            "by": self.by,
            "folds": self.folds,
            "vocabulary": self.vocabulary,
            "class_counts": self.class_counts,
            "dropped_classes": self.dropped_classes,
        }
        if self.ranking is not None:
            data["ranking"] = self.ranking
        if self.has_effects:
            data["verification"] = self.verification
        return json.dumps(data, ensure_ascii=False, indent=2)

    @classmethod
    def from_json(cls, text: str) -> MiningResult:
        """The result that :meth:`to_json` wrote, without verifications (a stored table holds
        none: :func:`core.mining.effects.attach_effects` adds the store's current ones)."""
        data = json.loads(text)
        data["classes"] = {
            c: [Keyword(k["word"], k["n"], k["m"], k["weight"]) for k in kws]  # as fit
            for c, kws in data["classes"].items()
        }
        data.pop("verification", None)
        data.pop("ranking", None)  # a stored table holds the candidates as fit
        return cls(**data)

    def select(self, top: int, classes: Sequence[str] | None = None) -> MiningResult:
        """The same result narrowed to ``top`` words per class and to ``classes`` (in order).

        A laid-out table (words with a :attr:`Keyword.rank`) keeps the words ranked 1..top in
        its layout order: the same table as one laid out for ``top`` (the dashboard mines
        :data:`~core.mining.settings.STORED_TOP` words and selects); else the first ``top``.
        """
        shown = resolve_classes(classes, list(self.classes) or list(self.class_counts))
        return replace(self, classes={c: _first(self.classes.get(c, []), top) for c in shown})


def _first(words: list[Keyword], top: int) -> list[Keyword]:
    """The ``top`` best-ranked of ``words``, in their order (the first ``top`` if unranked)."""
    if any(k.rank is None for k in words):
        return words[:top]
    return [k for k in words if k.rank <= top]


def ranking_line(ranking: dict[str, Any], lang: str = DEFAULT_LANG) -> str:
    """How the words were chosen and ordered, in one line (``MiningResult.ranking``), in
    ``lang``."""
    by = text("rank_precision" if ranking.get("rank") == "precision" else "rank_weight", lang)
    return text("ranking", lang, by=by, min_m=ranking.get("min_m"))


def _said(group: str, value: str, lang: str) -> str:
    """A test name or a state (``group``) in ``lang``; a value no catalogue names (a test
    added later) as it is stored."""
    key = f"{group}.{value}"
    return text(key, lang) if key in STRINGS["en"] else value


def _test_dict(row: Any) -> dict[str, Any]:
    """One stored test of a word: which test, its n, effect, interval and state."""
    keys = ("n", "effect", "ci_low", "ci_high")
    return {"test": row_test(row), **{k: getattr(row, k, None) for k in keys}} | {
        "verdict": state_of(row)
    }


def resolve_classes(names: Sequence[str] | None, available: Sequence[str]) -> list[str]:
    """``names`` without repeats (all of ``available`` when empty); DataError for unknown ones."""
    if not names:
        return list(available)
    unknown = [c for c in names if c not in available]
    if unknown:
        raise DataError(
            f"unknown class(es) {', '.join(unknown)}; the classes are {', '.join(available)}"
        )
    return list(dict.fromkeys(names))


def md_cell(text: Any) -> str:
    """A markdown table cell from untrusted text."""
    return re.sub(r"([|\\`*_\[\]<>])", r"\\\1", str(text)).replace("\n", " ")


def _fmt(x: float | None, lang: str = DEFAULT_LANG) -> str:
    return text("n_a", lang) if x is None else f"{x:.3f}"
