"""One percent formatter for the report, the benchmarks and (through dashboard/fmt.py) the
dashboard."""

from __future__ import annotations

from core.formatting import pct


def test_pct_one_decimal_and_a_mark_for_unknown():
    assert pct(0.1234) == "12.3%"
    assert pct(1) == "100.0%"
    assert pct(None) == "—"
    assert pct(None, missing="-") == "-"


def test_the_report_and_the_benchmarks_use_it():
    from core.lab import bench
    from core.report import collect, render

    assert collect._pct is pct and render._pct is pct
    assert bench._pct(None) == "-" and bench._pct(0.5) == "50.0%"
