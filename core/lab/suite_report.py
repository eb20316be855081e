"""The planted-cue suite's report: one row per setting and language, and its Markdown table.

:func:`summary_rows` averages :class:`core.lab.suite.CellResult` measures over seeds;
:func:`suite_markdown` renders a report (optionally beside an earlier one) for ``wordcam bench
--suite`` and ``benchmarks/results/suite.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from core.lab.suite import CellResult


def summary_rows(cells: list[CellResult]) -> list[dict[str, Any]]:
    """One row per (background, size, distractors, language): the measures averaged over seeds."""
    groups: dict[tuple[Any, ...], list[CellResult]] = {}
    for c in cells:
        key = (c.setting.background, c.setting.size, c.setting.distractors, c.lang)
        groups.setdefault(key, []).append(c)
    rows = []
    for (background, size, distractors, lang), group in groups.items():
        rows.append(
            {
                "background": background,
                "size": size,
                "distractors": distractors,
                "lang": lang,
                "seeds": len(group),
                "cue_recovery": _mean([c.cue_recovery for c in group]),
                "naming_accuracy": _mean([c.naming_accuracy for c in group]),
                "naming_precision": _mean([c.naming_precision for c in group]),
                "wrong_top_names": sum(c.wrong_top_names for c in group),
                "text_accuracy": _mean([c.text_accuracy for c in group]),
                "image_accuracy": _mean([c.image_accuracy for c in group]),
            }
        )
    return rows


def _mean(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return round(sum(known) / len(known), 4) if known else None


def suite_markdown(report: dict[str, Any], before: dict[str, Any] | None = None) -> str:
    """The suite's table: one row per background, size, distractors and language.

    With ``before`` (an earlier report of the same grid) each measure reads ``before -> now``.
    """
    earlier = {_row_key(r): r for r in before["rows"]} if before else {}
    lines = [
        "| background | object size | distractors | lang | seeds | cue recovery "
        "| naming accuracy | naming precision | wrong names in top 10 | words -> label "
        "| image model |",
        "|---|---:|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in report["rows"]:
        old = earlier.get(_row_key(row))

        def cell(name: str, row: dict[str, Any] = row, old: Any = old, fmt: Any = _num) -> str:
            now = fmt(row.get(name))
            return f"{fmt(old.get(name))} -> {now}" if old else now

        lines.append(
            f"| {row['background']} | {round(row['size'] * 100)}% "
            f"| {'on' if row['distractors'] else 'off'} | {row['lang']} | {row['seeds']} "
            f"| {cell('cue_recovery')} | {cell('naming_accuracy')} "
            f"| {cell('naming_precision')} | {cell('wrong_top_names', fmt=_count)} "
            f"| {cell('text_accuracy')} | {_num(row['image_accuracy'])} |"
        )
    load = ", ".join(f"{x:.2f}" for x in report["load_average"])
    t = report["timings_s"]
    lines.append(
        f"\n{len(report['cells'])} cells ({report['photos_explained']} photos explained in "
        f"{len(report['suite']['langs'])} languages) in {report['seconds']:.0f} s wall, "
        f"{report['cpu_seconds']:.0f} s CPU, on {report['cpus']} CPUs (datasets, training and "
        f"CAMs {t['prepare']:.0f} s, explanations {t['explain']:.0f} s, mining {t['mine']:.0f} s); "
        f"load average at the end {load}."
    )
    return "\n".join(lines)


def _row_key(row: dict[str, Any]) -> tuple[Any, ...]:
    return (row["background"], row["size"], row["distractors"], row["lang"])


def _num(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}"


def _count(x: int | None) -> str:
    return "-" if x is None else str(x)
