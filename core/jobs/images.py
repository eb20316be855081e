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
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import DataError
from core.jobs import runs
from core.jobs.memory import HeapTrimmer
from core.jobs.rows import PhotoRow, photo_rows, tokenize_rows
from core.jobs.session import JobSession, chunks
from core.jobs.settings import JobSettings
from core.store.results import ExplanationSource
from core.store.runs import RunRecord

log = logging.getLogger(__name__)

# Stop when this many photos in a row failed before any succeeded (a bad key, a dead server).
FAIL_FAST_AFTER = 20

Photo = tuple[Path, str | None]  # an absolute path and its true label (None: unlabelled)


def run_precompute(
    data_dir: str | Path, db: str | Path, *, settings: JobSettings | None = None, **options: Any
) -> dict[str, Any]:
    """Explain every photo below ``data_dir`` into the DuckDB ``db``; resumable.

    ``settings`` (a :class:`JobSettings`) and/or its fields as keywords (``model=``,
    ``explainer=``, ``mode=``, ``lang=``, ``limit=``, ``batch_size=`` ...). Returns a summary:
    ``run_id``, ``done`` and ``failed`` (this session), ``skipped_existing`` (already done by
    an earlier session), ``total``, ``elapsed`` (s), ``db``, ``status``, ``errors`` and
    ``image_accuracy`` (:func:`core.store.metrics.image_accuracy`). Ctrl-C abandons the batch
    in flight, marks the run ``interrupted``, publishes and re-raises :class:`KeyboardInterrupt`.
    """
    from core.store import StoreWriter

    settings = JobSettings.of(settings, **options)
    started = time.monotonic()
    db = Path(db).expanduser()
    root, photos = list_photos(data_dir, settings.limit)
    run = runs.photo_run(settings, root)
    source = ExplanationSource(settings.explainer_spec, settings.mode, settings.lang)
    with StoreWriter(db, publish_every=settings.publish_every) as writer:
        run_id, existing = runs.find(writer.con, run)
        todo = [(p, label) for p, label in photos if existing.get(str(p)) != "done"]
        skipped = len(photos) - len(todo)
        session = JobSession(
            writer,
            source,
            total=len(photos),
            skipped=skipped,
            run_id=run_id,
            show=settings.progress,
            started=started,
        )
        with session:
            _explain_all(session, settings, run, root, todo)
        summary = session.summary
        session.done(f"{summary['done']} done, {summary['failed']} failed, {skipped} already done")
    return session.summary


def list_photos(data_dir: str | Path, limit: int | None) -> tuple[Path, list[Photo]]:
    """The folder (absolute) and its photos with their true labels, sorted; the first ``limit``."""
    from core.images import IMAGE_SUFFIXES, labelled_images

    root = Path(data_dir).expanduser()
    if not root.exists():
        raise DataError(
            f"{root}: no such folder; pass a folder of photos (one sub-folder per class)"
        )
    if not root.is_dir():
        raise DataError(f"{root}: not a folder; pass a folder of photos (one sub-folder per class)")
    items = labelled_images(root)
    if not items:
        raise DataError(
            f"{root}: no image files found (looked for {', '.join(sorted(IMAGE_SUFFIXES))}, "
            "recursively); pass a folder of photos"
        )
    if limit is not None:
        if limit < 1:
            raise DataError(f"--limit must be at least 1 (got {limit})")
        items = items[:limit]
    return root.resolve(), [(p.resolve(), label) for p, label in items]


def _explain_all(
    session: JobSession, settings: JobSettings, run: RunRecord, root: Path, todo: list[Photo]
) -> None:
    """Load the models (when there is work), start the run, explain ``todo``, finish the run."""
    backends = None
    if todo:
        session.tracker.write("running", "loading the model and explainer")
        backends = Backends.load(settings)
    labels = backends.labels if backends is not None else None
    run_id = runs.start(session.con, run, session.run_id, labels)
    session.start(run_id)
    if backends is not None:
        out_dir = _asset_dir(session.writer.db, run_id)
        _explain_batches(session, backends, root, todo, out_dir)
    session.finish()


def _explain_batches(
    session: JobSession, backends: Backends, root: Path, todo: list[Photo], out_dir: Path
) -> None:
    """Explain, tokenize and save ``todo`` a batch at a time; stop early if all fail."""
    settings = backends.settings
    fail_fast = FailFast()
    trim_heap = HeapTrimmer()
    for chunk in chunks(todo, settings.batch_size):
        rows = backends.explain(chunk, root, out_dir)
        tokenize_rows(rows, settings.lang)
        failed = session.save(rows)
        fail_fast.check(failed, session.summary["done"])
        del rows, failed  # before trimming the heap
        trim_heap()
    log.debug("heap trimmed %d times", trim_heap.trims)


@dataclass
class Backends:
    """The loaded classifier (and its classes) and explainer, and the settings they run with."""

    classifier: Any
    explainer: Any
    settings: JobSettings
    labels: list[str]

    @classmethod
    def load(cls, settings: JobSettings) -> Backends:
        from core.explainers import load_explainer
        from core.models import load_model

        classifier = load_model(settings.model, device=settings.device, **settings.model_options)
        explainer = settings.explainer
        if isinstance(explainer, str):
            explainer = load_explainer(explainer, **settings.explainer_kwargs)
        return cls(classifier, explainer, settings, list(classifier.labels))

    def explain(self, chunk: Sequence[Photo], root: Path, out_dir: Path) -> list[PhotoRow]:
        """Run one batch through the pipeline; every input gives exactly one row."""
        from core.pipeline import explain_images

        s = self.settings
        paths = [p for p, _ in chunk]
        results = list(
            explain_images(
                paths,
                self.classifier,
                self.explainer,
                method=s.method,
                lang=s.lang,
                mode=s.mode,
                top_k=s.top_k,
                out_dir=out_dir,
                batch_size=len(paths),
                layer=s.layer,
            )
        )
        return photo_rows(chunk, results, root, self.labels)


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


def _asset_dir(db: Path, run_id: int) -> Path:
    from core.store import asset_dir

    return asset_dir(db) / f"run{run_id}"
