"""The text report of :func:`core.evaluation.metrics.classification_metrics`: per-class table, confusion
matrix, skipped files, summary line (aligned for CJK class names)."""

from __future__ import annotations

import unicodedata
from typing import Any

from core.evaluation.metrics import summary_line


def display_width(text: str) -> int:
    """Terminal columns of ``text`` (CJK characters take two)."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int, right: bool = False) -> str:
    gap = " " * max(0, width - display_width(text))
    return gap + text if right else text + gap


def format_report(metrics: dict[str, Any], max_skipped: int = 10) -> str:
    """Per-class table, the confusion matrix as text, skipped files, then the summary line."""
    labels = metrics["labels"]
    per_class = metrics["per_class"]
    name_w = max([display_width(f"{i} {n}") for i, n in enumerate(labels)] + [5])
    lines = [
        f"{_pad('class', name_w)}  precision  recall     f1  support",
    ]
    for i, name in enumerate(labels):
        pc = per_class[name]
        if not pc["support"] and not pc["predicted"]:
            continue
        lines.append(
            f"{_pad(f'{i} {name}', name_w)}  {pc['precision']:9.3f}  {pc['recall']:6.3f}  "
            f"{pc['f1']:5.3f}  {pc['support']:7d}"
        )
    confusion = metrics["confusion_matrix"]
    cell = max([len(str(v)) for row in confusion for v in row] + [len(str(len(labels) - 1)), 3])
    lines.append("")
    lines.append("confusion matrix (rows: true class, columns: predicted class index)")
    lines.append(_pad("", name_w) + " " + " ".join(str(j).rjust(cell) for j in range(len(labels))))
    for i, name in enumerate(labels):
        lines.append(
            _pad(f"{i} {name}", name_w) + " " + " ".join(str(v).rjust(cell) for v in confusion[i])
        )
    skipped = metrics.get("skipped_files") or []
    if skipped:
        lines.append("")
        lines.append(f"skipped {len(skipped)} unreadable image(s):")
        lines.extend(f"  {s['path']}: {s['error']}" for s in skipped[:max_skipped])
        if len(skipped) > max_skipped:
            lines.append(f"  ... and {len(skipped) - max_skipped} more")
    lines.append("")
    lines.append(summary_line(metrics))
    return "\n".join(lines)
