"""The job skeleton both jobs share: one session of writing batches of rows into a run.

A :class:`JobSession` owns the summary dict, the progress file and the publish loop; as a
context manager it records a Ctrl-C (run ``interrupted``, term matrix kept current) or an
error (run ``failed``) and re-raises. The photo job and the text import only say how a batch
of their input becomes rows::

    with StoreWriter(db) as writer:
        session = JobSession(writer, total=..., skipped=..., run_id=..., ...)
        with session:
            session.start(run_id)
            for batch in ...:
                session.save(rows_of(batch))
            session.finish()
        session.done("... message")
    return session.summary
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from core.errors import DataError, disk_full_error, is_disk_full
from core.jobs import runs
from core.jobs.progress import ProgressFile
from core.jobs.rows import one_line
from core.store.results import ExplanationSource, ResultRow, write_rows

if TYPE_CHECKING:
    from core.store import StoreWriter

log = logging.getLogger(__name__)
T = TypeVar("T")
ERRORS_KEPT = 50  # failure messages kept in the summary (at most 20 per batch)


def chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """``items`` in consecutive slices of ``size``."""
    for begin in range(0, len(items), size):
        yield items[begin : begin + size]


def new_summary(
    run_id: int | None,
    total: int,
    skipped: int,
    db: Path,
    skipped_inputs: Sequence[tuple[str, str]] = (),
) -> dict[str, Any]:
    """A job's summary before its first batch (the keys ``wordcam precompute`` reports).

    ``skipped_inputs``: ``(path, reason)`` of every input left out of the job (a duplicate, a
    folder loop, an unreadable folder ...), kept in full under that key.
    """
    return {
        "run_id": run_id,
        "done": 0,
        "failed": 0,
        "skipped_existing": skipped,
        "total": total,
        "elapsed": 0.0,
        "db": str(db),
        "image_accuracy": None,
        "status": "running",
        "errors": [],
        "skipped_inputs": [list(item) for item in skipped_inputs],
    }


class JobSession:
    """One session of a job on one run: counts, progress, publishing, and the run's end."""

    def __init__(
        self,
        writer: StoreWriter,
        source: ExplanationSource,
        *,
        total: int,
        skipped: int,
        run_id: int | None,
        show: bool,
        started: float,
        unit: str = "photo",
        skipped_inputs: Sequence[tuple[str, str]] = (),
    ) -> None:
        self.writer = writer
        self.con = writer.con
        self.source = source
        self.run_id = run_id
        self.started = started
        self.tracker = ProgressFile(
            writer.db, total=total, done=skipped, run_id=run_id, show=show, unit=unit
        )
        self.summary = new_summary(run_id, total, skipped, writer.db, skipped_inputs)

    def start(self, run_id: int) -> None:
        """The run is known and marked running: publish it and say so."""
        self.run_id = self.summary["run_id"] = self.tracker.run_id = run_id
        self.writer.publish(force=True)
        self.tracker.write("running")

    def save(self, rows: Sequence[ResultRow]) -> list[ResultRow]:
        """Write one batch of rows, count it, publish when due; returns its failed rows."""
        assert self.run_id is not None, "start() the session first"
        write_rows(self.con, self.run_id, rows, self.source)
        failed = [r for r in rows if r.status != "done"]
        ok = len(rows) - len(failed)
        self.summary["done"] += ok
        self.summary["failed"] += len(failed)
        errors = self.summary["errors"]
        errors.extend(
            r.error if r.path in (r.error or "") else f"{r.path}: {r.error}" for r in failed[:20]
        )
        del errors[ERRORS_KEPT:]
        for r in failed:
            log.debug("failed: %s: %s", r.path, r.error)
        self.tracker.advance(ok, len(failed))
        self.writer.publish()
        return failed

    def finish(self) -> None:
        """Every batch is in: stale stored tokens redone (:mod:`core.jobs.terms`), term matrix,
        keyword tables, accuracy; the run is ``done``."""
        from core.jobs.terms import retokenize_run

        assert self.run_id is not None, "start() the session first"
        self.tracker.write("running", "building the term matrix and keyword tables")
        retokenize_run(self.con, self.run_id)
        self.summary["image_accuracy"] = runs.finalize(self.con, self.run_id, "done")
        self.summary["status"] = "done"

    def done(self, message: str) -> None:
        """After a clean end: the elapsed time and the last progress record."""
        self.summary["elapsed"] = round(time.monotonic() - self.started, 3)
        self.tracker.write("done", message)

    def __enter__(self) -> JobSession:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        error = None if exc is None else store_failure(exc, self.writer.work)
        try:
            if exc_type is not None and issubclass(exc_type, KeyboardInterrupt):
                self._stop("interrupted", "interrupted; rerun the same command to resume")
            elif exc is not None:
                self._stop("failed", one_line(error or exc))
        finally:
            self.tracker.close()
        if error is not None:
            raise error from None

    def _stop(self, status: str, message: str) -> None:
        """Record an early stop (the writer's exit publishes a checked snapshot, if it can)."""
        self.summary["status"] = status
        self.tracker.write(status, message)
        if self.run_id is not None:
            try:
                runs.stop(self.con, self.run_id, status)
            except Exception as exc:  # e.g. the disk is full: the progress file says it
                log.warning("could not mark run %s %s: %s", self.run_id, status, one_line(exc))


def store_failure(exc: BaseException, work: Path) -> DataError | None:
    """The one-line error for a job stopped by the store (disk full, a DuckDB error), else None.

    Other errors (a bug, ``KeyboardInterrupt``, a :class:`WordcamError`) are left as they are.
    """
    import duckdb

    if is_disk_full(exc):
        return disk_full_error(work)
    if isinstance(exc, (duckdb.Error, OSError)) and not isinstance(exc, DataError):
        return DataError(
            f"the job stopped writing {work}: {one_line(exc)}; finished results are kept, rerun "
            "the same command to resume"
        )
    return None
