"""``wordcam verify``: does hiding what a word names change the model's answer?

Imports only the standard library at module level; the work happens in :mod:`core.verify`.
"""

from __future__ import annotations

import argparse
import sys

FORMATS = ("md", "csv", "json")
FILLS = ("mean", "road", "blur")  # core.verify.fill.FILLS (not imported: keeps --help light)


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``verify`` sub-command."""
    p = subparsers.add_parser(
        "verify",
        help="measure each keyword's effect on the model: hide its regions, see the class drop",
        description="For each class and word (by default the top words of every class), the "
        "photos of the class whose explanation contains the word are classified as they are, "
        "with the word's heat regions hidden and with a same-area control hidden elsewhere. "
        "effect = mean drop (hidden) - mean drop (control), with a bootstrap 95% interval; "
        "'causal' when the interval is above zero after a Benjamini-Hochberg correction over "
        "all words tested. Resumable: rerun the same command after an interruption.",
    )
    p.add_argument("--db", help="wordcam DuckDB (default data/wordcam.duckdb)")
    p.add_argument("--run", type=int, dest="run_id", help="run id (default: the latest run)")
    p.add_argument(
        "--top", type=int, default=10, help="top words per class to verify (default 10; 0: none)"
    )
    p.add_argument(
        "--word",
        dest="words",
        action="extend",
        nargs="+",
        default=[],
        metavar="W",
        help="also verify W in every class where it occurs (with --top 0: only these)",
    )
    p.add_argument(
        "--class",
        dest="classes",
        action="extend",
        nargs="+",
        default=[],
        metavar="C",
        help="only these classes",
    )
    p.add_argument(
        "--per-word", type=int, default=20, help="photos per class and word (default 20)"
    )
    p.add_argument(
        "--fill", choices=FILLS, default="mean", help="how hidden pixels are filled (default mean)"
    )
    p.add_argument(
        "--by",
        choices=["true", "predicted"],
        default="true",
        help="photos of a class by their true or predicted label (default true)",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the sampling and bootstrap")
    p.add_argument("--batch-size", type=int, default=16, help="photo-words per batch")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--format", choices=FORMATS, default="md", help="output format (default md)")
    from core.cli.common import add_device_argument

    add_device_argument(p)
    add_engine_arguments(p)
    return p


def add_engine_arguments(parser: argparse.ArgumentParser) -> None:
    """``--engine local|ray`` and the Ray options, as ``wordcam precompute`` has them."""
    from core.cli.precompute import add_engine_arguments as add

    add(parser)


def engine_options(args: argparse.Namespace):
    """Where the job runs (:class:`core.jobs.ray_options.EngineOptions`) from the arguments."""
    from core.jobs.ray_options import EngineOptions, RayOptions

    ray = RayOptions(
        address=args.ray_address, actors=args.actors, gpus_per_actor=args.gpus_per_actor
    )
    return EngineOptions(engine=args.engine, device=args.device, ray=ray)


def run(args: argparse.Namespace) -> int:
    """Run ``wordcam verify``: exit status 0, 3 when some photo-words failed (a rerun measures
    them), 1 an error, 130 interrupted (as ``wordcam precompute``)."""
    from core.cli.precompute import exit_status
    from core.cli.terminal import printable
    from core.store import DEFAULT_DB
    from core.verify import VerifySettings
    from core.verify.job import verify

    settings = VerifySettings(
        by=args.by,
        per_word=args.per_word,
        fill=args.fill,
        seed=args.seed,
        top=args.top,
        words=tuple(args.words),
        classes=tuple(args.classes),
        run_id=args.run_id,
        batch_size=max(1, args.batch_size),
        progress=not args.no_progress,
    )
    done = verify(args.db or DEFAULT_DB, settings=settings, engine=engine_options(args))
    report = done.report
    text = {"md": report.to_markdown, "csv": report.to_csv, "json": report.to_json}[args.format]()
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    for line in report.errors[:5]:
        print(f"wordcam verify: warning: {printable(line)}", file=sys.stderr)
    return exit_status(done.summary, "photo-words", "verify")
