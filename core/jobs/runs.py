"""Run identity: which run a job belongs to, resuming it or creating it, and its final status.

A run is identified by its kind, its source (photo folder or corpus file) and its
result-affecting settings (:meth:`core.jobs.settings.JobSettings.identity`, or a text file's
content hash); running the same job again resumes that run.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from core.jobs.settings import JobSettings
from core.store import runs as store_runs
from core.store.results import document_status
from core.store.runs import RunRecord

if TYPE_CHECKING:
    import duckdb

log = logging.getLogger(__name__)


def photo_run(settings: JobSettings, root: Path) -> RunRecord:
    """The run of the photo folder ``root`` explained with ``settings``."""
    return RunRecord(
        kind="images",
        source=str(root),
        settings=settings.identity(),
        lang=settings.lang,
        model=settings.model_spec,
        explainer=settings.explainer_spec,
        mode=settings.mode,
        method=settings.method,
    )


def text_run(path: Path, lang: str, sha256: str) -> RunRecord:
    """The run of the corpus file ``path`` (identified by its content) in ``lang``."""
    return RunRecord(
        kind="texts",
        source=str(path),
        settings={"lang": lang, "sha256": sha256},
        lang=lang,
        explainer="import",
    )


def find(con: duckdb.DuckDBPyConnection, run: RunRecord) -> tuple[int | None, dict[str, str]]:
    """The existing run's id (None when there is none) and its documents' statuses."""
    found = store_runs.find_run(con, run)
    if found is None:
        return None, {}
    return found[0], document_status(con, found[0])


def start(
    con: duckdb.DuckDBPyConnection,
    run: RunRecord,
    run_id: int | None,
    labels: Sequence[str] | None,
) -> int:
    """Create the run (``run_id`` None) or mark it running again; records ``labels`` if given."""
    if run_id is None:
        return store_runs.create_run(con, run, labels or [])
    if labels is not None:
        store_runs.set_labels(con, run_id, labels)
    store_runs.set_status(con, run_id, "running")
    return run_id


def finalize(con: duckdb.DuckDBPyConnection, run_id: int, status: str) -> float | None:
    """Rebuild the run's term matrix, store its accuracy and status; returns the accuracy.

    A finished run also gets its default keyword tables (:func:`core.mining.store_default_results`);
    an interrupted one does not, so that Ctrl-C stops at once.
    """
    from core.mining import store_default_results, write_terms
    from core.store.metrics import image_accuracy

    write_terms(con, run_id, min_df=1)
    if status == "done":
        store_default_results(con, run_id)
    accuracy = image_accuracy(con, run_id)
    accuracy = None if accuracy is None else round(accuracy, 6)
    store_runs.set_status(con, run_id, status, accuracy)
    return accuracy


def stop(con: duckdb.DuckDBPyConnection, run_id: int, status: str) -> None:
    """Record an early stop: ``interrupted`` keeps its term matrix current, ``failed`` does not."""
    try:
        if status == "interrupted":
            finalize(con, run_id, status)
        else:
            store_runs.set_status(con, run_id, status)
    except Exception as exc:  # the DB keeps every committed batch either way
        log.debug("could not finalize run %s: %s", run_id, exc)
