"""``wordcam report``: the ward report, one self-contained HTML (or Markdown) file.

Imports only the standard library at module level; the work happens in :mod:`core.report`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from core.cli.common import non_negative_int, positive_int
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
    p.add_argument("--top", type=positive_int, default=5, help="words per ward (default 5)")
    p.add_argument(
        "--photos", type=non_negative_int, default=2, help="example photos per word (default 2)"
    )
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
    out = _checked_out(Path(args.out).expanduser())
    report = build_report(db, args.run_id, args.lang, top=args.top, photos=args.photos)
    if args.vlm:
        from core.report.vlm import add_paragraphs

        add_paragraphs(report, args.vlm, base_url=args.base_url)
    try:
        out = write_report(report, out)
    except OSError as exc:
        raise _cannot_write(out, exc) from None
    print(f"wrote {out} ({len(report.sections)} wards)")
    return 0


def _checked_out(out: Path) -> Path:
    """``--out``, refused in one line before any work when it cannot be a report file."""
    from core.errors import WordcamError

    if out.is_dir():
        raise WordcamError(f"--out {out} is a folder; name a file such as {out / 'report.html'}")
    if out.suffix.lower() not in (".html", ".htm", ".md"):
        raise WordcamError(f"cannot write a report as {out.name}; use a .html or .md file name")
    return out


def _cannot_write(out: Path, exc: OSError) -> Exception:
    from core.errors import WordcamError, disk_full_error, is_disk_full

    if is_disk_full(exc):
        return disk_full_error(out)
    return WordcamError(f"cannot write {out} ({exc.strerror or exc}); choose another --out")
