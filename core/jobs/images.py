"""The photo job: a folder of photos -> predictions, CAMs, explanations, tokens and terms.

:func:`run_precompute` walks a photo folder (one sub-folder per class gives the true label) in
batches through :func:`core.pipeline.explain_images` and writes each batch's rows in one short
transaction through the single :class:`core.store.StoreWriter`, which publishes a read-only
snapshot every few seconds. At the end it (re)builds the run's term matrix and stores the
keyword tables of the default settings (:func:`core.jobs.runs.finalize`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from core.errors import DataError
from core.jobs import runs
from core.jobs.batches import header_pixels, pixel_batches
from core.jobs.engines import Backends, Engine
from core.jobs.memory import HeapTrimmer
from core.jobs.photos import Photo, list_photos
from core.jobs.rows import PhotoRow
from core.jobs.session import RunSession
from core.jobs.settings import JobSettings
from core.jobs.summary import JobSummary
from core.store.results import ExplanationSource
from core.store.runs import RunRecord, set_labels

log = logging.getLogger(__name__)
__all__ = ["Backends", "Engine", "FailFast", "header_pixels", "pixel_batches", "run_precompute"]

# Stop when this many photos in a row failed before any succeeded (a bad key, a dead server).
FAIL_FAST_AFTER = 20


def run_precompute(
    data_dir: str | Path, db: str | Path, *, settings: JobSettings | None = None, **options: Any
) -> JobSummary:
    """Explain every photo below ``data_dir`` into the DuckDB ``db``; resumable.

    ``settings`` (a :class:`JobSettings`) and/or its fields as keywords (``model=``,
    ``explainer=``, ``mode=``, ``lang=``, ``limit=``, ``batch_size=`` ...). Returns the
    :class:`JobSummary`: ``run_id``, ``done`` and ``failed`` (this session),
    ``skipped_existing`` (already done by an earlier session), ``total``, ``elapsed`` (s),
    ``db``, ``status``, ``errors`` and ``image_accuracy``
    (:func:`core.store.metrics.image_accuracy`). Ctrl-C abandons the batch in flight, marks
    the run ``interrupted``, publishes and re-raises :class:`KeyboardInterrupt`.
    """
    from core.store import StoreWriter, asset_dir

    settings = JobSettings.of(settings, **options)
    started = time.monotonic()
    db = Path(db).expanduser()
    listing = list_photos(data_dir, settings.limit, outputs=(asset_dir(db),))
    if settings.engine == "ray":
        from core.jobs.ray_options import check_reachable

        check_reachable(settings.ray.address)  # a cluster nobody runs: before any run starts
    root, photos = listing.root, listing.photos
    run = runs.photo_run(settings, root)
    source = ExplanationSource(settings.explainer_spec, settings.mode, settings.lang)
    with StoreWriter(db, publish_every=settings.publish_every) as writer:
        run_id, existing = runs.find(writer.con, run)
        todo = [(p, label) for p, label in photos if existing.get(str(p)) != "done"]
        skipped = len(photos) - len(todo)
        session = RunSession(
            writer,
            source,
            total=len(photos),
            skipped=skipped,
            run_id=run_id,
            show=settings.progress,
            started=started,
            skipped_inputs=[(s.path, s.reason) for s in listing.skipped],
            pending={str(p) for p, _ in todo},
        )
        with session:
            _explain_all(session, settings, run, root, todo)
        summary = session.summary
        session.done(f"{summary.done} done, {summary.failed} failed, {skipped} already done")
    return session.summary


def _explain_all(
    session: RunSession, settings: JobSettings, run: RunRecord, root: Path, todo: list[Photo]
) -> None:
    """Load the engine (when there is work), start the run, explain ``todo``, finish the run."""
    engine = _engine(session, settings) if todo else None
    labels = engine.labels if engine is not None else None
    run_id = runs.start(session.con, run, session.run_id, labels)
    session.start(run_id)
    if engine is not None:
        out_dir = _asset_dir(session.writer.db, run_id, shards=settings.engine == "ray")
        batches = pixel_batches(todo, settings.batch_size, settings.batch_pixels)
        _save_batches(session, engine, engine.row_batches(batches, root, out_dir), labels)
    session.finish()


def _engine(session: RunSession, settings: JobSettings) -> Engine:
    """The engine of ``settings.engine``: the models loaded here, or a Ray pool of them."""
    if settings.engine == "ray":
        from core.jobs.ray_engine import RayEngine

        session.note("starting Ray")
        return RayEngine(settings)
    session.note("loading the model and explainer")
    return Backends.load(settings)


def _save_batches(
    session: RunSession, engine: Engine, batches: Iterator[list[PhotoRow]], labels: Any
) -> None:
    """Save each batch of rows as it comes; stop early if all fail; the run's labels once known."""
    fail_fast = FailFast()
    trim_heap = HeapTrimmer()
    for rows in batches:
        if labels is None and engine.labels is not None:  # Ray: from the first batch
            labels = engine.labels
            set_labels(session.con, session.run_id, labels)
        failed = session.save(rows)
        fail_fast.check(failed, session.summary.done)
        del rows, failed  # before trimming the heap
        trim_heap()
    log.debug("heap trimmed %d times", trim_heap.trims)


class FailFast:
    """Stops a job whose explainer fails every photo (a bad key, a dead server)."""

    def __init__(self) -> None:
        self.streak = 0

    def check(self, failed: Sequence[Any], done_so_far: int) -> None:
        """Count this batch's explainer failures while nothing succeeded; raise past the limit."""
        explainer_failed = [r for r in failed if getattr(r, "explainer_failed", False)]
        self.streak = 0 if done_so_far else self.streak + len(explainer_failed)
        if self.streak >= FAIL_FAST_AFTER:
            last = explainer_failed[-1]
            raise DataError(
                f"stopping: the explainer failed on the first {self.streak} photos (last: "
                f"{Path(last.path).name}: {last.error}); fix the cause and rerun"
            )


def _asset_dir(db: Path, run_id: int, shards: bool = False) -> Path:
    """The run's picture folder ``<db>_assets/run<N>`` (and, for Ray, its shard folder
    ``run<N>.shards``), made here with no link on its way: a linked folder would take the
    job's pictures elsewhere, or feed it shards from elsewhere. Refused in one line before the
    first photo; each picture in it is then opened new, never through a link."""
    from core.jobs.ray_engine import shard_dir_of
    from core.store import asset_dir
    from core.store.nofollow import folder_no_follow

    root = asset_dir(db)
    out_dir = folder_no_follow(root / f"run{run_id}", below=root.parent)
    if shards:
        folder_no_follow(shard_dir_of(out_dir), below=root.parent)
    return out_dir
