"""CSV made for spreadsheets: cells that would start a formula are neutralised (CSV injection).

The OWASP rule: a cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is
read by Excel, LibreOffice and Google Sheets as a formula, so it is prefixed with a single
quote (``'=1+1`` shows as ``=1+1``). A cell that is a plain number (``-0.25``) cannot be a
formula and is kept. Used by ``wordcam mine --format csv`` and the dashboard's downloads.
"""

from __future__ import annotations

import contextlib
import csv
import io
import math
import re
from collections.abc import Iterable
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """``value`` with a ``'`` in front when it is text that starts a formula; else as it is."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not _is_number(value):
        return "'" + value
    return value


def safe_csv_text(text: str) -> str:
    """CSV ``text`` (comma-separated, ``\\n`` line ends) with every cell through :func:`safe_cell`."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for row in csv.reader(io.StringIO(text, newline="")):
        writer.writerow([safe_cell(cell) for cell in row])
    return out.getvalue()


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return text.strip() == text  # "\t1" is not a plain number


# ---------------------------------------------------------------- issue 23: the one CSV writer

_DATE_LIKE = re.compile(r"^\s*\d{1,4}\s*[/-]\s*\d{1,2}(\s*[/-]\s*\d{1,4})?\s*$")


def spreadsheet_cell(value: Any) -> Any:
    """``value`` as a spreadsheet must read it: a formula or date-like text (``5/23``, ``1-2``)
    gets a ``'`` in front so that it stays text; a missing number (NaN, None) is empty."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, str) and _DATE_LIKE.match(value) and not _is_number(value):
        return "'" + value
    return safe_cell(value)


def write_csv(header: Iterable[Any], rows: Iterable[Iterable[Any]]) -> str:
    """CSV text (``\\n`` line ends) of ``header`` and ``rows``, every cell through
    :func:`spreadsheet_cell`: the one writer of every CSV the project hands to a spreadsheet."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([spreadsheet_cell(str(h)) for h in header])
    for row in rows:
        writer.writerow([spreadsheet_cell(_plain(cell)) for cell in row])
    return out.getvalue()


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
