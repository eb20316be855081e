"""The single writer of a wordcam DB: a private work file, published as atomic snapshots.

DuckDB allows one writing process and no readers beside it, so the precompute job writes to a
private *work file* ``<db>.work`` and, every ``publish_every`` seconds and at the end,
checkpoints it and publishes a snapshot by copying it to ``<db>.tmp`` and atomically renaming
that over ``<db>``. After ``kill -9`` the work file survives (DuckDB replays its WAL), and
rerunning the job resumes from it; a clean finish publishes and removes it. A run that finds no
work file but an existing ``<db>`` starts from a copy of ``<db>``. Opening the work file applies
the pending schema migrations (:mod:`core.store.migrations`), so the first snapshot published
after an upgrade carries the new schema. The writer holds the single-writer lock
(:mod:`core.store.lock`) for its whole life.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING

from core.errors import DataError
from core.store.lock import acquire_writer_lock, release_writer_lock
from core.store.migrations import migrate
from core.store.paths import snapshot_tmp_path, wal_path, work_path

if TYPE_CHECKING:
    import duckdb


def _open_work(db: Path, work: Path) -> duckdb.DuckDBPyConnection:
    """Connect to the work file (copied from the published ``db`` when there is none)."""
    import duckdb

    if not work.exists() and db.exists():
        shutil.copyfile(db, work)
    try:
        return duckdb.connect(str(work))
    except duckdb.IOException as exc:
        raise DataError(
            f"{work} is locked by another process; is another precompute job writing {db}? ({exc})"
        ) from None


class StoreWriter:
    """The single writer of a wordcam DB (see the module docstring for the design).

    Use as a context manager; call :meth:`publish` to make progress visible to readers.
    """

    def __init__(self, db: str | Path, publish_every: float = 20.0) -> None:
        self.db = Path(db)
        self.work = work_path(self.db)
        self.publish_every = publish_every
        self.db.parent.mkdir(parents=True, exist_ok=True)
        self._lock = acquire_writer_lock(self.db)
        try:
            self.con = _open_work(self.db, self.work)
            try:
                migrate(self.con)
            except BaseException:
                self.con.close()
                raise
        except BaseException:
            release_writer_lock(self._lock)
            raise
        self._last_publish = 0.0

    def publish(self, force: bool = False) -> bool:
        """Copy a checkpointed snapshot over ``db`` atomically (at most every ``publish_every`` s)."""
        now = time.monotonic()
        if not force and now - self._last_publish < self.publish_every:
            return False
        self.con.execute("CHECKPOINT")
        tmp = snapshot_tmp_path(self.db)
        shutil.copyfile(self.work, tmp)
        os.replace(tmp, self.db)
        self._last_publish = time.monotonic()
        return True

    def close(self, finished: bool = False) -> None:
        """Publish and close; a finished job also removes its work file."""
        try:
            try:
                self.publish(force=True)
            finally:
                self.con.close()
            if finished:
                for p in (self.work, wal_path(self.work)):
                    p.unlink(missing_ok=True)
        finally:
            release_writer_lock(self._lock)

    def __enter__(self) -> StoreWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close(finished=exc_type is None)
