"""``wordcam precompute``: explain a photo folder (or import a text corpus) into DuckDB."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from core.cli.common import (
    add_cam_arguments,
    add_device_argument,
    add_explainer_arguments,
    add_model_arguments,
    batch_size_for,
    explainer_options,
    model_options,
    positive_int,
)
from core.cli.terminal import printable
from core.jobs.progress import EXIT_SOME_FAILED

if TYPE_CHECKING:
    from core.jobs import JobSettings
    from core.jobs.summary import JobSummary

#: Exit statuses (docs/schema.md, *Crash safety and exit statuses*). 1 (an error stopped the
#: job), 2 (bad arguments) and 130 (Ctrl-C) are those of every ``wordcam`` command.
EXIT_OK = 0
SHOWN = 10  # failures and skipped inputs listed on stderr (all are in the DB / the summary)


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "precompute",
        help="explain every photo of a folder into a DuckDB database (resumable)",
        description=(
            "Classify every photo below DATA_DIR (one sub-folder per class gives the true label), "
            "compute its CAM, render overlays, explain it (label withheld by default) and store "
            "predictions, explanations, tokens and the term matrix in a DuckDB file. Rerunning "
            "the same command resumes: only missing or failed photos are processed. The DB can "
            "be read (wordcam mine, the dashboard) while the job runs. With --texts, import a "
            "CSV/JSONL corpus with columns id,label,text instead."
        ),
    )
    parser.add_argument(
        "data_dir",
        nargs="?",
        metavar="DATA_DIR",
        help="folder of photos (one sub-folder per class, or a flat folder)",
    )
    parser.add_argument("--db", help="DuckDB file to write (default data/wordcam.duckdb)")
    parser.add_argument(
        "--texts",
        metavar="FILE",
        help="import a CSV or JSONL file with columns id,label,text instead of explaining photos",
    )
    parser.add_argument(
        "--limit", type=int, help="process only the first N photos (sorted by path)"
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        help="photos per batch and per DB transaction (default 16 on the CPU, 64 on a GPU)",
    )
    parser.add_argument(
        "--top-k",
        type=positive_int,
        default=3,
        help="predictions stored and shown to the explainer per photo (default 3)",
    )
    parser.add_argument(
        "--publish-every",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="publish a snapshot for readers at most this often (default 10 s)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    add_engine_arguments(parser)
    add_model_arguments(parser)
    add_device_argument(parser)
    add_cam_arguments(parser)
    add_explainer_arguments(parser, default_mode="blind")
    return parser


def add_engine_arguments(parser: argparse.ArgumentParser) -> None:
    """``--engine local|ray`` and the Ray engine's options (docs/ray.md)."""
    group = parser.add_argument_group("engine (where the photos are explained; docs/ray.md)")
    group.add_argument(
        "--engine",
        choices=("local", "ray"),
        default="local",
        help="local: this process (default); ray: a pool of Ray actors (pip install 'wordcam[ray]')",
    )
    group.add_argument(
        "--ray-address",
        metavar="ADDR",
        help="Ray cluster to join (ray://HEAD:10001, HEAD:6379 or auto; default: RAY_ADDRESS, "
        "else a local Ray)",
    )
    group.add_argument(
        "--actors", type=int, help="model+explainer actors (default: one per CPU, or per GPU share)"
    )
    group.add_argument(
        "--gpus-per-actor",
        type=float,
        default=0.0,
        metavar="F",
        help="GPUs per actor, fractions allowed (0.25: four actors per GPU; default 0)",
    )


def _elapsed(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m{secs:02d}s" if hours else f"{minutes}m{secs:02d}s"


def job_settings(args: argparse.Namespace) -> JobSettings:
    """The photo job's settings from ``wordcam precompute``'s arguments."""
    from core.jobs import JobSettings
    from core.jobs.ray_options import RayOptions

    return JobSettings(
        model=args.model,
        explainer=args.explainer,
        mode=args.mode,
        method=args.method,
        lang=args.lang,
        layer=args.layer,
        top_k=args.top_k,
        model_options=model_options(args),
        explainer_options=explainer_options(args),
        limit=args.limit,
        batch_size=batch_size_for(args, 16),
        device=args.device,
        progress=not args.no_progress,
        publish_every=args.publish_every,
        engine=args.engine,
        ray=RayOptions(
            address=args.ray_address, actors=args.actors, gpus_per_actor=args.gpus_per_actor
        ),
    )


def run(args: argparse.Namespace) -> int:
    from core.errors import WordcamError
    from core.store import DEFAULT_DB

    db = Path(args.db) if args.db else DEFAULT_DB
    if args.texts and args.data_dir:
        raise WordcamError(
            "give either DATA_DIR (photos) or --texts FILE (a text corpus), not both"
        )
    if not args.texts and not args.data_dir:
        raise WordcamError(
            "missing DATA_DIR: pass a folder of photos, or --texts FILE to import a text corpus"
        )
    from core.jobs import JobSettings, import_texts, run_precompute

    if args.texts:
        settings = JobSettings(
            lang=args.lang, progress=not args.no_progress, publish_every=args.publish_every
        )
        summary = import_texts(args.texts, db, settings=settings)
        noun = "documents"
    else:
        summary = run_precompute(args.data_dir, db, settings=job_settings(args))
        noun = "photos"
    _report(summary, noun, db)
    return exit_status(summary, noun)


def exit_status(summary: JobSummary, noun: str = "photos", command: str = "precompute") -> int:
    """:data:`EXIT_SOME_FAILED` (saying how many on stderr) when any input failed, else 0.

    The exit statuses of every job (``precompute``, ``verify``): 0, 3 some failed, 1 an
    error, 2 bad arguments, 130 interrupted.
    """
    if not summary.some_failed:
        return EXIT_OK
    print(
        f"{command}: {summary.failed} {noun} failed (exit status {EXIT_SOME_FAILED}); "
        "rerun the same command to retry them",
        file=sys.stderr,
    )
    return EXIT_SOME_FAILED


def _report(summary: JobSummary, noun: str, db: Path) -> None:
    """The job's failures and skipped inputs on stderr, its summary and next step on stdout."""
    for line in summary.errors[:SHOWN]:
        print(f"  failed: {printable(line)}", file=sys.stderr)
    if summary.failed > SHOWN:
        print(
            f"  ... and {summary.failed - SHOWN} more failures (stored with their errors)",
            file=sys.stderr,
        )
    skipped_inputs = summary.skipped_inputs
    for path, reason in skipped_inputs[:SHOWN]:
        print(f"  skipped: {printable(path)}: {printable(reason)}", file=sys.stderr)
    if len(skipped_inputs) > SHOWN:
        print(f"  ... and {len(skipped_inputs) - SHOWN} more skipped inputs", file=sys.stderr)
    accuracy = summary.image_accuracy
    parts = [
        f"run {summary.run_id}: {summary.done} {noun} done",
        f"{summary.failed} failed" + (" (rerun to retry them)" if summary.failed else ""),
        f"{summary.skipped_existing} skipped (already done)",
        *([f"{len(skipped_inputs)} inputs skipped"] if skipped_inputs else []),
        f"{_elapsed(summary.elapsed)}",
    ]
    if accuracy is not None:
        parts.append(f"image accuracy {accuracy:.1%}")
    print("precompute: " + ", ".join(parts) + f" -> {db}")
    print(f"next: wordcam mine --db {db}")
