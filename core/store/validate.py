"""The one check a DB file passes before it is used as a work file or published over ``<db>``.

:func:`check_db` opens the file read-only and reads every block its tables use: DuckDB
verifies each block's checksum as it reads it, so a damaged block (a torn write, a bad
sector, bytes overwritten) is found here rather than after the file has replaced the good
database. It also catches a file of another kind, a truncated file and missing tables.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from core.store.connect import connect, foreign_file, wordcam_problem

if TYPE_CHECKING:
    import duckdb

#: The tables every wordcam DB has (from migration 1 on); a file without them is not one.
REQUIRED_TABLES = ("runs", "images", "explanations", "tokens")
#: DuckDB's file header (3 x 4 KiB) before its blocks: a sound file reaches past the last block
#: its tables use; a truncated one stops short of it.
HEADER_BYTES = 3 * 4096


def check_db(path: str | Path) -> tuple[str | None, dict[str, int]]:
    """``(problem, row counts)`` of the DB file ``path``; ``problem`` is None for a sound one.

    The check a work file passes before it is used and a snapshot before it is published: the
    file opens as a DuckDB database (not another kind of file), reaches the last data block its
    tables use (not truncated), holds every table of :data:`REQUIRED_TABLES`, and every value
    of every table reads back (each block's checksum verified). ``counts`` has every table.
    """
    import duckdb

    kind = foreign_file(path)
    if kind is not None:
        return f"not a readable DuckDB file ({kind})", {}
    try:
        con = connect(path, read_only=True)
    except duckdb.Error as exc:
        return f"not a readable DuckDB file ({first_line(exc)})", {}
    try:
        names = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        size, expected = os.path.getsize(path), _length_needed(con, names)
        if size < expected:
            return f"truncated ({size:,} bytes of at least {expected:,})", {}
        missing = [t for t in REQUIRED_TABLES if t not in names]
        if missing:
            return f"missing table(s) {', '.join(missing)}", {}
        foreign = wordcam_problem(con)
        if foreign is not None:
            return f"not a wordcam database: {foreign}", {}
        counts = {t: _read_every_block(con, t) for t in sorted(names)}
        _look_up_every_key(con)
    except duckdb.Error as exc:
        return f"unreadable tables ({first_line(exc)})", {}
    except RuntimeError as exc:
        raise_if_interrupted(exc)
        raise
    finally:
        con.close()
    return None, counts


def _read_every_block(con: duckdb.DuckDBPyConnection, table: str) -> int:
    """Read every value of ``table`` (so DuckDB checksums each of its blocks); its row count.

    The values are hashed inside DuckDB rather than fetched, so the check costs one scan.
    """
    quoted = '"' + table.replace('"', '""') + '"'
    row = con.execute(f"SELECT count(*), max(hash(COLUMNS(*))) FROM {quoted}").fetchone()
    return int(row[0])


def _look_up_every_key(con: duckdb.DuckDBPyConnection) -> None:
    """Look one row up by each primary and unique key, so DuckDB loads those index blocks.

    A table scan does not read an index; one lookup per key reads the index blocks on its path
    (measured: 16 ms on a 30k-photo DB). Damage elsewhere in an index surfaces only when a job
    writes, and the writer then publishes nothing (:meth:`StoreWriter.close`).
    """
    con.execute("SET index_scan_percentage = 1.0")
    keys = con.execute(
        "SELECT table_name, constraint_column_names FROM duckdb_constraints()"
        " WHERE constraint_type IN ('PRIMARY KEY', 'UNIQUE')"
    ).fetchall()
    for table, columns in keys:
        names = ", ".join('"' + c.replace('"', '""') + '"' for c in columns)
        quoted = '"' + table.replace('"', '""') + '"'
        row = con.execute(f"SELECT {names} FROM {quoted} LIMIT 1").fetchone()
        if row is not None:
            where = " AND ".join(f"{n} IS NOT DISTINCT FROM ?" for n in names.split(", "))
            con.execute(f"SELECT count(*) FROM {quoted} WHERE {where}", list(row)).fetchone()


def _length_needed(con: duckdb.DuckDBPyConnection, tables: set[str]) -> int:
    """The bytes a file needs to hold the last data block its tables use."""
    block_size = con.execute("SELECT block_size FROM pragma_database_size()").fetchone()[0]
    last = -1
    for table in sorted(tables):
        quoted = table.replace("'", "''")
        found = con.execute(
            f"SELECT max(block_id) FROM pragma_storage_info('{quoted}')"
        ).fetchone()[0]
        last = max(last, -1 if found is None else int(found))
    return HEADER_BYTES + (last + 1) * int(block_size)


def raise_if_interrupted(exc: BaseException) -> None:
    """DuckDB answers a Ctrl-C during a statement with ``RuntimeError('Query interrupted')``;
    raise the :class:`KeyboardInterrupt` it was (a check cut short says nothing of the file)."""
    if isinstance(exc, RuntimeError) and "interrupted" in str(exc).lower():
        raise KeyboardInterrupt from exc


def first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__
