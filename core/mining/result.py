"""The miner's answer: :class:`Keyword` and :class:`MiningResult`, as Markdown, CSV or JSON."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from core.errors import DataError
from core.mining.effects import NOT_TESTED
from core.mining.fit import MIN_CLASS_DOCS

EFFECT_KEYS = ("effect", "ci_low", "ci_high", "verdict")
#: Marks a verified word in the table cells (``wordcam verify``).
CAUSAL_MARK = "✓"


@dataclass
class Keyword:
    """A predictive word of a class: ``n`` of the ``m`` documents containing it have the class.

    ``tests``: the stored verifications of this (class, word) (:mod:`core.verify`, attached by
    :func:`core.mining.effects.attach_effects`), () when none covers it. :attr:`verification`
    is the one shown, :data:`~core.mining.effects.NOT_TESTED` for a word not tested, and
    ``effect`` ... ``verdict`` read it: the mean drop of the class probability with the word's
    regions hidden minus a same-area control, its 95% interval and the verdict.
    """

    word: str
    n: int
    m: int
    weight: float
    tests: tuple[Any, ...] = ()

    @property
    def precision(self) -> float:
        return self.n / self.m if self.m else 0.0

    @property
    def verification(self) -> Any:
        """The word's stored verification (a ``WordEffect``), else ``NOT_TESTED``."""
        return self.tests[0] if self.tests else NOT_TESTED

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

    def cell(self) -> str:
        text = f"{self.word}({self.n}/{self.m})"
        if self.verdict is None or self.effect is None:
            return text
        return f"{text} {self.effect:+.2f}" + (CAUSAL_MARK if self.verdict == "causal" else "")

    def to_dict(self, effects: bool) -> dict[str, Any]:
        data = {"word": self.word, "n": self.n, "m": self.m, "weight": self.weight}
        return data | {k: getattr(self, k) for k in EFFECT_KEYS} if effects else data


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

    @property
    def has_effects(self) -> bool:
        """Whether any word carries a stored verification."""
        return any(k.verified for kws in self.classes.values() for k in kws)

    def verification_of(self, cls: str, word: str) -> Any:
        """The verification of ``word`` in class ``cls`` (``NOT_TESTED`` when not in the table)."""
        for keyword in self.classes.get(cls, ()):
            if keyword.word == word:
                return keyword.verification
        return NOT_TESTED

    def table_rows(self) -> list[dict[str, Any]]:
        """One dict per rank: ``{"rank": i, CLASS: "word(n/m)", ...}`` ("" past a class's end)."""
        depth = max((len(v) for v in self.classes.values()), default=0)
        return [
            {
                "rank": r + 1,
                **{c: (kws[r].cell() if r < len(kws) else "") for c, kws in self.classes.items()},
            }
            for r in range(depth)
        ]

    def summary(self) -> str:
        """One line: text accuracy, image accuracy, baseline, documents, skipped."""
        parts = [
            f"text accuracy {_fmt(self.text_accuracy)}"
            + (f" ({self.folds}-fold CV)" if self.folds else ""),
            f"image accuracy {_fmt(self.image_accuracy)}",
            f"baseline {_fmt(self.baseline)}",
            f"documents {self.documents}",
            f"skipped {self.skipped}",
        ]
        if self.dropped_classes:
            parts.append(
                f"left out (< {MIN_CLASS_DOCS} documents): " + ", ".join(self.dropped_classes)
            )
        line = " · ".join(parts)
        if self.has_effects:
            v = self.verification or {}
            line += (
                f"\nverified words: effect = drop of the class probability with the word's "
                f"regions hidden minus a same-area control ({v.get('fill', '?')} fill); "
                f"{CAUSAL_MARK} causal (95% interval above zero after Benjamini-Hochberg)"
            )
        return line

    def to_markdown(self) -> str:
        """The table (rows = rank, columns = classes, cells ``word(n/m)``) and a summary line."""
        names = list(self.classes)
        lines = [
            "| rank | " + " | ".join(md_cell(c) for c in names) + " |",
            "|---:|" + "---|" * len(names),
        ]
        for row in self.table_rows():
            lines.append(f"| {row['rank']} | " + " | ".join(md_cell(row[c]) for c in names) + " |")
        return "\n".join(lines) + "\n\n" + self.summary() + "\n"

    def to_csv(self) -> str:
        """The same table as CSV (header ``rank,CLASS...``)."""
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(["rank", *self.classes])
        for row in self.table_rows():
            writer.writerow([row["rank"], *(row[c] for c in self.classes)])
        return buf.getvalue()

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
        if self.has_effects:
            data["verification"] = self.verification
        return json.dumps(data, ensure_ascii=False, indent=2)

    @classmethod
    def from_json(cls, text: str) -> MiningResult:
        """The result that :meth:`to_json` wrote, without verifications (a stored table holds
        none: :func:`core.mining.effects.attach_effects` adds the store's current ones)."""
        data = json.loads(text)
        data["classes"] = {
            c: [Keyword(k["word"], k["n"], k["m"], k["weight"]) for k in kws]
            for c, kws in data["classes"].items()
        }
        data.pop("verification", None)
        return cls(**data)

    def select(self, top: int, classes: Sequence[str] | None = None) -> MiningResult:
        """The same result narrowed to ``top`` words per class and to ``classes`` (in order)."""
        shown = resolve_classes(classes, list(self.class_counts) or list(self.classes))
        return replace(self, classes={c: self.classes.get(c, [])[:top] for c in shown})


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


def _fmt(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.3f}"
