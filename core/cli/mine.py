"""``wordcam mine``: per class the words of the explanations that predict it.

Imports only the standard library at module level (``wordcam mine --help`` stays fast and
never loads torch); the work happens in :mod:`core.mining`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from core.languages import DEFAULT_LANG, LANGUAGES

FORMATS = ("md", "csv", "json")


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``mine`` sub-command (its defaults: :data:`core.mining.settings.DEFAULTS`)."""
    from core.mining.settings import DEFAULTS

    p = subparsers.add_parser(
        "mine",
        help="per class, the words of the explanations that predict it",
        description="Logistic regression words -> label over the stored explanations: per class "
        "the top words with their precision n/m (documents with the word and the "
        "label / documents with the word), the cross-validated accuracy of words -> "
        "label, the image model's accuracy and the majority baseline.",
    )
    p.add_argument(
        "file",
        nargs="?",
        metavar="FILE",
        help="a CSV/TSV/JSONL corpus with columns id,label,text (instead of --db)",
    )
    p.add_argument("--db", help="wordcam DuckDB (default data/wordcam.duckdb)")
    p.add_argument("--run", type=int, dest="run_id", help="run id (default: the latest run)")
    p.add_argument(
        "--top", type=int, default=DEFAULTS.top, help=f"words per class (default {DEFAULTS.top})"
    )
    p.add_argument(
        "--by",
        choices=["true", "predicted"],
        default=DEFAULTS.by,
        help=f"label documents by the true or the predicted class (default {DEFAULTS.by})",
    )
    p.add_argument(
        "--class",
        dest="classes",
        action="extend",
        nargs="+",
        metavar="C",
        help="show only these classes (with --examples: only this class's documents)",
    )
    p.add_argument(
        "--kind",
        dest="kinds",
        action="append",
        metavar="KIND",
        help="only words of this kind: object, colour, position, other or guess (a name the "
        "explainer only hedged; the table hides guesses unless chosen) (repeatable or a "
        "comma list; kinds are stored by wordcam precompute)",
    )
    _table_options(p)
    p.add_argument(
        "--contrast",
        nargs=2,
        metavar=("A", "B"),
        help="compare two classes (separating words) or two words (use per class)",
    )
    p.add_argument(
        "--examples",
        metavar="WORD",
        help="list the explanations containing WORD with the sentence around it",
    )
    p.add_argument("--limit", type=int, default=20, help="--examples: at most this many")
    p.add_argument(
        "--lang",
        choices=LANGUAGES,
        help="language of a FILE corpus and of the table's text (default: a DB run's own "
        "language, else ja)",
    )
    return p


def _table_options(p: argparse.ArgumentParser) -> None:
    """The keyword table's settings: ``--min-df`` ... ``--seed`` (defaults from DEFAULTS)."""
    from core.mining.settings import DEFAULTS, RANKS

    p.add_argument(
        "--min-df",
        type=int,
        default=DEFAULTS.min_df,
        help=f"ignore words in fewer documents (default {DEFAULTS.min_df})",
    )
    p.add_argument(
        "--min-m",
        type=int,
        default=DEFAULTS.min_m,
        help="leave out of the table words found in fewer documents (the fit still uses them; "
        f"default {DEFAULTS.min_m})",
    )
    p.add_argument(
        "--rank",
        choices=RANKS,
        default=DEFAULTS.rank,
        help="rank words by the lower end of the 95%% Wilson interval of their precision n/m "
        f"(precision) or by logistic-regression weight (default {DEFAULTS.rank})",
    )
    p.add_argument(
        "--stopwords",
        metavar="FILE|WORDS",
        help="extra stop words: a file (one per line) or a comma-separated list",
    )
    p.add_argument("--format", choices=FORMATS, default="md", help="output format (default md)")
    p.add_argument(
        "--cv",
        type=int,
        default=DEFAULTS.cv,
        help=f"cross-validation folds for the text accuracy (default {DEFAULTS.cv}, at most 3 "
        "from 20,000 documents on; 0 skips it)",
    )
    p.add_argument(
        "--seed",
        type=int,
        default=DEFAULTS.seed,
        help=f"seed of the fold split (default {DEFAULTS.seed})",
    )


def read_stopwords(spec: str | None) -> list[str]:
    """Words from a stop-word file (one per line, # comments) or a comma/space list."""
    if not spec:
        return []
    path = Path(spec)
    if path.is_file():
        text = path.read_text(encoding="utf-8-sig")
        lines = [line.split("#", 1)[0] for line in text.splitlines()]
        return [w for line in lines for w in line.replace(",", " ").split()]
    return [w for w in spec.replace("、", ",").replace(",", " ").split() if w]


def run(args: argparse.Namespace) -> int:
    """Run ``wordcam mine``."""
    from core.errors import DataError
    from core.mining import MiningSettings, contrast, examples, keyword_table, load_corpus
    from core.store import DEFAULT_DB

    if args.file and args.db:
        raise DataError("give either a FILE corpus or --db, not both")
    if args.top < 1 or args.min_df < 1 or args.min_m < 1:
        raise DataError("--top, --min-df and --min-m must be at least 1")
    source = args.file or args.db or DEFAULT_DB
    lang = args.lang or DEFAULT_LANG
    stopwords = read_stopwords(args.stopwords)
    out = sys.stdout
    if not (args.examples or args.contrast):
        try:
            settings = MiningSettings(
                top=args.top,
                min_df=args.min_df,
                by=args.by,
                stopwords=tuple(stopwords),
                kinds=tuple(args.kinds or ()),
                cv=args.cv,
                seed=args.seed,
                min_m=args.min_m,
                rank=args.rank,
            )
            result = keyword_table(source, args.run_id, settings, classes=args.classes, lang=lang)
        except DataError as exc:
            raise still_starting(source, args.run_id) or exc from None
        if args.lang:  # the text in the language asked for (a DB run's table is in its own)
            result = result.in_lang(args.lang)
        _write(out, result, args.format)
        return 0

    kinds = args.kinds
    if args.contrast and not kinds:  # guesses hidden, as on the Compare page
        from core.mining import run_word_kinds, shown_kinds

        kinds = list(shown_kinds(list(run_word_kinds(source, args.run_id)))) or None
    corpus = load_corpus(source, run_id=args.run_id, by=args.by, lang=lang, kinds=kinds)

    if args.examples:
        cls = args.classes[0] if args.classes else None
        found = examples(corpus, args.examples, cls=cls, limit=args.limit)
        if args.format == "json":
            import json
            from dataclasses import asdict

            out.write(json.dumps([asdict(e) for e in found], ensure_ascii=False, indent=2) + "\n")
        elif args.format == "csv":
            from core.export import write_csv

            header = ["doc_id", "label", "pred_label", "pred_prob", "path", "sentence"]
            rows = (
                [e.doc_id, e.label or "", e.pred_label or "", e.pred_prob, e.path or "", e.sentence]
                for e in found
            )
            write_csv(out, [header, *rows])
        else:
            from core.formatting import pct
            from core.mining.strings import text

            said = args.lang or corpus.lang  # the run's language, or --lang (issue 23)
            if not found:
                out.write(text("examples_none", said, word=repr(args.examples)) + "\n")
            for e in found:
                where = e.path or e.doc_id
                prob = pct(e.pred_prob)
                line = text(
                    "examples_line", said, label=e.label, pred=e.pred_label, prob=prob, where=where
                )
                out.write(f"{line}\n  {e.sentence}\n")
        return 0

    result = contrast(
        corpus,
        args.contrast[0],
        args.contrast[1],
        top=args.top,
        min_df=args.min_df,
        stopwords=stopwords,
    )
    from dataclasses import replace

    # headers in --lang, else the run's language (issue 23: one language at a time)
    _write(out, replace(result, lang=args.lang or corpus.lang), args.format)
    return 0


def still_starting(source: str | Path, run_id: int | None) -> Exception | None:
    """The error to show instead when the run mined is still running (its job just started).

    None when ``source`` is a corpus file or its run has finished: the original error stands.
    """
    from core.errors import DataError
    from core.jobs.progress import read_progress
    from core.mining.files import is_corpus_file
    from core.store import latest_run_id, reading
    from core.store.runs import run_progress

    if is_corpus_file(source):
        return None
    try:
        with reading(source) as con:
            run_id = latest_run_id(con) if run_id is None else run_id
            found = run_progress(con, run_id)
    except Exception:  # noqa: BLE001 (the original error is the one to show)
        return None
    progress = read_progress(source) or {}
    if not found or found[0] != "running" or not _job_alive(progress, run_id):
        return None
    total = f" of {progress['total']}" if progress.get("total") else ""
    return DataError(
        f"run {run_id} is still running and has only {found[1]}{total} photos explained so "
        f"far, too few to mine; the job is still starting: rerun `wordcam mine --db {source}` "
        "when it has done more"
    )


def _job_alive(progress: dict, run_id: int) -> bool:
    """Whether the progress record is of a live job on ``run_id`` (not one killed mid-run)."""
    import os

    if progress.get("run_id") != run_id or progress.get("status") != "running":
        return False
    try:
        os.kill(int(progress["pid"]), 0)
    except (KeyError, TypeError, ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True  # a process of another user
    return True


def _write(out, result, fmt: str) -> None:
    """Print a mining or contrast result as Markdown, CSV (formulas neutralised) or JSON."""
    text = {"md": result.to_markdown, "csv": result.to_csv, "json": result.to_json}[fmt]()
    if fmt == "csv":
        from core.export import safe_csv_text

        text = safe_csv_text(text)
    out.write(text if text.endswith("\n") else text + "\n")
