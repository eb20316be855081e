"""What ``wordcam verify`` answers: every verified word's effect, as Markdown, CSV or JSON."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from core.store.effects import WordEffect

LEGEND = (
    "effect: mean drop of the class probability with the word's regions hidden minus the mean "
    "drop with a same-area control hidden elsewhere; 95% bootstrap interval; causal = interval "
    "above zero and BH q <= {alpha} over all {m} words tested"
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

    def to_dict(self) -> dict[str, Any]:
        return {
            "words": [w.to_dict() for w in self.words],
            "fill": self.fill,
            "control": self.control,
            "run_id": self.run_id,
            "settings": self.settings,
            "fallbacks": self.fallbacks,
            "measured": self.measured,
            "resumed": self.resumed,
            "family": self.family,
            "seconds": self.seconds,
            "errors": self.errors,
        }

    def to_json(self) -> str:
        """``{"words": [{"class","word","n","effect","ci_low","ci_high","verdict",...}], "fill",
        "control", ...}``."""
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2)

    def to_csv(self) -> str:
        from core.export import csv_text

        keys = list(self.words[0].to_dict()) if self.words else ["class", "word"]
        return csv_text([keys, *([w.to_dict()[k] for k in keys] for w in self.words)])

    def to_markdown(self) -> str:
        from core.mining.result import md_cell

        lines = [
            "| class | word | n | effect | 95% interval | q | verdict |",
            "|---|---|---:|---:|---|---:|---|",
        ]
        for w in self.words:
            interval = "-" if w.ci_low is None else f"[{w.ci_low:+.3f}, {w.ci_high:+.3f}]"
            effect = "-" if w.effect is None else f"{w.effect:+.3f}"
            q = "-" if w.q_value is None else f"{w.q_value:.3f}"
            lines.append(
                f"| {md_cell(w.cls)} | {md_cell(w.word)} | {w.n} | {effect} | {interval} | {q} "
                f"| {w.verdict or '-'} |"
            )
        legend = LEGEND.format(alpha=self.settings.get("alpha"), m=self.family)
        tail = (
            f"fill {self.fill} · control {self.control} · control fallbacks {self.fallbacks} · "
            f"{self.measured} photo-words measured, {self.resumed} resumed · {self.seconds} s"
        )
        return "\n".join(lines) + f"\n\n{legend}.\n{tail}\n"
