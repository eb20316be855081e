"""Exports an analyst can open (issue 23): one CSV writer, no cell read as a date or formula."""

from __future__ import annotations

import csv
import io

import pandas as pd

from dashboard.i18n import t
from dashboard.tables import keyword_effects_frame, to_csv_bytes


def _rows(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def test_no_cell_is_read_as_a_date_or_a_formula():
    frame = pd.DataFrame(
        {"nm": ["5/23", "1-2"], "text": ["=1+1", "@SUM(A1)"], "x": [-0.25, float("nan")]}
    )
    rows = _rows(to_csv_bytes(frame))
    assert rows[0] == ["nm", "text", "x"]
    assert rows[1] == ["'5/23", "'=1+1", "-0.25"]
    assert rows[2] == ["'1-2", "'@SUM(A1)", ""]  # a missing number is empty, not "nan"


def test_the_effect_table_has_one_value_per_column():
    frame = pd.DataFrame(
        {"ward": ["a", "a"], "rank": [1, 2], "word": ["x", "y"], "n": [5, 1], "m": [23, 2]}
        | {"precision": [5 / 23, 0.5], "weight": [1.2, 0.4]}
    )
    from core.mining import Keyword, MiningResult, attach_effects
    from core.store.effects import WordEffect

    words = [Keyword("x", 5, 23, 1.2), Keyword("y", 1, 2, 0.4)]
    result = attach_effects(
        MiningResult({"a": words}, None, None, None, 2, 0),
        [WordEffect("a", "x", 10, 0.7, 0.675, 0.776, 0.001, 0.002, "causal", "mean", "fair")],
        {"fill": "mean"},
    )
    table = keyword_effects_frame(frame, result, str, t)  # (Japanese outside a page)
    rows = _rows(to_csv_bytes(table.drop(columns=["ward_key"])))
    header = rows[0]
    low, high, effect = t("tab.ci_low"), t("tab.ci_high"), t("verify.effect_column")
    assert {"n", "m", low, high} <= set(header)
    first = dict(zip(header, rows[1], strict=True))
    assert (first["n"], first["m"]) == ("5", "23")
    assert float(first[low]) == 0.675 and float(first[high]) == 0.776
    second = dict(zip(header, rows[2], strict=True))
    assert second[low] == "" and second[effect] == ""
