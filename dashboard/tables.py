"""Mining results as tables, and tables as CSV for download.

Tables meant for a spreadsheet keep one value per column: ``n`` and ``m`` apart (``"5/23"``
reads as a date in Excel), an interval as two numeric columns, headers in the screen's
language. Every CSV goes through :func:`to_csv_bytes`, which writes through
`core.export.frame_csv_bytes` (one writer: formula and date guards, UTF-8 with a BOM).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

KEYWORD_COLUMNS = ["ward", "rank", "word", "n", "m", "precision", "weight"]


def keywords_frame(result, top: int, classes: list[str] | None = None) -> pd.DataFrame:
    """Long table of mined keywords: ``ward, rank, word, n, m, precision, weight``."""
    rows = [
        (ward, rank, kw.word, int(kw.n), int(kw.m), kw.n / kw.m if kw.m else 0.0, float(kw.weight))
        for ward, keywords in result.select(top).classes.items()
        if classes is None or ward in classes
        for rank, kw in enumerate(keywords, start=1)
    ]
    return pd.DataFrame(rows, columns=KEYWORD_COLUMNS)


def keywords_table(result, top: int, classes: list[str] | None = None) -> pd.DataFrame:
    """The table as ``wordcam mine`` prints it: rank x ward, cells ``word(n/m)``."""
    rows = result.select(top).table_rows()
    wards = list(result.classes) if classes is None else [w for w in classes if w in result.classes]
    frame = pd.DataFrame(rows, columns=["rank", *wards])
    return frame.set_index("rank")


def keyword_effects_frame(
    frame: pd.DataFrame,
    result: Any,
    name: Callable[[object], object],
    t: Callable[..., str],
    by_effect: bool = False,
) -> pd.DataFrame:
    """One row per ward and word, headed in the screen's language, one value per column.

    ``ward, rank, word, n, m, precision, coefficient`` and, when ``wordcam verify`` stored
    effects (those :func:`core.mining.keyword_table` attached to ``result``'s words),
    ``effect, interval low, interval high, verdict``; ``ward_key`` (the stored label, for the Photos door) is the last column: drop it before showing or exporting.
    """
    from dashboard import verified

    table = frame.rename(columns={"ward": "class"})
    verified_on = result.verification is not None
    if verified_on:
        table = verified.add_effects(table, result)
        if by_effect:
            table = verified.sort_by_effect(table)
    out = {
        t("chart.ward"): table["class"].map(name),
        t("rp.rank"): table["rank"].astype(int),
        t("chart.word"): table["word"],
        "n": table["n"].astype(int),
        "m": table["m"].astype(int),
        t("chart.precision"): table["precision"].astype(float),
        t("chart.coefficient"): table["weight"].astype(float),
    }
    if verified_on:
        out |= {
            t("verify.effect_column"): pd.to_numeric(table["effect"], errors="coerce"),
            t("tab.ci_low"): pd.to_numeric(table["ci_low"], errors="coerce"),
            t("tab.ci_high"): pd.to_numeric(table["ci_high"], errors="coerce"),
            t("verify.verified_column"): table[t("verify.verified_column")],
        }
    out["ward_key"] = table["class"]
    return pd.DataFrame(out).reset_index(drop=True)


def to_csv_bytes(frame: pd.DataFrame, index: bool = False) -> bytes:
    """CSV as UTF-8 with a BOM (Excel shows Japanese), through the project's one CSV writer.

    No cell is read as a formula or a date (:func:`core.export.frame_csv_bytes`).
    """
    from core.export import frame_csv_bytes

    return frame_csv_bytes(frame, index=index)
