"""The single writer of a wordcam DB: a private work file, published as checked atomic snapshots.

DuckDB allows one writing process and no readers beside it, so the precompute job writes to a
private *work file* ``<db>.work`` and, every ``publish_every`` seconds and at the end,
checkpoints it and publishes a snapshot: a copy ``<db>.tmp`` that must pass
:func:`core.store.reader.check_db` (and hold as many rows as the work file) before it is
atomically renamed over ``<db>``. After ``kill -9`` the work file survives (DuckDB replays its
WAL), and rerunning the job resumes from it; a clean finish publishes and removes it.

A run that finds no work file but an existing ``<db>`` starts from a copy of it, made as
``<db>.work.tmp`` and renamed, so an interrupted copy never looks like a work file. A work file
that fails the check (truncated, not a DuckDB file, missing tables) is moved aside to
``<db>.work.damaged`` and rebuilt from ``<db>``; it is never published. After an error the
writer publishes only a snapshot that passes the check. Opening the work file applies the
pending schema migrations (:mod:`core.store.migrations`). The writer holds the single-writer
lock (:mod:`core.store.lock`) for its whole life. ``docs/schema.md`` (*Crash safety and exit
statuses*) states the guarantees.

Every transaction in wordcam goes through :func:`transaction` (``with writer.transaction():``
on the writer, or ``transaction(con)`` on a connection the store was handed): it commits at
the end and rolls back on any exception, which it re-raises.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING

from core.errors import DataError, disk_full_error, is_disk_full
from core.store.lock import acquire_writer_lock, release_writer_lock
from core.store.migrations import migrate
from core.store.paths import (
    damaged_work_path,
    snapshot_tmp_path,
    wal_path,
    work_path,
    work_tmp_path,
)
from core.store.reader import REQUIRED_TABLES, check_db, first_line

if TYPE_CHECKING:
    import duckdb

log = logging.getLogger(__name__)


def copy_file(src: Path, dst: Path) -> None:
    """Copy ``src`` to ``dst`` and flush it to disk (a disk-full error is one clear line)."""
    try:
        shutil.copyfile(src, dst)
        with open(dst, "rb+") as fh:
            os.fsync(fh.fileno())
    except OSError as exc:
        dst.unlink(missing_ok=True)
        if is_disk_full(exc):
            raise disk_full_error(dst) from None
        raise


def rename_file(src: Path, dst: Path) -> None:
    """Atomically rename ``src`` over ``dst``."""
    os.replace(src, dst)


def _prepare_work(db: Path, work: Path) -> None:
    """Leave a sound work file, or none: a damaged one is moved aside, a missing one copied."""
    for stale in (work_tmp_path(db), snapshot_tmp_path(db)):
        stale.unlink(missing_ok=True)  # left by a job killed while copying
    if work.exists():
        problem, _ = check_db(work)
        if problem is None:
            return
        log.warning("%s failed its check (%s); rebuilding it from %s", work, problem, db)
        rename_file(work, damaged_work_path(db))
        wal_path(work).unlink(missing_ok=True)
    if db.exists():
        problem, _ = check_db(db)
        if problem is not None:
            raise DataError(
                f"{db} is not a readable wordcam database ({problem}); move it away or "
                "restore it from a backup, then rerun"
            )
        tmp = work_tmp_path(db)
        copy_file(db, tmp)
        rename_file(tmp, work)


def _connect(db: Path, work: Path) -> duckdb.DuckDBPyConnection:
    """Connect to the work file; a lock error only when DuckDB reports a lock."""
    import duckdb

    try:
        return duckdb.connect(str(work))
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise DataError(
                f"{work} is locked by another process; is another program writing {db}? ({exc})"
            ) from None
        if is_disk_full(exc):
            raise disk_full_error(work) from None
        raise DataError(f"cannot open {work}: {first_line(exc)}") from None


_OPEN: set[int] = set()  # ids of the connections inside a transaction of :func:`transaction`


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """One transaction on ``con``: ``BEGIN``, ``COMMIT`` at the end, ``ROLLBACK`` on any
    exception (or Ctrl-C), which is re-raised; yields ``con``.

    Inside a transaction this helper already opened on ``con`` it joins that one: the outer
    block commits or rolls back. (Asking DuckDB would not do: a second ``BEGIN`` aborts the
    open transaction.) DuckDB answers a Ctrl-C during a statement with
    ``RuntimeError('Query interrupted')`` and may have ended the transaction already: that is
    re-raised as the :class:`KeyboardInterrupt` it was, so the job records an interrupted run.
    """
    import duckdb

    if id(con) in _OPEN:
        yield con
        return
    con.execute("BEGIN TRANSACTION")
    _OPEN.add(id(con))
    try:
        yield con
        con.execute("COMMIT")
    except BaseException as exc:
        with suppress(duckdb.TransactionException):  # no transaction left to roll back
            con.execute("ROLLBACK")
        if isinstance(exc, RuntimeError) and "interrupted" in str(exc).lower():
            raise KeyboardInterrupt from exc
        raise
    finally:
        _OPEN.discard(id(con))


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
            _prepare_work(self.db, self.work)
            self.con = _connect(self.db, self.work)
            try:
                migrate(self.con)
            except BaseException:
                self.con.close()
                raise
        except BaseException:
            release_writer_lock(self._lock)
            raise
        self._last_publish = 0.0

    def transaction(self) -> AbstractContextManager[duckdb.DuckDBPyConnection]:
        """``with writer.transaction() as con:``: one transaction on the work file
        (:func:`transaction`: committed at the end, rolled back on any exception)."""
        return transaction(self.con)

    def publish(self, force: bool = False) -> bool:
        """Publish a checked snapshot over ``db`` atomically (at most every ``publish_every`` s).

        Raises :class:`DataError` (``db`` left as it was) when the snapshot fails its check.
        """
        now = time.monotonic()
        if not force and now - self._last_publish < self.publish_every:
            return False
        try:
            self.con.execute("CHECKPOINT")
        except Exception as exc:
            if is_disk_full(exc):
                raise disk_full_error(self.work) from None
            raise
        tmp = snapshot_tmp_path(self.db)
        copy_file(self.work, tmp)
        problem = self._check_snapshot(tmp)
        if problem is not None:
            tmp.unlink(missing_ok=True)
            raise DataError(
                f"the snapshot of {self.work} failed its check ({problem}); {self.db} is kept "
                "as it was; rerun to rebuild the work file from it"
            )
        rename_file(tmp, self.db)
        self._last_publish = time.monotonic()
        return True

    def _check_snapshot(self, snapshot: Path) -> str | None:
        """Why ``snapshot`` must not be published (None: it is sound and holds every row)."""
        problem, counts = check_db(snapshot)
        if problem is not None:
            return problem
        for table in REQUIRED_TABLES:
            live = self.con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            if counts[table] != live:
                return f"{table} has {counts[table]} rows, the work file {live}"
        return None

    def close(self, finished: bool = False, failed: bool = False) -> None:
        """Publish (a checked snapshot) and close; a finished job also removes its work file.

        After a failure (``failed``) a snapshot that cannot be made or fails its check is not
        published, and that problem is logged rather than raised over the original error.
        """
        try:
            try:
                self.publish(force=True)
            except Exception as exc:
                if not failed:
                    raise
                log.warning("not published after the failure: %s", first_line(exc))
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
        self.close(finished=exc_type is None, failed=exc_type is not None)
