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
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from core.errors import DataError
from core.jobs import runs
from core.jobs.memory import HeapTrimmer
from core.jobs.photos import Photo, list_photos
from core.jobs.rows import PhotoRow, photo_rows, tokenize_rows
from core.jobs.session import JobSession
from core.jobs.settings import JobSettings
from core.store.results import ExplanationSource
from core.store.runs import RunRecord, set_labels

log = logging.getLogger(__name__)

# Stop when this many photos in a row failed before any succeeded (a bad key, a dead server).
FAIL_FAST_AFTER = 20


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
    listing = list_photos(data_dir, settings.limit)
    root, photos = listing.root, listing.photos
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
            skipped_inputs=[(s.path, s.reason) for s in listing.skipped],
        )
        with session:
            _explain_all(session, settings, run, root, todo)
        summary = session.summary
        session.done(f"{summary['done']} done, {summary['failed']} failed, {skipped} already done")
    return session.summary


def _explain_all(
    session: JobSession, settings: JobSettings, run: RunRecord, root: Path, todo: list[Photo]
) -> None:
    """Load the engine (when there is work), start the run, explain ``todo``, finish the run."""
    engine = _engine(session, settings) if todo else None
    labels = engine.labels if engine is not None else None
    run_id = runs.start(session.con, run, session.run_id, labels)
    session.start(run_id)
    if engine is not None:
        out_dir = _asset_dir(session.writer.db, run_id)
        batches = pixel_batches(todo, settings.batch_size, settings.batch_pixels)
        _save_batches(session, engine, engine.row_batches(batches, root, out_dir), labels)
    session.finish()


def _engine(session: JobSession, settings: JobSettings) -> Engine:
    """The engine of ``settings.engine``: the models loaded here, or a Ray pool of them."""
    if settings.engine == "ray":
        from core.jobs.ray_engine import RayEngine

        session.tracker.write("running", "starting Ray")
        return RayEngine(settings)
    session.tracker.write("running", "loading the model and explainer")
    return Backends.load(settings)


def _save_batches(
    session: JobSession, engine: Engine, batches: Iterator[list[PhotoRow]], labels: Any
) -> None:
    """Save each batch of rows as it comes; stop early if all fail; the run's labels once known."""
    fail_fast = FailFast()
    trim_heap = HeapTrimmer()
    for rows in batches:
        if labels is None and engine.labels is not None:  # Ray: from the first batch
            labels = engine.labels
            set_labels(session.con, session.run_id, labels)
        failed = session.save(rows)
        fail_fast.check(failed, session.summary["done"])
        del rows, failed  # before trimming the heap
        trim_heap()
    log.debug("heap trimmed %d times", trim_heap.trims)


class Engine(Protocol):
    """What explains the photos: :class:`Backends` here, or :class:`core.jobs.ray_engine.RayEngine`."""

    labels: list[str] | None  # the model's classes (None until the engine knows them)

    def row_batches(
        self, batches: Iterable[Sequence[Photo]], root: Path, out_dir: Path
    ) -> Iterator[list[PhotoRow]]:
        """The tokenized rows of ``batches``, a batch at a time (each stored before the next)."""
        ...


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
        from core.pipeline import preload_attribution

        preload_attribution()  # the CAM classes import while the model loads

        classifier = load_model(settings.model, device=settings.device, **settings.model_options)
        explainer = settings.explainer
        if isinstance(explainer, str):
            explainer = load_explainer(explainer, **settings.explainer_kwargs)
        return cls(classifier, explainer, settings, list(classifier.labels))

    def row_batches(
        self, batches: Iterable[Sequence[Photo]], root: Path, out_dir: Path
    ) -> Iterator[list[PhotoRow]]:
        """Explain and tokenize each batch in this process (:class:`Engine`)."""
        for chunk in batches:
            rows = self.explain(chunk, root, out_dir)
            spec = self.settings.explainer_spec
            tokenize_rows(
                rows, self.settings.lang, phrases=self.labels, explainer=spec, regions=True
            )
            yield rows
            del rows

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
        rows = photo_rows(chunk, results, root, self.labels)
        for row in rows:
            row.sha256 = row.sha256 or None  # unknown (an unreadable file) is NULL, not ''
        return rows


def pixel_batches(photos: Sequence[Photo], size: int, budget: int) -> Iterator[list[Photo]]:
    """``photos`` in consecutive batches of at most ``size`` photos and ``budget`` pixels.

    A batch holds every photo decoded until it is classified, so its pixels (read from the
    files' headers) are summed: a batch closes early rather than pass the budget, and a photo
    over the budget on its own makes a batch of one.
    """
    batch: list[Photo] = []
    pixels = 0
    for photo in photos:
        count = header_pixels(photo[0])
        if batch and (len(batch) >= size or pixels + count > budget):
            yield batch
            batch, pixels = [], 0
        batch.append(photo)
        pixels += count
    if batch:
        yield batch


def header_pixels(path: Path) -> int:
    """Width x height from the image file's header (0 when it cannot be read: it will fail)."""
    import warnings

    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                return int(im.size[0]) * int(im.size[1])
    except (OSError, UnidentifiedImageError, ValueError, Image.DecompressionBombError):
        return 0


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
