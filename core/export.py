"""CSV made for spreadsheets: cells that would start a formula are neutralised (CSV injection).

The OWASP rule: a cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is
read by Excel, LibreOffice and Google Sheets as a formula, so it is prefixed with a single
quote (``'=1+1`` shows as ``=1+1``). A cell that is a plain number (``-0.25``) cannot be a
formula and is kept.

This module is the one CSV writer of wordcam: :func:`csv_text` (rows to text), :func:`write_csv`
(rows to an open file) and :func:`frame_csv_bytes` (a pandas frame, for the dashboard's
downloads) all put every cell through :func:`safe_cell`. ``tests/test_faults.py`` fails when
CSV is written anywhere else in ``core`` or ``dashboard``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """``value`` with a ``'`` in front when it is text that starts a formula; else as it is."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not _is_number(value):
        return "'" + value
    return value


def write_csv(out: IO[str], rows: Iterable[Iterable[Any]]) -> None:
    """Write ``rows`` to ``out`` as CSV (``\n`` line ends), every cell through :func:`safe_cell`."""
    writer = csv.writer(out, lineterminator="\n")
    for row in rows:
        writer.writerow([safe_cell(cell) for cell in row])


def csv_text(rows: Iterable[Iterable[Any]]) -> str:
    """``rows`` as CSV text, every cell through :func:`safe_cell` (see :func:`write_csv`)."""
    out = io.StringIO()
    write_csv(out, rows)
    return out.getvalue()


def frame_csv_bytes(frame: pd.DataFrame, index: bool = False) -> bytes:
    """``frame`` as UTF-8 CSV with a BOM (Excel reads the Japanese), formulas neutralised.

    Numeric columns are kept as numbers; labels of the columns (and of the index) go through
    :func:`safe_cell` too.
    """
    import pandas as pd

    safe = frame.rename(columns=safe_cell, index=safe_cell if index else None)
    safe = safe.apply(lambda col: col if pd.api.types.is_numeric_dtype(col) else col.map(safe_cell))
    return safe.to_csv(index=index).encode("utf-8-sig")


def safe_csv_text(text: str) -> str:
    """CSV ``text`` (comma-separated, ``\\n`` line ends) with every cell through :func:`safe_cell`."""
    return csv_text(csv.reader(io.StringIO(text, newline="")))


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return text.strip() == text  # "\t1" is not a plain number
