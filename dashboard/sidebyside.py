"""Two runs' keyword tables next to each other: per ward, rank x (this run, the other run)."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd


def side_by_side_frame(
    ours,
    theirs,
    top: int,
    wards: list[str],
    run_ids: tuple[int, int],
    name: Callable[[str], str] = str,
) -> pd.DataFrame:
    """Index ``rank``; two columns per ward (``<ward> · #<run>``) of ``word(n/m)`` cells.

    Wards the other run has no keywords for get an empty column, so that a gap shows.
    """
    columns: dict[str, list[str]] = {}
    for ward in wards:
        for run_id, result in zip(run_ids, (ours, theirs), strict=True):
            states = result.verification is not None  # a verified run: every word's state
            cells = [kw.cell(states) for kw in result.select(top).classes.get(ward, [])]
            columns[f"{name(ward)} · #{run_id}"] = cells + [""] * (top - len(cells))
    frame = pd.DataFrame(columns, index=pd.RangeIndex(1, top + 1, name="rank"))
    return frame
