"""The ``wordcam`` command line: a thin layer over ``core``.

Each sub-command lives in its own module ``core.cli.<name>`` exposing
``register(subparsers) -> argparse.ArgumentParser`` and ``run(args) -> int``. Those modules
import only the standard library at import time, so ``wordcam mine --help`` never loads torch.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from core import __version__
from core.cli.terminal import escaped_output, printable
from core.errors import WordcamError, is_disk_full

COMMANDS = [
    "demo",
    "explain",
    "train",
    "eval",
    "precompute",
    "mine",
    "dashboard",
    "cost",
    "bench",
    "report",
    "verify",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="wordcam",
        description="Make an image classifier explain itself in words.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument("--version", action="version", version=f"wordcam {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        module = importlib.import_module(f"core.cli.{name}")
        sub_parser = module.register(sub)
        sub_parser.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``wordcam`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    with escaped_output():  # every byte written to the terminal goes through one function
        logging.basicConfig(
            level=logging.DEBUG if args.verbose else logging.INFO,
            format="%(levelname)s %(name)s: %(message)s" if args.verbose else "%(message)s",
        )
        if not getattr(args, "_run", None):
            parser.print_help()
            return 2
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    """Run the parsed command; a :class:`WordcamError` is one line and exit status 1."""
    try:
        return int(args._run(args) or 0)
    except WordcamError as exc:
        print(f"wordcam {args.command}: error: {printable(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(
            f"wordcam {args.command}: interrupted; finished results are kept, rerun to resume",
            file=sys.stderr,
        )
        return 130
    except BrokenPipeError:
        return 0
    except OSError as exc:
        if not is_disk_full(exc):
            raise
        print(f"wordcam {args.command}: error: disk full ({printable(exc)})", file=sys.stderr)
        return 1
    except Exception as exc:
        if type(exc).__module__.split(".")[0] not in ("duckdb", "_duckdb"):
            raise
        print(
            f"wordcam {args.command}: error: {printable(_database_error(args, exc))}",
            file=sys.stderr,
        )
        return 1


def _database_error(args: argparse.Namespace, exc: Exception) -> str:
    """One line for a DuckDB error that reached the top (a damaged file, most often)."""
    from core.store import DEFAULT_DB

    lines = str(exc).strip().splitlines()
    what = lines[0] if lines else type(exc).__name__
    db = getattr(args, "db", None) or DEFAULT_DB
    hint = ""
    if "corrupt" in what.lower() or "checksum" in what.lower():
        hint = "; the file is damaged: restore it from a backup or precompute into a new --db"
    return f"reading {db} failed ({what}){hint}"


if __name__ == "__main__":
    sys.exit(main())
