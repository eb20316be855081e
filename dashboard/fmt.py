"""Every number and time the dashboard shows goes through :func:`number` (or :func:`when`).

One rule for the whole screen (issue 23): a share (accuracy, precision, probability, recall) is
a percentage to one decimal (``84.7%``), never ``0.847``; a coefficient three decimals; an effect
or a z-score signed; a count with thousands separators; a time to the second, local, without
microseconds. Charts use the same rule through :func:`vega` and :func:`axis`, tables through
:func:`styled`.
"""

from __future__ import annotations

import math
from datetime import datetime

from core.errors import WordcamError

MISSING = "—"

# kind -> (Python format, Vega/d3 format): the one table of how numbers look
FORMATS: dict[str, tuple[str, str]] = {
    "share": ("{:.1%}", ".1%"),  # accuracy, precision, probability, recall, document share
    "coef": ("{:.3f}", ".3f"),  # a logistic-regression coefficient
    "effect": ("{:+.3f}", "+.3f"),  # a verified effect and its interval ends
    "z": ("{:+.2f}", "+.2f"),  # a log-odds z-score
    "count": ("{:,.0f}", ",.0f"),  # photos, documents
}
VEGA_FORMATS = {kind: vega for kind, (_, vega) in FORMATS.items()}
# an axis or legend lets Vega choose the decimals from the tick step ("%": 0%, 20%, ...)
AXIS_FORMATS = {"share": "%"}


def vega(kind: str) -> str:
    """The d3 format a chart's text and tooltips give a number of ``kind`` (as :func:`number`)."""
    return VEGA_FORMATS[kind]


def axis(kind: str) -> str:
    """The d3 format of an axis or legend of ``kind`` (ticks: no fixed decimals)."""
    return AXIS_FORMATS.get(kind, VEGA_FORMATS[kind])


def styled(frame, kinds: dict[str, str]):
    """``frame`` for ``st.dataframe`` with the columns of ``kinds`` shown through :func:`number`.

    The cells keep their numbers (sorting and the CSV stay numeric); only what the table
    shows is the text of :func:`number` (Streamlit's own ``"percent"`` shows ``21.74%``).
    """
    shown = {c: (lambda v, k=kind: number(v, k)) for c, kind in kinds.items() if c in frame}
    return frame.style.format(shown)


def number(value: object, kind: str = "share") -> str:
    """``value`` as the dashboard shows a number of ``kind`` (see :data:`FORMATS`); "—" if unknown."""
    if value is None or isinstance(value, str):
        return MISSING if value in (None, "") else str(value)
    try:
        x = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return MISSING
    if math.isnan(x):
        return MISSING
    return FORMATS[kind][0].format(x)


def fmt_pct(value: float | None) -> str:
    """``value`` as a percentage to one decimal, or "—" when unknown (``number(v, "share")``)."""
    return number(value, "share")


def when(value: object) -> str:
    """A timestamp (datetime, ISO text or epoch ns) local, to the second: ``2026-12-06 21:21:37``."""
    if value is None or value == "":
        return MISSING
    if isinstance(value, int | float):
        moment = datetime.fromtimestamp(value / 1e9 if value > 1e12 else value)
    elif isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value))
        except ValueError:
            return str(value)
    if moment.tzinfo is not None:
        moment = moment.astimezone()
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def snapshot_time(mtime_ns: int) -> str:
    """A snapshot's publication time, local, to the second."""
    return when(int(mtime_ns))


def describe(exc: BaseException) -> str:
    """A one-line message for an exception: a user-level error as is, others with their type."""
    return str(exc) if isinstance(exc, WordcamError) else f"{type(exc).__name__}: {exc}"
