"""Numbers as people read them, defined once for the report, the CLI, the benchmarks and the
dashboard (which wraps these in :mod:`dashboard.fmt`)."""

from __future__ import annotations

MISSING = "—"


def pct(value: float | None, missing: str = MISSING) -> str:
    """``value`` (a share, 0.123) as a percentage to one decimal ("12.3%"); ``missing`` if None."""
    return missing if value is None else f"{float(value):.1%}"
