"""CSV made for spreadsheets: cells that would start a formula are neutralised (CSV injection).

The OWASP rule: a cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is
read by Excel, LibreOffice and Google Sheets as a formula, so it is prefixed with a single
quote (``'=1+1`` shows as ``=1+1``). A cell that is a plain number (``-0.25``) cannot be a
formula and is kept. Used by ``wordcam mine --format csv`` and the dashboard's downloads.
"""

from __future__ import annotations

import csv
import io
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
