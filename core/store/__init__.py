"""The DuckDB store: schema and migrations, the single writer, and read-only connections.

One file per concern (``docs/schema.md`` has the whole design):

* :mod:`core.store.paths`: the DB's files (work file, lock, snapshot copy, asset folder).
* :mod:`core.store.lock`: the ``flock`` single-writer lock.
* :mod:`core.store.writer`: :class:`StoreWriter`, the work file and its atomic snapshots, and
  :func:`~core.store.writer.transaction`, the one transaction helper (rollback on any error).
* :mod:`core.store.reader`: read-only connections to the published snapshot.
* :mod:`core.store.schema` and :mod:`core.store.migrations`: the tables and their numbered,
  recorded migrations (applied by the writer; readers read an older DB as it is).
* :mod:`core.store.queries` and :mod:`core.store.metrics`: the dashboard's reads, the run metrics.
* :mod:`core.store.verify_inputs`: what verification reads of a run (word regions, photo details).
* :mod:`core.store.vlm_calls`: the VLM call cache's own file (its migrations and statements).

Every SQL statement of wordcam is in this package (``tests/test_architecture.py`` checks it).

The names below are re-exported so ``from core.store import StoreWriter`` keeps working.
"""

from __future__ import annotations

from core.store.migrations import LATEST_VERSION, migrate, schema_version
from core.store.paths import DEFAULT_DB, asset_dir, lock_path, work_path
from core.store.reader import connect_read, latest_run_id, reading
from core.store.schema import SCHEMA, has_table
from core.store.writer import StoreWriter

__all__ = [
    "DEFAULT_DB",
    "LATEST_VERSION",
    "SCHEMA",
    "StoreWriter",
    "asset_dir",
    "connect_read",
    "has_table",
    "latest_run_id",
    "lock_path",
    "migrate",
    "reading",
    "schema_version",
    "work_path",
]
