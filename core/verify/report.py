"""What ``wordcam verify`` answers: every word-test's effect, as Markdown, CSV or JSON.

One entry per (class, word, test) with ``kind``, ``test``, ``n``, ``effect``, ``ci_low``,
``ci_high``, ``p_value``, ``q_value`` and ``verdict`` (one of the four states, never empty).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from core.store.effects import WordEffect

#: The columns of every output, in order (JSON has a few more keys per entry).
COLUMNS = (
    "class",
    "word",
    "kind",
    "test",
    "n",
    "effect",
    "ci_low",
    "ci_high",
    "p_value",
    "q_value",
    "verdict",
)

LEGEND = (
    "effect: mean drop of the class probability with the word's regions changed by the test "
    "(hide: hidden; colour: grey at the same luminance; move: content moved elsewhere) minus "
    "the mean drop with the same change to a control area of the same size and place "
    "(closest in heat); "
    "95% t interval; p: exact sign-flip test; causal = interval above zero and BH q <= "
    "{alpha} in this command's family of {m} word-tests; too few photos = n < {k}; not "
    "tested = no sound test for the word's kind"
)


@dataclass
class VerifyReport:
    """The words verified (in class and rank order) and how the job went."""

    run_id: int
    words: list[WordEffect]
    fill: str
    control: str
    settings: dict[str, Any]
    measured: int = 0
    resumed: int = 0
    family: int = 0
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)

    @property
    def fallbacks(self) -> int:
        return sum(w.fallbacks for w in self.words)

    @property
    def skipped(self) -> int:
        """Photos that did not count (no fair control, nothing to change), over all entries."""
        return sum(w.skipped for w in self.words)

    def to_dict(self) -> dict[str, Any]:
        return {
            "words": [w.to_dict() for w in self.words],
            "fill": self.fill,
            "control": self.control,
            "run_id": self.run_id,
            "settings": self.settings,
            "fallbacks": self.fallbacks,
            "skipped": self.skipped,
            "measured": self.measured,
            "resumed": self.resumed,
            "family": self.family,
            "seconds": self.seconds,
            "errors": self.errors,
        }

    def to_json(self) -> str:
        """``{"words": [{"class", "word", "kind", "test", "n", "effect", "ci_low", "ci_high",
        "p_value", "q_value", "verdict", ...}], "fill", "control", ...}``."""
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2)

    def to_csv(self) -> str:
        """The entries as CSV, one row per word-test (through :func:`core.export.csv_text`)."""
        from core.export import csv_text

        rows = [w.to_dict() for w in self.words]
        return csv_text([list(COLUMNS), *([row[c] for c in COLUMNS] for row in rows)])

    def to_markdown(self) -> str:
        from core.mining.result import md_cell
        from core.verify.stats import min_photos

        lines = [
            "| class | word | kind | test | n | effect | 95% interval | p | q | verdict |",
            "|---|---|---|---|---:|---:|---|---:|---:|---|",
        ]
        for w in self.words:
            d = w.to_dict()
            interval = "-" if w.ci_low is None else f"[{w.ci_low:+.3f}, {w.ci_high:+.3f}]"
            effect = "-" if w.effect is None else f"{w.effect:+.3f}"
            p = "-" if d["p_value"] is None else f"{d['p_value']:.4f}"
            q = "-" if w.q_value is None else f"{w.q_value:.3f}"
            lines.append(
                f"| {md_cell(w.cls)} | {md_cell(w.word)} | {d['kind']} | {w.test} | {w.n} "
                f"| {effect} | {interval} | {p} | {q} | {d['verdict']} |"
            )
        alpha = float(self.settings.get("alpha") or 0.05)
        legend = LEGEND.format(alpha=alpha, m=self.family, k=min_photos(alpha))
        tail = (
            f"fill {self.fill} · control {self.control} · photos without a fair control or "
            f"change {self.skipped} · "
            f"{self.measured} photo-words measured, {self.resumed} resumed · {self.seconds} s"
        )
        return "\n".join(lines) + f"\n\n{legend}.\n{tail}\n"
