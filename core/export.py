"""CSV made for spreadsheets: no cell is read as a formula or a date (CSV injection).

The OWASP rule: a cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is
read by Excel, LibreOffice and Google Sheets as a formula, so it is prefixed with a single
quote (``'=1+1`` shows as ``=1+1``). A cell that is a plain number (``-0.25``) cannot be a
formula and is kept. Text that a spreadsheet would turn into a date (``5/23``, ``1-2``) gets the
same quote, and a missing number (NaN, None) is an empty cell.

This module is the one CSV writer of wordcam: :func:`csv_text` (rows to text), :func:`write_csv`
(rows to an open file) and :func:`frame_csv_bytes` (a pandas frame, for the dashboard's
downloads) all put every cell through :func:`spreadsheet_cell`. ``tests/test_faults.py`` fails
when CSV is written anywhere else in ``core`` or ``dashboard``.
"""

from __future__ import annotations

import contextlib
import csv
import io
import math
import re
from collections.abc import Iterable
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_DATE_LIKE = re.compile(r"^\s*\d{1,4}\s*[/-]\s*\d{1,2}(\s*[/-]\s*\d{1,4})?\s*$")


def safe_cell(value: Any) -> Any:
    """``value`` with a ``'`` in front when it is text that starts a formula; else as it is."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not _is_number(value):
        return "'" + value
    return value


def spreadsheet_cell(value: Any) -> Any:
    """``value`` as a spreadsheet must read it: a formula or date-like text (``5/23``, ``1-2``)
    gets a ``'`` in front so that it stays text; a missing number (NaN, None) is empty."""
    value = _plain(value)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, str) and _DATE_LIKE.match(value) and not _is_number(value):
        return "'" + value
    return safe_cell(value)


def write_csv(out: IO[str], rows: Iterable[Iterable[Any]]) -> None:
    """Write ``rows`` to ``out`` as CSV (``\\n`` line ends), every cell through
    :func:`spreadsheet_cell`."""
    writer = csv.writer(out, lineterminator="\n")
    for row in rows:
        writer.writerow([spreadsheet_cell(cell) for cell in row])


def csv_text(rows: Iterable[Iterable[Any]]) -> str:
    """``rows`` as CSV text, every cell through :func:`spreadsheet_cell` (see :func:`write_csv`)."""
    out = io.StringIO()
    write_csv(out, rows)
    return out.getvalue()


def frame_csv_bytes(frame: pd.DataFrame, index: bool = False) -> bytes:
    """``frame`` as UTF-8 CSV with a BOM (Excel reads the Japanese); header and index labels and
    every cell through :func:`spreadsheet_cell`, numbers kept as numbers."""
    shown = frame.reset_index() if index else frame
    rows = [[str(c) for c in shown.columns], *shown.itertuples(index=False, name=None)]
    return csv_text(rows).encode("utf-8-sig")


def safe_csv_text(text: str) -> str:
    """CSV ``text`` (comma-separated, ``\\n`` line ends) with every cell through the writer."""
    return csv_text(csv.reader(io.StringIO(text, newline="")))


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return text.strip() == text  # "\t1" is not a plain number


def _plain(value: Any) -> Any:
    """numpy/pandas scalars as Python values (``pd.NA`` and ``NaT`` as missing)."""
    if value is None or isinstance(value, str | bytes | bool | int | float):
        return value
    if hasattr(value, "item"):
        with contextlib.suppress(ValueError, TypeError):
            return _plain(value.item())
    import pandas as pd

    with contextlib.suppress(TypeError, ValueError):
        if pd.isna(value):
            return None
    return value
