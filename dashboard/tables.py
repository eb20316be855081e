"""Mining results as tables, and tables as CSV for download."""

from __future__ import annotations

import pandas as pd

KEYWORD_COLUMNS = ["ward", "rank", "word", "n", "m", "precision", "weight"]


def keywords_frame(result, top: int, classes: list[str] | None = None) -> pd.DataFrame:
    """Long table of mined keywords: ``ward, rank, word, n, m, precision, weight``."""
    rows = [
        (ward, rank, kw.word, int(kw.n), int(kw.m), kw.n / kw.m if kw.m else 0.0, float(kw.weight))
        for ward, keywords in result.classes.items()
        if classes is None or ward in classes
        for rank, kw in enumerate(keywords[:top], start=1)
    ]
    return pd.DataFrame(rows, columns=KEYWORD_COLUMNS)


def keywords_table(result, top: int, classes: list[str] | None = None) -> pd.DataFrame:
    """The table as ``wordcam mine`` prints it: rank x ward, cells ``word(n/m)``."""
    rows = result.table_rows()[:top]
    wards = list(result.classes) if classes is None else [w for w in classes if w in result.classes]
    frame = pd.DataFrame(rows, columns=["rank", *wards])
    return frame.set_index("rank")


def to_csv_bytes(frame: pd.DataFrame, index: bool = False) -> bytes:
    """CSV as UTF-8 with a BOM, so that Excel shows Japanese correctly.

    Text cells (and index and column names) that would start a formula are neutralised
    (:func:`core.export.safe_cell`, the OWASP rule against CSV injection).
    """
    from core.export import frame_csv_bytes

    return frame_csv_bytes(frame, index=index)
