"""Read-only connections to the published snapshot of a wordcam DB.

Readers (``wordcam mine``, the dashboard) only ever open ``<db>`` read-only, so they never block
the job and always see a consistent snapshot (a reader holding the old file keeps its inode
until it reconnects). :func:`connect_read` and :func:`reading` open the file itself; the
dashboard's long-lived :func:`open_snapshot` attaches it to a private in-memory instance, with
:func:`db_version` as its cache key. Readers never migrate: an older DB is read as it is (see
:func:`core.store.migrations.schema_version`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from core.errors import DataError
from core.store.connect import connect, foreign_file, memory, wordcam_problem
from core.store.paths import work_path
from core.store.validate import first_line

if TYPE_CHECKING:
    import duckdb


def connect_read(db: str | Path) -> duckdb.DuckDBPyConnection:
    """Open the published snapshot of ``db`` read-only; a clear error if there is none."""
    import duckdb

    db = Path(db)
    if not db.exists():
        hint = " (a precompute job is still running; its first snapshot is not published yet)"
        raise DataError(
            f"no database at {db}"
            + (
                hint
                if work_path(db).exists()
                else f"; run `wordcam precompute DATA_DIR --db {db}` first"
            )
        )
    kind = foreign_file(db)
    if kind is not None:
        raise DataError(f"{db} is not a wordcam database: it is {kind}")
    try:
        con = connect(db, read_only=True)
    except duckdb.Error as exc:
        raise DataError(f"cannot open {db} as a wordcam database: {first_line(exc)}") from None
    _refuse_foreign(con, db)
    return con


def _refuse_foreign(con: duckdb.DuckDBPyConnection, db: str | Path, catalog: str | None = None):
    """Close ``con`` and raise one line when the DB it reads is not wordcam's."""
    try:
        problem = wordcam_problem(con, catalog)
    except BaseException:
        con.close()
        raise
    if problem is not None:
        con.close()
        raise DataError(
            f"{db} is not a wordcam database ({problem}); pass a DB written by `wordcam precompute`"
        )


def db_version(db: str | Path) -> tuple[str, int] | None:
    """``(absolute path, mtime in ns)`` of the published DB, or ``None`` when it does not exist.

    A re-published snapshot (atomic rename) changes the mtime, so this pair is a cache key
    that picks up new results.
    """
    path = Path(db).expanduser().resolve()
    try:
        return str(path), path.stat().st_mtime_ns
    except FileNotFoundError:
        return None


SNAPSHOT = "snapshot"


def open_snapshot(db: str | Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the published snapshot of ``db`` as it is now.

    The file is attached to a private in-memory DuckDB instance rather than opened with
    ``duckdb.connect(path)``: DuckDB shares one instance per path within a process, so a
    long-lived connection would otherwise pin the *old* snapshot after the precompute job
    re-publishes (atomic rename), for this reader and for every later ``connect(path)``.
    Use :func:`snapshot_cursor` for per-thread cursors. ``DataError`` when there is no DB.
    """
    import duckdb

    if not Path(db).is_file() or foreign_file(db) is not None:
        connect_read(db)  # raises the clear "no database at ..." / "not a wordcam database"
    con = memory()
    quoted = str(Path(db).resolve()).replace("'", "''")
    try:
        con.execute(f"ATTACH '{quoted}' AS {SNAPSHOT} (READ_ONLY)")
        con.execute(f"USE {SNAPSHOT}")
    except duckdb.Error as exc:
        con.close()
        raise DataError(f"cannot open {db} as a wordcam database: {first_line(exc)}") from None
    _refuse_foreign(con, db, SNAPSHOT)
    return con


def snapshot_cursor(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """A new cursor (for another thread) on a connection from :func:`open_snapshot`."""
    cur = con.cursor()
    cur.execute(f"USE {SNAPSHOT}")
    return cur


@contextmanager
def reading(db: str | Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """``with reading(db) as con:`` a read-only connection closed afterwards."""
    con = connect_read(db)
    try:
        yield con
    finally:
        con.close()


def latest_run_id(con: duckdb.DuckDBPyConnection) -> int:
    """The most recent run in the DB; a clear error when it holds none."""
    row = con.execute("SELECT max(run_id) FROM runs").fetchone()
    if not row or row[0] is None:
        raise DataError("the database holds no runs yet; run `wordcam precompute` first")
    return int(row[0])
