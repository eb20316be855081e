"""Formatting values for display: percentages, times, error messages."""

from __future__ import annotations

from datetime import datetime

from core.errors import WordcamError


def fmt_pct(value: float | None) -> str:
    """``value`` as a percentage to one decimal, or "—" when unknown."""
    return "—" if value is None else f"{value:.1%}"


def snapshot_time(mtime_ns: int) -> str:
    """A snapshot's publication time, local, to the second."""
    return datetime.fromtimestamp(mtime_ns / 1e9).strftime("%Y-%m-%d %H:%M:%S")


def describe(exc: BaseException) -> str:
    """A one-line message for an exception: a user-level error as is, others with their type."""
    return str(exc) if isinstance(exc, WordcamError) else f"{type(exc).__name__}: {exc}"
