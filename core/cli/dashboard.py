"""``wordcam dashboard``: open the Streamlit dashboard on a precomputed DB."""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

DB_ENV = "WORDCAM_DB"


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "dashboard",
        help="explore the results in a Streamlit dashboard",
        description=(
            "Start the multi-page dashboard (overview, keywords per class, word comparison, "
            "photos with overlays, precompute job control, CSV export) on a DuckDB written by "
            "`wordcam precompute`. It only reads the last published snapshot, so it can run "
            "while a precompute job is writing."
        ),
    )
    parser.add_argument("--db", help="DuckDB file to read (default data/wordcam.duckdb)")
    parser.add_argument("--port", type=int, default=8501, help="port to listen on (default 8501)")
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1: this machine only; anyone who can "
        "reach another address can browse the results and start precompute jobs)",
    )
    return parser


def app_path() -> Path:
    """``dashboard/app.py`` of the installed package (works from any working directory)."""
    spec = importlib.util.find_spec("dashboard")
    if spec is None or not spec.submodule_search_locations:
        from core.errors import WordcamError

        raise WordcamError(
            "the dashboard package is not installed; reinstall wordcam (pip install -e .)"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "app.py"


def streamlit_command(db: Path, host: str, port: int) -> list[str]:
    """The ``streamlit run`` command line for ``db``."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(app_path()),
        "--server.address",
        host,
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--server.runOnSave",
        "false",
        "--server.fileWatcherType",
        "none",
        "--browser.gatherUsageStats",
        "false",
        "--client.toolbarMode",
        "minimal",
        "--theme.base",
        "light",
        "--",
        "--db",
        str(db),
    ]


def run(args: argparse.Namespace) -> int:
    from core.store import DEFAULT_DB

    db = Path(args.db or os.environ.get(DB_ENV) or DEFAULT_DB).expanduser().resolve()
    if not db.exists():
        print(
            f"wordcam dashboard: note: {db} does not exist yet; create it with `wordcam "
            f"precompute DATA_DIR --db {db}` (or from the Precompute page)",
            file=sys.stderr,
        )
    print(
        f"wordcam dashboard: http://{args.host}:{args.port}  (database {db}; Ctrl-C stops)",
        file=sys.stderr,
    )
    env = {**os.environ, DB_ENV: str(db)}
    command = streamlit_command(db, args.host, args.port)
    sys.stderr.flush()
    if os.name == "posix":  # become the server: signals (Ctrl-C, kill PID) reach it directly
        os.execve(command[0], command, env)
    try:
        return subprocess.call(command, env=env)
    except KeyboardInterrupt:
        return 0
