"""The one way the store opens a DuckDB file: offline, and only when it is a DuckDB file.

DuckDB opens a SQLite file by installing its ``sqlite_scanner`` extension, downloaded from
the network; wordcam uses no network but the configured explainer API, so every connection
here turns extension installing and auto-loading off, and a file whose header is not
DuckDB's is refused before DuckDB sees it (:func:`foreign_file`). :func:`wordcam_problem`
tells a DuckDB file of another program (no wordcam tables, or a ``runs`` table of its own)
from a wordcam DB.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb

#: Connection settings of every store connection: never download or load an extension.
OFFLINE = {"autoinstall_known_extensions": False, "autoload_known_extensions": False}
#: DuckDB's magic bytes, at offset 8 of its file header.
DUCKDB_MAGIC = b"DUCK"
SQLITE_MAGIC = b"SQLite format 3\x00"
#: Columns a table of a wordcam DB has had from migration 1 on (what tells it from another's).
WORDCAM_COLUMNS = {
    "runs": {"run_id", "kind", "model", "explainer", "settings", "status"},
    "images": {"image_id", "run_id", "path", "true_label", "pred_label", "status"},
    "explanations": {"image_id", "run_id", "text"},
    "tokens": {"image_id", "run_id", "tokens"},
}


def foreign_file(path: str | Path) -> str | None:
    """Why the existing file ``path`` is no DuckDB database (None: its header is DuckDB's)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(16)
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"
    if head.startswith(SQLITE_MAGIC):
        return "a SQLite database, not a DuckDB one"
    if len(head) >= 12 and head[8:12] != DUCKDB_MAGIC:
        return "not a DuckDB database file"
    if 0 < len(head) < 12:
        return "not a DuckDB database file (too short)"
    return None


def connect(path: str | Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """``duckdb.connect(path)`` offline; ``duckdb.Error`` for a file of another kind."""
    import duckdb

    problem = foreign_file(path)
    if problem is not None:
        raise duckdb.IOException(f"{path} is {problem}")
    return duckdb.connect(str(path), read_only=read_only, config=dict(OFFLINE))


def memory() -> duckdb.DuckDBPyConnection:
    """A private in-memory DuckDB, offline like every store connection."""
    import duckdb

    return duckdb.connect(":memory:", config=dict(OFFLINE))


def wordcam_problem(con: duckdb.DuckDBPyConnection, catalog: str | None = None) -> str | None:
    """Why the DB on ``con`` (``catalog``: an attached one) is not wordcam's; None when it is."""
    where = "" if catalog is None else " WHERE table_catalog = ?"
    rows = con.execute(
        "SELECT table_name, column_name FROM information_schema.columns" + where,
        [] if catalog is None else [catalog],
    ).fetchall()
    columns: dict[str, set[str]] = {}
    for table, column in rows:
        columns.setdefault(table, set()).add(column)
    if not columns:
        return "it holds no tables"
    for table, needed in WORDCAM_COLUMNS.items():
        if table not in columns:
            return f"it has no {table} table"
        missing = sorted(needed - columns[table])
        if missing:
            return f"its {table} table has no {', '.join(missing)} column"
    return None
