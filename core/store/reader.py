"""Read-only connections to the published snapshot of a wordcam DB.

Readers (``wordcam mine``, the dashboard) only ever open ``<db>`` read-only, so they never block
the job and always see a consistent snapshot (a reader holding the old file keeps its inode
until it reconnects). They never migrate: an older DB is read as it is (see
:func:`core.store.migrations.schema_version`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from core.errors import DataError
from core.store.paths import work_path

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
    try:
        return duckdb.connect(str(db), read_only=True)
    except duckdb.Error as exc:
        raise DataError(f"cannot open {db} as a wordcam database: {exc}") from None


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
