"""The job skeleton every job shares: counts, the progress file, publishing, statuses, Ctrl-C.

A :class:`JobSession` is one session of a job writing through the single
:class:`core.store.StoreWriter`: it counts what each committed batch finished and failed,
keeps the progress file beside the DB current (:mod:`core.jobs.progress`), publishes when due,
and hands out a frozen :class:`core.jobs.summary.JobSummary`. As a context manager it records
a Ctrl-C (status ``interrupted``) or an error (status ``failed``; a full disk or a store error
becomes one line) and re-raises. The statuses and the exit statuses built on them
(:data:`core.jobs.progress.EXIT_SOME_FAILED`) are the same for every job.

:class:`RunSession` is the skeleton of the jobs that fill a run (the photo job, the text
import): it writes rows into the run, marks the run ``interrupted`` or ``failed`` on an early
stop, and at the end rebuilds its terms. The verification job (:mod:`core.verify.job`) uses
:class:`JobSession` itself::

    with StoreWriter(db) as writer:
        session = RunSession(writer, source, total=..., skipped=..., run_id=..., ...)
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
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from core.errors import DataError, disk_full_error, is_disk_full
from core.jobs import runs
from core.jobs.batches import chunks
from core.jobs.progress import ProgressFile
from core.jobs.rows import one_line
from core.jobs.summary import JobSummary
from core.store.results import ExplanationSource, ResultRow, write_rows

if TYPE_CHECKING:
    from core.store import StoreWriter

log = logging.getLogger(__name__)
ERRORS_KEPT = 50  # failure messages kept in the summary
ERRORS_PER_BATCH = 20

__all__ = ["ERRORS_KEPT", "JobSession", "RunSession", "chunks", "store_failure"]


class JobSession:
    """One session of a job: counts, progress, publishing, and how it ended."""

    def __init__(
        self,
        writer: StoreWriter,
        *,
        total: int,
        skipped: int,
        run_id: int | None,
        show: bool,
        started: float,
        unit: str = "photo",
        job: str = "precompute",
        skipped_inputs: Sequence[tuple[str, str]] = (),
    ) -> None:
        self.writer = writer
        self.con = writer.con
        self.run_id = run_id
        self.started = started
        self.tracker = ProgressFile(
            writer.db, total=total, done=skipped, run_id=run_id, show=show, unit=unit, job=job
        )
        self._summary = JobSummary(
            run_id=run_id,
            total=total,
            db=str(writer.db),
            skipped_existing=skipped,
            skipped_inputs=tuple((str(p), str(r)) for p, r in skipped_inputs),
        )

    @property
    def summary(self) -> JobSummary:
        """The summary so far (final after :meth:`done`)."""
        return self._summary

    def _update(self, **changes: Any) -> None:
        self._summary = replace(self._summary, **changes)

    def start(self, run_id: int) -> None:
        """The run is known and marked running: publish it and say so."""
        self.run_id = self.tracker.run_id = run_id
        self._update(run_id=run_id)
        self.writer.publish(force=True)
        self.tracker.write("running")

    def count(self, done: int, failed: int, errors: Sequence[str] = ()) -> None:
        """A committed batch: ``done`` inputs finished, ``failed`` failed (``errors`` say why).

        Keeps at most :data:`ERRORS_PER_BATCH` messages of a batch, :data:`ERRORS_KEPT` in all;
        advances the progress file and publishes when due.
        """
        kept = (*self._summary.errors, *list(errors)[:ERRORS_PER_BATCH])[:ERRORS_KEPT]
        s = self._summary
        self._update(done=s.done + done, failed=s.failed + failed, errors=kept)
        self.tracker.advance(done, failed)
        self.writer.publish()

    def finish(self, **changes: Any) -> None:
        """Every batch is in: the job is ``done`` (``changes``: more summary fields)."""
        self._update(status="done", **changes)

    def done(self, message: str) -> None:
        """After a clean end: the elapsed time and the last progress record."""
        self._update(elapsed=round(time.monotonic() - self.started, 3))
        self.tracker.write("done", message)

    def note(self, message: str) -> None:
        """Say what the job is doing now (the progress file's ``message``)."""
        self.tracker.write("running", message)

    def mark_run(self, status: str) -> None:
        """Record an early stop in the DB (the run's status); a bare job records none."""

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
        self._update(status=status)
        self.tracker.write(status, message)
        if self.run_id is not None:
            try:
                self.mark_run(status)
            except Exception as exc:  # e.g. the disk is full: the progress file says it
                log.warning("could not mark run %s %s: %s", self.run_id, status, one_line(exc))


class RunSession(JobSession):
    """The session of a job that fills a run with rows (the photo job, the text import)."""

    def __init__(
        self,
        writer: StoreWriter,
        source: ExplanationSource,
        pending: set[str] | None = None,
        **options: Any,
    ) -> None:
        super().__init__(writer, **options)
        self.source = source
        self.pending = pending  # the inputs this session counts (None: every row it saves)

    def save(self, rows: Sequence[ResultRow]) -> list[ResultRow]:
        """Write one batch of rows, count it, publish when due; returns its failed rows.

        With ``pending``, a row of an input outside it (a Ray shard left behind whose rows an
        earlier session stored and counted already) is written alike but not counted again.
        """
        assert self.run_id is not None, "start() the session first"
        write_rows(self.con, self.run_id, rows, self.source)
        failed = [r for r in rows if r.status != "done"]
        counted = list(rows)
        if self.pending is not None:
            counted = [r for r in rows if r.path in self.pending]
            self.pending.difference_update(r.path for r in counted)
        lost = [r for r in counted if r.status != "done"]
        errors = [
            r.error if r.path in (r.error or "") else f"{r.path}: {r.error}"
            for r in lost[:ERRORS_PER_BATCH]
        ]
        for r in failed:
            log.debug("failed: %s: %s", r.path, r.error)
        self.count(len(counted) - len(lost), len(lost), errors)
        return failed

    def finish(self, **changes: Any) -> None:
        """Every batch is in: stale stored tokens redone (:mod:`core.jobs.terms`), term matrix,
        keyword tables, accuracy; the run is ``done``."""
        from core.jobs.terms import retokenize_run

        assert self.run_id is not None, "start() the session first"
        self.note("building the term matrix and keyword tables")
        retokenize_run(self.con, self.run_id)
        accuracy = runs.finalize(self.con, self.run_id, "done")
        super().finish(image_accuracy=accuracy, **changes)

    def mark_run(self, status: str) -> None:
        assert self.run_id is not None
        runs.stop(self.con, self.run_id, status)


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
