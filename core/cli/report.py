"""``wordcam report``: the ward report, one self-contained HTML (or Markdown) file.

Imports only the standard library at module level; the work happens in :mod:`core.report`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from core.languages import LANGUAGES


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``report`` sub-command."""
    p = subparsers.add_parser(
        "report",
        help="per ward: the telling words, their sentences and example photos, in one file",
        description="Write the ward report of a run: per ward the top words with n/m and "
        "coefficient, the sentences around each and its most confident example photos (input "
        "and CAM overlay, embedded), the accuracies and the run's settings. HTML opens offline "
        "and prints cleanly.",
    )
    p.add_argument("--db", help="wordcam DuckDB (default data/wordcam.duckdb)")
    p.add_argument("--run", type=int, dest="run_id", help="run id (default: the latest run)")
    p.add_argument("--out", default="report.html", help="report.html (default) or report.md")
    p.add_argument("--lang", choices=LANGUAGES, help="language (default: the run's)")
    p.add_argument("--top", type=int, default=5, help="words per ward (default 5)")
    p.add_argument("--photos", type=int, default=2, help="example photos per word (default 2)")
    p.add_argument(
        "--vlm",
        metavar="openai:MODEL",
        help="write a short paragraph per ward with this vision-language model (cached)",
    )
    p.add_argument("--base-url", help="OpenAI-compatible endpoint for --vlm")
    return p


def run(args: argparse.Namespace) -> int:
    from core.report import build_report, write_report
    from core.store import DEFAULT_DB

    db = Path(args.db or DEFAULT_DB)
    report = build_report(db, args.run_id, args.lang, top=args.top, photos=args.photos)
    if args.vlm:
        from core.report.vlm import add_paragraphs

        add_paragraphs(report, args.vlm, base_url=args.base_url)
    out = write_report(report, args.out)
    print(f"wrote {out} ({len(report.sections)} wards)")
    return 0
